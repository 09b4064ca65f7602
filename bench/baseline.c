/* baseline.c -- the machine's own limits, measured in the same run as the peers (make bench):
 *
 *   cw-baseline shm-pingpong <count> <warmup> <cpu_a> <cpu_b>
 *       two processes bounce a counter between two cache lines of a shm_open segment, spinning:
 *       the floor of any shared-memory round trip.
 *   cw-baseline futex-pingpong <count> <warmup> <cpu_a> <cpu_b>
 *       the same, but each side sleeps on a futex until woken (Linux): the floor of a round
 *       trip that sleeps, and the one to compare with when both sides share one core.
 *   cw-baseline socketpair <count> <warmup> <bytes> <cpu_a> <cpu_b>
 *       two processes bounce a message of <bytes> over socketpair(AF_UNIX, SOCK_STREAM).
 *   cw-baseline memcpy <bytes> <count> <cpu>
 *       single-core memcpy bandwidth between two buffers of <bytes>.
 *
 * Round trips print `OK rounds= min= p50= p90= p99= p999= max= mean=` (ns, nearest rank, as the
 * contract's PING); memcpy prints `OK bytes= count= ns=`. A cpu of -1 means "not pinned".
 * Errors print `ERR <text>` and exit 1. C11 + POSIX (+ futex and affinity on Linux).
 */
#if defined(__linux__)
#define _GNU_SOURCE 1
#elif defined(__APPLE__)
#define _DARWIN_C_SOURCE 1
#endif

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#endif

#define LINE 128                        /* apart by one Apple-silicon cache line (two x86 ones) */

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
    printf("ERR %s: %s\n", what, strerror(errno));
    exit(1);
}

static void pin(long cpu) {
#if defined(__linux__)
    cpu_set_t set;
    if (cpu < 0) return;
    CPU_ZERO(&set);
    CPU_SET((int)cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) die("sched_setaffinity");
#else
    (void)cpu;                          /* no affinity API to speak of: left to the scheduler */
#endif
}

static void relax(void) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __asm__ __volatile__("pause");
#elif defined(__GNUC__) && defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* A fresh shared mapping from shm_open (named, unlinked at once: nothing is left behind). */
static uint8_t *shared(size_t size) {
    char name[32];
    int fd;
    void *p;
    snprintf(name, sizeof name, "/cwb%ld", (long)getpid());
    if ((fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600)) < 0) die("shm_open");
    shm_unlink(name);
    if (ftruncate(fd, (off_t)size) < 0) die("ftruncate");
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) die("mmap");
    return p;
}

static void sleep_on(_Atomic uint32_t *w, uint32_t v) {
#if defined(__linux__)
    syscall(SYS_futex, (void *)w, FUTEX_WAIT, v, (void *)0, (void *)0, 0);
#else
    (void)w;
    (void)v;
#endif
}

static void wake(_Atomic uint32_t *w) {
#if defined(__linux__)
    syscall(SYS_futex, (void *)w, FUTEX_WAKE, 1, (void *)0, (void *)0, 0);
#else
    (void)w;
#endif
}

static int by_value(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static uint64_t rank(const uint64_t *s, uint64_t n, uint64_t per_mille) {
    uint64_t k = (per_mille * n + 999) / 1000;
    return s[k ? k - 1 : 0];
}

static void report(uint64_t *s, uint64_t n) {
    uint64_t i, sum = 0;
    qsort(s, (size_t)n, sizeof *s, by_value);
    for (i = 0; i < n; i++) sum += s[i];
    printf("OK rounds=%" PRIu64 " min=%" PRIu64 " p50=%" PRIu64 " p90=%" PRIu64 " p99=%" PRIu64 " p999=%" PRIu64
           " max=%" PRIu64 " mean=%" PRIu64 "\n", n, s[0], rank(s, n, 500), rank(s, n, 900), rank(s, n, 990),
           rank(s, n, 999), s[n - 1], sum / n);
}

/* Round i: A stores i into `ping`, B sees it and stores i into `pong`, A sees that. */
static void lines(uint64_t count, uint64_t warmup, long cpu_a, long cpu_b, int sleeping, uint64_t *s) {
    uint8_t *m = shared(2 * LINE);
    _Atomic uint32_t *ping = (_Atomic uint32_t *)(void *)m, *pong = (_Atomic uint32_t *)(void *)(m + LINE);
    uint64_t i, total = count + warmup;
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
        pin(cpu_b);
        for (i = 1; i <= total; i++) {
            uint32_t v;
            while ((v = atomic_load_explicit(ping, memory_order_acquire)) != (uint32_t)i) {
                if (sleeping) sleep_on(ping, v);
                else relax();
            }
            atomic_store_explicit(pong, (uint32_t)i, memory_order_release);
            if (sleeping) wake(pong);
        }
        _exit(0);
    }
    pin(cpu_a);
    for (i = 1; i <= total; i++) {
        uint64_t t0 = now_ns();
        uint32_t v;
        atomic_store_explicit(ping, (uint32_t)i, memory_order_release);
        if (sleeping) wake(ping);
        while ((v = atomic_load_explicit(pong, memory_order_acquire)) != (uint32_t)i) {
            if (sleeping) sleep_on(pong, v);
            else relax();
        }
        if (i > warmup) s[i - warmup - 1] = now_ns() - t0;
    }
    waitpid(pid, NULL, 0);
}

static void full_io(int fd, uint8_t *buf, size_t n, int writing) {
    size_t done = 0;
    while (done < n) {
        ssize_t k = writing ? write(fd, buf + done, n - done) : read(fd, buf + done, n - done);
        if (k <= 0) {
            if (k < 0 && errno == EINTR) continue;
            die(writing ? "write" : "read");
        }
        done += (size_t)k;
    }
}

static void sockets(uint64_t count, uint64_t warmup, size_t bytes, long cpu_a, long cpu_b, uint64_t *s) {
    int sv[2];
    uint8_t *buf = calloc(bytes, 1);
    uint64_t i, total = count + warmup;
    pid_t pid;
    if (buf == NULL) die("calloc");
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) die("socketpair");
    if ((pid = fork()) < 0) die("fork");
    if (pid == 0) {
        pin(cpu_b);
        close(sv[0]);
        for (i = 0; i < total; i++) {
            full_io(sv[1], buf, bytes, 0);
            full_io(sv[1], buf, bytes, 1);
        }
        _exit(0);
    }
    pin(cpu_a);
    close(sv[1]);
    for (i = 1; i <= total; i++) {
        uint64_t t0 = now_ns();
        full_io(sv[0], buf, bytes, 1);
        full_io(sv[0], buf, bytes, 0);
        if (i > warmup) s[i - warmup - 1] = now_ns() - t0;
    }
    waitpid(pid, NULL, 0);
    free(buf);
}

static void copies(size_t bytes, uint64_t count, long cpu) {
    uint8_t *a = malloc(bytes), *b = malloc(bytes);
    void *(*volatile copy)(void *, const void *, size_t) = memcpy;   /* not optimised away */
    uint64_t i, t0;
    if (a == NULL || b == NULL) die("malloc");
    pin(cpu);
    memset(a, 1, bytes);
    memset(b, 2, bytes);
    copy(b, a, bytes);                  /* warm: both buffers mapped and in cache */
    t0 = now_ns();
    for (i = 0; i < count; i++) copy(i % 2 ? a : b, i % 2 ? b : a, bytes);
    printf("OK bytes=%zu count=%" PRIu64 " ns=%" PRIu64 "\n", bytes, count, now_ns() - t0);
    free(a);
    free(b);
}

static uint64_t arg(char **argv, int i, uint64_t max) {
    char *end;
    unsigned long long v;
    errno = 0;
    v = strtoull(argv[i], &end, 10);
    if (errno || *end || end == argv[i] || v > max) {
        printf("ERR bad argument '%s'\n", argv[i]);
        exit(1);
    }
    return (uint64_t)v;
}

static long cpu(const char *text) { return strtol(text, NULL, 10); }

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    uint64_t *s, count, warmup;
    if (strcmp(mode, "memcpy") == 0 && argc == 5) {
        copies((size_t)arg(argv, 2, UINT64_C(1) << 32), arg(argv, 3, UINT64_C(1) << 32), cpu(argv[4]));
        return 0;
    }
    if (!((strcmp(mode, "shm-pingpong") == 0 || strcmp(mode, "futex-pingpong") == 0) && argc == 6) &&
        !(strcmp(mode, "socketpair") == 0 && argc == 7)) {
        printf("ERR usage: cw-baseline shm-pingpong|futex-pingpong <count> <warmup> <cpu_a> <cpu_b> | "
               "socketpair <count> <warmup> <bytes> <cpu_a> <cpu_b> | memcpy <bytes> <count> <cpu>\n");
        return 1;
    }
    count = arg(argv, 2, 10000000);
    warmup = arg(argv, 3, 10000000);
    if (count == 0 || (s = malloc((size_t)count * sizeof *s)) == NULL) {
        printf("ERR count must be 1 to 10000000\n");
        return 1;
    }
#if !defined(__linux__)
    if (strcmp(mode, "futex-pingpong") == 0) {
        printf("ERR unsupported: futex-pingpong needs Linux futex(2)\n");
        return 1;
    }
#endif
    if (strcmp(mode, "socketpair") == 0)
        sockets(count, warmup, (size_t)arg(argv, 4, UINT64_C(1) << 30), cpu(argv[5]), cpu(argv[6]), s);
    else
        lines(count, warmup, cpu(argv[4]), cpu(argv[5]), mode[0] == 'f', s);
    report(s, count);
    free(s);
    return 0;
}
