"""Build the Python peer's shared-memory helper with cffi (API mode): `python3 build_shm.py`.

Plain Python writes into a mmap are not atomic and give no ordering, and a Python loop polling a
ring costs microseconds a turn, so the rings of protocols/SHM.md (layout version 2) live here:

- header words: acquire loads, release stores, the `closed` OR, futex wait/wake on `state`;
- a connection (`cw_conn`): both rings of one side, with the other side's index cached (the
  producer reloads `tail` only when its cached value says there is not enough room, the consumer
  `head` likewise), the wait strategy (spin / futex / spin-futex) and the sleeping protocol;
- `cw_write` (a whole buffer), `cw_read` (what is there, like recv) and `cw_read_frame` (one whole
  WIRE.md frame of the schema's header, `cw_conn_frames` describes it, in a single consume when
  the ring holds it, streamed when it wraps or is bigger than the ring): one call per frame, no
  system call unless a side sleeps or wakes the other;
- every wait checks between its slices that the other side and the harness live (the harness:
  `cw_conn.parent`, the pid alive.py noted, and stdin; CW_GONE when it went);
- `cw_sort_u64` for the PING samples.

Control words are little-endian in the segment, whatever the host. The module lands in the peer's
build/ folder next to a stamp file that the manifest lists as the build output.
"""
from pathlib import Path

import cffi

HERE = Path(__file__).resolve().parent
BUILD = Path.cwd() / "build"       # the peer's build folder: the build step runs in the peer's folder

CDEF = """
enum { CW_TIMEOUT = -1, CW_CLOSED = -2, CW_BADHDR = -3, CW_GONE = -4 };

typedef struct {
    uint64_t sleeps;    /* times this side slept on an empty or full ring */
    uint64_t missed;    /* of those, sleeps that timed out although the other side had moved: a lost wake-up */
    uint64_t got;       /* cw_read_frame: bytes of the frame in dst when it failed */
    int64_t spin_ns;    /* how long to poll before sleeping: 0 never, -1 for ever (spin) */
    int yield_cpu;      /* poll with sched_yield instead of the pause hint (one CPU) */
    int64_t parent;     /* the harness's pid noted at start (alive.py); -1: not watched */
    ...;
} cw_conn;

typedef struct {        /* a frame header field: offset, size (0: the frame has none), byte order */
    uint32_t off, size, big;
    uint64_t value;     /* a constant's value, its bits */
} cw_hfield;

uint64_t cw_load_acquire_u64(char *base, size_t off);
void cw_store_release_u64(char *base, size_t off, uint64_t value);
uint32_t cw_load_acquire_u32(char *base, size_t off);
void cw_store_release_u32(char *base, size_t off, uint32_t value);
uint32_t cw_or_u32(char *base, size_t off, uint32_t bits);
int cw_wait_u32(char *base, size_t off, uint32_t expected, uint32_t timeout_us);
int cw_wake_u32(char *base, size_t off);
int cw_shm_open(const char *name, int create);
int cw_shm_unlink(const char *name);

int64_t cw_now_ns(void);
void cw_conn_init(cw_conn *c, char *base, int creator, uint64_t capacity);
void cw_conn_frames(cw_conn *c, uint32_t header, uint32_t trailer, uint32_t adjust, uint32_t max_payload,
                    const cw_hfield *consts, uint32_t nconsts, const cw_hfield *id, const cw_hfield *length,
                    const unsigned char *types);
void cw_conn_close(cw_conn *c);
int64_t cw_write(cw_conn *c, const char *src, uint64_t n, int64_t deadline);
int64_t cw_read(cw_conn *c, char *dst, uint64_t limit, int64_t deadline);
int64_t cw_read_frame(cw_conn *c, char *dst, uint64_t got, uint64_t cap, int64_t deadline);
void cw_sort_u64(uint64_t *v, size_t n);
"""

SOURCE = r"""
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#endif

enum { CW_TIMEOUT = -1, CW_CLOSED = -2, CW_BADHDR = -3, CW_GONE = -4 };

/* SHM.md, layout version 2 */
#define CLOSED 36u                      /* header: closed bits */
#define CTL_HEAD 0u                     /* in a ring's control block */
#define CTL_DATA_SEQ 128u
#define CTL_PRODUCER_WAITING 132u
#define CTL_TAIL 256u
#define CTL_SPACE_SEQ 384u
#define CTL_CONSUMER_WAITING 388u
#define HEADER_SIZE 1152u
#define SLICE_NS INT64_C(50000000)      /* longest single sleep before re-checking liveness */
#define LIVENESS_NS INT64_C(1000000)    /* kill(pid, 0) at most this often */
#define POLLS_PER_CLOCK 64u             /* spinning: read the clock every so many polls */

/* Control words are little-endian in the segment: swap on a big-endian host. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define le32(v) __builtin_bswap32(v)
#define le64(v) __builtin_bswap64(v)
#else
#define le32(v) (v)
#define le64(v) (v)
#endif
#define W32(p) ((uint32_t *)(void *)(p))
#define W64(p) ((uint64_t *)(void *)(p))

static inline uint64_t ld_acq64(const char *p) { return le64(__atomic_load_n(W64(p), __ATOMIC_ACQUIRE)); }
static inline void st_rel64(char *p, uint64_t v) { __atomic_store_n(W64(p), le64(v), __ATOMIC_RELEASE); }
static inline uint32_t ld_acq32(const char *p) { return le32(__atomic_load_n(W32(p), __ATOMIC_ACQUIRE)); }
static inline uint32_t ld_rlx32(const char *p) { return le32(__atomic_load_n(W32(p), __ATOMIC_RELAXED)); }
static inline void st_rlx32(char *p, uint32_t v) { __atomic_store_n(W32(p), le32(v), __ATOMIC_RELAXED); }
static inline void fence(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

uint64_t cw_load_acquire_u64(char *b, size_t o) { return ld_acq64(b + o); }
void cw_store_release_u64(char *b, size_t o, uint64_t v) { st_rel64(b + o, v); }
uint32_t cw_load_acquire_u32(char *b, size_t o) { return ld_acq32(b + o); }
void cw_store_release_u32(char *b, size_t o, uint32_t v) { __atomic_store_n(W32(b + o), le32(v), __ATOMIC_RELEASE); }

/* Read-modify-write on a little-endian word: a CAS loop on the stored bytes (SHM.md). */
static uint32_t rmw32(char *p, uint32_t add, uint32_t bits) {
    uint32_t *w = W32(p), old = __atomic_load_n(w, __ATOMIC_RELAXED), new;
    do { new = le32((le32(old) + add) | bits); } while (!__atomic_compare_exchange_n(w, &old, new, 1, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
    return le32(new);
}
uint32_t cw_or_u32(char *b, size_t o, uint32_t bits) { return rmw32(b + o, 0, bits); }

int64_t cw_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Sleep while the word still holds `expected`, at most ns. Shared (not private) futex: the word
   is in memory shared between processes. Spurious wake-ups are fine: callers re-check. 1 when
   the sleep ended by its time limit (the futex says so), else 0 (the polling fallback: never). */
static int wait_word(char *p, uint32_t expected, int64_t ns) {
#ifdef __linux__
    struct timespec ts = { (time_t)(ns / 1000000000), (long)(ns % 1000000000) };
    return syscall(SYS_futex, W32(p), FUTEX_WAIT, le32(expected), &ts, NULL, 0) < 0 && errno == ETIMEDOUT;
#else
    struct timespec ts = { 0, (long)(ns < 100000 ? ns : 100000) };  /* no futex: re-check every 100 us */
    if (ld_acq32(p) == expected) nanosleep(&ts, NULL);
    return 0;
#endif
}
static void wake_word(char *p) {
#ifdef __linux__
    syscall(SYS_futex, W32(p), FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
#else
    (void)p;
#endif
}
int cw_wait_u32(char *b, size_t o, uint32_t expected, uint32_t timeout_us) {
    wait_word(b + o, expected, (int64_t)timeout_us * 1000);
    return 0;
}
int cw_wake_u32(char *b, size_t o) { wake_word(b + o); return 0; }

/* shm_open with the flags of SHM.md; returns the fd or -errno. */
int cw_shm_open(const char *name, int create) {
    int fd = shm_open(name, create ? (O_CREAT | O_EXCL | O_RDWR) : O_RDWR, 0600);
    return fd < 0 ? -errno : fd;
}
int cw_shm_unlink(const char *name) { return shm_unlink(name) < 0 ? -errno : 0; }

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
    __asm__ __volatile__("yield");
#endif
}

/* ------------------------------------------------------------------ a connection */

typedef struct {        /* a frame header field: offset, size (0: the frame has none), byte order */
    uint32_t off, size, big;
    uint64_t value;     /* a constant's value, its bits */
} cw_hfield;

typedef struct {
    uint64_t sleeps;
    uint64_t missed;
    uint64_t got;
    int64_t spin_ns;
    int yield_cpu;
    int64_t parent;
    char *base, *out_ctl, *in_ctl, *out_data, *in_data;
    uint64_t cap;
    uint64_t head, tail_seen;           /* ring we produce: our head, the tail we saw last */
    uint64_t tail, head_seen;           /* ring we consume: our tail, the head we saw last */
    uint32_t other_bit;                 /* the other side's bit in `closed` */
    size_t other_pid;                   /* header offset of the other side's pid */
    uint32_t header, trailer, adjust, max_payload, nconsts;     /* the frame (cw_conn_frames) */
    const cw_hfield *consts, *id, *length;
    const unsigned char *types;         /* 65536 flags: the id names a message */
} cw_conn;

void cw_conn_init(cw_conn *c, char *base, int creator, uint64_t capacity) {
    memset(c, 0, sizeof *c);
    c->base = base;
    c->cap = capacity;
    c->out_ctl = base + (creator ? 128 : 640);
    c->in_ctl = base + (creator ? 640 : 128);
    c->out_data = base + HEADER_SIZE + (creator ? 0 : capacity);
    c->in_data = base + HEADER_SIZE + (creator ? capacity : 0);
    c->head = ld_acq64(c->out_ctl + CTL_HEAD);
    c->tail_seen = ld_acq64(c->out_ctl + CTL_TAIL);
    c->tail = c->head_seen = ld_acq64(c->in_ctl + CTL_TAIL);
    c->other_bit = creator ? 2 : 1;
    c->other_pid = creator ? 28 : 24;
    c->spin_ns = 100000;
    c->parent = -1;
}

void cw_conn_frames(cw_conn *c, uint32_t header, uint32_t trailer, uint32_t adjust, uint32_t max_payload,
                    const cw_hfield *consts, uint32_t nconsts, const cw_hfield *id, const cw_hfield *length,
                    const unsigned char *types) {
    c->header = header;
    c->trailer = trailer;
    c->adjust = adjust;
    c->max_payload = max_payload;
    c->consts = consts;
    c->nconsts = nconsts;
    c->id = id;
    c->length = length;
    c->types = types;
}

/* CLOSE: our bit in `closed`, then wake every word a side may sleep on. */
void cw_conn_close(cw_conn *c) {
    rmw32(c->base + CLOSED, 0, c->other_bit == 2 ? 1 : 2);
    wake_word(c->base + 32);
    wake_word(c->out_ctl + CTL_DATA_SEQ);
    wake_word(c->out_ctl + CTL_SPACE_SEQ);
    wake_word(c->in_ctl + CTL_DATA_SEQ);
    wake_word(c->in_ctl + CTL_SPACE_SEQ);
}

/* The other side closed its end, or (check_pid) its process is gone. */
static int other_gone(const cw_conn *c, int check_pid) {
    uint32_t pid;
    if (ld_acq32(c->base + CLOSED) & c->other_bit) return 1;
    if (!check_pid) return 0;
    pid = ld_rlx32(c->base + c->other_pid);
    return pid != 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

/* The harness that started this peer is gone (PEER_CONTRACT.md, "When the harness goes"): our
   parent is not the pid noted at start, or stdin hung up with nothing left to read. */
static int harness_gone(const cw_conn *c) {
    struct pollfd in = { 0, POLLIN, 0 };
    if (c->parent < 0) return 0;
    if ((int64_t)getppid() != c->parent) return 1;
    return poll(&in, 1, 0) == 1 && (in.revents & POLLHUP) && !(in.revents & POLLIN);
}

/* Wait until the other side's index word `idx` is no longer `seen` (SHM.md, "Waiting" and
   "Wait strategies"): poll for the spin budget, then sleep on `seq` with `waiting` raised.
   0 with the new index in *out; CW_CLOSED when the other side went and the index did not move;
   CW_TIMEOUT at the deadline; CW_GONE when the harness went (checked with the other side's
   liveness, between slices: never on a wait that ends within LIVENESS_NS). */
static int wait_index(cw_conn *c, const char *idx, uint64_t seen, char *seq, char *waiting,
                      int64_t deadline, uint64_t *out) {
    uint64_t v;
    int64_t t, live = 0;
    if (c->spin_ns != 0) {
        int64_t start = cw_now_ns();
        unsigned n = 0;
        live = start;
        for (;;) {
            if (c->yield_cpu) sched_yield(); else cpu_relax();
            if ((v = ld_acq64(idx)) != seen) { *out = v; return 0; }
            if (++n % POLLS_PER_CLOCK) continue;
            t = cw_now_ns();
            if (c->spin_ns > 0) {
                if (t - start >= c->spin_ns) break;
            } else if (t - live >= LIVENESS_NS) {       /* spin: never sleeps, still checks */
                live = t;
                if (harness_gone(c)) return CW_GONE;
                if (other_gone(c, 1)) goto gone;
                if (t >= deadline) return CW_TIMEOUT;
            }
        }
    }
    for (;;) {
        uint32_t s = ld_acq32(seq);
        int check_pid;
        st_rlx32(waiting, 1);
        fence();
        if ((v = ld_acq64(idx)) != seen) { st_rlx32(waiting, 0); *out = v; return 0; }
        t = cw_now_ns();
        if (live == 0) live = t;
        check_pid = t - live >= LIVENESS_NS;
        if (check_pid) live = t;
        if (check_pid && harness_gone(c)) { st_rlx32(waiting, 0); return CW_GONE; }
        if (other_gone(c, check_pid)) { st_rlx32(waiting, 0); goto gone; }
        if (t >= deadline) { st_rlx32(waiting, 0); return CW_TIMEOUT; }
        c->sleeps++;
        if (wait_word(seq, s, deadline - t < SLICE_NS ? deadline - t : SLICE_NS)
            && ld_acq32(seq) == s && ld_acq64(idx) != seen)
            c->missed++;    /* timed out, the other side moved and never bumped: a lost wake-up (SHM.md) */
        st_rlx32(waiting, 0);
    }
gone:
    if ((v = ld_acq64(idx)) != seen) { *out = v; return 0; }
    return CW_CLOSED;
}

/* After an index store: the seq_cst fence, then wake the other side only if it sleeps. */
static inline void notify(char *ctl, size_t waiting, size_t seq) {
    fence();
    if (ld_rlx32(ctl + waiting) == 1) {
        rmw32(ctl + seq, 1, 0);
        wake_word(ctl + seq);
    }
}

static inline void copy_in(cw_conn *c, uint64_t pos, const char *src, uint64_t n) {
    uint64_t at = pos & (c->cap - 1), first = c->cap - at < n ? c->cap - at : n;
    memcpy(c->out_data + at, src, first);
    if (n > first) memcpy(c->out_data, src + first, n - first);
}
static inline void copy_out(const cw_conn *c, uint64_t pos, char *dst, uint64_t n) {
    uint64_t at = pos & (c->cap - 1), first = c->cap - at < n ? c->cap - at : n;
    memcpy(dst, c->in_data + at, first);
    if (n > first) memcpy(dst + first, c->in_data, n - first);
}

/* Consume n bytes (already copied out) and tell a sleeping producer. */
static inline void consume(cw_conn *c, uint64_t n) {
    c->tail += n;
    st_rel64(c->in_ctl + CTL_TAIL, c->tail);
    notify(c->in_ctl, CTL_PRODUCER_WAITING, CTL_SPACE_SEQ);
}

/* Write all n bytes, as space frees up. 0, CW_CLOSED (the other side closed or died: at once if
   it had closed before), CW_TIMEOUT or CW_GONE (the harness went). */
int64_t cw_write(cw_conn *c, const char *src, uint64_t n, int64_t deadline) {
    if (ld_acq32(c->base + CLOSED) & c->other_bit) return CW_CLOSED;
    while (n) {
        uint64_t room = c->cap - (c->head - c->tail_seen), k;
        if (room < n) {
            c->tail_seen = ld_acq64(c->out_ctl + CTL_TAIL);
            room = c->cap - (c->head - c->tail_seen);
            if (room == 0) {
                int rc = wait_index(c, c->out_ctl + CTL_TAIL, c->tail_seen, c->out_ctl + CTL_SPACE_SEQ,
                                    c->out_ctl + CTL_PRODUCER_WAITING, deadline, &c->tail_seen);
                if (rc) return rc;
                room = c->cap - (c->head - c->tail_seen);
            }
        }
        k = room < n ? room : n;
        copy_in(c, c->head, src, k);
        c->head += k;
        src += k;
        n -= k;
        st_rel64(c->out_ctl + CTL_HEAD, c->head);
        notify(c->out_ctl, CTL_CONSUMER_WAITING, CTL_DATA_SEQ);
    }
    return 0;
}

/* Wait until the ring we consume is not empty. */
static int wait_data(cw_conn *c, int64_t deadline) {
    if (c->head_seen != c->tail) return 0;
    c->head_seen = ld_acq64(c->in_ctl + CTL_HEAD);
    if (c->head_seen != c->tail) return 0;
    return wait_index(c, c->in_ctl + CTL_HEAD, c->tail, c->in_ctl + CTL_DATA_SEQ,
                      c->in_ctl + CTL_CONSUMER_WAITING, deadline, &c->head_seen);
}

/* Like recv: 1..limit bytes into dst, waiting for the first; CW_CLOSED when the other side went
   and nothing is left; CW_TIMEOUT; CW_GONE (the harness went). */
int64_t cw_read(cw_conn *c, char *dst, uint64_t limit, int64_t deadline) {
    uint64_t k;
    int rc;
    if (limit == 0) return 0;
    if ((rc = wait_data(c, deadline))) return rc;
    k = c->head_seen - c->tail;
    if (k > limit) k = limit;
    copy_out(c, c->tail, dst, k);
    consume(c, k);
    return (int64_t)k;
}

/* A header field's bits. */
static inline uint64_t field(const cw_hfield *f, const unsigned char *h) {
    uint64_t v = 0;
    for (uint32_t i = 0; i < f->size; i++)
        v |= (uint64_t)h[f->off + i] << (8 * (f->big ? f->size - 1 - i : i));
    return v;
}

/* The frame's whole size if its header is valid (WIRE.md: the constants, the id, the length) and
   it fits in cap, else 0. */
static uint64_t frame_size(const cw_conn *c, const char *h, uint64_t cap) {
    const unsigned char *u = (const unsigned char *)h;
    uint64_t id, len, total;
    for (uint32_t i = 0; i < c->nconsts; i++)
        if (field(&c->consts[i], u) != c->consts[i].value) return 0;
    id = field(c->id, u);
    if (c->id->size && (id > 65535 || !c->types[id])) return 0;
    len = field(c->length, u);
    if (len < c->adjust || len - c->adjust > c->max_payload) return 0;
    total = c->header + (len - c->adjust) + c->trailer;
    return total > cap ? 0 : total;
}

/* One whole frame into dst, whose first `got` bytes are already the start of it. The frame's
   size, with one consume when the ring holds the rest of it (the header is peeked); a frame that
   wraps is copied in two pieces, one bigger than what the ring holds is streamed through it.
   CW_BADHDR: the header (in dst[0..header), consumed) breaks WIRE.md or the frame is bigger than
   cap. CW_TIMEOUT, CW_CLOSED, CW_GONE: c->got bytes of the frame are in dst. */
int64_t cw_read_frame(cw_conn *c, char *dst, uint64_t got, uint64_t cap, int64_t deadline) {
    uint64_t total = 0;
    if (got >= c->header) {
        if ((total = frame_size(c, dst, cap)) == 0) { c->got = got; return CW_BADHDR; }
        if (got >= total) { c->got = 0; return (int64_t)total; }
    }
    for (;;) {
        uint64_t want = (total ? total : c->header) - got, avail = c->head_seen - c->tail, k;
        int rc;
        if (avail < want) avail = (c->head_seen = ld_acq64(c->in_ctl + CTL_HEAD)) - c->tail;
        if (!total && avail >= want) {          /* the header is complete: peek its rest, check it */
            copy_out(c, c->tail, dst + got, want);
            if ((total = frame_size(c, dst, cap)) == 0) {
                consume(c, want);
                c->got = c->header;
                return CW_BADHDR;
            }
            want = total - got;
        }
        k = avail < want ? avail : want;
        if (k) {
            copy_out(c, c->tail, dst + got, k);
            consume(c, k);
            got += k;
            if (got == total) { c->got = 0; return (int64_t)total; }
        }
        if ((rc = wait_data(c, deadline))) { c->got = got; return rc; }
    }
}

static int by_value(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}
void cw_sort_u64(uint64_t *v, size_t n) { qsort(v, n, sizeof *v, by_value); }
"""


def main(build: Path = BUILD) -> None:
    global BUILD
    BUILD = Path(build)
    ffi = cffi.FFI()
    ffi.cdef(CDEF)
    ffi.set_source("_cwshm", SOURCE, extra_compile_args=["-std=gnu11", "-O2"])
    BUILD.mkdir(exist_ok=True)
    ffi.compile(tmpdir=str(BUILD), verbose=False)
    (BUILD / "_cwshm.stamp").write_text("built by build_shm.py\n")


if __name__ == "__main__":
    main()
