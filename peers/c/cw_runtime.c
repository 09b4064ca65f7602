/* cw_runtime.c -- the schema-independent half of the crosswire C codec (see cw_runtime.h).
 *
 * Every function that can fail returns 0 on success and -1 on failure with the error in the
 * cw_ctx, as the contract's text after "ERR ": "<kind> <code> <path> <detail>" for codec
 * errors, "<kind> <detail>" for the others. Nothing here allocates memory.
 */
#include "cw_runtime.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

_Static_assert(sizeof(float) == 4 && sizeof(double) == 8, "f32/f64 must be IEEE binary32/binary64");
_Static_assert(sizeof(bool) == 1, "bool must be one byte");

#define SHOW 40 /* characters of a bad token quoted in an error */

/* ------------------------------------------------------------------ errors and paths */

/* Resets c for a new call: no error, op ("encode"/"decode") names the kind of codec errors,
 * and the path starts as `path` (a message name, or "frame"). Borrows op for the call. */
void cw_begin(cw_ctx *c, const char *op, const char *path) {
    c->op = op;
    c->state = CW_OK;
    c->err[0] = '\0';
    c->path_len = 0;
    c->path[0] = '\0';
    cw_push(c, path);
}

/* Appends `name` (".field") to the path; returns the mark that cw_pop() takes back to.
 * What does not fit in CW_PATH_MAX is dropped; a later cw_pop() still restores correctly. */
size_t cw_push(cw_ctx *c, const char *name) {
    size_t mark = c->path_len, n = strlen(name), room = CW_PATH_MAX - 1 - c->path_len;
    if (n > room) n = room;
    memcpy(c->path + c->path_len, name, n);
    c->path_len += n;
    c->path[c->path_len] = '\0';
    return mark;
}

/* Appends "[index]" to the path; returns the mark as cw_push() does. */
size_t cw_push_index(cw_ctx *c, uint64_t index) {
    char buf[32];
    snprintf(buf, sizeof buf, "[%" PRIu64 "]", index);
    return cw_push(c, buf);
}

/* Takes the path back to a mark returned by cw_push(). */
void cw_pop(cw_ctx *c, size_t mark) {
    if (mark < CW_PATH_MAX) {
        c->path_len = mark;
        c->path[mark] = '\0';
    }
}

/* Writes "<prefix><detail>" into c->err, the detail from fmt/ap; newlines become spaces so
 * that the error fits on one reply line. */
static void set_err(cw_ctx *c, const char *prefix, const char *fmt, va_list ap) {
    int n = snprintf(c->err, sizeof c->err, "%s", prefix);
    size_t i;
    if (n > 0 && (size_t)n < sizeof c->err) vsnprintf(c->err + n, sizeof c->err - (size_t)n, fmt, ap);
    for (i = 0; c->err[i]; i++)
        if (c->err[i] == '\n' || c->err[i] == '\r') c->err[i] = ' ';
}

/* A codec error at the current path: "<op> <code> <path> <detail>". Returns -1. */
int cw_fail(cw_ctx *c, const char *code, const char *fmt, ...) {
    char prefix[CW_PATH_MAX + 64];
    va_list ap;
    snprintf(prefix, sizeof prefix, "%s %s %s ", c->op, code, c->path);
    va_start(ap, fmt);
    set_err(c, prefix, fmt, ap);
    va_end(ap);
    c->state = CW_FAILED;
    return -1;
}

/* Any other error: "<kind> <detail>" (kind "request", "runtime", ...). Returns -1. */
int cw_fail_kind(cw_ctx *c, const char *kind, const char *fmt, ...) {
    char prefix[64];
    va_list ap;
    snprintf(prefix, sizeof prefix, "%s ", kind);
    va_start(ap, fmt);
    set_err(c, prefix, fmt, ap);
    va_end(ap);
    c->state = CW_FAILED;
    return -1;
}

/* An encode error found while parsing text: recorded only if it is the first error, and the
 * parse goes on, so that a bad token later on still wins (it is a request error). */
void cw_defer(cw_ctx *c, const char *code, const char *fmt, ...) {
    char prefix[CW_PATH_MAX + 64];
    va_list ap;
    if (c->state != CW_OK) return;
    snprintf(prefix, sizeof prefix, "encode %s %s ", code, c->path);
    va_start(ap, fmt);
    set_err(c, prefix, fmt, ap);
    va_end(ap);
    c->state = CW_DEFERRED;
}

/* An enum value that is not listed, unsigned or signed. Returns -1. */
int cw_bad_enum_u(cw_ctx *c, uint64_t value, const char *enum_name) {
    return cw_fail(c, "enum", "%" PRIu64 " is not a value of %s", value, enum_name);
}

int cw_bad_enum_s(cw_ctx *c, int64_t value, const char *enum_name) {
    return cw_fail(c, "enum", "%" PRId64 " is not a value of %s", value, enum_name);
}

/* ------------------------------------------------------------------ bytes */

/* Little-endian stores of v at p[0..width). */
void cw_put16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

void cw_put32(uint8_t *p, uint32_t v) {
    cw_put16(p, (uint16_t)v);
    cw_put16(p + 2, (uint16_t)(v >> 16));
}

void cw_put64(uint8_t *p, uint64_t v) {
    cw_put32(p, (uint32_t)v);
    cw_put32(p + 4, (uint32_t)(v >> 32));
}

/* Little-endian loads from p[0..width). */
uint16_t cw_get16(const uint8_t *p) { return (uint16_t)(p[0] | (uint16_t)p[1] << 8); }
uint32_t cw_get32(const uint8_t *p) { return cw_get16(p) | (uint32_t)cw_get16(p + 2) << 16; }
uint64_t cw_get64(const uint8_t *p) { return cw_get32(p) | (uint64_t)cw_get32(p + 4) << 32; }

/* Two's complement: values above the signed maximum are negative. No implementation-defined
 * conversion: the negative branch computes -(2^N - u) within the signed range. */
int8_t cw_s8(uint8_t u) { return u <= INT8_MAX ? (int8_t)u : (int8_t)(-(int)(UINT8_MAX - u) - 1); }
int16_t cw_s16(uint16_t u) { return u <= INT16_MAX ? (int16_t)u : (int16_t)(-(int32_t)(UINT16_MAX - u) - 1); }
int32_t cw_s32(uint32_t u) { return u <= INT32_MAX ? (int32_t)u : -(int32_t)(UINT32_MAX - u) - 1; }
int64_t cw_s64(uint64_t u) { return u <= INT64_MAX ? (int64_t)u : -(int64_t)(UINT64_MAX - u) - 1; }

/* The offset of the first byte of s[0..n) that starts an invalid sequence of strict UTF-8
 * (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF), or n if none. */
size_t cw_utf8_invalid_at(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t b = s[i], lo = 0x80, hi = 0xBF;
        size_t more, k;
        if (b < 0x80) { i++; continue; }
        if (b >= 0xC2 && b <= 0xDF) more = 1;
        else if (b >= 0xE0 && b <= 0xEF) {
            more = 2;
            if (b == 0xE0) lo = 0xA0;           /* overlong */
            if (b == 0xED) hi = 0x9F;           /* surrogates */
        } else if (b >= 0xF0 && b <= 0xF4) {
            more = 3;
            if (b == 0xF0) lo = 0x90;           /* overlong */
            if (b == 0xF4) hi = 0x8F;           /* above U+10FFFF */
        } else return i;
        if (n - i - 1 < more) return i;
        for (k = 1; k <= more; k++) {
            uint8_t x = s[i + k];
            if (x < (k == 1 ? lo : 0x80) || x > (k == 1 ? hi : 0xBF)) return i;
        }
        i += more + 1;
    }
    return n;
}

/* 1 if data[0..len) is a bigint in its minimal two's-complement form (WIRE.md), else 0. */
int cw_bigint_minimal(const uint8_t *data, uint32_t len) {
    uint8_t last, before;
    if (len == 0) return 1;
    if (len == 1) return data[0] != 0x00;
    last = data[len - 1];
    before = data[len - 2];
    if (last == 0x00 && before < 0x80) return 0;
    if (last == 0xFF && before >= 0x80) return 0;
    return 1;
}

/* The value of a hex digit, either case, or -1. */
static int hexval(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* Decodes n hex digits (n even, either case) into n/2 bytes at out. out may be hex itself
 * (decoding in place works: each byte is written behind the digits it came from).
 * Returns 0, or -1 at the first non-hex digit (out is then partly written). */
int cw_hex_decode(const char *hex, size_t n, uint8_t *out) {
    size_t i;
    for (i = 0; i + 1 < n; i += 2) {
        int a = hexval(hex[i]), b = hexval(hex[i + 1]);
        if (a < 0 || b < 0) return -1;
        out[i / 2] = (uint8_t)(a << 4 | b);
    }
    return n % 2 ? -1 : 0;
}

/* Writes 2*n lowercase hex digits of data[0..n) at out (no NUL). */
void cw_hex_encode(const uint8_t *data, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < n; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
}

/* ------------------------------------------------------------------ decoding */

/* Takes n bytes from r: a pointer to them, or NULL after a `truncated` error at the path. */
static const uint8_t *take(cw_reader *r, cw_ctx *c, size_t n) {
    const uint8_t *p = r->buf + r->pos;
    size_t left = r->len - r->pos;
    if (n > left) {
        cw_fail(c, "truncated", "needs %zu bytes, %zu left", n, left);
        return NULL;
    }
    r->pos += n;
    return p;
}

/* Fixed-width integers: 0 with *v set, or -1 (`truncated`). */
int cw_rd_u8(cw_reader *r, cw_ctx *c, uint8_t *v) {
    const uint8_t *p;
    if ((p = take(r, c, 1)) == NULL) return -1;
    *v = p[0];
    return 0;
}

int cw_rd_u16(cw_reader *r, cw_ctx *c, uint16_t *v) {
    const uint8_t *p;
    if ((p = take(r, c, 2)) == NULL) return -1;
    *v = cw_get16(p);
    return 0;
}

int cw_rd_u32(cw_reader *r, cw_ctx *c, uint32_t *v) {
    const uint8_t *p;
    if ((p = take(r, c, 4)) == NULL) return -1;
    *v = cw_get32(p);
    return 0;
}

int cw_rd_u64(cw_reader *r, cw_ctx *c, uint64_t *v) {
    const uint8_t *p;
    if ((p = take(r, c, 8)) == NULL) return -1;
    *v = cw_get64(p);
    return 0;
}

int cw_rd_i8(cw_reader *r, cw_ctx *c, int8_t *v) {
    uint8_t u;
    if (cw_rd_u8(r, c, &u)) return -1;
    *v = cw_s8(u);
    return 0;
}

int cw_rd_i16(cw_reader *r, cw_ctx *c, int16_t *v) {
    uint16_t u;
    if (cw_rd_u16(r, c, &u)) return -1;
    *v = cw_s16(u);
    return 0;
}

int cw_rd_i32(cw_reader *r, cw_ctx *c, int32_t *v) {
    uint32_t u;
    if (cw_rd_u32(r, c, &u)) return -1;
    *v = cw_s32(u);
    return 0;
}

int cw_rd_i64(cw_reader *r, cw_ctx *c, int64_t *v) {
    uint64_t u;
    if (cw_rd_u64(r, c, &u)) return -1;
    *v = cw_s64(u);
    return 0;
}

/* Floats: the bit pattern is copied into the float's bytes, never loaded as a number. */
int cw_rd_f32(cw_reader *r, cw_ctx *c, float *v) {
    uint32_t bits;
    if (cw_rd_u32(r, c, &bits)) return -1;
    memcpy(v, &bits, sizeof bits);
    return 0;
}

int cw_rd_f64(cw_reader *r, cw_ctx *c, double *v) {
    uint64_t bits;
    if (cw_rd_u64(r, c, &bits)) return -1;
    memcpy(v, &bits, sizeof bits);
    return 0;
}

/* bool: one byte, 0 or 1; any other is `bool`. */
int cw_rd_bool(cw_reader *r, cw_ctx *c, bool *v) {
    uint8_t u;
    if (cw_rd_u8(r, c, &u)) return -1;
    if (u > 1) return cw_fail(c, "bool", "byte 0x%02x is neither 0 nor 1", u);
    *v = u == 1;
    return 0;
}

/* char[N]: exactly n bytes, the text then NULs; a non-NUL byte after a NUL is an error. */
int cw_rd_char(cw_reader *r, cw_ctx *c, char *v, size_t n) {
    const uint8_t *p;
    size_t i;
    int nul = 0;
    if ((p = take(r, c, n)) == NULL) return -1;
    for (i = 0; i < n; i++) {
        if (p[i] == 0) nul = 1;
        else if (nul) return cw_fail(c, "char", "a non-NUL byte after the first NUL (at byte %zu)", i);
    }
    memcpy(v, p, n);
    return 0;
}

/* pad[N]: n bytes that must be zero (`padding`); v gets the zeros. */
int cw_rd_pad(cw_reader *r, cw_ctx *c, uint8_t *v, size_t n) {
    const uint8_t *p;
    size_t i;
    if ((p = take(r, c, n)) == NULL) return -1;
    for (i = 0; i < n; i++)
        if (p[i]) return cw_fail(c, "padding", "a non-zero padding byte 0x%02x at byte %zu", p[i], i);
    memset(v, 0, n);
    return 0;
}

/* bytes/string: u32 length (<= max), then the bytes into data[0..max); utf8 checks strings. */
int cw_rd_bytes(cw_reader *r, cw_ctx *c, uint8_t *data, uint32_t *len, uint32_t max, int utf8) {
    const uint8_t *p;
    uint32_t n;
    size_t bad;
    if (cw_rd_u32(r, c, &n)) return -1;
    if (n > max) return cw_fail(c, "length", "%" PRIu32 " bytes, at most %" PRIu32, n, max);
    if ((p = take(r, c, n)) == NULL) return -1;
    if (utf8 && (bad = cw_utf8_invalid_at(p, n)) != n)
        return cw_fail(c, "utf8", "invalid UTF-8 at byte %zu", bad);
    memcpy(data, p, n);
    *len = n;
    return 0;
}

/* bigint: u32 length (<= max), then the minimal two's-complement form (else `bigint`). */
int cw_rd_bigint(cw_reader *r, cw_ctx *c, uint8_t *data, uint32_t *len, uint32_t max) {
    const uint8_t *p;
    uint32_t n;
    if (cw_rd_u32(r, c, &n)) return -1;
    if (n > max) return cw_fail(c, "length", "%" PRIu32 " bytes, at most %" PRIu32, n, max);
    if ((p = take(r, c, n)) == NULL) return -1;
    if (!cw_bigint_minimal(p, n)) return cw_fail(c, "bigint", "not the minimal form (%" PRIu32 " bytes)", n);
    memcpy(data, p, n);
    *len = n;
    return 0;
}

/* The u32 count of a vec<T>, at most max. */
int cw_rd_count(cw_reader *r, cw_ctx *c, uint32_t max, uint32_t *count) {
    if (cw_rd_u32(r, c, count)) return -1;
    if (*count > max) return cw_fail(c, "length", "%" PRIu32 " items, at most %" PRIu32, *count, max);
    return 0;
}

/* ------------------------------------------------------------------ encoding */

/* Reserves n bytes of w: a pointer to them, or NULL after a `runtime` error if the caller's
 * buffer is too small. */
static uint8_t *room(cw_writer *w, cw_ctx *c, size_t n) {
    uint8_t *p = w->buf + w->len;
    if (w->cap - w->len < n) {
        cw_fail_kind(c, "runtime", "the output buffer of %zu bytes is too small at %s", w->cap, c->path);
        return NULL;
    }
    w->len += n;
    return p;
}

/* Fixed-width integers, little-endian: 0, or -1 (`runtime`) if w is full. */
int cw_wr_u8(cw_writer *w, cw_ctx *c, uint8_t v) {
    uint8_t *p;
    if ((p = room(w, c, 1)) == NULL) return -1;
    p[0] = v;
    return 0;
}

int cw_wr_u16(cw_writer *w, cw_ctx *c, uint16_t v) {
    uint8_t *p;
    if ((p = room(w, c, 2)) == NULL) return -1;
    cw_put16(p, v);
    return 0;
}

int cw_wr_u32(cw_writer *w, cw_ctx *c, uint32_t v) {
    uint8_t *p;
    if ((p = room(w, c, 4)) == NULL) return -1;
    cw_put32(p, v);
    return 0;
}

int cw_wr_u64(cw_writer *w, cw_ctx *c, uint64_t v) {
    uint8_t *p;
    if ((p = room(w, c, 8)) == NULL) return -1;
    cw_put64(p, v);
    return 0;
}

/* Signed values: conversion to the unsigned type of the same width is modulo 2^N, exact. */
int cw_wr_i8(cw_writer *w, cw_ctx *c, int8_t v) { return cw_wr_u8(w, c, (uint8_t)v); }
int cw_wr_i16(cw_writer *w, cw_ctx *c, int16_t v) { return cw_wr_u16(w, c, (uint16_t)v); }
int cw_wr_i32(cw_writer *w, cw_ctx *c, int32_t v) { return cw_wr_u32(w, c, (uint32_t)v); }
int cw_wr_i64(cw_writer *w, cw_ctx *c, int64_t v) { return cw_wr_u64(w, c, (uint64_t)v); }

/* Floats: the bit pattern of *v, read as bytes, never loaded as a number. */
int cw_wr_f32(cw_writer *w, cw_ctx *c, const float *v) {
    uint32_t bits;
    memcpy(&bits, v, sizeof bits);
    return cw_wr_u32(w, c, bits);
}

int cw_wr_f64(cw_writer *w, cw_ctx *c, const double *v) {
    uint64_t bits;
    memcpy(&bits, v, sizeof bits);
    return cw_wr_u64(w, c, bits);
}

int cw_wr_bool(cw_writer *w, cw_ctx *c, bool v) { return cw_wr_u8(w, c, v ? 1 : 0); }

/* char[N]: the n bytes as they are; a non-NUL byte after a NUL has no wire form (`char`). */
int cw_wr_char(cw_writer *w, cw_ctx *c, const char *v, size_t n) {
    uint8_t *p;
    size_t i;
    int nul = 0;
    for (i = 0; i < n; i++) {
        if (v[i] == 0) nul = 1;
        else if (nul) return cw_fail(c, "char", "NUL inside the text (at byte %zu)", i);
    }
    if ((p = room(w, c, n)) == NULL) return -1;
    memcpy(p, v, n);
    return 0;
}

/* pad[N]: n zero bytes, whatever the struct holds. */
int cw_wr_pad(cw_writer *w, cw_ctx *c, size_t n) {
    uint8_t *p;
    if ((p = room(w, c, n)) == NULL) return -1;
    memset(p, 0, n);
    return 0;
}

/* bytes/string: longer than max is `length`, a string that is not UTF-8 is `utf8`. */
int cw_wr_bytes(cw_writer *w, cw_ctx *c, const uint8_t *data, uint32_t len, uint32_t max, int utf8) {
    uint8_t *p;
    size_t bad;
    if (len > max) return cw_fail(c, "length", "%" PRIu32 " bytes, at most %" PRIu32, len, max);
    if (utf8 && (bad = cw_utf8_invalid_at(data, len)) != len)
        return cw_fail(c, "utf8", "invalid UTF-8 at byte %zu", bad);
    if ((p = room(w, c, 4 + (size_t)len)) == NULL) return -1;
    cw_put32(p, len);
    memcpy(p + 4, data, len);
    return 0;
}

/* A bigint goes out in its minimal form, whatever redundant sign bytes data[0..len) has. */
int cw_wr_bigint(cw_writer *w, cw_ctx *c, const uint8_t *data, uint32_t len, uint32_t max) {
    uint8_t *p;
    if (len > max) return cw_fail(c, "length", "%" PRIu32 " bytes, at most %" PRIu32, len, max);
    while (!cw_bigint_minimal(data, len)) len--;
    if ((p = room(w, c, 4 + (size_t)len)) == NULL) return -1;
    cw_put32(p, len);
    memcpy(p + 4, data, len);
    return 0;
}

/* The count of a vec<T>: above max is `length`. */
int cw_wr_count(cw_writer *w, cw_ctx *c, uint32_t count, uint32_t max) {
    if (count > max) return cw_fail(c, "length", "%" PRIu32 " items, at most %" PRIu32, count, max);
    return cw_wr_u32(w, c, count);
}

/* ------------------------------------------------------------------ text: tokens in */

/* Takes the next token into t->tok/t->tok_len, or fails `request` when there is none. */
int cw_take(cw_tokens *t, cw_ctx *c) {
    const char *end;
    if (t->pos >= t->len) return cw_fail_kind(c, "request", "missing a token for %s", c->path);
    t->tok = t->s + t->pos;
    end = memchr(t->tok, ' ', t->len - t->pos);
    t->tok_len = end ? (size_t)(end - t->tok) : t->len - t->pos;
    t->pos += t->tok_len + (end != NULL);
    if (t->tok_len == 0) return cw_fail_kind(c, "request", "an empty token for %s (two spaces?)", c->path);
    return 0;
}

/* The token taken last is bad: a `request` error. Returns -1. */
static int bad_token(cw_tokens *t, cw_ctx *c) {
    return cw_fail_kind(c, "request", "bad token '%.*s%s' for %s", (int)(t->tok_len > SHOW ? SHOW : t->tok_len),
                        t->tok, t->tok_len > SHOW ? "..." : "", c->path);
}

/* Reads the last token as decimal -?[0-9]+: sign and magnitude, with *over set when it does
 * not fit 64 bits (then *mag is meaningless). Returns -1 if it is not decimal. */
static int decimal(const cw_tokens *t, int signed_ok, int *neg, uint64_t *mag, int *over) {
    size_t i = 0;
    *neg = 0;
    *mag = 0;
    *over = 0;
    if (signed_ok && t->tok_len > 0 && t->tok[0] == '-') i = 1;
    *neg = i == 1;
    if (i == t->tok_len) return -1;
    for (; i < t->tok_len; i++) {
        unsigned d = (unsigned)(t->tok[i] - '0');
        if (t->tok[i] < '0' || t->tok[i] > '9') return -1;
        if (*over || *mag > (UINT64_MAX - d) / 10) *over = 1;
        else *mag = *mag * 10 + d;
    }
    return 0;
}

/* An unsigned integer (or enum) token. A value outside 0..max is a deferred `range` error
 * (`enum` when enum_name is given) and *v is 0. Returns -1 only for a bad token. */
int cw_take_uint(cw_tokens *t, cw_ctx *c, uint64_t max, const char *enum_name, uint64_t *v) {
    int neg, over;
    uint64_t mag;
    if (cw_take(t, c)) return -1;
    if (decimal(t, 1, &neg, &mag, &over)) return bad_token(t, c);
    *v = 0;
    if (!over && (!neg || mag == 0) && mag <= max) *v = mag;
    else if (enum_name) cw_defer_enum(t, c, enum_name);
    else cw_defer(c, "range", "%.*s is outside 0..%" PRIu64, (int)(t->tok_len > SHOW ? SHOW : t->tok_len), t->tok, max);
    return 0;
}

/* A signed integer (or enum) token, as cw_take_uint(); requires min <= 0 <= max. */
int cw_take_int(cw_tokens *t, cw_ctx *c, int64_t min, int64_t max, const char *enum_name, int64_t *v) {
    int neg, over;
    uint64_t mag;
    if (cw_take(t, c)) return -1;
    if (decimal(t, 1, &neg, &mag, &over)) return bad_token(t, c);
    *v = 0;
    if (!over && neg && mag <= (uint64_t)(-(min + 1)) + 1) *v = mag == 0 ? 0 : -(int64_t)(mag - 1) - 1;
    else if (!over && !neg && mag <= (uint64_t)max) *v = (int64_t)mag;
    else if (enum_name) cw_defer_enum(t, c, enum_name);
    else cw_defer(c, "range", "%.*s is outside %" PRId64 "..%" PRId64, (int)(t->tok_len > SHOW ? SHOW : t->tok_len),
                  t->tok, min, max);
    return 0;
}

/* The enum token taken last is not a value of the enum: a deferred `enum` error. */
void cw_defer_enum(cw_tokens *t, cw_ctx *c, const char *enum_name) {
    cw_defer(c, "enum", "%.*s is not a value of %s", (int)(t->tok_len > SHOW ? SHOW : t->tok_len), t->tok, enum_name);
}

/* A float token: 0x and exactly 2*size hex digits, the bit pattern. */
static int take_bits(cw_tokens *t, cw_ctx *c, size_t size, uint64_t *bits) {
    size_t i;
    if (cw_take(t, c)) return -1;
    if (t->tok_len != 2 + 2 * size || t->tok[0] != '0' || t->tok[1] != 'x') return bad_token(t, c);
    *bits = 0;
    for (i = 2; i < t->tok_len; i++) {
        int d = hexval(t->tok[i]);
        if (d < 0) return bad_token(t, c);
        *bits = *bits << 4 | (uint64_t)d;
    }
    return 0;
}

/* f32/f64 tokens into the float's bytes; -1 for a bad token. */
int cw_take_f32(cw_tokens *t, cw_ctx *c, float *v) {
    uint64_t bits = 0;
    uint32_t b32;
    if (take_bits(t, c, 4, &bits)) return -1;
    b32 = (uint32_t)bits;
    memcpy(v, &b32, sizeof b32);
    return 0;
}

int cw_take_f64(cw_tokens *t, cw_ctx *c, double *v) {
    uint64_t bits = 0;
    if (take_bits(t, c, 8, &bits)) return -1;
    memcpy(v, &bits, sizeof bits);
    return 0;
}

/* true or false; -1 for anything else. */
int cw_take_bool(cw_tokens *t, cw_ctx *c, bool *v) {
    if (cw_take(t, c)) return -1;
    if (t->tok_len == 4 && memcmp(t->tok, "true", 4) == 0) *v = true;
    else if (t->tok_len == 5 && memcmp(t->tok, "false", 5) == 0) *v = false;
    else return bad_token(t, c);
    return 0;
}

/* A blob token: x and pairs of hex digits. Sets *n to its byte count. */
static int take_blob(cw_tokens *t, cw_ctx *c, size_t *n) {
    size_t i;
    if (cw_take(t, c)) return -1;
    if (t->tok[0] != 'x' || t->tok_len % 2 != 1) return bad_token(t, c);
    for (i = 1; i < t->tok_len; i++)
        if (hexval(t->tok[i]) < 0) return bad_token(t, c);
    *n = t->tok_len / 2;
    return 0;
}

/* char[N] from a blob: a NUL inside is a deferred `char` error, more than n bytes `length`;
 * then v is all NULs. Otherwise v gets the text and NUL padding. */
int cw_take_char(cw_tokens *t, cw_ctx *c, char *v, size_t n) {
    size_t len, i;
    memset(v, 0, n);
    if (take_blob(t, c, &len)) return -1;
    for (i = 0; i < len; i++)
        if (t->tok[1 + 2 * i] == '0' && t->tok[2 + 2 * i] == '0') {
            cw_defer(c, "char", "NUL inside the text (at byte %zu)", i);
            return 0;
        }
    if (len > n) {
        cw_defer(c, "length", "%zu bytes, at most %zu", len, n);
        return 0;
    }
    cw_hex_decode(t->tok + 1, 2 * len, (uint8_t *)v);
    return 0;
}

/* bytes/string from a blob into data[0..max): longer is a deferred `length` error (and
 * *len is 0), invalid UTF-8 in a string a deferred `utf8` error. */
int cw_take_bytes(cw_tokens *t, cw_ctx *c, uint8_t *data, uint32_t *len, uint32_t max, int utf8) {
    size_t n, bad;
    *len = 0;
    if (take_blob(t, c, &n)) return -1;
    if (n > max) {
        cw_defer(c, "length", "%zu bytes, at most %" PRIu32, n, max);
        return 0;
    }
    cw_hex_decode(t->tok + 1, 2 * n, data);
    *len = (uint32_t)n;
    if (utf8 && (bad = cw_utf8_invalid_at(data, n)) != n) cw_defer(c, "utf8", "invalid UTF-8 at byte %zu", bad);
    return 0;
}

/* A bigint token, -?0x[0-9a-fA-F]+, into its minimal two's-complement form data[0..*len).
 * A form longer than max bytes is a deferred `length` error (and *len is 0). */
int cw_take_bigint(cw_tokens *t, cw_ctx *c, uint8_t *data, uint32_t *len, uint32_t max) {
    size_t i, start, digits, bytes, need, j;
    int neg, top, rest = 0;
    *len = 0;
    if (cw_take(t, c)) return -1;
    neg = t->tok[0] == '-';
    start = (size_t)neg + 2;
    if (t->tok_len <= start || t->tok[start - 2] != '0' || t->tok[start - 1] != 'x') return bad_token(t, c);
    for (i = start; i < t->tok_len; i++)
        if (hexval(t->tok[i]) < 0) return bad_token(t, c);
    while (start < t->tok_len && t->tok[start] == '0') start++;    /* leading zeros */
    digits = t->tok_len - start;
    if (digits == 0) return 0;                                      /* zero: no bytes */
    bytes = (digits + 1) / 2;                                       /* of the magnitude */
    top = digits % 2 ? hexval(t->tok[start]) : hexval(t->tok[start]) << 4 | hexval(t->tok[start + 1]);
    for (i = start + 2 - digits % 2; i < t->tok_len; i++) rest |= t->tok[i] != '0';
    /* One more byte for the sign, except for -2^(8k-1), whose form is k bytes. */
    need = bytes + (neg ? (top > 0x80 || (top == 0x80 && rest)) : top >= 0x80);
    if (need > max) {
        cw_defer(c, "length", "needs %zu bytes, at most %" PRIu32, need, max);
        return 0;
    }
    memset(data, 0, need);
    for (j = 0; j < digits; j++)
        data[j / 2] |= (uint8_t)(hexval(t->tok[t->tok_len - 1 - j]) << (4 * (j % 2)));
    if (neg) {                                                      /* two's complement */
        unsigned carry = 1;
        for (j = 0; j < need; j++) {
            unsigned x = (uint8_t)~data[j] + carry;
            data[j] = (uint8_t)x;
            carry = x >> 8;
        }
    }
    *len = (uint32_t)need;
    return 0;
}

/* The count token of a vec<T>: [0-9]+, saturated at UINT64_MAX; above max a deferred `length` error. */
int cw_take_count(cw_tokens *t, cw_ctx *c, uint32_t max, uint64_t *count) {
    int neg, over;
    if (cw_take(t, c)) return -1;
    if (decimal(t, 0, &neg, count, &over)) return bad_token(t, c);
    if (over) *count = UINT64_MAX;
    if (*count > max)
        cw_defer(c, "length", "%.*s items, at most %" PRIu32, (int)(t->tok_len > SHOW ? SHOW : t->tok_len), t->tok, max);
    return 0;
}

/* ------------------------------------------------------------------ text: tokens out */

/* Reserves a token of n chars in o (after a space unless it is the first) and keeps o
 * NUL-terminated: where the token goes, or NULL after a `runtime` error if o is too small. */
static char *token(cw_out *o, cw_ctx *c, size_t n) {
    size_t sep = o->len > 0;
    char *p;
    if (o->cap - o->len < sep + n + 1) {
        cw_fail_kind(c, "runtime", "the text buffer of %zu bytes is too small at %s", o->cap, c->path);
        return NULL;
    }
    if (sep) o->buf[o->len++] = ' ';
    p = o->buf + o->len;
    o->len += n;
    o->buf[o->len] = '\0';
    return p;
}

/* A token from a C string. */
static int put_text(cw_out *o, cw_ctx *c, const char *s) {
    char *p;
    size_t n = strlen(s);
    if ((p = token(o, c, n)) == NULL) return -1;
    memcpy(p, s, n);
    return 0;
}

/* Tokens out: each returns 0, or -1 (`runtime`) when o is full. Integers in decimal. */
int cw_fmt_u(cw_out *o, cw_ctx *c, uint64_t v) {
    char buf[24];
    snprintf(buf, sizeof buf, "%" PRIu64, v);
    return put_text(o, c, buf);
}

int cw_fmt_s(cw_out *o, cw_ctx *c, int64_t v) {
    char buf[24];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    return put_text(o, c, buf);
}

/* Floats as 0x and their bit pattern, 8 or 16 hex digits. */
int cw_fmt_f32(cw_out *o, cw_ctx *c, const float *v) {
    char buf[16];
    uint32_t bits;
    memcpy(&bits, v, sizeof bits);
    snprintf(buf, sizeof buf, "0x%08" PRIx32, bits);
    return put_text(o, c, buf);
}

int cw_fmt_f64(cw_out *o, cw_ctx *c, const double *v) {
    char buf[24];
    uint64_t bits;
    memcpy(&bits, v, sizeof bits);
    snprintf(buf, sizeof buf, "0x%016" PRIx64, bits);
    return put_text(o, c, buf);
}

int cw_fmt_bool(cw_out *o, cw_ctx *c, bool v) { return put_text(o, c, v ? "true" : "false"); }

/* A blob token: x and the hex of data[0..n). */
static int put_blob(cw_out *o, cw_ctx *c, const uint8_t *data, size_t n) {
    char *p;
    if ((p = token(o, c, 1 + 2 * n)) == NULL) return -1;
    p[0] = 'x';
    cw_hex_encode(data, n, p + 1);
    return 0;
}

/* char[N]: the text up to its first NUL. */
int cw_fmt_char(cw_out *o, cw_ctx *c, const char *v, size_t n) {
    const char *nul = memchr(v, 0, n);
    return put_blob(o, c, (const uint8_t *)v, nul ? (size_t)(nul - v) : n);
}

/* bytes/string as a blob; a len above max is a bad struct (`runtime`). */
int cw_fmt_bytes(cw_out *o, cw_ctx *c, const uint8_t *data, uint32_t len, uint32_t max) {
    if (len > max) return cw_fail_kind(c, "runtime", "%s: length %" PRIu32 " is above its max %" PRIu32, c->path, len, max);
    return put_blob(o, c, data, len);
}

/* A bigint as -?0x<magnitude>: for a negative value the magnitude ~x + 1 is computed byte by
 * byte from the top; the +1 carries through the low zero bytes of x up to the first other. */
int cw_fmt_bigint(cw_out *o, cw_ctx *c, const uint8_t *data, uint32_t len, uint32_t max) {
    static const char digits[] = "0123456789abcdef";
    int neg;
    uint32_t low = 0, i, top;
    char *p;
    size_t n = 0, k;
    if (len > max) return cw_fail_kind(c, "runtime", "%s: length %" PRIu32 " is above its max %" PRIu32, c->path, len, max);
    neg = len > 0 && data[len - 1] >= 0x80;
    while (neg && data[low] == 0) low++;        /* a negative value has a non-zero byte */
#define MAG(i) (uint8_t)(!neg ? data[i] : (i) < low ? 0 : (i) == low ? 0x100 - data[i] : ~data[i])
    for (top = len; top > 0 && MAG(top - 1) == 0; top--) {}
    if (top == 0) return put_text(o, c, "0x0");
    n = (size_t)neg + 2 + 2 * (size_t)top - (MAG(top - 1) < 0x10);
    if ((p = token(o, c, n)) == NULL) return -1;
    k = 0;
    if (neg) p[k++] = '-';
    p[k++] = '0';
    p[k++] = 'x';
    for (i = top; i > 0; i--) {
        uint8_t b = MAG(i - 1);
        if (i < top || b >= 0x10) p[k++] = digits[b >> 4];
        p[k++] = digits[b & 15];
    }
#undef MAG
    return 0;
}

/* The count of a vec<T>; above max is a bad struct (`runtime`). */
int cw_fmt_count(cw_out *o, cw_ctx *c, uint32_t count, uint32_t max) {
    if (count > max) return cw_fail_kind(c, "runtime", "%s: count %" PRIu32 " is above its max %" PRIu32, c->path, count, max);
    return cw_fmt_u(o, c, count);
}

/* ------------------------------------------------------------------ whole messages */

/* Encodes *value (a cw_<m->name>) into out[0..cap); *out_len gets the payload length. */
int cw_encode_message(const cw_message_info *m, const void *value, uint8_t *out, size_t cap,
                      size_t *out_len, cw_ctx *c) {
    static uint8_t none[1];
    cw_writer w;
    w.buf = out ? out : none;
    w.cap = out ? cap : 0;
    w.len = 0;
    cw_begin(c, "encode", m->name);
    if (m->encode(&w, c, value)) return -1;
    *out_len = w.len;
    return 0;
}

/* Decodes the payload buf[0..len) into *value, which must be consumed exactly. *value is
 * partly written on failure. */
int cw_decode_message(const cw_message_info *m, const uint8_t *buf, size_t len, void *value, cw_ctx *c) {
    static const uint8_t none[1] = {0};
    cw_reader r;
    r.buf = buf ? buf : none;   /* no arithmetic on a null pointer, even + 0 */
    r.len = len;
    r.pos = 0;
    cw_begin(c, "decode", m->name);
    if (m->decode(&r, c, value)) return -1;
    if (r.pos != len) return cw_fail(c, "trailing", "%zu bytes left over", len - r.pos);
    return 0;
}

/* Parses the value tokens text[0..len) (single spaces between, maybe none) into *value,
 * which is zeroed first. Errors, in the contract's order: a bad or missing token, tokens
 * left over (request), then the first value that cannot be encoded (encode). */
int cw_parse_message(const cw_message_info *m, const char *text, size_t len, void *value, cw_ctx *c) {
    cw_tokens t;
    t.s = text;
    t.len = len;
    t.pos = 0;
    t.tok = text;
    t.tok_len = 0;
    memset(value, 0, m->size);
    cw_begin(c, "encode", m->name);
    if (m->parse(&t, c, value)) return -1;
    if (t.pos < len || (len > 0 && text[len - 1] == ' ')) {
        size_t left = 1, i;
        for (i = t.pos; i < len; i++) left += text[i] == ' ';
        return cw_fail_kind(c, "request", "%zu tokens left over after the value of %s", left, m->name);
    }
    return c->state == CW_OK ? 0 : -1;
}

/* Writes the value tokens of *value into out[0..cap), NUL-terminated; *out_len excludes
 * the NUL. */
int cw_format_message(const cw_message_info *m, const void *value, char *out, size_t cap,
                      size_t *out_len, cw_ctx *c) {
    cw_out o;
    o.buf = out;
    o.cap = cap;
    o.len = 0;
    cw_begin(c, "decode", m->name);
    if (cap == 0) return cw_fail_kind(c, "runtime", "no room for the text");
    out[0] = '\0';
    if (m->format(&o, c, value)) return -1;
    *out_len = o.len;
    return 0;
}
