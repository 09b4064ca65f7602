/* cw_runtime.c -- the schema-independent half of the crosswire C codec (see cw_runtime.h).
 *
 * Every function that can fail returns 0 on success and -1 on failure with the error in the
 * cw_ctx, as the contract's text after "ERR ": "<kind> <code> <path> <detail>" for codec
 * errors, "<kind> <detail>" for the others.
 */
#include "cw_runtime.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(float) == 4 && sizeof(double) == 8, "f32/f64 must be IEEE binary32/binary64");
_Static_assert(sizeof(bool) == 1, "bool must be one byte");

#define SHOW 40 /* characters of a bad token quoted in an error */

uint32_t cw_version = UINT32_MAX;

/* ------------------------------------------------------------------ errors and paths */

/* Resets c for a new call: no error, op ("encode"/"decode") names the kind of codec errors,
 * and the path starts as `root` (a message name, "frame" or "-"). Borrows op and root. */
void cw_begin(cw_ctx *c, const char *op, const char *root) {
    c->op = op;
    c->state = CW_OK;
    c->err[0] = '\0';
    c->path[0] = '\0';
    cw_field(c, 0, root);
}

const char *cw_path(cw_ctx *c) {
    size_t i, n = 0, depth = c->depth < CW_DEPTH_MAX ? c->depth : CW_DEPTH_MAX;
    for (i = 0; i < depth && n < CW_PATH_MAX - 1; i++) {
        int k = c->seg[i] ? snprintf(c->path + n, CW_PATH_MAX - n, "%s", c->seg[i])
                          : snprintf(c->path + n, CW_PATH_MAX - n, "[%" PRIu64 "]", c->index[i]);
        if (k < 0) break;
        n += (size_t)k < CW_PATH_MAX - n ? (size_t)k : CW_PATH_MAX - 1 - n;
    }
    c->path[n] = '\0';
    return c->path;
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
    snprintf(prefix, sizeof prefix, "%s %s %s ", c->op, code, cw_path(c));
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
    snprintf(prefix, sizeof prefix, "encode %s %s ", code, cw_path(c));
    va_start(ap, fmt);
    set_err(c, prefix, fmt, ap);
    va_end(ap);
    c->state = CW_DEFERRED;
}

int cw_bad_bool(cw_ctx *c, uint64_t raw) {
    return cw_fail(c, "bool", "bool byte is 0x%02" PRIx64 ", must be 0x00 or 0x01", raw);
}

int cw_bad_enum_u(cw_ctx *c, uint64_t value, const char *enum_name) {
    return cw_fail(c, "enum", "%" PRIu64 " is not a value of enum %s", value, enum_name);
}

int cw_bad_enum_s(cw_ctx *c, int64_t value, const char *enum_name) {
    return cw_fail(c, "enum", "%" PRId64 " is not a value of enum %s", value, enum_name);
}

int cw_bad_flags(cw_ctx *c, uint64_t value, uint64_t mask, const char *flags_name) {
    return cw_fail(c, "flags", "0x%" PRIx64 " sets bits 0x%" PRIx64 " that flags %s does not name", value,
                   value & ~mask, flags_name);
}

int cw_bad_const(cw_ctx *c, uint64_t raw, uint64_t want) {
    return cw_fail(c, "const", "0x%" PRIx64 " is not the constant 0x%" PRIx64, raw, want);
}

int cw_bad_range_u(cw_ctx *c, uint64_t value, uint64_t max) {
    return cw_fail(c, "range", "%" PRIu64 " does not fit 0..%" PRIu64, value, max);
}

int cw_bad_range_s(cw_ctx *c, int64_t value, int64_t min, int64_t max) {
    return cw_fail(c, "range", "%" PRId64 " does not fit %" PRId64 "..%" PRId64, value, min, max);
}

int cw_bad_union(cw_ctx *c, const char *on, uint64_t raw, int is_signed, const char *union_name) {
    if (is_signed) return cw_fail(c, "union", "%s = %" PRId64 " picks no case of union %s", on, cw_signed(raw, 8), union_name);
    return cw_fail(c, "union", "%s = %" PRIu64 " picks no case of union %s", on, raw, union_name);
}

int cw_whole(cw_ctx *c, const char *field, uint64_t *n, uint32_t width) {
    if (*n % width)
        return cw_fail(c, "length", "%s says %" PRIu64 " bytes, not a whole number of %" PRIu32 "-byte elements",
                       field, *n, width);
    *n /= width;
    return 0;
}

int cw_agree(cw_ctx *c, const char *field, uint64_t n, const char *first, uint64_t want) {
    if (n == want) return 0;
    return cw_fail(c, "length", "%s (%" PRIu64 ") and %s (%" PRIu64 ") disagree on its length", field, n, first, want);
}

int cw_at_most(cw_ctx *c, uint64_t n, uint64_t max, const char *what) {
    if (n <= max) return 0;
    return cw_fail(c, "length", "length %" PRIu64 " %s, more than max %" PRIu64, n, what, max);
}

/* ------------------------------------------------------------------ bytes */

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

/* 1 if data[0..len) (little-endian) is a bigint in its minimal two's-complement form. */
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

/* The length of the minimal form of the little-endian bigint data[0..len). */
uint32_t cw_bigint_len(const uint8_t *data, uint32_t len) {
    while (!cw_bigint_minimal(data, len)) len--;
    return len;
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

int cw_cut(cw_reader *r, cw_ctx *c, size_t n) {
    return cw_fail(c, "truncated", "needs %zu bytes, %zu left", n, r->len - r->pos);
}

/* Takes n bytes from r: a pointer to them, or NULL after a `truncated` error at the path. */
static const uint8_t *take(cw_reader *r, cw_ctx *c, size_t n) {
    const uint8_t *p = r->buf + r->pos;
    if (n > r->len - r->pos) {
        cw_cut(r, c, n);
        return NULL;
    }
    r->pos += n;
    return p;
}

/* char[N]: exactly n bytes, the text then NULs; a non-NUL byte after a NUL is an error. */
int cw_rd_char(cw_reader *r, cw_ctx *c, char *v, size_t n) {
    const uint8_t *p;
    const uint8_t *nul;
    size_t i;
    if ((p = take(r, c, n)) == NULL) return -1;
    if ((nul = memchr(p, 0, n)) != NULL)
        for (i = (size_t)(nul - p) + 1; i < n; i++)
            if (p[i]) return cw_fail(c, "char", "byte %zu of char[%zu] is 0x%02x after the NUL at byte %zu", i, n,
                                     p[i], (size_t)(nul - p));
    memcpy(v, p, n);
    return 0;
}

/* A constant char[N]: its n bytes must be want[0..want_len) and then NULs (WIRE.md, Constants). */
int cw_rd_const_char(cw_reader *r, cw_ctx *c, char *v, size_t n, const char *want, size_t want_len) {
    const uint8_t *p;
    size_t i, shown_len;
    char shown[2 * 16 + 1];
    if ((p = take(r, c, n)) == NULL) return -1;
    for (i = 0; i < n; i++) {
        uint8_t expect = i < want_len ? (uint8_t)want[i] : 0;
        if (p[i] != expect) {
            shown_len = n < 16 ? n : 16;
            cw_hex_encode(p, shown_len, shown);
            shown[2 * shown_len] = '\0';
            return cw_fail(c, "const", "x%s%s is not the constant \"%.*s\" NUL-padded (byte %zu)", shown,
                           n > 16 ? "..." : "", (int)want_len, want, i);
        }
    }
    memcpy(v, p, n);
    return 0;
}

/* pad[N] and C layout's padding: n bytes that must be zero (`padding`); v (if any) gets them. */
int cw_rd_pad(cw_reader *r, cw_ctx *c, uint8_t *v, size_t n) {
    const uint8_t *p;
    size_t i;
    if ((p = take(r, c, n)) == NULL) return -1;
    for (i = 0; i < n; i++)
        if (p[i]) return cw_fail(c, "padding", "padding byte %zu is 0x%02x, must be 0", i, p[i]);
    if (v) memset(v, 0, n);
    return 0;
}

/* A length prefix of `size` bytes: in units of `width` bytes (a vec counted in bytes: it must
 * be whole elements, and *n counts them), at most max. */
int cw_rd_length(cw_reader *r, cw_ctx *c, size_t size, int big, uint32_t width, uint32_t max, uint32_t *n) {
    uint64_t v = 0;
    if (cw_rd(r, c, size, big, &v)) return -1;
    if (width > 1 && v % width)
        return cw_fail(c, "length", "%" PRIu64 " bytes is not a whole number of %" PRIu32 "-byte elements", v, width);
    v /= width;
    if (v > max) return cw_fail(c, "length", "length %" PRIu64 ", more than max %" PRIu32, v, max);
    *n = (uint32_t)v;
    return 0;
}

/* The n bytes of a bytes or string value into data; utf8 checks a string. */
int cw_rd_bytes(cw_reader *r, cw_ctx *c, uint8_t *data, uint32_t n, int utf8) {
    const uint8_t *p;
    size_t bad;
    if (n > r->len - r->pos)
        return cw_fail(c, "truncated", "length says %" PRIu32 " bytes, %zu left", n, r->len - r->pos);
    p = r->buf + r->pos;
    if (utf8 && (bad = cw_utf8_invalid_at(p, n)) != n) return cw_fail(c, "utf8", "invalid UTF-8 at byte %zu", bad);
    r->pos += n;
    memcpy(data, p, n);
    return 0;
}

/* The n bytes of a bigint, kept little-endian in data; a redundant form is `bigint`. */
int cw_rd_bigint(cw_reader *r, cw_ctx *c, uint8_t *data, uint32_t n, int big) {
    uint32_t i;
    if (n > r->len - r->pos)
        return cw_fail(c, "truncated", "length says %" PRIu32 " bytes, %zu left", n, r->len - r->pos);
    if (!big) memcpy(data, r->buf + r->pos, n);
    else for (i = 0; i < n; i++) data[i] = r->buf[r->pos + n - 1 - i];
    if (!cw_bigint_minimal(data, n))
        return cw_fail(c, "bigint", "the %" PRIu32 "-byte form is longer than the minimal two's complement form", n);
    r->pos += n;
    return 0;
}

/* ------------------------------------------------------------------ encoding */

int cw_full(cw_writer *w, cw_ctx *c, size_t n) {
    return cw_fail_kind(c, "runtime", "the output buffer of %zu bytes is too small for %zu more at %s", w->cap, n,
                        cw_path(c));
}

int cw_wr_raw(cw_writer *w, cw_ctx *c, const void *data, size_t n) {
    if (w->cap - w->len < n) return cw_full(w, c, n);
    if (n) memcpy(w->buf + w->len, data, n);
    w->len += n;
    return 0;
}

int cw_wr_zeros(cw_writer *w, cw_ctx *c, size_t n) {
    if (w->cap - w->len < n) return cw_full(w, c, n);
    memset(w->buf + w->len, 0, n);
    w->len += n;
    return 0;
}

/* char[N]: the n bytes as they are; a non-NUL byte after a NUL has no wire form (`char`). */
int cw_wr_char(cw_writer *w, cw_ctx *c, const char *v, size_t n) {
    const char *nul = memchr(v, 0, n);
    size_t i;
    if (nul)
        for (i = (size_t)(nul - v) + 1; i < n; i++)
            if (v[i]) return cw_fail(c, "char", "NUL inside the text (at byte %zu)", (size_t)(nul - v));
    return cw_wr_raw(w, c, v, n);
}

/* The checks of a bytes or string value before its length goes out: longer than max is
 * `length`, a string that is not UTF-8 is `utf8`; then the bytes. */
int cw_check_bytes(cw_ctx *c, const uint8_t *data, uint32_t len, uint32_t max, int utf8) {
    size_t bad;
    if (len > max) return cw_fail(c, "length", "%" PRIu32 " bytes, more than max %" PRIu32, len, max);
    if (utf8 && (bad = cw_utf8_invalid_at(data, len)) != len)
        return cw_fail(c, "utf8", "invalid UTF-8 at byte %zu", bad);
    return 0;
}

/* The n bytes of a bigint's form (little-endian in data), in the field's byte order. */
int cw_wr_bigint(cw_writer *w, cw_ctx *c, const uint8_t *data, uint32_t n, int big) {
    uint32_t i;
    if (w->cap - w->len < n) return cw_full(w, c, n);
    if (!big) memcpy(w->buf + w->len, data, n);
    else for (i = 0; i < n; i++) w->buf[w->len + i] = data[n - 1 - i];
    w->len += n;
    return 0;
}

/* ------------------------------------------------------------------ text: tokens in */

/* Takes the next token into t->tok/t->tok_len, or fails `request` when there is none. */
int cw_take(cw_tokens *t, cw_ctx *c) {
    const char *end;
    if (t->pos >= t->len) return cw_fail_kind(c, "request", "missing a token for %s", cw_path(c));
    t->tok = t->s + t->pos;
    end = memchr(t->tok, ' ', t->len - t->pos);
    t->tok_len = end ? (size_t)(end - t->tok) : t->len - t->pos;
    t->pos += t->tok_len + (end != NULL);
    if (t->tok_len == 0) return cw_fail_kind(c, "request", "an empty token for %s (two spaces?)", cw_path(c));
    return 0;
}

/* The token taken last is bad: a `request` error. Returns -1. */
static int bad_token(cw_tokens *t, cw_ctx *c) {
    return cw_fail_kind(c, "request", "bad token '%.*s%s' for %s", (int)(t->tok_len > SHOW ? SHOW : t->tok_len),
                        t->tok, t->tok_len > SHOW ? "..." : "", cw_path(c));
}

/* Reads the last token as decimal -?(0|[1-9][0-9]*): sign and magnitude, with *over set when
 * it does not fit 64 bits (then *mag is meaningless). Returns -1 if it is not decimal. */
static int decimal(const cw_tokens *t, int signed_ok, int *neg, uint64_t *mag, int *over) {
    size_t i = 0;
    *neg = 0;
    *mag = 0;
    *over = 0;
    if (signed_ok && t->tok_len > 0 && t->tok[0] == '-') i = 1;
    *neg = i == 1;
    if (i == t->tok_len || (t->tok[i] == '0' && t->tok_len > i + 1)) return -1;
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
    if (!over && (!neg || mag == 0) && mag <= max) {
        *v = mag;
        return 0;
    }
    t->out_of_range++;
    if (enum_name) cw_defer_enum(t, c, enum_name);
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
    if (!over && neg && mag <= (uint64_t)(-(min + 1)) + 1) {
        *v = mag == 0 ? 0 : -(int64_t)(mag - 1) - 1;
        return 0;
    }
    if (!over && !neg && mag <= (uint64_t)max) {
        *v = (int64_t)mag;
        return 0;
    }
    t->out_of_range++;
    if (enum_name) cw_defer_enum(t, c, enum_name);
    else cw_defer(c, "range", "%.*s is outside %" PRId64 "..%" PRId64, (int)(t->tok_len > SHOW ? SHOW : t->tok_len),
                  t->tok, min, max);
    return 0;
}

/* The enum token taken last is not a value of the enum: a deferred `enum` error. */
void cw_defer_enum(cw_tokens *t, cw_ctx *c, const char *enum_name) {
    cw_defer(c, "enum", "%.*s is not a value of enum %s", (int)(t->tok_len > SHOW ? SHOW : t->tok_len), t->tok,
             enum_name);
}

/* A float token: 0x and exactly 2*size hex digits, the bit pattern. */
int cw_take_bits(cw_tokens *t, cw_ctx *c, size_t size, uint64_t *bits) {
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
            cw_defer(c, "char", "NUL at byte %zu of a char[%zu] text", i, n);
            return 0;
        }
    if (len > n) {
        cw_defer(c, "length", "%zu bytes do not fit char[%zu]", len, n);
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
        cw_defer(c, "length", "%zu bytes, more than max %" PRIu32, n, max);
        return 0;
    }
    cw_hex_decode(t->tok + 1, 2 * n, data);
    *len = (uint32_t)n;
    if (utf8 && (bad = cw_utf8_invalid_at(data, n)) != n) cw_defer(c, "utf8", "invalid UTF-8 at byte %zu", bad);
    return 0;
}

/* A bigint token, -?0x[0-9a-fA-F]+, into its minimal two's-complement form data[0..*len),
 * little-endian. A form longer than max bytes is a deferred `length` error (and *len is 0). */
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
        cw_defer(c, "length", "needs %zu bytes, more than max %" PRIu32, need, max);
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

/* The count token of a vec<T>: 0|[1-9][0-9]*, saturated at UINT64_MAX; above max a deferred
 * `length` error. */
int cw_take_count(cw_tokens *t, cw_ctx *c, uint32_t max, uint64_t *count) {
    int neg, over;
    if (cw_take(t, c)) return -1;
    if (decimal(t, 0, &neg, count, &over)) return bad_token(t, c);
    if (over) *count = UINT64_MAX;
    if (*count > max)
        cw_defer(c, "length", "%.*s elements, more than max %" PRIu32, (int)(t->tok_len > SHOW ? SHOW : t->tok_len),
                 t->tok, max);
    return 0;
}

/* ------------------------------------------------------------------ text: tokens out */

/* Reserves a token of n chars in o (after a space unless it is the first) and keeps o
 * NUL-terminated: where the token goes, or NULL after a `runtime` error if o is too small. */
static char *token(cw_out *o, cw_ctx *c, size_t n) {
    size_t sep = o->len > 0;
    char *p;
    if (o->cap - o->len < sep + n + 1) {
        cw_fail_kind(c, "runtime", "the text buffer of %zu bytes is too small at %s", o->cap, cw_path(c));
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

/* A float as 0x and its bit pattern, 8 (size 4) or 16 (size 8) hex digits. */
int cw_fmt_bits(cw_out *o, cw_ctx *c, uint64_t bits, size_t size) {
    char buf[24];
    snprintf(buf, sizeof buf, "0x%0*" PRIx64, (int)(2 * size), bits);
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
    if (len > max)
        return cw_fail_kind(c, "runtime", "%s: length %" PRIu32 " is above its max %" PRIu32, cw_path(c), len, max);
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
    if (len > max)
        return cw_fail_kind(c, "runtime", "%s: length %" PRIu32 " is above its max %" PRIu32, cw_path(c), len, max);
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
    if (count > max)
        return cw_fail_kind(c, "runtime", "%s: count %" PRIu32 " is above its max %" PRIu32, cw_path(c), count, max);
    return cw_fmt_u(o, c, count);
}

/* ------------------------------------------------------------------ whole messages */

/* Encodes *value (a cw_<m->name>) into out[0..cap) at the version spoken; *out_len gets the
 * payload length, trailing zero bytes left off when the schema trims them (at least one stays). */
int cw_encode_message(const cw_message_info *m, const void *value, uint8_t *out, size_t cap,
                      size_t *out_len, cw_ctx *c) {
    static uint8_t none[1];
    cw_writer w;
    w.buf = out ? out : none;
    w.cap = out ? cap : 0;
    w.len = 0;
    cw_begin(c, "encode", m->name);
    if (m->encode(&w, c, value)) return -1;
    if (m->sizes != NULL)
        while (w.len > 1 && w.buf[w.len - 1] == 0) w.len--;
    *out_len = w.len;
    return 0;
}

/* Decodes the payload buf[0..len) into *value at the version spoken (WIRE.md "Versions"):
 * every byte must be used, but for the bytes of fields newer than that version. A trimmed
 * payload is filled with zeros up to the message's size first. *value is partly written on
 * failure. */
int cw_decode_message(const cw_message_info *m, const uint8_t *buf, size_t len, void *value, cw_ctx *c) {
    static const uint8_t none[1] = {0};
    uint8_t *filled = NULL;
    cw_reader r;
    int rc;
    r.buf = buf ? buf : none;   /* no arithmetic on a null pointer, even + 0 */
    r.len = len;
    r.pos = 0;
    cw_begin(c, "decode", m->name);
    if (m->sizes != NULL) {
        size_t full = m->sizes[(cw_version < m->newest ? cw_version : m->newest) - 1];
        if (len < full) {
            if ((filled = calloc(full, 1)) == NULL) return cw_fail_kind(c, "runtime", "out of memory");
            if (len) memcpy(filled, buf, len);
            r.buf = filled;
            r.len = full;
        }
    }
    rc = m->decode(&r, c, value);
    if (rc == 0 && r.pos != r.len && m->newest <= cw_version)
        rc = cw_fail(c, "trailing", "%zu bytes left after the message", r.len - r.pos);
    free(filled);
    return rc;
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
    t.out_of_range = 0;
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

/* ------------------------------------------------------------------ checksums */

uint32_t cw_crc_reflected(const uint32_t *table, uint32_t crc, const uint8_t *data, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) crc = (crc >> 8) ^ table[(crc ^ data[i]) & 0xFF];
    return crc;
}

uint32_t cw_crc_plain(const uint32_t *table, unsigned width, uint32_t crc, const uint8_t *data, size_t n) {
    uint32_t mask = width == 32 ? UINT32_MAX : ((uint32_t)1 << width) - 1;
    size_t i;
    for (i = 0; i < n; i++) crc = ((crc << 8) & mask) ^ table[((crc >> (width - 8)) ^ data[i]) & 0xFF];
    return crc;
}
