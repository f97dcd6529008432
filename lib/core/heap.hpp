#pragma once
// The process's heap policy, and huge pages for the heap while a listing
// runs.
//
// A listing touches megabytes of fresh memory: the pages it reads, the
// projects decoded, SQLite's page cache for the apply. On the virtual
// machines this project runs on, a first touch of a 4 KiB page costs about
// 12 µs, a tenth of a first sync's CPU. Backed by 2 MiB pages, the same
// memory takes one fault in 512.
//
// configure_heap() is called once, first thing in main (before any thread):
// one malloc arena for every thread; allocations under 32 MiB from the heap
// rather than a mapping of their own each; and the heap's free top handed
// back to the kernel only when asked (malloc_trim, which the daemon calls
// after a listing's apply, after an SQL query and when a BulkMemory scope
// ends), so that the room a scope reserved is still there when the work
// needs it.
//
// BulkMemory is a scope (a listing): while one is open, the free top of the
// heap is asked for huge pages (madvise MADV_HUGEPAGE, which the kernel
// honours in its default "madvise" mode and ignores under "never"); when the
// last one ends, it is asked not to be (so that khugepaged does not fill
// sparse 2 MiB ranges of an idle daemon back in) and the free memory is
// handed back. Nested or overlapping scopes count as one.
//
// Neither changes what a program computes; a failed madvise is ignored.
// io_context thread only (the count of open scopes is not locked).

namespace focus {

void configure_heap();

class BulkMemory {
 public:
  BulkMemory();
  ~BulkMemory();
  BulkMemory(const BulkMemory&) = delete;
  BulkMemory& operator=(const BulkMemory&) = delete;
};

}  // namespace focus
