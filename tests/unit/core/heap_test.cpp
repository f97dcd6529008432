// core/heap.hpp held to the kernel's own account: the flags of the heap's
// mapping in /proc/self/smaps ("hg": huge pages asked for, "nh": refused)
// while BulkMemory scopes are open and after the last one ends.
#include "core/heap.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/stat.h>

using namespace focus;

namespace {

// The VmFlags line of the mapping that holds `address` ("" for none).
std::string flags_of_mapping_at(const void* address) {
  const auto at = reinterpret_cast<std::uintptr_t>(address);
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    std::uintptr_t start = 0, end = 0;
    char dash = 0;
    std::istringstream header(line);
    if (header >> std::hex >> start >> dash >> end && dash == '-') {
      inside = start <= at && at < end;
      continue;
    }
    if (inside && line.rfind("VmFlags:", 0) == 0) return line.substr(8) + " ";
  }
  return "";
}

bool huge_pages_asked(const void* address) { return flags_of_mapping_at(address).find(" hg ") != std::string::npos; }

bool kernel_has_huge_pages() {
  struct stat st {};
  return ::stat("/sys/kernel/mm/transparent_hugepage/enabled", &st) == 0;
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kOwnAllocator = true;  // the sanitizer's heap is not glibc's break
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kOwnAllocator = true;
#else
constexpr bool kOwnAllocator = false;
#endif
#else
constexpr bool kOwnAllocator = false;
#endif

}  // namespace

TEST_CASE("a listing's memory is asked for huge pages while a BulkMemory scope is open, and not after the last ends") {
  if (kOwnAllocator || !kernel_has_huge_pages() || std::getenv("GLIBC_TUNABLES")) {
    MESSAGE("not checked here: a sanitizer's allocator, a kernel without transparent huge pages, or glibc tunables");
    return;
  }
  {
    const BulkMemory before_configured;
    CHECK_FALSE(BulkMemory::asked());  // glibc's own policy until configure_heap
  }
  configure_heap();
  CHECK_FALSE(BulkMemory::asked());
  void* listed = nullptr;  // what a listing allocates and is still in use when it ends
  const char* middle = nullptr;
  {
    const BulkMemory listing;
    REQUIRE(BulkMemory::asked());
    // 4 MiB: larger than any hole the tests before left in the heap, so
    // carved from the room at its top (whose first page may be the last of
    // the heap before it: its middle is looked at).
    listed = std::malloc(4 << 20);
    middle = static_cast<const char*>(listed) + (2 << 20);
    CHECK(huge_pages_asked(middle));
    { const BulkMemory overlapping; }
    CHECK(BulkMemory::asked());  // scopes count as one: the outer one still holds
    CHECK(huge_pages_asked(middle));
  }
  CHECK_FALSE(BulkMemory::asked());
  // Still in use, it asks no more: khugepaged would fill its 2 MiB ranges in.
  CHECK(flags_of_mapping_at(middle).find(" nh ") != std::string::npos);
  CHECK_FALSE(huge_pages_asked(middle));
  std::free(listed);
}
