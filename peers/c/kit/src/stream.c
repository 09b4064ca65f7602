/* stream.c -- the stream message's layout and the frame stream of BLAST and DRAIN (see stream.h). */
#include "stream.h"

#include "cw_runtime.h"

#include <stdlib.h>
#include <string.h>

/* splitmix64 as PEER_CONTRACT.md gives it, modulo 2^64. */
uint64_t cw_splitmix64(uint64_t x) {
    x += UINT64_C(0x9e3779b97f4a7c15);
    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

/* ------------------------------------------------------------------ the layout */

const char *cw_layout_check(const cw_layout *l, size_t max_payload) {
    size_t i, j;
    if (l->width < 1 || l->width > 8) return "width must be 1 to 8";
    if (l->template_len > max_payload) return "the template is longer than max_payload";
    if (l->at > l->template_len) return "at is past the template's end";
    if (l->max > (max_payload - l->template_len) / l->width)
        return "the template and max elements are more than max_payload";
    if (l->k > CW_LAYOUT_MAX_PATCHES) return "more than 8 patches";
    for (i = 0; i < l->k; i++) {
        const cw_patch *p = &l->patch[i];
        if (p->width < 1 || p->width > 8) return "a patch's width must be 1 to 8";
        if (p->offset > l->template_len || p->width > l->template_len - p->offset)
            return "a patch is not inside the template";
        if (p->offset < l->at && l->at < p->offset + p->width) return "a patch straddles at";
        for (j = 0; j < i; j++) {
            const cw_patch *q = &l->patch[j];
            if (p->offset < q->offset + q->width && q->offset < p->offset + p->width) return "patches overlap";
        }
    }
    return NULL;
}

size_t cw_layout_size(const cw_layout *l, size_t n) { return l->template_len + n * l->width; }

/* 0..255 twice: the data of width 1 are slices of it (element j of frame i is (i + j) mod 256). */
static uint8_t ramp[512];

static const uint8_t *ramp_at(uint64_t seq) {
    if (ramp[1] == 0) {
        size_t k;
        for (k = 0; k < sizeof ramp; k++) ramp[k] = (uint8_t)k;
    }
    return ramp + (seq & 0xFF);
}

/* Where patch p is in a payload of dlen data bytes. */
static size_t patch_pos(const cw_layout *l, const cw_patch *p, size_t dlen) {
    return p->offset + (p->offset >= l->at ? dlen : 0);
}

static void put_data(const cw_layout *l, uint64_t seq, size_t n, uint8_t *d) {
    size_t j;
    if (l->width == 1) {
        const uint8_t *r = ramp_at(seq);
        for (j = 0; j < n; j += 256) memcpy(d + j, r, n - j < 256 ? n - j : 256);
        return;
    }
    memset(d, 0, n * l->width);
    for (j = 0; j < n; j++) d[j * l->width + (l->big ? l->width - 1 : 0)] = (uint8_t)(seq + j);
}

size_t cw_layout_write(const cw_layout *l, uint64_t seq, size_t n, uint8_t *out) {
    size_t i, dlen = n * l->width;
    memcpy(out, l->template, l->at);
    put_data(l, seq, n, out + l->at);
    memcpy(out + l->at + dlen, l->template + l->at, l->template_len - l->at);
    for (i = 0; i < l->k; i++) {
        const cw_patch *p = &l->patch[i];
        cw_store(out + patch_pos(l, p, dlen), p->width, p->big, p->mul * (uint64_t)n + p->add);
    }
    return l->template_len + dlen;
}

static int data_matches(const cw_layout *l, uint64_t seq, size_t n, const uint8_t *d) {
    size_t j, b;
    if (l->width == 1) {
        const uint8_t *r = ramp_at(seq);
        for (j = 0; j < n; j += 256)
            if (memcmp(d + j, r, n - j < 256 ? n - j : 256) != 0) return 0;
        return 1;
    }
    for (j = 0; j < n; j++, d += l->width)
        for (b = 0; b < l->width; b++)
            if (d[b] != (b == (l->big ? l->width - 1 : 0) ? (uint8_t)(seq + j) : 0)) return 0;
    return 1;
}

int cw_layout_matches(const cw_layout *l, uint64_t seq, size_t n, const uint8_t *in, size_t len) {
    size_t i, dlen = n * l->width;
    if (len != l->template_len + dlen) return 0;
    memcpy(l->work, l->template, l->template_len);
    for (i = 0; i < l->k; i++) {
        const cw_patch *p = &l->patch[i];
        cw_store(l->work + p->offset, p->width, p->big, p->mul * (uint64_t)n + p->add);
    }
    return memcmp(in, l->work, l->at) == 0 &&
           memcmp(in + l->at + dlen, l->work + l->at, l->template_len - l->at) == 0 &&
           data_matches(l, seq, n, in + l->at);
}

/* ------------------------------------------------------------------ the stream */

/* The data elements of frame i. */
size_t cw_stream_len(const cw_stream *s, uint64_t i) {
    return (size_t)(s->min_len + cw_splitmix64(s->seed ^ i) % (s->max_len - s->min_len + 1));
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

/* Counts one whole frame of `size` bytes (its frame checksum good): is_stream says it carries
 * the stream message, content_ok that its payload is the stream's frame `seq`. 1 if counted
 * corrupt (another message, a seq outside 1..count, or a payload not the stream's), else 0. */
int cw_tally_add(cw_tally *t, int is_stream, uint64_t seq, int content_ok, uint64_t size) {
    t->received++;
    t->bytes += size;
    if (!is_stream || seq < 1 || seq > t->count) {
        t->corrupt++;
        return 1;
    }
    if (seq >= t->next) {
        remember(t, t->next, seq);
        t->next = seq + 1;
    } else if (found(t, seq)) {
        t->reordered++;
    } else {
        t->duplicated++;
        return 0;
    }
    t->unique++;
    if (content_ok) return 0;
    t->corrupt++;
    return 1;
}

/* Seqs of 1..count never seen. */
uint64_t cw_tally_lost(const cw_tally *t) { return t->count - t->unique; }

void cw_tally_free(cw_tally *t) {
    free(t->missing);
    t->missing = NULL;
    t->n_missing = t->cap_missing = 0;
}
