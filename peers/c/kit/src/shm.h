/* shm.h -- the shared-memory transport of protocols/SHM.md (layout version 2), behind the
 * interface of transport.h: a POSIX shared-memory segment holding two single-producer
 * single-consumer byte rings, ring 0 from the creator (LISTEN) to the attacher (CONNECT),
 * ring 1 back. A ring carries the same byte stream as a socket, frames back to back; a frame
 * may wrap and may be larger than the ring. See shm.c for the invariants and the ordering.
 */
#ifndef CW_SHM_H
#define CW_SHM_H

#include "transport.h"

#define CW_SHM_DEFAULT_CAPACITY 65536u
#define CW_SHM_MIN_CAPACITY 64u
#define CW_SHM_MAX_CAPACITY (1u << 30)

/* How a side waits on an empty or full ring (SHM.md, "Wait strategies"): for new connections. */
typedef enum cw_shm_wait { CW_SHM_SPIN_FUTEX, CW_SHM_SPIN, CW_SHM_FUTEX } cw_shm_wait;

/* WAIT <strategy>: "spin", "futex" or "spin-futex". 0, or -1 for an unknown name. */
int cw_shm_set_wait(const char *name);

/* 1 if name is '/' and 1 to 30 of [A-Za-z0-9_.-] (SHM.md; macOS allows 31 bytes). */
int cw_shm_name_ok(const char *name);

/* LISTEN shm <name> [capacity]: creates the segment (O_EXCL: the name must be free), fills
 * the header and marks it ready. capacity is a power of two from 64 to 2^30. 0 or -1. */
int cw_shm_listen(const char *name, uint64_t capacity, cw_listener **out, cw_terr *e);

/* CONNECT shm <name> <timeout_ms>: waits until the name exists and the segment is ready
 * (until the deadline), checks its header, and announces itself. 0 or -1. */
int cw_shm_connect(const char *name, uint64_t deadline, cw_conn **out, cw_terr *e);

#endif /* CW_SHM_H */
