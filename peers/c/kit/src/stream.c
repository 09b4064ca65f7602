/* stream.c -- the generated frame stream of BLAST and DRAIN (see stream.h). */
#include "stream.h"

#include <stdlib.h>
#include <string.h>

/* splitmix64 as PEER_CONTRACT.md gives it, modulo 2^64. */
uint64_t cw_splitmix64(uint64_t x) {
    x += UINT64_C(0x9e3779b97f4a7c15);
    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

/* CRC-32 of IEEE 802.3 (zlib's crc32), with a table built on first use (the peer has one
 * thread). */
uint32_t cw_crc32(const uint8_t *data, size_t n) {
    static uint32_t table[256];
    static int ready = 0;
    uint32_t crc = 0xFFFFFFFFu;
    size_t i;
    if (!ready) {
        uint32_t k, b, c;
        for (k = 0; k < 256; k++) {
            for (c = k, b = 0; b < 8; b++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[k] = c;
        }
        ready = 1;
    }
    for (i = 0; i < n; i++) crc = table[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
    return crc ^ 0xFFFFFFFFu;
}

/* The data length of frame i. */
size_t cw_stream_len(const cw_stream *s, uint64_t i) {
    return (size_t)(s->min_len + cw_splitmix64(s->seed ^ i) % (s->max_len - s->min_len + 1));
}

/* Writes the n data bytes of frame i at data. */
void cw_stream_fill(uint64_t i, uint8_t *data, size_t n) {
    size_t j;
    for (j = 0; j < n; j++) data[j] = (uint8_t)(i + j);
}

/* 1 if (checksum, data[0..n)) is exactly the Blob of frame i, else 0. */
int cw_stream_matches(const cw_stream *s, uint64_t i, uint32_t checksum, const uint8_t *data, size_t n) {
    size_t j;
    if (n != cw_stream_len(s, i)) return 0;
    for (j = 0; j < n; j++)
        if (data[j] != (uint8_t)(i + j)) return 0;
    return checksum == cw_crc32(data, n);
}

/* An empty tally for seqs 1..count; release it with cw_tally_free(). */
void cw_tally_init(cw_tally *t, uint64_t count) {
    memset(t, 0, sizeof *t);
    t->count = count;
    t->next = 1;
}

/* Remembers seqs [from, to) as missing, as far as the bound and memory allow. */
static void remember(cw_tally *t, uint64_t from, uint64_t to) {
    if (to - from > CW_TALLY_MAX_MISSING - t->n_missing) return;    /* too many: forget them */
    if (t->n_missing + (size_t)(to - from) > t->cap_missing) {
        size_t cap = t->n_missing + (size_t)(to - from);
        uint64_t *p;
        if (cap < 2 * t->cap_missing) cap = 2 * t->cap_missing;
        if (cap > CW_TALLY_MAX_MISSING) cap = CW_TALLY_MAX_MISSING;
        if ((p = realloc(t->missing, cap * sizeof *p)) == NULL) return;
        t->missing = p;
        t->cap_missing = cap;
    }
    while (from < to) t->missing[t->n_missing++] = from++;
}

/* Removes seq from the missing ones: 1 if it was there. */
static int found(cw_tally *t, uint64_t seq) {
    size_t lo = 0, hi = t->n_missing;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->missing[mid] < seq) lo = mid + 1;
        else hi = mid;
    }
    if (lo == t->n_missing || t->missing[lo] != seq) return 0;
    memmove(t->missing + lo, t->missing + lo + 1, (t->n_missing - lo - 1) * sizeof *t->missing);
    t->n_missing--;
    return 1;
}

/* Counts one frame of `size` bytes: is_blob says it is a Blob, content_ok that its value is
 * the stream's frame `seq`. */
void cw_tally_add(cw_tally *t, int is_blob, uint64_t seq, int content_ok, uint64_t size) {
    t->received++;
    t->bytes += size;
    if (!is_blob || seq < 1 || seq > t->count) {
        t->corrupt++;
        return;
    }
    if (seq >= t->next) {
        remember(t, t->next, seq);
        t->next = seq + 1;
    } else if (found(t, seq)) {
        t->reordered++;
    } else {
        t->duplicated++;
        return;
    }
    t->unique++;
    if (!content_ok) t->corrupt++;
}

/* Seqs of 1..count never seen. */
uint64_t cw_tally_lost(const cw_tally *t) { return t->count - t->unique; }

void cw_tally_free(cw_tally *t) {
    free(t->missing);
    t->missing = NULL;
    t->n_missing = t->cap_missing = 0;
}
