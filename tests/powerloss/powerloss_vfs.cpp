// A power cut for SQLite, for the power-loss tests only (never installed).
//
// LD_PRELOAD this library into a process and it registers a VFS shim over
// the default unix VFS as the new default, when the process first opens a
// database (sqlite3_open_v2 is interposed for that: registering from the
// library's constructor would initialise SQLite before the program can
// sqlite3_config it, and focussyncd installs its error log that way). For the main
// database, its -wal and any rollback journal, the shim keeps every write in
// memory (per file, in 512-byte sectors; reads see them) until SQLite syncs
// the file: xSync writes the held sectors to the real file, then syncs it.
// What a program wrote but never synced therefore exists only in the
// process, so a SIGKILL is exactly a power cut at that moment: everything
// not yet synced is gone. A normal exit (or xClose) hands the held sectors
// to the real file without syncing, as the kernel would after a clean exit.
// The -shm file is memory SQLite rebuilds from the -wal; the harness deletes
// it before reopening, as a reboot would make it meaningless.
//
// Torn writes: the library also defines raise(). When the program raises
// SIGKILL on itself (focussyncd's --crash-after-steps does), and
// FOCUS_POWERLOSS_TEAR=<seed> is set, a random subset of the held sectors
// (each with probability 1/2, chosen by the seed) reaches the real file
// first: the disk wrote some of the unsynced sectors, in no particular
// order, and not others.
//
// Cutting inside a commit: FOCUS_POWERLOSS_CRASH_AT_SYNC=<n> cuts the power
// at the n-th xSync of the process, before it writes anything: the commit
// being synced is held, whole or (with FOCUS_POWERLOSS_TEAR) torn, and the
// process dies there (SIGKILL), as SQLite's own crash tests do.
//
// FOCUS_POWERLOSS_REPORT=<file> appends one line when the library loads
// ("loaded pid=..."), and at a self-raised SIGKILL one line with what the
// cut took ("crash pid=... held_sectors=N torn_in=M syncs=S files=F"), so a
// test can check the shim was really there and really had something to lose.
//
// Single process, any thread (a mutex guards the list of open files; each
// file's state is used under SQLite's own locking of that connection).

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <map>
#include <mutex>
#include <new>
#include <set>
#include <string>
#include <unistd.h>

namespace {

constexpr sqlite3_int64 kSector = 512;
using Sector = std::array<unsigned char, kSector>;

// What a shimmed file holds back from the disk.
struct Held {
  std::string name;
  std::map<sqlite3_int64, Sector> sectors;  // by index; contents as reads must see them
  sqlite3_int64 size = 0;                    // the file's size as the program sees it
};

struct ShimFile {
  sqlite3_file base;  // must be first: SQLite hands us this pointer
  sqlite3_file* real;
  Held* held;
};

sqlite3_vfs* g_real = nullptr;
sqlite3_vfs g_vfs;
std::mutex g_mutex;
std::set<ShimFile*>* g_open = nullptr;  // never destroyed: used from the exit handler
long g_syncs = 0;
long g_crash_at_sync = 0;  // FOCUS_POWERLOSS_CRASH_AT_SYNC; 0: never
long g_sync_calls = 0;

sqlite3_file* real_of(sqlite3_file* f) { return reinterpret_cast<ShimFile*>(f)->real; }
Held& held_of(sqlite3_file* f) { return *reinterpret_cast<ShimFile*>(f)->held; }

void report(const std::string& line) {
  const char* path = std::getenv("FOCUS_POWERLOSS_REPORT");
  if (!path || !*path) return;
  if (FILE* out = std::fopen(path, "a")) {
    std::fprintf(out, "%s\n", line.c_str());
    std::fclose(out);
  }
}

// Writes one held sector to the real file, clipped to the program's size.
int write_sector(sqlite3_file* real, const Held& h, sqlite3_int64 index, const Sector& s) {
  const sqlite3_int64 at = index * kSector;
  const sqlite3_int64 n = std::min(kSector, h.size - at);
  if (n <= 0) return SQLITE_OK;
  return real->pMethods->xWrite(real, s.data(), static_cast<int>(n), at);
}

int flush(ShimFile* f) {
  for (const auto& [index, sector] : f->held->sectors) {
    int rc = write_sector(f->real, *f->held, index, sector);
    if (rc != SQLITE_OK) return rc;
  }
  f->held->sectors.clear();
  return SQLITE_OK;
}

// --- the file methods -------------------------------------------------------

int shim_close(sqlite3_file* f) {
  auto* self = reinterpret_cast<ShimFile*>(f);
  {
    std::lock_guard lock(g_mutex);
    g_open->erase(self);
  }
  flush(self);
  int rc = self->real->pMethods ? self->real->pMethods->xClose(self->real) : SQLITE_OK;
  delete self->held;
  self->held = nullptr;
  return rc;
}

int shim_read(sqlite3_file* f, void* buf, int amount, sqlite3_int64 offset) {
  sqlite3_file* real = real_of(f);
  Held& h = held_of(f);
  int rc = real->pMethods->xRead(real, buf, amount, offset);
  if (rc != SQLITE_OK && rc != SQLITE_IOERR_SHORT_READ) return rc;
  auto* out = static_cast<unsigned char*>(buf);
  const sqlite3_int64 end = offset + amount;
  for (auto it = h.sectors.lower_bound(offset / kSector); it != h.sectors.end() && it->first * kSector < end; ++it) {
    const sqlite3_int64 from = std::max(offset, it->first * kSector);
    const sqlite3_int64 to = std::min(end, (it->first + 1) * kSector);
    std::memcpy(out + (from - offset), it->second.data() + (from - it->first * kSector), static_cast<size_t>(to - from));
  }
  if (end <= h.size) return SQLITE_OK;
  const sqlite3_int64 valid = std::max<sqlite3_int64>(0, h.size - offset);
  std::memset(out + valid, 0, static_cast<size_t>(amount - valid));
  return SQLITE_IOERR_SHORT_READ;
}

int shim_write(sqlite3_file* f, const void* buf, int amount, sqlite3_int64 offset) {
  sqlite3_file* real = real_of(f);
  Held& h = held_of(f);
  const auto* in = static_cast<const unsigned char*>(buf);
  const sqlite3_int64 end = offset + amount;
  for (sqlite3_int64 index = offset / kSector; index * kSector < end; ++index) {
    auto it = h.sectors.find(index);
    if (it == h.sectors.end()) {
      Sector s{};
      // What the disk has there (zeros past its end), and past the program's size nothing.
      int rc = real->pMethods->xRead(real, s.data(), kSector, index * kSector);
      if (rc != SQLITE_OK && rc != SQLITE_IOERR_SHORT_READ) return SQLITE_IOERR_WRITE;
      const sqlite3_int64 keep = std::clamp<sqlite3_int64>(h.size - index * kSector, 0, kSector);
      std::memset(s.data() + keep, 0, static_cast<size_t>(kSector - keep));
      it = h.sectors.emplace(index, s).first;
    }
    const sqlite3_int64 from = std::max(offset, index * kSector);
    const sqlite3_int64 to = std::min(end, (index + 1) * kSector);
    std::memcpy(it->second.data() + (from - index * kSector), in + (from - offset), static_cast<size_t>(to - from));
  }
  h.size = std::max(h.size, end);
  return SQLITE_OK;
}

// A truncation reaches the real file at once (SQLite syncs after the ones it
// relies on); held sectors past the new end are dropped.
int shim_truncate(sqlite3_file* f, sqlite3_int64 size) {
  sqlite3_file* real = real_of(f);
  Held& h = held_of(f);
  int rc = real->pMethods->xTruncate(real, size);
  if (rc != SQLITE_OK) return rc;
  for (auto it = h.sectors.begin(); it != h.sectors.end();) {
    if (it->first * kSector >= size) {
      it = h.sectors.erase(it);
      continue;
    }
    const sqlite3_int64 keep = size - it->first * kSector;
    if (keep < kSector) std::memset(it->second.data() + keep, 0, static_cast<size_t>(kSector - keep));
    ++it;
  }
  h.size = size;
  return SQLITE_OK;
}

void cut_power(const std::string& where);

int shim_sync(sqlite3_file* f, int flags) {
  auto* self = reinterpret_cast<ShimFile*>(f);
  if (g_crash_at_sync > 0 && ++g_sync_calls == g_crash_at_sync) {
    cut_power("at_sync=" + std::to_string(g_crash_at_sync) + " file=" + self->held->name);
    kill(getpid(), SIGKILL);
  }
  int rc = flush(self);
  if (rc != SQLITE_OK) return rc;
  {
    std::lock_guard lock(g_mutex);
    ++g_syncs;
  }
  return self->real->pMethods->xSync(self->real, flags);
}

int shim_file_size(sqlite3_file* f, sqlite3_int64* size) {
  *size = held_of(f).size;
  return SQLITE_OK;
}

int shim_lock(sqlite3_file* f, int level) { return real_of(f)->pMethods->xLock(real_of(f), level); }
int shim_unlock(sqlite3_file* f, int level) { return real_of(f)->pMethods->xUnlock(real_of(f), level); }
int shim_check_reserved(sqlite3_file* f, int* out) {
  return real_of(f)->pMethods->xCheckReservedLock(real_of(f), out);
}
int shim_file_control(sqlite3_file* f, int op, void* arg) {
  return real_of(f)->pMethods->xFileControl(real_of(f), op, arg);
}
int shim_sector_size(sqlite3_file* f) { return real_of(f)->pMethods->xSectorSize(real_of(f)); }
int shim_device(sqlite3_file* f) { return real_of(f)->pMethods->xDeviceCharacteristics(real_of(f)); }
int shim_shm_map(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  return real_of(f)->pMethods->xShmMap(real_of(f), region, size, extend, out);
}
int shim_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  return real_of(f)->pMethods->xShmLock(real_of(f), offset, n, flags);
}
void shim_shm_barrier(sqlite3_file* f) { real_of(f)->pMethods->xShmBarrier(real_of(f)); }
int shim_shm_unmap(sqlite3_file* f, int remove) { return real_of(f)->pMethods->xShmUnmap(real_of(f), remove); }

// Version 2: no xFetch, so SQLite never reads the file through a memory map
// that would bypass the held sectors.
const sqlite3_io_methods kMethods = {
    2,
    shim_close,
    shim_read,
    shim_write,
    shim_truncate,
    shim_sync,
    shim_file_size,
    shim_lock,
    shim_unlock,
    shim_check_reserved,
    shim_file_control,
    shim_sector_size,
    shim_device,
    shim_shm_map,
    shim_shm_lock,
    shim_shm_barrier,
    shim_shm_unmap,
    nullptr,
    nullptr,
};

constexpr size_t real_offset() { return (sizeof(ShimFile) + 15) & ~size_t{15}; }

// --- the VFS ----------------------------------------------------------------

int shim_open(sqlite3_vfs*, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  const bool durable_kind = flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_JOURNAL);
  if (!name || !durable_kind) return g_real->xOpen(g_real, name, f, flags, out_flags);  // the real file, as is
  auto* self = reinterpret_cast<ShimFile*>(f);
  self->base.pMethods = nullptr;
  self->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + real_offset());
  self->held = nullptr;
  int rc = g_real->xOpen(g_real, name, self->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    if (self->real->pMethods) self->real->pMethods->xClose(self->real);
    return rc;
  }
  sqlite3_int64 size = 0;
  rc = self->real->pMethods->xFileSize(self->real, &size);
  if (rc != SQLITE_OK) {
    self->real->pMethods->xClose(self->real);
    return rc;
  }
  self->held = new (std::nothrow) Held{name, {}, size};
  if (!self->held) {
    self->real->pMethods->xClose(self->real);
    return SQLITE_NOMEM;
  }
  self->base.pMethods = &kMethods;
  std::lock_guard lock(g_mutex);
  g_open->insert(self);
  return SQLITE_OK;
}

int shim_delete(sqlite3_vfs*, const char* name, int sync_dir) { return g_real->xDelete(g_real, name, sync_dir); }
int shim_access(sqlite3_vfs*, const char* name, int flags, int* out) { return g_real->xAccess(g_real, name, flags, out); }
int shim_full_pathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return g_real->xFullPathname(g_real, name, n, out);
}
void* shim_dl_open(sqlite3_vfs*, const char* name) { return g_real->xDlOpen(g_real, name); }
void shim_dl_error(sqlite3_vfs*, int n, char* out) { g_real->xDlError(g_real, n, out); }
void (*shim_dl_sym(sqlite3_vfs*, void* handle, const char* symbol))(void) { return g_real->xDlSym(g_real, handle, symbol); }
void shim_dl_close(sqlite3_vfs*, void* handle) { g_real->xDlClose(g_real, handle); }
int shim_randomness(sqlite3_vfs*, int n, char* out) { return g_real->xRandomness(g_real, n, out); }
int shim_sleep(sqlite3_vfs*, int us) { return g_real->xSleep(g_real, us); }
int shim_current_time(sqlite3_vfs*, double* out) { return g_real->xCurrentTime(g_real, out); }
int shim_last_error(sqlite3_vfs*, int n, char* out) { return g_real->xGetLastError(g_real, n, out); }
int shim_current_time_64(sqlite3_vfs*, sqlite3_int64* out) { return g_real->xCurrentTimeInt64(g_real, out); }

// The held sectors, for the crash line; a subset of them written when tearing.
void cut_power(const std::string& where) {
  const char* tear = std::getenv("FOCUS_POWERLOSS_TEAR");
  std::uint64_t state = tear && *tear ? std::strtoull(tear, nullptr, 10) * 0x9E3779B97F4A7C15ull + 1 : 0;
  auto coin = [&state] {  // xorshift64
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (state & 1) != 0;
  };
  long held = 0, torn_in = 0, files = 0;
  std::lock_guard lock(g_mutex);
  for (ShimFile* f : *g_open) {
    ++files;
    for (const auto& [index, sector] : f->held->sectors) {
      ++held;
      if (state != 0 && coin() && write_sector(f->real, *f->held, index, sector) == SQLITE_OK) ++torn_in;
    }
    f->held->sectors.clear();
  }
  report("crash pid=" + std::to_string(getpid()) + " held_sectors=" + std::to_string(held) +
         " torn_in=" + std::to_string(torn_in) + " syncs=" + std::to_string(g_syncs) + " files=" + std::to_string(files) + (where.empty() ? "" : " " + where));
}

// A normal exit: what is held reaches the real file (unsynced), as the
// kernel would write its page cache after a program ends.
void flush_all_at_exit() {
  std::lock_guard lock(g_mutex);
  for (ShimFile* f : *g_open) flush(f);
}

__attribute__((constructor)) void load() {
  g_open = new std::set<ShimFile*>;
  if (const char* n = std::getenv("FOCUS_POWERLOSS_CRASH_AT_SYNC")) g_crash_at_sync = std::strtol(n, nullptr, 10);
  std::atexit(flush_all_at_exit);
}

void install() {
  g_real = sqlite3_vfs_find(nullptr);
  if (!g_real) {
    std::fprintf(stderr, "powerloss_vfs: no default SQLite VFS to wrap\n");
    std::abort();
  }
  g_vfs = sqlite3_vfs{};
  g_vfs.iVersion = 2;
  g_vfs.szOsFile = static_cast<int>(real_offset()) + g_real->szOsFile;
  g_vfs.mxPathname = g_real->mxPathname;
  g_vfs.zName = "powerloss";
  g_vfs.xOpen = shim_open;
  g_vfs.xDelete = shim_delete;
  g_vfs.xAccess = shim_access;
  g_vfs.xFullPathname = shim_full_pathname;
  g_vfs.xDlOpen = shim_dl_open;
  g_vfs.xDlError = shim_dl_error;
  g_vfs.xDlSym = shim_dl_sym;
  g_vfs.xDlClose = shim_dl_close;
  g_vfs.xRandomness = shim_randomness;
  g_vfs.xSleep = shim_sleep;
  g_vfs.xCurrentTime = shim_current_time;
  g_vfs.xGetLastError = shim_last_error;
  g_vfs.xCurrentTimeInt64 = shim_current_time_64;
  if (sqlite3_vfs_register(&g_vfs, 1) != SQLITE_OK) {
    std::fprintf(stderr, "powerloss_vfs: cannot register the shim\n");
    std::abort();
  }
  report("loaded pid=" + std::to_string(getpid()));
}

}  // namespace

// Interposes SQLite's open: the shim is the default VFS from the first open.
extern "C" int sqlite3_open_v2(const char* name, sqlite3** db, int flags, const char* vfs) {
  using Open = int (*)(const char*, sqlite3**, int, const char*);
  static Open next = reinterpret_cast<Open>(dlsym(RTLD_NEXT, "sqlite3_open_v2"));
  static std::once_flag once;
  std::call_once(once, install);
  return next(name, db, flags, vfs);
}

// Interposes libc's raise: a program raising SIGKILL on itself loses power
// first (see the top of the file).
extern "C" int raise(int sig) {
  using Raise = int (*)(int);
  static Raise next = reinterpret_cast<Raise>(dlsym(RTLD_NEXT, "raise"));
  if (sig == SIGKILL && g_open) cut_power("");
  return next ? next(sig) : kill(getpid(), sig);
}
