/* platform.c -- the operating-system layer of platform.h. The only file of the C peer that
 * knows about Linux: futex(2) through syscall(2), sched_getaffinity(2), which glibc and musl
 * declare only with _GNU_SOURCE, and prctl(PR_SET_PDEATHSIG). Elsewhere (macOS, the BSDs)
 * waiting is a short sleep and a look, and a gone harness is seen by its pid and stdin alone.
 */
#if defined(__linux__)
#define _GNU_SOURCE 1                  /* syscall(), SYS_futex and sched_getaffinity next to _POSIX_C_SOURCE */
#elif defined(__APPLE__)
#define _DARWIN_C_SOURCE 1
#endif

#include "platform.h"

#include <errno.h>
#if defined(__linux__)
#include <sched.h>
#include <sys/prctl.h>
#endif
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* CW_NO_FUTEX (make CFLAGS=-DCW_NO_FUTEX) tries the sleep-poll fallback on Linux. */
#if defined(__linux__) && !defined(CW_NO_FUTEX)
#define CW_HAVE_FUTEX 1
#endif

#if defined(CW_HAVE_FUTEX)
#include <linux/futex.h>
#include <sys/syscall.h>
#endif

uint64_t cw_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#if defined(CW_HAVE_FUTEX)

/* FUTEX_WAIT, not FUTEX_WAIT_PRIVATE: the word lives in a mapping shared between processes,
 * so the kernel must key the wait on the page, not on this process's address space. The
 * kernel compares *addr with `stored` and sleeps only while they are equal; EAGAIN (they
 * differ), EINTR and ETIMEDOUT all just return: the caller looks again. ETIMEDOUT says so (1). */
int cw_word_wait(_Atomic uint32_t *addr, uint32_t stored, uint64_t timeout_ns) {
    struct timespec ts;
    ts.tv_sec = (time_t)(timeout_ns / 1000000000u);
    ts.tv_nsec = (long)(timeout_ns % 1000000000u);
    return syscall(SYS_futex, (void *)addr, FUTEX_WAIT, stored, &ts, (void *)0, 0) == -1 && errno == ETIMEDOUT;
}

void cw_word_wake(_Atomic uint32_t *addr) {
    syscall(SYS_futex, (void *)addr, FUTEX_WAKE, INT_MAX, (void *)0, (void *)0, 0);
}

const char *cw_wait_kind(void) { return "futex"; }

#else

/* No futex: sleep a little (100 us, or less if the slice is shorter) while the word holds
 * `stored`. The waker has nothing to do; the sleeper notices within one nap. A nap's end
 * tells nothing of a wake-up: never a time-out (0). */
int cw_word_wait(_Atomic uint32_t *addr, uint32_t stored, uint64_t timeout_ns) {
    struct timespec ts;
    ts.tv_sec = 0;
    ts.tv_nsec = (long)(timeout_ns < 100000u ? timeout_ns : 100000u);
    if (atomic_load_explicit(addr, memory_order_acquire) == stored) nanosleep(&ts, (struct timespec *)0);
    return 0;
}

void cw_word_wake(_Atomic uint32_t *addr) { (void)addr; }

const char *cw_wait_kind(void) { return "sleep-poll"; }

#endif

int cw_pid_alive(uint32_t pid) {
    if (pid == 0 || pid > (uint32_t)INT_MAX) return 1;    /* unknown: kill(0, ..) would mean our group */
    return kill((pid_t)pid, 0) == 0 || errno != ESRCH;     /* EPERM: alive, someone else's */
}

uint32_t cw_own_pid(void) { return (uint32_t)getpid(); }

uint32_t cw_own_uid(void) { return (uint32_t)getuid(); }

int cw_socket_peer_uid(int fd, uint32_t *uid) {
#if defined(__linux__)
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return -1;
    *uid = (uint32_t)cred.uid;
    return 0;
#else
    uid_t u;
    gid_t g;
    if (getpeereid(fd, &u, &g) != 0) return -1;
    *uid = (uint32_t)u;
    return 0;
#endif
}

void cw_cpu_relax(void) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __asm__ __volatile__("pause");
#elif defined(__GNUC__) && defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

int cw_cpus_usable(uint32_t other_pid) {
#if defined(__linux__)
    cpu_set_t ours, theirs, both;
    if (sched_getaffinity(0, sizeof ours, &ours) == 0) {
        if (other_pid == 0 || other_pid > (uint32_t)INT_MAX ||
            sched_getaffinity((pid_t)other_pid, sizeof theirs, &theirs) != 0)
            return CPU_COUNT(&ours) > 1 ? CPU_COUNT(&ours) : 2;    /* theirs unknown: assume apart */
        CPU_OR(&both, &ours, &theirs);
        return CPU_COUNT(&both);
    }
#else
    (void)other_pid;
#endif
    {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        return n > 0 ? (int)n : 1;
    }
}

/* ------------------------------------------------------------------ the harness (PEER_CONTRACT.md) */

static pid_t harness_pid;               /* getppid() at start; 0: not watching */
static void (*harness_cleanup)(void);
static uint64_t harness_checked;        /* cw_now_ns() of the last look */

static void harness_exit(void) {
    if (harness_cleanup != NULL) harness_cleanup();
    _exit(0);
}

void cw_harness_watch(void (*cleanup)(void)) {
    harness_cleanup = cleanup;
    harness_pid = getppid();
#if defined(__linux__) && !defined(CW_NO_PDEATHSIG)
    /* The kernel's word: SIGKILL when the parent (the thread that started us) ends. It comes
     * even while we are stopped, and leaves no time to remove anything: what we created is
     * the harness's sweep's. The checks below stay for everything it cannot see.
     * CW_NO_PDEATHSIG (make CFLAGS=-DCW_NO_PDEATHSIG) tries the portable path on Linux. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
    if (getppid() != harness_pid) harness_exit();   /* it went before the call was made */
}

int cw_harness_gone(void) {
    struct pollfd p;
    if (harness_pid == 0) return 0;
    if (getppid() != harness_pid) return 1;     /* reparented: our parent is gone */
    p.fd = 0;
    p.events = POLLIN;
    p.revents = 0;
    return poll(&p, 1, 0) == 1 && (p.revents & POLLHUP) && !(p.revents & POLLIN);
}

void cw_harness_check(void) {
    uint64_t now = cw_now_ns();
    if (now - harness_checked < CW_HARNESS_CHECK_NS) return;
    harness_checked = now;
    if (cw_harness_gone()) harness_exit();
}
