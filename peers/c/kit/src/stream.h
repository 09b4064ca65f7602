/* stream.h -- the stream message's layout and the generated frame stream of BLAST and DRAIN
 * (PEER_CONTRACT.md, "Streams").
 *
 * STREAM describes P(i, n), the payload of the stream's frame with seq i and n data elements,
 * as bytes (cw_layout): a template (the payload with no data elements), the n elements inserted
 * at byte `at` (element j is (i + j) mod 256 in `width` bytes, little- or big-endian), and up to
 * CW_LAYOUT_MAX_PATCHES integer fields of the template that change with n (mul * n + add, mod
 * 2^(8 * width)). Frame i (seq i, from 1 to count) carries P(i, len_i) with
 * len_i = min_len + splitmix64(seed XOR i) mod (max_len - min_len + 1). The sender writes it,
 * the receiver compares every frame with it byte for byte and tallies what was lost,
 * duplicated, reordered or corrupt. No codec: the kit knows no message. Transport-free: kit.c
 * does the I/O.
 */
#ifndef CW_STREAM_H
#define CW_STREAM_H

#include <stddef.h>
#include <stdint.h>

uint64_t cw_splitmix64(uint64_t x);

#define CW_LAYOUT_MAX_PATCHES 8

/* One integer field of the template that changes with n. */
typedef struct cw_patch {
    size_t offset, width;       /* in the template; width 1..8 */
    int big;
    uint64_t mul, add;
} cw_patch;

/* The stream message's payload, as STREAM describes it. */
typedef struct cw_layout {
    const uint8_t *template;    /* template_len bytes (the caller's buffer) */
    uint8_t *work;              /* template_len bytes of scratch for cw_layout_matches (the caller's) */
    size_t template_len;
    size_t at;                  /* where the data elements go, 0..template_len */
    size_t width;               /* bytes per element, 1..8 */
    int big;
    uint64_t max;               /* the most elements a frame carries */
    size_t k;                   /* patches */
    cw_patch patch[CW_LAYOUT_MAX_PATCHES];
} cw_layout;

/* NULL if the layout is consistent (a payload of at most max_payload bytes for max elements,
 * patches inside the template, each wholly before `at` or at/after it, not overlapping), else
 * why not. */
const char *cw_layout_check(const cw_layout *l, size_t max_payload);
/* The payload size of n elements. */
size_t cw_layout_size(const cw_layout *l, size_t n);
/* Writes P(seq, n) at out (cw_layout_size(l, n) bytes); returns its size. */
size_t cw_layout_write(const cw_layout *l, uint64_t seq, size_t n, uint8_t *out);
/* 1 if in[0..len) is exactly P(seq, n), else 0. */
int cw_layout_matches(const cw_layout *l, uint64_t seq, size_t n, const uint8_t *in, size_t len);

/* The parameters of one stream; min_len <= max_len (in elements). */
typedef struct cw_stream {
    uint64_t seed, min_len, max_len;
} cw_stream;

size_t cw_stream_len(const cw_stream *s, uint64_t i);

/* What DRAIN saw. Seqs skipped over are remembered (at most CW_TALLY_MAX_MISSING of them, in
 * an array the tally owns) to tell a late frame (reordered) from a repeated one (duplicated). */
#define CW_TALLY_MAX_MISSING ((size_t)1 << 20)

typedef struct cw_tally {
    uint64_t count;             /* frames expected: seqs 1..count */
    uint64_t next;              /* the seq after the highest seen */
    uint64_t received, duplicated, reordered, corrupt, bytes, unique;
    uint64_t *missing;          /* skipped seqs, ascending; malloc'd, freed by cw_tally_free */
    size_t n_missing, cap_missing;
} cw_tally;

void cw_tally_init(cw_tally *t, uint64_t count);
/* Counts one whole frame (its frame checksum good); 1 if it counted it corrupt (DRAIN then
 * keeps the first such frame for bad_at/bad), else 0. */
int cw_tally_add(cw_tally *t, int is_stream, uint64_t seq, int content_ok, uint64_t size);
uint64_t cw_tally_lost(const cw_tally *t);
void cw_tally_free(cw_tally *t);

#endif /* CW_STREAM_H */
