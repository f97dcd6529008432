#include "core/heap.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

namespace focus {
namespace {

// While a scope is open: the room (kRoom) must come from the heap, under
// the mmap threshold, and stay there once freed, under the trim threshold.
// 32 MiB is the cap of glibc's own adjustment of the mmap threshold; 2.36's
// mallopt takes it.
constexpr int kBulkMmapThreshold = 32 << 20;
constexpr int kBulkTrimThreshold = 64 << 20;
// What a scope reserves at the heap's top: more than a first sync's heap at
// its peak (about 13 MiB at 10,000 projects, with the apply's 8 MiB page
// cache). Address space; its pages count only once touched.
constexpr std::size_t kRoom = 24u << 20;
// Between scopes (heap.hpp).
constexpr int kMmapThreshold = 512 << 10;
constexpr int kTrimThreshold = 1 << 20;
constexpr std::uintptr_t kPage = 4096;

bool configured = false;
char* heap_start = nullptr;  // where the heap's break area begins (null: unknown, nothing is asked)
int open_scopes = 0;
char* advised_from = nullptr;  // the range asked for huge pages, page-aligned
char* advised_to = nullptr;

char* align_up(void* p) {
  return reinterpret_cast<char*>((reinterpret_cast<std::uintptr_t>(p) + kPage - 1) & ~(kPage - 1));
}

char* align_down(void* p) { return reinterpret_cast<char*>(reinterpret_cast<std::uintptr_t>(p) & ~(kPage - 1)); }

// The heap's break, where its top ends.
char* heap_end() { return align_down(::sbrk(0)); }

void set_thresholds(int mmap_threshold, int trim_threshold) {
  ::mallopt(M_MMAP_THRESHOLD, mmap_threshold);
  ::mallopt(M_TRIM_THRESHOLD, trim_threshold);
}

void advise(int advice) {
  if (advised_to > advised_from)
    ::madvise(advised_from, static_cast<std::size_t>(advised_to - advised_from), advice);
}

// The range from the room up to the break, when all of it is the heap's
// break area (else nothing: a room glibc took from a mapping of its own,
// below or above, would make the range span other mappings).
void take_room() {
  void* room = std::malloc(kRoom);
  if (!room) return;
  // Freed at once: the heap's top now holds it, and the work's allocations
  // are carved from it.
  char* const from = align_up(room);
  std::free(room);
  char* const to = heap_end();
  if (!heap_start || from < heap_start || to <= from || static_cast<std::size_t>(to - from) < kRoom) return;
  advised_from = from;
  advised_to = to;
}

// The start of the heap's break area: field 47 of /proc/self/stat.
char* read_heap_start() {
  std::ifstream stat("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto name_end = text.rfind(')');  // the command's name may hold spaces and parentheses
  if (name_end == std::string::npos) return nullptr;
  std::istringstream fields(text.substr(name_end + 1));
  std::string field;
  for (int n = 3; fields >> field; ++n)
    if (n == 47) return reinterpret_cast<char*>(std::strtoull(field.c_str(), nullptr, 10));
  return nullptr;
}

}  // namespace

void configure_heap() {
  // One arena: the threads beside the io thread (the SQL reader, the desktop
  // notifier) allocate rarely, and an arena of their own kept 1.6 MB
  // resident after a single SQL query (measured idle RSS after
  // bench/run.py's socket rounds: 20.2 MB, 18.6 MB with this).
  ::mallopt(M_ARENA_MAX, 1);
  set_thresholds(kMmapThreshold, kTrimThreshold);
  heap_start = read_heap_start();
  configured = true;
}

BulkMemory::BulkMemory() {
  if (!configured || open_scopes++ > 0) return;
  set_thresholds(kBulkMmapThreshold, kBulkTrimThreshold);
  take_room();
  advise(MADV_HUGEPAGE);
}

BulkMemory::~BulkMemory() {
  if (!configured || --open_scopes > 0) return;
  advised_to = std::min(advised_to, heap_end());  // a trim in the meantime lowers the break
  advise(MADV_NOHUGEPAGE);
  advised_from = advised_to = nullptr;
  set_thresholds(kMmapThreshold, kTrimThreshold);
  ::malloc_trim(0);
}

bool BulkMemory::asked() { return advised_to > advised_from; }

}  // namespace focus
