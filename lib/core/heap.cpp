#include "core/heap.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

namespace focus {
namespace {

// Below glibc's largest mmap threshold (32 MiB on 64-bit), so that the room
// is taken from the heap.
constexpr std::size_t kMmapThreshold = 32u << 20;
// What a BulkMemory scope reserves at the heap's top: more than a first
// sync's heap at its peak (about 13 MiB at 10,000 projects, with the
// apply's 8 MiB page cache). Address space; pages count only once touched.
constexpr std::size_t kRoom = 24u << 20;
// Above kRoom, so that free() does not hand the room straight back.
constexpr std::size_t kTrimThreshold = 64u << 20;
constexpr std::uintptr_t kPage = 4096;

int open_scopes = 0;
char* advised_from = nullptr;  // the range asked for huge pages, page-aligned
char* advised_to = nullptr;

char* align_up(void* p) {
  return reinterpret_cast<char*>((reinterpret_cast<std::uintptr_t>(p) + kPage - 1) & ~(kPage - 1));
}

char* align_down(void* p) { return reinterpret_cast<char*>(reinterpret_cast<std::uintptr_t>(p) & ~(kPage - 1)); }

// The heap's break, where its top ends.
char* heap_end() { return align_down(::sbrk(0)); }

void advise(int advice) {
  if (advised_to > advised_from)
    ::madvise(advised_from, static_cast<std::size_t>(advised_to - advised_from), advice);
}

}  // namespace

void configure_heap() {
  // One arena: the threads beside the io thread (the SQL reader, the desktop
  // notifier) allocate rarely, and an arena of their own kept 1.6 MB
  // resident after a single SQL query (measured idle RSS after
  // bench/run.py's socket rounds: 20.2 MB, 18.6 MB with this).
  ::mallopt(M_ARENA_MAX, 1);
  ::mallopt(M_MMAP_THRESHOLD, static_cast<int>(kMmapThreshold));
  ::mallopt(M_TRIM_THRESHOLD, static_cast<int>(kTrimThreshold));
}

BulkMemory::BulkMemory() {
  if (open_scopes++ > 0) return;
  // Taken and given back at once: the top of the heap now holds the room,
  // and what the work allocates is carved from it.
  void* room = std::malloc(kRoom);
  if (!room) return;
  advised_from = align_up(room);
  std::free(room);
  // A heap that is not one contiguous break (no brk, a sanitizer's own
  // allocator) puts the room elsewhere: nothing is asked then.
  advised_to = heap_end();
  if (advised_to <= advised_from || static_cast<std::size_t>(advised_to - advised_from) < kRoom) {
    advised_from = advised_to = nullptr;
    return;
  }
  advise(MADV_HUGEPAGE);
}

BulkMemory::~BulkMemory() {
  if (--open_scopes > 0) return;
  advised_to = std::min(advised_to, heap_end());  // a trim in the meantime lowers the break
  advise(MADV_NOHUGEPAGE);
  advised_from = advised_to = nullptr;
  ::malloc_trim(0);
}

}  // namespace focus
