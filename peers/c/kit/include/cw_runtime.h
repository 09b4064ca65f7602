/* cw_runtime.h -- the schema-independent half of the crosswire C codec (part of the C kit).
 *
 * The generated code (gen/cw_schema.h, gen/cw_schema.c) describes each message and the frame;
 * this file gives it the pieces every schema shares:
 *
 *   - cw_ctx: the field path being worked on and the error of a failed call;
 *   - cw_reader / cw_writer: bytes in and out; every multi-byte value goes by shifts in the
 *     byte order the schema gives it, so the host's byte order never matters;
 *   - cw_tokens / cw_out: the contract's text form of values (PEER_CONTRACT.md);
 *   - cw_message_info: one row of the generated message table, and the entry points that run a
 *     whole message (cw_encode_message() and friends), with versions and trimmed zeros;
 *   - the table-driven CRC loops the generated frame code runs with its own table.
 *
 * Conventions: a function that can fail returns 0 on success and -1 on failure, after writing
 * the error into the cw_ctx it was given. Nothing here allocates but cw_decode_message() for a
 * trimmed payload; every buffer belongs to the caller. Floats move as bit patterns (memcpy),
 * never through arithmetic. The hot readers and writers are inline so that a field read with
 * constant width and order compiles to a load.
 */
#ifndef CW_RUNTIME_H
#define CW_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define CW_PATH_MAX 256     /* bytes of a field path kept; a longer path is cut short */
#define CW_ERR_MAX 512      /* bytes of an error text, NUL included */
#define CW_DEPTH_MAX 96     /* path segments kept (the schema nests at most 32 deep) */

/* ------------------------------------------------------------------ errors and paths */

/* The state of one codec call. Reset it with cw_begin() before each call. The path is a stack
 * of segments (".field" names and [index]es) that costs two stores a field; the text is only
 * written when an error needs it (cw_path). */
typedef struct cw_ctx {
    const char *op;                 /* "encode" or "decode": the kind of codec errors */
    size_t depth;                   /* segments in use (more than CW_DEPTH_MAX are not kept) */
    const char *seg[CW_DEPTH_MAX];  /* the root name, ".field" names, or NULL for an index */
    uint64_t index[CW_DEPTH_MAX];   /* the index of a NULL segment */
    int state;                      /* CW_OK, CW_DEFERRED or CW_FAILED */
    char path[CW_PATH_MAX];         /* the path as text, written by cw_path() */
    char err[CW_ERR_MAX];           /* the error, as the contract's text after "ERR " */
} cw_ctx;

#define CW_OK 0
#define CW_DEFERRED 1   /* err holds an encode error found while parsing text; parsing goes on */
#define CW_FAILED 2     /* err holds the error of the call */
#define CW_UNIMPLEMENTED 3  /* an adapter does not implement the message (cw_kit.h) */
#define CW_ADAPTER 4    /* err holds an adapter's own text, without kind or message (cw_kit.h) */

void cw_begin(cw_ctx *c, const char *op, const char *root);

/* The path below depth d is the caller's; these set segment d (".name" or [i]) and make it the
 * last. A struct walk keeps its depth d and sets each field at d; no pop is needed. */
static inline void cw_field(cw_ctx *c, size_t d, const char *name) {
    if (d < CW_DEPTH_MAX) c->seg[d] = name;
    c->depth = d + 1;
}

static inline void cw_index(cw_ctx *c, size_t d, uint64_t i) {
    if (d < CW_DEPTH_MAX) {
        c->seg[d] = NULL;
        c->index[d] = i;
    }
    c->depth = d + 1;
}

const char *cw_path(cw_ctx *c);     /* the path as text ("Track.poses[1].pos"), in c->path */
int cw_fail(cw_ctx *c, const char *code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
int cw_fail_kind(cw_ctx *c, const char *kind, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void cw_defer(cw_ctx *c, const char *code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Errors the generated code raises, each returning -1 (cw_fail with a worded detail). */
int cw_bad_bool(cw_ctx *c, uint64_t raw);
int cw_bad_enum_u(cw_ctx *c, uint64_t value, const char *enum_name);
int cw_bad_enum_s(cw_ctx *c, int64_t value, const char *enum_name);
int cw_bad_flags(cw_ctx *c, uint64_t value, uint64_t mask, const char *flags_name);
int cw_bad_const(cw_ctx *c, uint64_t raw, uint64_t want);
int cw_bad_range_u(cw_ctx *c, uint64_t value, uint64_t max);
int cw_bad_range_s(cw_ctx *c, int64_t value, int64_t min, int64_t max);
int cw_bad_union(cw_ctx *c, const char *on, uint64_t raw, int is_signed, const char *union_name);
/* Count fields: *n (bytes) must be whole elements of `width` bytes (then *n counts elements);
 * two count fields must agree; a count must be at most max. `length` errors. */
int cw_whole(cw_ctx *c, const char *field, uint64_t *n, uint32_t width);
int cw_agree(cw_ctx *c, const char *field, uint64_t n, const char *first, uint64_t want);
int cw_at_most(cw_ctx *c, uint64_t n, uint64_t max, const char *what);

/* ------------------------------------------------------------------ bytes */

/* An unsigned integer of n (1..8) bytes at p, in byte order `big` (1) or little (0). */
static inline uint64_t cw_load(const uint8_t *p, size_t n, int big) {
    uint64_t v = 0;
    size_t i;
    if (big)
        for (i = 0; i < n; i++) v = v << 8 | p[i];
    else
        for (i = n; i-- > 0;) v = v << 8 | p[i];
    return v;
}

static inline void cw_store(uint8_t *p, size_t n, int big, uint64_t v) {
    size_t i;
    for (i = 0; i < n; i++) p[big ? n - 1 - i : i] = (uint8_t)(v >> (8 * i));
}

/* The two's-complement value of the n-byte pattern u, without implementation-defined casts. */
static inline int64_t cw_signed(uint64_t u, size_t n) {
    uint64_t sign = (uint64_t)1 << (8 * n - 1);
    return u < sign ? (int64_t)u : -(int64_t)((sign << 1) - 1 - u) - 1;
}

/* Float bit patterns in and out of a float's bytes. */
static inline void cw_set_f32(float *f, uint64_t bits) {
    uint32_t b = (uint32_t)bits;
    memcpy(f, &b, sizeof b);
}
static inline void cw_set_f64(double *f, uint64_t bits) { memcpy(f, &bits, sizeof bits); }
static inline uint64_t cw_f32_bits(const float *f) {
    uint32_t b;
    memcpy(&b, f, sizeof b);
    return b;
}
static inline uint64_t cw_f64_bits(const double *f) {
    uint64_t b;
    memcpy(&b, f, sizeof b);
    return b;
}

size_t cw_utf8_invalid_at(const uint8_t *s, size_t n);
int cw_bigint_minimal(const uint8_t *data, uint32_t len);
uint32_t cw_bigint_len(const uint8_t *data, uint32_t len);
int cw_hex_decode(const char *hex, size_t n, uint8_t *out);
void cw_hex_encode(const uint8_t *data, size_t n, char *out);

/* ------------------------------------------------------------------ decoding */

/* Bytes being decoded: buf[0..len), pos the next byte to read. Borrowed, not owned. */
typedef struct cw_reader {
    const uint8_t *buf;
    size_t len;
    size_t pos;
} cw_reader;

int cw_cut(cw_reader *r, cw_ctx *c, size_t n);     /* `truncated`: n bytes needed; -1 */

/* An n-byte unsigned integer (any scalar's bits) into *v. */
static inline int cw_rd(cw_reader *r, cw_ctx *c, size_t n, int big, uint64_t *v) {
    if (r->len - r->pos < n) return cw_cut(r, c, n);
    *v = cw_load(r->buf + r->pos, n, big);
    r->pos += n;
    return 0;
}

int cw_rd_char(cw_reader *r, cw_ctx *c, char *v, size_t n);
int cw_rd_const_char(cw_reader *r, cw_ctx *c, char *v, size_t n, const char *want, size_t want_len);
int cw_rd_pad(cw_reader *r, cw_ctx *c, uint8_t *v, size_t n);
int cw_rd_length(cw_reader *r, cw_ctx *c, size_t size, int big, uint32_t width, uint32_t max, uint32_t *n);
int cw_rd_bytes(cw_reader *r, cw_ctx *c, uint8_t *data, uint32_t n, int utf8);
int cw_rd_bigint(cw_reader *r, cw_ctx *c, uint8_t *data, uint32_t n, int big);

/* ------------------------------------------------------------------ encoding */

/* Bytes being written: buf[0..cap), len bytes written so far. Borrowed, not owned. */
typedef struct cw_writer {
    uint8_t *buf;
    size_t cap;
    size_t len;
} cw_writer;

int cw_full(cw_writer *w, cw_ctx *c, size_t n);    /* `runtime`: the buffer is too small; -1 */

static inline int cw_wr(cw_writer *w, cw_ctx *c, size_t n, int big, uint64_t v) {
    if (w->cap - w->len < n) return cw_full(w, c, n);
    cw_store(w->buf + w->len, n, big, v);
    w->len += n;
    return 0;
}

int cw_wr_raw(cw_writer *w, cw_ctx *c, const void *data, size_t n);
int cw_wr_zeros(cw_writer *w, cw_ctx *c, size_t n);
int cw_wr_char(cw_writer *w, cw_ctx *c, const char *v, size_t n);
int cw_check_bytes(cw_ctx *c, const uint8_t *data, uint32_t len, uint32_t max, int utf8);
int cw_wr_bigint(cw_writer *w, cw_ctx *c, const uint8_t *data, uint32_t len, int big);

/* ------------------------------------------------------------------ text: tokens in */

/* The value tokens of a text, separated by single spaces: s[0..len), borrowed. tok/tok_len
 * is the token taken last (for error messages); out_of_range counts integer tokens outside
 * their type (a union whose discriminator is one picks no case, as the reference does). */
typedef struct cw_tokens {
    const char *s;
    size_t len;
    size_t pos;
    const char *tok;
    size_t tok_len;
    size_t out_of_range;
} cw_tokens;

int cw_take(cw_tokens *t, cw_ctx *c);
int cw_take_uint(cw_tokens *t, cw_ctx *c, uint64_t max, const char *enum_name, uint64_t *v);
int cw_take_int(cw_tokens *t, cw_ctx *c, int64_t min, int64_t max, const char *enum_name, int64_t *v);
void cw_defer_enum(cw_tokens *t, cw_ctx *c, const char *enum_name);
int cw_take_bits(cw_tokens *t, cw_ctx *c, size_t size, uint64_t *bits);
int cw_take_bool(cw_tokens *t, cw_ctx *c, bool *v);
int cw_take_char(cw_tokens *t, cw_ctx *c, char *v, size_t n);
int cw_take_bytes(cw_tokens *t, cw_ctx *c, uint8_t *data, uint32_t *len, uint32_t max, int utf8);
int cw_take_bigint(cw_tokens *t, cw_ctx *c, uint8_t *data, uint32_t *len, uint32_t max);
int cw_take_count(cw_tokens *t, cw_ctx *c, uint32_t max, uint64_t *count);

/* ------------------------------------------------------------------ text: tokens out */

/* Text being written: buf[0..cap), len chars so far, kept NUL-terminated. Borrowed. */
typedef struct cw_out {
    char *buf;
    size_t cap;
    size_t len;
} cw_out;

int cw_fmt_u(cw_out *o, cw_ctx *c, uint64_t v);
int cw_fmt_s(cw_out *o, cw_ctx *c, int64_t v);
int cw_fmt_bits(cw_out *o, cw_ctx *c, uint64_t bits, size_t size);
int cw_fmt_bool(cw_out *o, cw_ctx *c, bool v);
int cw_fmt_char(cw_out *o, cw_ctx *c, const char *v, size_t n);
int cw_fmt_bytes(cw_out *o, cw_ctx *c, const uint8_t *data, uint32_t len, uint32_t max);
int cw_fmt_bigint(cw_out *o, cw_ctx *c, const uint8_t *data, uint32_t len, uint32_t max);
int cw_fmt_count(cw_out *o, cw_ctx *c, uint32_t count, uint32_t max);

/* ------------------------------------------------------------------ whole messages */

/* The protocol version this process speaks (WIRE.md "Versions"; the contract's VERSION n).
 * UINT32_MAX, the default, is the newest of every message. Generated code reads it. */
extern uint32_t cw_version;

#define CW_EITHER 0     /* the direction of a message: either way, a request, a response */
#define CW_REQUEST 1
#define CW_RESPONSE 2

/* One message of the schema, a row of the generated table cw_messages[]. The functions work
 * on a value of the message's C struct (size bytes) and are called by the entry points below,
 * which set up the path and the checks that only apply at the top. */
typedef struct cw_message_info {
    const char *name;           /* the message's name in the schema */
    uint32_t id;                /* the frame's id of it */
    uint8_t direction;          /* CW_EITHER, CW_REQUEST or CW_RESPONSE */
    uint8_t seed;               /* the checksum's byte of this message (when the frame has one) */
    uint16_t newest;            /* the newest version among its fields (1: no extensions) */
    const uint32_t *sizes;      /* trailing zeros trimmed: its size at versions 1..newest; else NULL */
    size_t size;                /* sizeof the C struct cw_<name> */
    int (*encode)(cw_writer *w, cw_ctx *c, const void *value);
    int (*decode)(cw_reader *r, cw_ctx *c, void *value);
    int (*parse)(cw_tokens *t, cw_ctx *c, void *value);
    int (*format)(cw_out *o, cw_ctx *c, const void *value);
} cw_message_info;

int cw_encode_message(const cw_message_info *m, const void *value, uint8_t *out, size_t cap,
                      size_t *out_len, cw_ctx *c);
int cw_decode_message(const cw_message_info *m, const uint8_t *buf, size_t len, void *value, cw_ctx *c);
int cw_parse_message(const cw_message_info *m, const char *text, size_t len, void *value, cw_ctx *c);
int cw_format_message(const cw_message_info *m, const void *value, char *out, size_t cap,
                      size_t *out_len, cw_ctx *c);

/* ------------------------------------------------------------------ frames */

#define CW_HEAD_PLAIN_MAX 16u   /* plain header fields a frame may declare (the generated code asserts it) */

/* A header field that carries a value chosen by the sender (SEND's <h>, RECV's report). */
typedef struct cw_hfield {
    const char *name;
    uint8_t size;               /* bytes */
    uint8_t is_signed;
} cw_hfield;

/* What a checked header says (WIRE.md "Receiving"). */
typedef struct cw_head {
    const cw_message_info *msg;
    size_t payload_len;
    size_t size;                        /* the whole frame: header, payload, checksum */
    uint64_t seq;
    uint64_t plain[CW_HEAD_PLAIN_MAX];  /* the plain header values as read (two's complement bits) */
} cw_head;

/* ------------------------------------------------------------------ checksums */

/* One step of a table-driven CRC over data[0..n) (WIRE.md "Checksums"): a reflected CRC shifts
 * right through its table, a plain one of `width` bits shifts left. The generated frame code
 * holds each algorithm's 256-entry table, init and xorout. */
uint32_t cw_crc_reflected(const uint32_t *table, uint32_t crc, const uint8_t *data, size_t n);
uint32_t cw_crc_plain(const uint32_t *table, unsigned width, uint32_t crc, const uint8_t *data, size_t n);

#endif /* CW_RUNTIME_H */
