"""Build the Python peer's shared-memory helper with cffi (API mode): `python3 build_shm.py`.

Plain Python writes into a mmap are not atomic and give no ordering, so the ring's control
words go through these few C functions: acquire loads, release stores, a sequentially
consistent fence, atomic bumps, and futex wait/wake (a short sleep where there is no futex).
Control words are little-endian in the segment (protocols/SHM.md), whatever the host.
The module lands in build/ next to a stamp file that the manifest lists as the build output.
"""
from pathlib import Path

import cffi

HERE = Path(__file__).resolve().parent
BUILD = HERE / "build"

CDEF = """
uint64_t cw_load_acquire_u64(char *base, size_t off);
void cw_store_release_u64(char *base, size_t off, uint64_t value);
uint32_t cw_load_acquire_u32(char *base, size_t off);
void cw_store_release_u32(char *base, size_t off, uint32_t value);
void cw_store_relaxed_u32(char *base, size_t off, uint32_t value);
uint32_t cw_bump_u32(char *base, size_t off);
uint32_t cw_or_u32(char *base, size_t off, uint32_t bits);
void cw_fence(void);
int cw_wait_u32(char *base, size_t off, uint32_t expected, uint32_t timeout_us);
int cw_wake_u32(char *base, size_t off);
int cw_shm_open(const char *name, int create);
int cw_shm_unlink(const char *name);
"""

SOURCE = r"""
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#endif

/* Control words are little-endian in the segment: swap on a big-endian host. */
static int host_le(void) { const uint16_t one = 1; uint8_t b; memcpy(&b, &one, 1); return b == 1; }
static uint32_t le32(uint32_t v) { return host_le() ? v : __builtin_bswap32(v); }
static uint64_t le64(uint64_t v) { return host_le() ? v : __builtin_bswap64(v); }
#define W32(base, off) ((uint32_t *)(void *)((base) + (off)))
#define W64(base, off) ((uint64_t *)(void *)((base) + (off)))

uint64_t cw_load_acquire_u64(char *b, size_t o) { return le64(__atomic_load_n(W64(b, o), __ATOMIC_ACQUIRE)); }
void cw_store_release_u64(char *b, size_t o, uint64_t v) { __atomic_store_n(W64(b, o), le64(v), __ATOMIC_RELEASE); }
uint32_t cw_load_acquire_u32(char *b, size_t o) { return le32(__atomic_load_n(W32(b, o), __ATOMIC_ACQUIRE)); }
void cw_store_release_u32(char *b, size_t o, uint32_t v) { __atomic_store_n(W32(b, o), le32(v), __ATOMIC_RELEASE); }
void cw_store_relaxed_u32(char *b, size_t o, uint32_t v) { __atomic_store_n(W32(b, o), le32(v), __ATOMIC_RELAXED); }
void cw_fence(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

/* Read-modify-write on a little-endian word: a CAS loop on the stored bytes (SHM.md). */
uint32_t cw_bump_u32(char *b, size_t o) {
    uint32_t *w = W32(b, o), old = __atomic_load_n(w, __ATOMIC_RELAXED), new;
    do { new = le32(le32(old) + 1); } while (!__atomic_compare_exchange_n(w, &old, new, 1, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
    return le32(new);
}
uint32_t cw_or_u32(char *b, size_t o, uint32_t bits) {
    uint32_t *w = W32(b, o), old = __atomic_load_n(w, __ATOMIC_RELAXED), new;
    do { new = le32(le32(old) | bits); } while (!__atomic_compare_exchange_n(w, &old, new, 1, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
    return le32(new);
}

/* Sleep while the word still holds `expected`, at most timeout_us. Shared (not private) futex:
   the word is in memory shared between processes. Returns 0; spurious wake-ups are fine. */
int cw_wait_u32(char *b, size_t o, uint32_t expected, uint32_t timeout_us) {
#ifdef __linux__
    struct timespec ts = { (time_t)(timeout_us / 1000000), (long)(timeout_us % 1000000) * 1000 };
    syscall(SYS_futex, W32(b, o), FUTEX_WAIT, le32(expected), &ts, NULL, 0);
#else
    struct timespec ts = { 0, (long)(timeout_us < 200 ? timeout_us : 200) * 1000 };
    if (le32(__atomic_load_n(W32(b, o), __ATOMIC_ACQUIRE)) == expected) nanosleep(&ts, NULL);
#endif
    return 0;
}
int cw_wake_u32(char *b, size_t o) {
#ifdef __linux__
    return (int)syscall(SYS_futex, W32(b, o), FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
#else
    (void)b; (void)o;
    return 0;
#endif
}

/* shm_open with the flags of SHM.md; returns the fd or -errno. */
int cw_shm_open(const char *name, int create) {
    int fd = shm_open(name, create ? (O_CREAT | O_EXCL | O_RDWR) : O_RDWR, 0600);
    return fd < 0 ? -errno : fd;
}
int cw_shm_unlink(const char *name) { return shm_unlink(name) < 0 ? -errno : 0; }
"""


def main() -> None:
    ffi = cffi.FFI()
    ffi.cdef(CDEF)
    ffi.set_source("_cwshm", SOURCE, extra_compile_args=["-std=gnu11", "-O2"])
    BUILD.mkdir(exist_ok=True)
    ffi.compile(tmpdir=str(BUILD), verbose=False)
    (BUILD / "_cwshm.stamp").write_text("built by build_shm.py\n")


if __name__ == "__main__":
    main()
