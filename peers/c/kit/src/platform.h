/* platform.h -- the little the C peer needs from the operating system beyond C11 and POSIX,
 * in one place: a monotonic clock, sleeping on a 32-bit word shared between processes (a
 * futex on Linux, a short sleep-and-look elsewhere), waking its sleepers, asking whether a
 * process lives, a pause for spin loops, and noticing that the harness went. Everything
 * Linux-only is in platform.c.
 */
#ifndef CW_PLATFORM_H
#define CW_PLATFORM_H

#include <stdatomic.h>
#include <stdint.h>

/* Nanoseconds on the monotonic clock. */
uint64_t cw_now_ns(void);

/* Sleeps while the word at addr still holds `stored` (its bytes as they are in memory, not
 * converted), at most timeout_ns (the caller keeps it to one slice, <= 50 ms). It may return
 * early for any reason: the caller re-checks. addr points into a MAP_SHARED mapping, so the
 * Linux futex is the shared one (never FUTEX_PRIVATE_FLAG). Returns 1 when the primitive says
 * the sleep ended by its time limit (futex: ETIMEDOUT), else 0 (woken, word changed, signal;
 * always 0 where sleeping polls, which cannot tell). */
int cw_word_wait(_Atomic uint32_t *addr, uint32_t stored, uint64_t timeout_ns);

/* Wakes every process sleeping in cw_word_wait() on addr (nothing where sleeping polls). */
void cw_word_wake(_Atomic uint32_t *addr);

/* 1 if the process pid exists (kill(pid, 0): alive, or alive but not ours), 0 if it is gone.
 * pid 0 (not known yet) counts as alive. */
int cw_pid_alive(uint32_t pid);

/* The uid of the process at the other end of Unix socket fd: SO_PEERCRED on Linux, getpeereid()
 * on macOS and the BSDs. 0, or -1 with errno set. */
int cw_socket_peer_uid(int fd, uint32_t *uid);

/* Our own uid. */
uint32_t cw_own_uid(void);

/* Our own pid, as the segment stores it. */
uint32_t cw_own_pid(void);

/* A hint to the CPU inside a spin loop (nothing where there is no such instruction). */
void cw_cpu_relax(void);

/* How many CPUs this process and process other_pid may run on between them (the union of
 * their sched_getaffinity masks on Linux; the online CPUs elsewhere). 1 means both are pinned to
 * the same single CPU: one of them spinning keeps the other from running. */
int cw_cpus_usable(uint32_t other_pid);

/* "futex" or "sleep-poll": how cw_word_wait() sleeps here. */
const char *cw_wait_kind(void);

/* PEER_CONTRACT.md, "When the harness goes": the peer never outlives the harness. At start
 * (before answering anything): notes the parent's pid, asks on Linux for SIGKILL when the
 * parent dies (PR_SET_PDEATHSIG), and ends the process at once (status 0) if the parent is
 * gone already. `cleanup` (may be NULL) is what cw_harness_check() runs before it exits:
 * removing the socket file or segment the peer created. */
void cw_harness_watch(void (*cleanup)(void));

/* 1 if the harness is gone: getppid() is no longer the pid noted at start, or stdin has hung
 * up with nothing left to read (poll: POLLHUP and not POLLIN). 0 before cw_harness_watch(). */
int cw_harness_gone(void);

/* For the slow path of every wait that can last longer than 100 ms (about to sleep, or
 * between slices of <= 100 ms; never per frame): if the harness is gone, runs the cleanup and
 * ends the process with status 0 (_exit: no stdio to a dead reader). Looks at most every
 * CW_HARNESS_CHECK_NS (one clock read otherwise), so it is cheap to call anywhere slow. */
#define CW_HARNESS_CHECK_NS UINT64_C(10000000)
void cw_harness_check(void);

#endif /* CW_PLATFORM_H */
