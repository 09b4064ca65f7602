/* stream.h -- the generated frame stream of BLAST and DRAIN (PEER_CONTRACT.md, "Streams").
 *
 * Frame i (seq i, from 1 to count) carries a Blob whose data is len_i bytes, byte j being
 * (i + j) mod 256, with len_i = min_len + splitmix64(seed XOR i) mod (max_len - min_len + 1),
 * and whose checksum is the CRC-32 of the data (zlib's). The sender generates it, the receiver
 * checks every frame against it and tallies what was lost, duplicated, reordered or corrupt.
 * Transport-free: kit.c does the I/O.
 */
#ifndef CW_STREAM_H
#define CW_STREAM_H

#include <stddef.h>
#include <stdint.h>

uint64_t cw_splitmix64(uint64_t x);
uint32_t cw_crc32(const uint8_t *data, size_t n);

/* The parameters of one stream; min_len <= max_len. */
typedef struct cw_stream {
    uint64_t seed, min_len, max_len;
} cw_stream;

size_t cw_stream_len(const cw_stream *s, uint64_t i);
void cw_stream_fill(uint64_t i, uint8_t *data, size_t n);
int cw_stream_matches(const cw_stream *s, uint64_t i, uint32_t checksum, const uint8_t *data, size_t n);

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
void cw_tally_add(cw_tally *t, int is_blob, uint64_t seq, int content_ok, uint64_t size);
uint64_t cw_tally_lost(const cw_tally *t);
void cw_tally_free(cw_tally *t);

#endif /* CW_STREAM_H */
