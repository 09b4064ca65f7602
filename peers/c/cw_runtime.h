/* cw_runtime.h -- the schema-independent half of the crosswire C codec.
 *
 * The generated code (gen/cw_schema.h, gen/cw_schema.c) describes each message; this file
 * gives it the pieces every message shares:
 *
 *   - cw_ctx: the field path being worked on and the error of a failed call;
 *   - cw_reader / cw_writer: bytes in and out, every multi-byte value little-endian by
 *     shifts, so the host's byte order never matters;
 *   - cw_tokens / cw_out: the contract's text form of values (PEER_CONTRACT.md);
 *   - cw_message_info: one row of the generated message table, and the entry points that
 *     run a whole message (cw_encode_message() and friends).
 *
 * Conventions: a function that can fail returns 0 on success and -1 on failure, after
 * writing the error into the cw_ctx it was given. Nothing here allocates; every buffer
 * belongs to the caller. Floats move as bit patterns (memcpy), never through arithmetic.
 */
#ifndef CW_RUNTIME_H
#define CW_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CW_PATH_MAX 256     /* bytes of a field path kept; a longer path is cut short */
#define CW_ERR_MAX 512      /* bytes of an error text, NUL included */

/* ------------------------------------------------------------------ errors and paths */

/* The state of one codec call. Reset it with cw_begin() before each call. */
typedef struct cw_ctx {
    const char *op;             /* "encode" or "decode": the kind of codec errors */
    size_t path_len;            /* bytes used in path */
    char path[CW_PATH_MAX];     /* e.g. "Track.poses[1].pos", always NUL-terminated */
    int state;                  /* CW_OK, CW_DEFERRED or CW_FAILED */
    char err[CW_ERR_MAX];       /* the error, as the contract's text after "ERR " */
} cw_ctx;

#define CW_OK 0
#define CW_DEFERRED 1   /* err holds an encode error found while parsing text; parsing goes on */
#define CW_FAILED 2     /* err holds the error of the call */

void cw_begin(cw_ctx *c, const char *op, const char *path);
size_t cw_push(cw_ctx *c, const char *name);
size_t cw_push_index(cw_ctx *c, uint64_t index);
void cw_pop(cw_ctx *c, size_t mark);
int cw_fail(cw_ctx *c, const char *code, const char *fmt, ...);
int cw_fail_kind(cw_ctx *c, const char *kind, const char *fmt, ...);
void cw_defer(cw_ctx *c, const char *code, const char *fmt, ...);
int cw_bad_enum_u(cw_ctx *c, uint64_t value, const char *enum_name);
int cw_bad_enum_s(cw_ctx *c, int64_t value, const char *enum_name);

/* ------------------------------------------------------------------ bytes */

/* Little-endian stores and loads by shifts, and the two's-complement reading of an
 * unsigned value, defined for every input (no implementation-defined casts). */
void cw_put16(uint8_t *p, uint16_t v);
void cw_put32(uint8_t *p, uint32_t v);
void cw_put64(uint8_t *p, uint64_t v);
uint16_t cw_get16(const uint8_t *p);
uint32_t cw_get32(const uint8_t *p);
uint64_t cw_get64(const uint8_t *p);
int8_t cw_s8(uint8_t u);
int16_t cw_s16(uint16_t u);
int32_t cw_s32(uint32_t u);
int64_t cw_s64(uint64_t u);

size_t cw_utf8_invalid_at(const uint8_t *s, size_t n);
int cw_bigint_minimal(const uint8_t *data, uint32_t len);
int cw_hex_decode(const char *hex, size_t n, uint8_t *out);
void cw_hex_encode(const uint8_t *data, size_t n, char *out);

/* ------------------------------------------------------------------ decoding */

/* Bytes being decoded: buf[0..len), pos the next byte to read. Borrowed, not owned. */
typedef struct cw_reader {
    const uint8_t *buf;
    size_t len;
    size_t pos;
} cw_reader;

int cw_rd_u8(cw_reader *r, cw_ctx *c, uint8_t *v);
int cw_rd_u16(cw_reader *r, cw_ctx *c, uint16_t *v);
int cw_rd_u32(cw_reader *r, cw_ctx *c, uint32_t *v);
int cw_rd_u64(cw_reader *r, cw_ctx *c, uint64_t *v);
int cw_rd_i8(cw_reader *r, cw_ctx *c, int8_t *v);
int cw_rd_i16(cw_reader *r, cw_ctx *c, int16_t *v);
int cw_rd_i32(cw_reader *r, cw_ctx *c, int32_t *v);
int cw_rd_i64(cw_reader *r, cw_ctx *c, int64_t *v);
int cw_rd_f32(cw_reader *r, cw_ctx *c, float *v);
int cw_rd_f64(cw_reader *r, cw_ctx *c, double *v);
int cw_rd_bool(cw_reader *r, cw_ctx *c, bool *v);
int cw_rd_char(cw_reader *r, cw_ctx *c, char *v, size_t n);
int cw_rd_pad(cw_reader *r, cw_ctx *c, uint8_t *v, size_t n);
int cw_rd_bytes(cw_reader *r, cw_ctx *c, uint8_t *data, uint32_t *len, uint32_t max, int utf8);
int cw_rd_bigint(cw_reader *r, cw_ctx *c, uint8_t *data, uint32_t *len, uint32_t max);
int cw_rd_count(cw_reader *r, cw_ctx *c, uint32_t max, uint32_t *count);

/* ------------------------------------------------------------------ encoding */

/* Bytes being written: buf[0..cap), len bytes written so far. Borrowed, not owned. */
typedef struct cw_writer {
    uint8_t *buf;
    size_t cap;
    size_t len;
} cw_writer;

int cw_wr_u8(cw_writer *w, cw_ctx *c, uint8_t v);
int cw_wr_u16(cw_writer *w, cw_ctx *c, uint16_t v);
int cw_wr_u32(cw_writer *w, cw_ctx *c, uint32_t v);
int cw_wr_u64(cw_writer *w, cw_ctx *c, uint64_t v);
int cw_wr_i8(cw_writer *w, cw_ctx *c, int8_t v);
int cw_wr_i16(cw_writer *w, cw_ctx *c, int16_t v);
int cw_wr_i32(cw_writer *w, cw_ctx *c, int32_t v);
int cw_wr_i64(cw_writer *w, cw_ctx *c, int64_t v);
int cw_wr_f32(cw_writer *w, cw_ctx *c, const float *v);
int cw_wr_f64(cw_writer *w, cw_ctx *c, const double *v);
int cw_wr_bool(cw_writer *w, cw_ctx *c, bool v);
int cw_wr_char(cw_writer *w, cw_ctx *c, const char *v, size_t n);
int cw_wr_pad(cw_writer *w, cw_ctx *c, size_t n);
int cw_wr_bytes(cw_writer *w, cw_ctx *c, const uint8_t *data, uint32_t len, uint32_t max, int utf8);
int cw_wr_bigint(cw_writer *w, cw_ctx *c, const uint8_t *data, uint32_t len, uint32_t max);
int cw_wr_count(cw_writer *w, cw_ctx *c, uint32_t count, uint32_t max);

/* ------------------------------------------------------------------ text: tokens in */

/* The value tokens of a text, separated by single spaces: s[0..len), borrowed. tok/tok_len
 * is the token taken last (for error messages). */
typedef struct cw_tokens {
    const char *s;
    size_t len;
    size_t pos;
    const char *tok;
    size_t tok_len;
} cw_tokens;

int cw_take(cw_tokens *t, cw_ctx *c);
int cw_take_uint(cw_tokens *t, cw_ctx *c, uint64_t max, const char *enum_name, uint64_t *v);
int cw_take_int(cw_tokens *t, cw_ctx *c, int64_t min, int64_t max, const char *enum_name, int64_t *v);
void cw_defer_enum(cw_tokens *t, cw_ctx *c, const char *enum_name);
int cw_take_f32(cw_tokens *t, cw_ctx *c, float *v);
int cw_take_f64(cw_tokens *t, cw_ctx *c, double *v);
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
int cw_fmt_f32(cw_out *o, cw_ctx *c, const float *v);
int cw_fmt_f64(cw_out *o, cw_ctx *c, const double *v);
int cw_fmt_bool(cw_out *o, cw_ctx *c, bool v);
int cw_fmt_char(cw_out *o, cw_ctx *c, const char *v, size_t n);
int cw_fmt_bytes(cw_out *o, cw_ctx *c, const uint8_t *data, uint32_t len, uint32_t max);
int cw_fmt_bigint(cw_out *o, cw_ctx *c, const uint8_t *data, uint32_t len, uint32_t max);
int cw_fmt_count(cw_out *o, cw_ctx *c, uint32_t count, uint32_t max);

/* ------------------------------------------------------------------ whole messages */

/* One message of the schema, a row of the generated table cw_messages[]. The functions
 * work on a value of the message's C struct (size bytes) and are called by the entry
 * points below, which set up the path and the checks that only apply at the top. */
typedef struct cw_message_info {
    const char *name;           /* "Integers" */
    uint16_t id;                /* the frame's msg_type */
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

#endif /* CW_RUNTIME_H */
