#pragma once
// The process's heap, and huge pages for it while a listing runs.
//
// A listing touches megabytes of fresh memory: the pages it reads, the
// projects decoded, SQLite's page cache for the apply. On the virtual
// machines this project runs on, a first touch of a 4 KiB page costs about
// 12 µs, a tenth of a first sync's CPU. Backed by 2 MiB pages, the same
// memory takes one fault in 512.
//
// configure_heap() is called once, first thing in main (before any thread):
// one malloc arena for every thread, the thresholds kept between scopes
// (below), and where the heap's break area starts (/proc/self/stat).
// Without it, BulkMemory does nothing (the unit tests of the layers above
// run under glibc's own policy).
//
// BulkMemory is a scope (a listing). While one is open, allocations under
// 32 MiB come from the heap, its free top is kept (up to 64 MiB), and the
// heap from the room the scope made at its top (24 MiB of address space) up
// to its break is asked for huge pages (madvise MADV_HUGEPAGE, which the
// kernel honours in its default "madvise" mode and ignores under "never").
// When the last scope ends, that range is asked not to be (so that
// khugepaged does not fill sparse 2 MiB ranges of an idle daemon back in),
// the thresholds go back to 512 KiB and 1 MiB (above a page's body of 200
// projects, about a quarter of a megabyte), and the free memory is handed
// back (malloc_trim). Nested or overlapping scopes count as one. A room that
// is not inside the heap's one break (brk failed and glibc went on in
// mappings of its own) is not asked for anything.
//
// With the kernel's THP defrag setting "madvise" (its default), a fault in
// the advised range may first compact memory to find a huge page: on a
// long-running machine with fragmented memory that can take milliseconds,
// on the thread that faulted (the io thread).
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

  // Whether huge pages are asked for now (an open scope over a heap that is
  // one break, after configure_heap).
  static bool asked();
};

}  // namespace focus
