/* bench.h -- the benchmark requests of PEER_CONTRACT.md ("Benchmarks"): round trips (PING and
 * PONG) and one-way streaming (FLOOD and SINK) of the bench frame, timed by the peer itself.
 * Transport-free: kit.c hands over the functions that move whole frames and set replies, and
 * the protocol whose frame says where the seq is.
 */
#ifndef CW_BENCH_H
#define CW_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "cw_kit.h"

typedef struct cw_bench_io {
    const cw_protocol *p;
    /* One whole frame with a valid header: *frame points at it until the next call. 0, or -1
     * with the reply set. */
    int (*read)(uint64_t deadline, const uint8_t **frame, size_t *len);
    /* All of a frame. 0, or -1 with the reply set. */
    int (*write)(const uint8_t *frame, size_t len);
    /* Sets the reply to `ERR <kind> <text>`; returns -1. */
    int (*fail)(const char *kind, const char *fmt, ...);
} cw_bench_io;

#define CW_BENCH_MAX_COUNT UINT64_C(10000000)

/* The round-trip figures of PING, in nanoseconds (nearest-rank percentiles). */
typedef struct cw_latency {
    uint64_t rounds, min, p50, p90, p99, p999, max, mean;
} cw_latency;

int cw_bench_ping(const cw_bench_io *io, uint8_t *frame, size_t len, uint64_t count, uint64_t warmup,
                  uint64_t deadline, cw_latency *out);
int cw_bench_pong(const cw_bench_io *io, uint64_t count, uint64_t deadline);
int cw_bench_flood(const cw_bench_io *io, uint8_t *frame, size_t len, uint64_t count, uint64_t *ns);
int cw_bench_sink(const cw_bench_io *io, const uint8_t *frame, size_t len, uint64_t count, uint64_t deadline,
                  uint64_t *ns);

#endif /* CW_BENCH_H */
