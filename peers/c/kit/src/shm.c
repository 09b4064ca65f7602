/* shm.c -- the shared-memory rings of protocols/SHM.md (see shm.h).
 *
 * Segment: a 1152-byte header (layout version 2), then ring 0's data (creator -> attacher), then ring 1's (back),
 * `capacity` bytes each. Everything in it is little-endian, the control words too: on a
 * big-endian host each control word is byte-swapped on every load and store, and a
 * read-modify-write (a seq bump, the `closed` OR) is a compare-and-swap loop on the stored
 * bytes; futex waits compare the stored bytes as they are.
 *
 * Ring invariants (SHM.md, "Invariants and ordering"), for each ring of capacity C:
 *
 *   1. `head` (total bytes ever written) is written only by the ring's producer, `tail`
 *      (total bytes ever consumed) only by its consumer; tail <= head <= tail + C. The byte
 *      at stream position p lives at data offset p mod C. Each side keeps its own index in a
 *      local copy (c->head for the ring we produce, c->tail for the ring we consume) and
 *      loads the other side's only when its last-seen copy (c->tail_seen, c->head_seen) says
 *      the ring is full (empty): each index line then crosses between the cores once per
 *      update, not once per look.
 *   2. Publish (producer): copy the bytes into [head, tail + C), then store `head` with
 *      RELEASE. The consumer loads `head` with ACQUIRE before reading: it sees those bytes.
 *   3. Consume (consumer): copy the bytes of [tail, head) out, then store `tail` with
 *      RELEASE. The producer loads `tail` with ACQUIRE before reusing that space: it never
 *      overwrites a byte not yet read.
 *   4. Never read a byte at or past head, never write one at or past tail + C. A ring whose
 *      indexes break 1 (a broken or hostile peer) is an error, never an out-of-bounds copy.
 *
 * Waiting (SHM.md, "Waiting" and "Wait strategies"): a side that finds its ring empty
 * (consumer) or full (producer) polls it as its strategy says (spin: for ever; futex: not at
 * all; spin-futex: SPIN_NS, or not at all when both sides may run on the same one CPU only), then
 *     seen = load_acquire(seq); store(waiting, 1); fence(seq_cst);
 *     re-check the ring; futex-wait on seq while it holds `seen` (one slice <= 50 ms);
 *     store(waiting, 0)
 * and after each publish (consume) the other side does
 *     store_release(head (tail)); fence(seq_cst);
 *     if load(consumer_waiting (producer_waiting)) == 1: bump(data_seq (space_seq)); wake(seq).
 * The two seq_cst fences make at least one side see the other's store, so no wake-up is
 * lost; the bump comes after the sleeper read `seen`, so it always changes the word slept on.
 * A slice that runs out (futex: ETIMEDOUT) while the other side's index moved and seq still
 * holds `seen` is a wake-up the other side owed and did not give: counted in `missed`.
 * The `waiting` and `seq` words sit on lines of their own, away from head and tail: the
 * load after each publish hits this core's cache until the other side really sleeps. Between slices the waiter checks the other side's `closed` bit and its pid, and
 * every wait has a deadline (CW_NO_DEADLINE for a write: it waits while the other side lives).
 * Every wait also looks at the harness between slices (cw_harness_check: a gone harness ends
 * the process after the kit's cleanup), never on the data path.
 */
#if defined(__APPLE__)
#define _DARWIN_C_SOURCE 1              /* MAP_SHARED and shm_open next to _POSIX_C_SOURCE */
#endif

#include "shm.h"
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The control words are atomics in memory shared between processes: they must be lock-free
 * (a lock would live in one process only) and exactly as wide as the words of SHM.md. */
#if ATOMIC_INT_LOCK_FREE != 2 || ATOMIC_LLONG_LOCK_FREE != 2
#error "the shm transport needs lock-free 32- and 64-bit atomics"
#endif
_Static_assert(sizeof(_Atomic uint32_t) == 4, "a 32-bit control word is 4 bytes");
_Static_assert(sizeof(_Atomic uint64_t) == 8, "a 64-bit control word is 8 bytes");

typedef _Atomic uint32_t a32;
typedef _Atomic uint64_t a64;

/* ------------------------------------------------------------------ layout (SHM.md) */

#define MAGIC UINT32_C(0x4d485343)      /* bytes 43 53 48 4d, "CSHM" */
#define VERSION 2u
#define ENDIAN 0x0102u                  /* bytes 02 01 */
#define HEADER_SIZE 1152u

#define OFF_MAGIC 0
#define OFF_VERSION 4
#define OFF_ENDIAN 6
#define OFF_CAPACITY 8
#define OFF_HEADER_SIZE 12
#define OFF_SEGMENT_SIZE 16
#define OFF_CREATOR_PID 24
#define OFF_ATTACHER_PID 28
#define OFF_STATE 32                    /* 0 creating, 1 ready, 2 attached; a futex word */
#define OFF_CLOSED 36                   /* bit 0: creator closed, bit 1: attacher closed */
#define CLOSED_CREATOR 1u
#define CLOSED_ATTACHER 2u

#define RING_CONTROL(r) (128u + 512u * (unsigned)(r))   /* ring 0: creator -> attacher */
#define CTL_HEAD 0                      /* producer's hot line: written on every publish */
#define CTL_DATA_SEQ 128                /* producer's cold line: written around sleeps only */
#define CTL_PRODUCER_WAITING 132
#define CTL_TAIL 256                    /* consumer's hot line */
#define CTL_SPACE_SEQ 384               /* consumer's cold line */
#define CTL_CONSUMER_WAITING 388

#define SPIN_NS UINT64_C(100000)        /* spin-futex: poll this long (more than a futex wake-up takes) */
#define SPIN_CHECK 64                   /* polls between two looks at the clock */
#define SPIN_LIVENESS_NS UINT64_C(1000000)  /* spin: deadline and liveness this often */
#define SLICE_NS UINT64_C(50000000)     /* the longest sleep before looking at the other side */
#define LIVENESS_NS UINT64_C(10000000)  /* kill(pid, 0) at most this often while waiting */
#define ATTACH_POLL_NS UINT64_C(1000000)

/* ------------------------------------------------------------------ little-endian words */

static int host_le(void) {
    const uint16_t one = 1;
    uint8_t first;
    memcpy(&first, &one, 1);
    return first == 1;
}

static uint32_t le32(uint32_t v) {
    return host_le() ? v : (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24);
}

static uint64_t le64(uint64_t v) {
    return host_le() ? v : ((uint64_t)le32((uint32_t)v) << 32) | le32((uint32_t)(v >> 32));
}

static uint32_t ld32(a32 *w, memory_order o) { return le32(atomic_load_explicit(w, o)); }
static void st32(a32 *w, uint32_t v, memory_order o) { atomic_store_explicit(w, le32(v), o); }
static uint64_t ld64(a64 *w, memory_order o) { return le64(atomic_load_explicit(w, o)); }
static void st64(a64 *w, uint64_t v, memory_order o) { atomic_store_explicit(w, le64(v), o); }

/* *w = *w + add | bits, atomically, as a compare-and-swap loop on the stored bytes. */
static void rmw32(a32 *w, uint32_t add, uint32_t bits) {
    uint32_t old = atomic_load_explicit(w, memory_order_relaxed), new_value;
    do {
        new_value = le32((le32(old) + add) | bits);
    } while (!atomic_compare_exchange_weak_explicit(w, &old, new_value, memory_order_seq_cst,
                                                    memory_order_relaxed));
}

/* Plain header fields (written once by the creator before it publishes `state`). */
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p) { return get16(p) | (uint32_t)get16(p + 2) << 16; }
static uint64_t get64(const uint8_t *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }

/* ------------------------------------------------------------------ segment */

typedef struct segment {
    uint8_t *base;              /* the mapping, size bytes */
    size_t size;
    uint64_t capacity;
    int creator;                /* 1: we made it (LISTEN); 0: we attached (CONNECT) */
    int linked;                 /* creator: the name still exists (unlinked at ACCEPT) */
    char name[32];
    a32 *state, *closed;
    uint64_t alive_checked;     /* cw_now_ns() of the last kill(pid, 0) */
} segment;

static a32 *word32(const segment *s, size_t off) { return (a32 *)(void *)(s->base + off); }
static a64 *word64(const segment *s, size_t off) { return (a64 *)(void *)(s->base + off); }

/* Maps size bytes of fd shared read-write into s (fd is closed either way). 0 or -1. */
static int map(segment *s, int fd, size_t size, cw_terr *e) {
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int saved = errno;
    close(fd);
    if (p == MAP_FAILED) return cw_terr_set(e, "runtime", "mmap %s: %s", s->name, strerror(saved));
    s->base = p;
    s->size = size;
    s->state = word32(s, OFF_STATE);
    s->closed = word32(s, OFF_CLOSED);
    if (!atomic_is_lock_free(s->state) || !atomic_is_lock_free(word64(s, RING_CONTROL(0) + CTL_HEAD))) {
        munmap(s->base, s->size);
        return cw_terr_set(e, "runtime", "atomics on this platform are not lock-free");
    }
    return 0;
}

/* The other side closed its end or died (checking its pid at most every LIVENESS_NS). Where
 * that pid is checked, so is the harness: a gone harness ends the process (platform.h). */
static int other_gone(segment *s) {
    uint64_t now;
    if (ld32(s->closed, memory_order_acquire) & (s->creator ? CLOSED_ATTACHER : CLOSED_CREATOR)) return 1;
    now = cw_now_ns();
    if (now - s->alive_checked < LIVENESS_NS) return 0;
    s->alive_checked = now;
    cw_harness_check();
    return !cw_pid_alive(ld32(word32(s, s->creator ? OFF_ATTACHER_PID : OFF_CREATOR_PID), memory_order_relaxed));
}

/* CLOSE: our bit into `closed`, every futex word woken, the mapping dropped, and the name
 * removed if we made it and ACCEPT did not remove it already. */
static void segment_close(segment *s) {
    unsigned r;
    rmw32(s->closed, 0, s->creator ? CLOSED_CREATOR : CLOSED_ATTACHER);
    cw_word_wake(s->state);
    for (r = 0; r < 2; r++) {
        cw_word_wake(word32(s, RING_CONTROL(r) + CTL_DATA_SEQ));
        cw_word_wake(word32(s, RING_CONTROL(r) + CTL_SPACE_SEQ));
    }
    munmap(s->base, s->size);
    s->base = NULL;
    if (s->creator && s->linked) shm_unlink(s->name);
    s->linked = 0;
}

int cw_shm_name_ok(const char *name) {
    size_t n = strlen(name), i;
    if (name[0] != '/' || n < 2 || n > 31) return 0;
    for (i = 1; i < n; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '.' || ch == '-'))
            return 0;
    }
    return 1;
}

static int bad_name(const char *name, cw_terr *e) {
    return cw_terr_set(e, "runtime", "shm name '%.40s': '/' and 1 to 30 of [A-Za-z0-9_.-] (SHM.md)", name);
}

/* ------------------------------------------------------------------ connection: the rings */

typedef struct ring {
    a64 *head, *tail;
    a32 *data_seq, *producer_waiting, *space_seq, *consumer_waiting;
    uint8_t *data;
} ring;

typedef struct shm_conn {
    cw_conn base;               /* first: a cw_conn * is a shm_conn * */
    segment seg;
    uint64_t capacity, mask;
    ring out, in;               /* we produce `out`, consume `in` */
    uint64_t head;              /* out's head: ours alone to write */
    uint64_t tail;              /* in's tail: ours alone to write */
    uint64_t tail_seen;         /* out's tail as last loaded: at least this much is free */
    uint64_t head_seen;         /* in's head as last loaded: at least this much is readable */
    uint64_t spin_ns;           /* how long to poll before sleeping (UINT64_MAX: never sleep) */
} shm_conn;

static cw_shm_wait WAIT_STRATEGY = CW_SHM_SPIN_FUTEX;

int cw_shm_set_wait(const char *name) {
    if (strcmp(name, "spin") == 0) WAIT_STRATEGY = CW_SHM_SPIN;
    else if (strcmp(name, "futex") == 0) WAIT_STRATEGY = CW_SHM_FUTEX;
    else if (strcmp(name, "spin-futex") == 0) WAIT_STRATEGY = CW_SHM_SPIN_FUTEX;
    else return -1;
    return 0;
}

/* The poll budget of the strategy, decided when a connection starts (taskset comes first). */
static uint64_t spin_budget(uint32_t other_pid) {
    switch (WAIT_STRATEGY) {
    case CW_SHM_SPIN: return UINT64_MAX;
    case CW_SHM_FUTEX: return 0;
    default: return cw_cpus_usable(other_pid) > 1 ? SPIN_NS : 0;   /* one CPU: the other side cannot run */
    }
}

static void ring_at(const segment *s, unsigned r, ring *out) {
    size_t ctl = RING_CONTROL(r);
    out->head = word64(s, ctl + CTL_HEAD);
    out->data_seq = word32(s, ctl + CTL_DATA_SEQ);
    out->producer_waiting = word32(s, ctl + CTL_PRODUCER_WAITING);
    out->tail = word64(s, ctl + CTL_TAIL);
    out->space_seq = word32(s, ctl + CTL_SPACE_SEQ);
    out->consumer_waiting = word32(s, ctl + CTL_CONSUMER_WAITING);
    out->data = s->base + HEADER_SIZE + (size_t)r * (size_t)s->capacity;
}

/* Bytes ready for us in `in` (consumer), or room in `out` (producer), loading the other side's
 * index afresh (acquire) into the last-seen copy. */
static uint64_t readable(shm_conn *c) {
    c->head_seen = ld64(c->in.head, memory_order_acquire);
    return c->head_seen - c->tail;
}
static uint64_t writable(shm_conn *c) {
    c->tail_seen = ld64(c->out.tail, memory_order_acquire);
    return c->capacity - (c->head - c->tail_seen);
}
static int ready(shm_conn *c, int consumer) { return consumer ? readable(c) != 0 : writable(c) != 0; }

/* Polls the ring for the strategy's budget: 1 once it is ready, 0 when the budget is spent.
 * `spin` (no budget end) still ends at the deadline or when the other side goes (returns 0). */
static int poll_ring(shm_conn *c, int consumer, uint64_t deadline) {
    uint64_t start = 0, now, checked = 0;
    unsigned i;
    if (c->spin_ns == 0) return ready(c, consumer);
    for (;;) {
        for (i = 0; i < SPIN_CHECK; i++) {        /* the first polls come before any clock read */
            if (ready(c, consumer)) return 1;
            cw_cpu_relax();
        }
        now = cw_now_ns();
        if (start == 0) start = checked = now;
        if (c->spin_ns != UINT64_MAX) {
            if (now - start >= c->spin_ns) return 0;
        } else if (now - checked >= SPIN_LIVENESS_NS) {
            checked = now;
            if (now >= deadline || other_gone(&c->seg)) return 0;
        }
    }
}

/* A sleep on seq (which held `seen`) ran out its slice: if the other side's index has moved
 * meanwhile (head no longer our tail; tail no longer a full ring's) and seq still holds `seen`,
 * it published (consumed) without the bump and wake it owed: one `missed` (SHM.md, "A lost
 * wake-up is counted"). Only on the time-out path; the last-seen copies are left alone. */
static void lost_wake(shm_conn *c, int consumer, a32 *seq, uint32_t seen) {
    int moved = consumer ? ld64(c->in.head, memory_order_acquire) != c->tail
                         : ld64(c->out.tail, memory_order_acquire) != c->head - c->capacity;
    if (moved && atomic_load_explicit(seq, memory_order_acquire) == seen) c->base.missed++;
}

/* Waits, as SHM.md's "Waiting" says, until the ring is not empty (consumer) or not full
 * (producer): 1 once it is, 0 if the other side closed or died first, -1 at the deadline. */
static int wait_ring(shm_conn *c, int consumer, uint64_t deadline) {
    a32 *seq = consumer ? c->in.data_seq : c->out.space_seq;
    a32 *waiting = consumer ? c->in.consumer_waiting : c->out.producer_waiting;
    if (poll_ring(c, consumer, deadline)) return 1;
    for (;;) {
        uint32_t seen = atomic_load_explicit(seq, memory_order_acquire);    /* stored bytes */
        uint64_t now, left;
        atomic_store_explicit(waiting, le32(1), memory_order_relaxed);
        atomic_thread_fence(memory_order_seq_cst);
        if (ready(c, consumer)) break;
        if (other_gone(&c->seg)) {      /* what it wrote before it went is still ours to read */
            atomic_store_explicit(waiting, 0, memory_order_relaxed);
            return consumer && readable(c) != 0;
        }
        now = cw_now_ns();
        if (now >= deadline) {
            atomic_store_explicit(waiting, 0, memory_order_relaxed);
            return -1;
        }
        left = deadline - now;
        if (c->spin_ns == UINT64_MAX) {     /* spin: never sleeps, polls again */
            atomic_store_explicit(waiting, 0, memory_order_relaxed);
            if (poll_ring(c, consumer, deadline)) return 1;
            continue;
        }
        c->base.waits++;
        if (cw_word_wait(seq, seen, left < SLICE_NS ? left : SLICE_NS)) lost_wake(c, consumer, seq, seen);
        atomic_store_explicit(waiting, 0, memory_order_relaxed);
    }
    atomic_store_explicit(waiting, 0, memory_order_relaxed);
    return 1;
}

/* After a publish (consume): if the other side sleeps, or is about to, bump its word and wake it. */
static void wake_other(a32 *waiting, a32 *seq) {
    atomic_thread_fence(memory_order_seq_cst);
    if (ld32(waiting, memory_order_relaxed) == 1) {
        rmw32(seq, 1, 0);
        cw_word_wake(seq);
    }
}

static int broken(shm_conn *c, const char *which, uint64_t head, uint64_t tail, cw_terr *e) {
    return cw_terr_set(e, "runtime", "ring %s of %s is broken: head %" PRIu64 ", tail %" PRIu64
                       ", capacity %" PRIu64, which, c->seg.name, head, tail, c->capacity);
}

static long shm_read(cw_conn *cc, uint8_t *buf, size_t cap, uint64_t deadline, cw_terr *e) {
    shm_conn *c = (shm_conn *)cc;
    uint64_t head, n, at, first;
    if (c->head_seen == c->tail && readable(c) == 0) {      /* look again only when empty */
        int w = wait_ring(c, 1, deadline);
        if (w == 0) return 0;
        if (w < 0) return cw_terr_set(e, "timeout", "waiting for bytes");
    }
    head = c->head_seen;
    if (head - c->tail > c->capacity) return broken(c, "in", head, c->tail, e);
    n = head - c->tail;
    if (n > cap) n = cap;
    at = c->tail & c->mask;
    first = n < c->capacity - at ? n : c->capacity - at;
    memcpy(buf, c->in.data + at, (size_t)first);                /* [tail, head): ours to read */
    memcpy(buf + first, c->in.data, (size_t)(n - first));
    c->tail += n;
    st64(c->in.tail, c->tail, memory_order_release);             /* then hand the space back */
    wake_other(c->in.producer_waiting, c->in.space_seq);
    return (long)n;
}

static int shm_write(cw_conn *cc, const uint8_t *buf, size_t len, cw_terr *e) {
    shm_conn *c = (shm_conn *)cc;
    size_t done = 0;
    if (ld32(c->seg.closed, memory_order_acquire) & (c->seg.creator ? CLOSED_ATTACHER : CLOSED_CREATOR))
        return cw_terr_set(e, "runtime", "write: closed by the other side");
    while (done < len) {
        uint64_t room = c->capacity - (c->head - c->tail_seen), n, at, first;
        if (room < len - done) room = writable(c);                  /* look again only when short */
        if (c->head - c->tail_seen > c->capacity) return broken(c, "out", c->head, c->tail_seen, e);
        if (room == 0) {
            if (wait_ring(c, 0, CW_NO_DEADLINE) == 0)
                return cw_terr_set(e, "runtime", "write: the other side closed or died after %zu of %zu bytes",
                                   done, len);
            continue;
        }
        n = len - done < room ? len - done : room;
        at = c->head & c->mask;
        first = n < c->capacity - at ? n : c->capacity - at;
        memcpy(c->out.data + at, buf + done, (size_t)first);      /* [head, tail + C): free */
        memcpy(c->out.data, buf + done + first, (size_t)(n - first));
        c->head += n;
        done += (size_t)n;
        st64(c->out.head, c->head, memory_order_release);        /* then publish */
        wake_other(c->out.consumer_waiting, c->out.data_seq);
    }
    return 0;
}

static void shm_close(cw_conn *cc) {
    shm_conn *c = (shm_conn *)cc;
    segment_close(&c->seg);
    free(c);
}

/* Only our own uid (or root) can open a 0600 segment: the kernel checked the attacher already. */
static int shm_peer_uid(cw_conn *cc, uint32_t *uid, cw_terr *e) {
    (void)cc;
    (void)e;
    *uid = cw_own_uid();
    return 0;
}

static const cw_conn_ops SHM_CONN = {shm_read, shm_write, shm_close, shm_peer_uid};

/* The connection over a mapped segment s (taken over: closed on failure). 0 or -1. */
static int new_conn(segment *s, cw_conn **out, cw_terr *e) {
    shm_conn *c = malloc(sizeof *c);
    if (c == NULL) {
        segment_close(s);
        return cw_terr_set(e, "runtime", "out of memory");
    }
    memset(c, 0, sizeof *c);
    c->base.ops = &SHM_CONN;
    c->seg = *s;
    c->capacity = s->capacity;
    c->mask = s->capacity - 1;
    ring_at(&c->seg, s->creator ? 0 : 1, &c->out);
    ring_at(&c->seg, s->creator ? 1 : 0, &c->in);
    c->head = ld64(c->out.head, memory_order_acquire);
    c->tail = ld64(c->in.tail, memory_order_acquire);
    c->tail_seen = ld64(c->out.tail, memory_order_acquire);
    c->head_seen = ld64(c->in.head, memory_order_acquire);
    c->spin_ns = spin_budget(ld32(word32(&c->seg, c->seg.creator ? OFF_ATTACHER_PID : OFF_CREATOR_PID),
                                  memory_order_relaxed));
    *out = &c->base;
    return 0;
}

/* ------------------------------------------------------------------ creator: LISTEN, ACCEPT */

typedef struct shm_listener {
    cw_listener base;
    segment seg;
    int taken;                  /* ACCEPT handed the segment to a connection */
} shm_listener;

static int shm_accept(cw_listener *l, uint64_t deadline, cw_conn **out, cw_terr *e) {
    shm_listener *sl = (shm_listener *)l;
    segment *s = &sl->seg;
    if (sl->taken) return cw_terr_set(e, "runtime", "segment %s was accepted already: CLOSE first", s->name);
    for (;;) {
        uint32_t stored = atomic_load_explicit(s->state, memory_order_acquire);
        uint64_t now;
        if (le32(stored) == 2) break;
        now = cw_now_ns();
        if (now >= deadline) return cw_terr_set(e, "timeout", "no connection to accept: nobody attached to %s", s->name);
        cw_word_wait(s->state, stored, deadline - now < SLICE_NS ? deadline - now : SLICE_NS);
        cw_harness_check();
    }
    /* Both sides are mapped: from now on nothing is left behind if either dies. */
    shm_unlink(s->name);
    s->linked = 0;
    sl->taken = 1;
    return new_conn(s, out, e);
}

static void shm_listener_close(cw_listener *l) {
    shm_listener *sl = (shm_listener *)l;
    if (!sl->taken) segment_close(&sl->seg);
    free(sl);
}

static const cw_listener_ops SHM_LISTENER = {shm_accept, shm_listener_close};

int cw_shm_listen(const char *name, uint64_t capacity, cw_listener **out, cw_terr *e) {
    shm_listener *sl;
    segment *s;
    size_t size;
    int fd;
    if (!cw_shm_name_ok(name)) return bad_name(name, e);
    if (capacity < CW_SHM_MIN_CAPACITY || capacity > CW_SHM_MAX_CAPACITY || (capacity & (capacity - 1)) != 0)
        return cw_terr_set(e, "runtime", "capacity %" PRIu64 ": a power of two from 64 to 2^30 (SHM.md)", capacity);
    size = HEADER_SIZE + 2 * (size_t)capacity;
    if ((sl = malloc(sizeof *sl)) == NULL) return cw_terr_set(e, "runtime", "out of memory");
    memset(sl, 0, sizeof *sl);
    s = &sl->seg;
    memcpy(s->name, name, strlen(name) + 1);
    s->creator = 1;
    s->capacity = capacity;
    if ((fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600)) < 0) {
        cw_terr_set(e, "runtime", "shm_open %s: %s", name, strerror(errno));
        free(sl);
        return -1;
    }
    if (ftruncate(fd, (off_t)size) < 0) {     /* once: macOS allows no second one */
        cw_terr_set(e, "runtime", "ftruncate %s to %zu bytes: %s", name, size, strerror(errno));
        close(fd);
        shm_unlink(name);
        free(sl);
        return -1;
    }
    if (map(s, fd, size, e)) {
        shm_unlink(name);
        free(sl);
        return -1;
    }
    s->linked = 1;
    put32(s->base + OFF_MAGIC, MAGIC);              /* fresh pages: the rest is zero */
    put16(s->base + OFF_VERSION, VERSION);
    put16(s->base + OFF_ENDIAN, ENDIAN);
    put32(s->base + OFF_CAPACITY, (uint32_t)capacity);
    put32(s->base + OFF_HEADER_SIZE, HEADER_SIZE);
    put64(s->base + OFF_SEGMENT_SIZE, size);
    st32(word32(s, OFF_CREATOR_PID), cw_own_pid(), memory_order_relaxed);
    st32(word32(s, OFF_ATTACHER_PID), 0, memory_order_relaxed);
    st32(s->state, 1, memory_order_release);        /* ready: the header above is published */
    cw_word_wake(s->state);
    sl->base.ops = &SHM_LISTENER;
    *out = &sl->base;
    return 0;
}

/* ------------------------------------------------------------------ attacher: CONNECT */

/* Opens name, retrying while it does not exist (or is still empty) until the deadline; on
 * success maps it into s. 0 or -1. */
static int open_existing(segment *s, uint64_t deadline, cw_terr *e) {
    struct stat st;
    int fd;
    for (;;) {
        struct timespec nap;
        if ((fd = shm_open(s->name, O_RDWR, 0)) >= 0) {
            if (fstat(fd, &st) < 0) {
                int saved = errno;
                close(fd);
                return cw_terr_set(e, "runtime", "fstat %s: %s", s->name, strerror(saved));
            }
            if (st.st_size != 0) break;
            close(fd);                              /* created, not sized yet */
        } else if (errno != ENOENT) {
            return cw_terr_set(e, "runtime", "shm_open %s: %s", s->name, strerror(errno));
        }
        if (cw_now_ns() >= deadline)
            return cw_terr_set(e, "timeout", "no segment %s", s->name);
        nap.tv_sec = 0;
        nap.tv_nsec = (long)ATTACH_POLL_NS;
        nanosleep(&nap, NULL);
        cw_harness_check();
    }
    if (st.st_size < (off_t)HEADER_SIZE || (uint64_t)st.st_size > HEADER_SIZE + 2 * (uint64_t)CW_SHM_MAX_CAPACITY) {
        close(fd);
        return cw_terr_set(e, "runtime", "segment %s is %lld bytes: not %u + 2 x a capacity of 64 to 2^30",
                           s->name, (long long)st.st_size, HEADER_SIZE);
    }
    return map(s, fd, (size_t)st.st_size, e);
}

/* The first thing wrong with the header of a ready segment, into e; 0 if nothing is. */
static int check_header(const segment *s, cw_terr *e) {
    const uint8_t *h = s->base;
    uint32_t magic = get32(h + OFF_MAGIC), capacity = get32(h + OFF_CAPACITY), header = get32(h + OFF_HEADER_SIZE);
    uint16_t version = get16(h + OFF_VERSION), endian = get16(h + OFF_ENDIAN);
    uint64_t total = get64(h + OFF_SEGMENT_SIZE), mapped = s->size;
#if defined(__APPLE__)
    /* macOS reports the size of a shared-memory object rounded up to whole pages */
    if (total <= mapped && mapped - total < (uint64_t)sysconf(_SC_PAGESIZE)) mapped = total;
#endif
    if (magic != MAGIC)
        return cw_terr_set(e, "runtime", "segment %s: bad magic 0x%08" PRIx32 ", expected 0x%08" PRIx32, s->name, magic, MAGIC);
    if (version != VERSION)
        return cw_terr_set(e, "runtime", "segment %s: bad version %u, this peer speaks layout version %u",
                           s->name, (unsigned)version, VERSION);
    if (endian != ENDIAN)
        return cw_terr_set(e, "runtime", "segment %s: bad endian word 0x%04x, expected 0x0102 (written with the "
                           "wrong byte order?)", s->name, (unsigned)endian);
    if (total != mapped)
        return cw_terr_set(e, "runtime", "segment %s: bad segment_size %" PRIu64 ", but the segment is %" PRIu64
                           " bytes", s->name, total, mapped);
    if (capacity < CW_SHM_MIN_CAPACITY || capacity > CW_SHM_MAX_CAPACITY || (capacity & (capacity - 1)) != 0 ||
        header != HEADER_SIZE || (uint64_t)HEADER_SIZE + 2 * (uint64_t)capacity != total)
        return cw_terr_set(e, "runtime", "segment %s: bad capacity %" PRIu32 " (header_size %" PRIu32 ", segment_size %"
                           PRIu64 ")", s->name, capacity, header, total);
    return 0;
}

int cw_shm_connect(const char *name, uint64_t deadline, cw_conn **out, cw_terr *e) {
    segment s;
    uint32_t state, expected = le32(1);
    if (!cw_shm_name_ok(name)) return bad_name(name, e);
    memset(&s, 0, sizeof s);
    memcpy(s.name, name, strlen(name) + 1);
    if (open_existing(&s, deadline, e)) return -1;
    /* Wait for the creator's release store of state = 1 (it may not wake us: poll too). */
    while ((state = ld32(s.state, memory_order_acquire)) == 0) {
        uint64_t now = cw_now_ns();
        if (now >= deadline) {
            munmap(s.base, s.size);
            return cw_terr_set(e, "timeout", "segment %s never became ready", name);
        }
        cw_word_wait(s.state, 0, deadline - now < ATTACH_POLL_NS ? deadline - now : ATTACH_POLL_NS);
        cw_harness_check();
    }
    s.capacity = get32(s.base + OFF_CAPACITY);
    if (check_header(&s, e)) goto fail;
    if (state != 1) {
        cw_terr_set(e, "runtime", "segment %s: state %" PRIu32 " (%s)", name, state,
                    state == 2 ? "someone else attached already" : "not a state of SHM.md");
        goto fail;
    }
    if (ld32(s.closed, memory_order_acquire) & CLOSED_CREATOR) {
        cw_terr_set(e, "runtime", "segment %s: its creator closed it", name);
        goto fail;
    }
    if (!cw_pid_alive(ld32(word32(&s, OFF_CREATOR_PID), memory_order_relaxed))) {
        cw_terr_set(e, "runtime", "segment %s: its creator (pid %" PRIu32 ") is gone", name,
                    ld32(word32(&s, OFF_CREATOR_PID), memory_order_relaxed));
        goto fail;
    }
    st32(word32(&s, OFF_ATTACHER_PID), cw_own_pid(), memory_order_relaxed);
    if (!atomic_compare_exchange_strong_explicit(s.state, &expected, le32(2), memory_order_acq_rel,
                                                 memory_order_acquire)) {
        cw_terr_set(e, "runtime", "segment %s: someone else attached first", name);
        goto fail;
    }
    cw_word_wake(s.state);
    return new_conn(&s, out, e);
fail:
    munmap(s.base, s.size);
    return -1;
}
