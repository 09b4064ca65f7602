/* bench.c -- PING, PONG, FLOOD and SINK (see bench.h). The bench frame is built once (kit.c); only its
 * seq changes, written in place where the frame declaration puts it (so the frame must have
 * no checksum: kit.c refuses the bench otherwise). Nothing is decoded in a timed loop: these
 * measure the transport, not the codec.
 */
#include "bench.h"
#include "platform.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* The seq field, where the frame declaration puts it: the bench rewrites it in place. */
static void put_seq(const cw_protocol *p, uint8_t *frame, uint64_t seq) {
    cw_store(frame + p->seq_offset, p->seq_size, p->seq_big, seq);
}
static uint64_t get_seq(const cw_protocol *p, const uint8_t *frame) {
    return cw_load(frame + p->seq_offset, p->seq_size, p->seq_big);
}

/* The frame read is the bench frame with seq `seq` (header only, or whole when `whole`). */
static int check(const cw_bench_io *io, const char *what, uint64_t i, const uint8_t *got, size_t got_len,
                 const uint8_t *frame, size_t len, int whole) {
    const cw_protocol *p = io->p;
    size_t after = p->seq_offset + p->seq_size, head = p->header_size;
    if (got_len != len) return io->fail("runtime", "%s %" PRIu64 ": a frame of %zu bytes, expected %zu", what, i, got_len, len);
    if (memcmp(got, frame, p->seq_offset) != 0 || memcmp(got + after, frame + after, head - after) != 0)
        return io->fail("runtime", "%s %" PRIu64 ": the header differs from the bench frame's", what, i);
    if (get_seq(p, got) != i)
        return io->fail("runtime", "%s %" PRIu64 ": seq %" PRIu64 ", expected %" PRIu64, what, i, get_seq(p, got), i);
    if (whole && memcmp(got + head, frame + head, len - head) != 0)
        return io->fail("runtime", "%s %" PRIu64 ": the payload differs from the bench frame's", what, i);
    return 0;
}

static int by_value(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest rank: the sample at index ceil(p / 1000 * n) - 1, p in tenths of a percent. */
static uint64_t rank(const uint64_t *sorted, uint64_t n, uint64_t per_mille) {
    uint64_t k = (per_mille * n + 999) / 1000;
    return sorted[k ? k - 1 : 0];
}

int cw_bench_ping(const cw_bench_io *io, uint8_t *frame, size_t len, uint64_t count, uint64_t warmup,
                  uint64_t deadline, cw_latency *out) {
    uint64_t *samples = malloc((size_t)(count ? count : 1) * sizeof *samples), i, sum = 0;
    const uint8_t *got = NULL;
    size_t got_len = 0;
    if (samples == NULL) return io->fail("runtime", "out of memory for %" PRIu64 " samples", count);
    for (i = 1; i <= warmup + count; i++) {
        uint64_t t0, t1;
        put_seq(io->p, frame, i);
        t0 = cw_now_ns();
        if (io->write(frame, len) || io->read(deadline, &got, &got_len)) goto fail;
        t1 = cw_now_ns();
        if (check(io, "round", i, got, got_len, frame, len, i == warmup + count)) goto fail;
        if (i > warmup) samples[i - warmup - 1] = t1 - t0;
    }
    memset(out, 0, sizeof *out);
    out->rounds = count;
    if (count > 0) {
        qsort(samples, (size_t)count, sizeof *samples, by_value);
        for (i = 0; i < count; i++) sum += samples[i];
        out->min = samples[0];
        out->max = samples[count - 1];
        out->p50 = rank(samples, count, 500);
        out->p90 = rank(samples, count, 900);
        out->p99 = rank(samples, count, 990);
        out->p999 = rank(samples, count, 999);
        out->mean = sum / count;
    }
    free(samples);
    return 0;
fail:
    free(samples);
    return -1;
}

int cw_bench_pong(const cw_bench_io *io, uint64_t count, uint64_t deadline) {
    uint64_t i;
    for (i = 0; i < count; i++) {
        const uint8_t *got;
        size_t got_len;
        if (io->read(deadline, &got, &got_len) || io->write(got, got_len)) return -1;
    }
    return 0;
}

int cw_bench_flood(const cw_bench_io *io, uint8_t *frame, size_t len, uint64_t count, uint64_t *ns) {
    uint64_t i, start = cw_now_ns();
    for (i = 1; i <= count; i++) {
        put_seq(io->p, frame, i);
        if (io->write(frame, len)) return -1;
    }
    *ns = cw_now_ns() - start;
    return 0;
}

int cw_bench_sink(const cw_bench_io *io, const uint8_t *frame, size_t len, uint64_t count, uint64_t deadline,
                  uint64_t *ns) {
    uint64_t i, start = 0;
    for (i = 1; i <= count; i++) {
        const uint8_t *got;
        size_t got_len;
        if (io->read(deadline, &got, &got_len) ||
            check(io, "frame", i, got, got_len, frame, len, i == 1 || i == count))
            return -1;
        if (i == 1) start = cw_now_ns();
    }
    *ns = count ? cw_now_ns() - start : 0;
    return 0;
}
