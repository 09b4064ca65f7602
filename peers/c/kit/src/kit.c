/* kit.c -- the contract loop of the C kit (cw_peer_main, cw_kit.h).
 *
 * It answers the harness on the control channel of protocols/PEER_CONTRACT.md (contract 3):
 * one request line on stdin, one reply line on stdout. It carries messages in the frame the
 * schema declares (protocols/WIRE.md), with the codec and frame functions the cw_protocol
 * names (the generated code's, or an adapter's), over one of three transports behind the
 * interface of transport.h: Unix stream sockets (uds.c), TCP (tcp.c) or shared-memory rings
 * (shm.c). Each is a byte stream; frames are found in it here, from the declaration alone:
 * header_size bytes, then the size frame_head reads from them. Nothing here knows a protocol:
 * a schema without a frame gets `ERR unsupported` for SEND, RECV and ECHO, one whose frame has
 * no seq for the streams and the bench, whose payloads STREAM describes as bytes (stream.h).
 * C11 and POSIX only. Every buffer is allocated once, at start, with a size bounded by the
 * schema; every blocking wait honours the request's timeout, and ends the peer when the
 * harness is gone (PEER_CONTRACT.md, "When the harness goes": platform.h's cw_harness_check
 * between the transports' sleeps runs close_all and exits).
 */
#include "bench.h"
#include "cw_kit.h"
#include "platform.h"
#include "shm.h"
#include "stream.h"
#include "tcp.h"
#include "transport.h"
#include "uds.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONTRACT "3"
#define MAX_ADDRESS CW_UDS_MAX_PATH  /* bytes of an address (a shm name and a tcp address are shorter) */
/* request words kept apart (SEND's header values, STREAM's patches); the rest is the value text */
#define MAX_WORDS (8 + 5 * CW_LAYOUT_MAX_PATCHES + CW_HEAD_PLAIN_MAX)
/* printf arguments for "%.*s" that quote word i of a request, at most 40 characters */
#define WORD(rq, i) (int)((rq)->word_len[i] < 40 ? (rq)->word_len[i] : 40), (rq)->word[i]
#define NO_FRAME "the schema declares no frame"
#define ADAPTER_TEXT_MAX 200    /* characters of an adapter's error text kept */

static const cw_protocol *K;    /* the protocol being run (cw_peer_main) */

/* A request line split at single spaces: the first words apart, and where the rest starts. */
typedef struct request {
    char *line;                 /* the line without its newline; DECODE decodes hex in place */
    size_t len;
    size_t count;               /* number of words, all of them */
    char *word[MAX_WORDS];
    size_t word_len[MAX_WORDS];
} request;

/* The peer's state: at most one endpoint and one connection. */
static struct {
    cw_listener *listener;      /* the endpoint after LISTEN, or NULL */
    cw_conn *conn;              /* the connection after CONNECT or ACCEPT, or NULL */
    uint8_t *in;                /* bytes read from conn: in[in_pos..in_len) of frame_max not used yet */
    size_t in_pos, in_len;
    uint8_t *frame;             /* a frame being written, frame_max */
    uint8_t *scratch;           /* a framing adapter's frame for ENCODE and DECODE, frame_max */
    uint8_t *stream_template;   /* the stream message's template after STREAM, max_payload */
    uint8_t *stream_work;       /* scratch of the same size for DRAIN's comparisons */
    const cw_message_info *stream_msg;  /* the stream message after STREAM, or NULL */
    cw_layout stream;           /* its layout (template: stream_template) */
    void *value;                /* one message value, max_value_size */
    char *reply;                /* the reply line being built, reply_max */
    size_t reply_len;
    uint64_t waits;             /* ring sleeps of the connections closed already (BLAST/DRAIN) */
    uint64_t missed;            /* of those, the lost wake-ups (SHM.md) */
    const uint8_t *cut;         /* after a refused header or a frame cut short: the bytes read of */
    size_t cut_len;             /* it (in P.in, until the next read), for DRAIN's bad= */
    int quitting;
    size_t frame_max;           /* the largest frame: header, max_payload, trailer */
    size_t line_limit;          /* bytes of a request line: 8 x max_payload + 65536 */
    size_t reply_max;           /* bytes of a reply line */
} P;

/* ------------------------------------------------------------------ replies */

/* Sets the reply to printf-style text. Returns 0 (for OK) so handlers can `return ok(...)`. */
static int ok(const char *fmt, ...) {
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(P.reply, P.reply_max, fmt, ap);
    va_end(ap);
    P.reply_len = n < 0 ? 0 : (size_t)n >= P.reply_max ? P.reply_max - 1 : (size_t)n;
    return 0;
}

/* Sets the reply to "ERR <kind> <detail>". Returns -1. */
static int err(const char *kind, const char *fmt, ...) {
    va_list ap;
    int n = snprintf(P.reply, P.reply_max, "ERR %s ", kind);
    va_start(ap, fmt);
    vsnprintf(P.reply + n, P.reply_max - (size_t)n, fmt, ap);
    va_end(ap);
    P.reply_len = strlen(P.reply);
    return -1;
}

/* Sets the reply to the codec error held by c. Returns -1. */
static int err_ctx(const cw_ctx *c) {
    ok("ERR %s", c->err);
    return -1;
}

/* "usage: ..." unless the request has exactly `args` words after the command. */
static int usage(const request *rq, size_t args, const char *text) {
    return rq->count == args + 1 ? 0 : err("request", "usage: %s", text);
}

/* ------------------------------------------------------------------ small parsers */

/* The message named by word i, or NULL after an `ERR request` reply. */
static const cw_message_info *message(const request *rq, size_t i) {
    size_t k;
    for (k = 0; k < K->message_count; k++) {
        const cw_message_info *m = &K->messages[k];
        if (strlen(m->name) == rq->word_len[i] && memcmp(m->name, rq->word[i], rq->word_len[i]) == 0) return m;
    }
    err("request", "unknown message '%.*s'", WORD(rq, i));
    return NULL;
}

/* Parses word i as [0-9]+ into *v; *over is set (and *v meaningless) above UINT64_MAX. */
static int digits(const request *rq, size_t i, uint64_t *v, int *over) {
    size_t k;
    *v = 0;
    *over = 0;
    if (rq->word_len[i] == 0) return -1;
    for (k = 0; k < rq->word_len[i]; k++) {
        unsigned d = (unsigned)(rq->word[i][k] - '0');
        if (d > 9) return -1;
        if (*over || *v > (UINT64_MAX - d) / 10) *over = 1;
        else *v = *v * 10 + d;
    }
    return 0;
}

/* Word i as a timeout_ms, turned into a deadline on the monotonic clock. */
static int deadline_of(const request *rq, size_t i, uint64_t *deadline) {
    uint64_t ms;
    int over;
    if (digits(rq, i, &ms, &over)) return err("request", "bad timeout_ms '%.*s'", WORD(rq, i));
    if (over || ms > UINT64_MAX / 4000000) ms = UINT64_MAX / 4000000;     /* far enough */
    *deadline = cw_now_ns() + ms * 1000000;
    return 0;
}

/* 1 if word i is exactly `text`. */
static int word_is(const request *rq, size_t i, const char *text) {
    return i < rq->count && rq->word_len[i] == strlen(text) && memcmp(rq->word[i], text, rq->word_len[i]) == 0;
}

/* ------------------------------------------------------------------ the connection */

/* The transport's error as the reply. Returns -1. */
static int err_t(const cw_terr *e) { return err(e->kind, "%s", e->text); }

/* Ring sleeps so far, of closed connections and the open one. */
static uint64_t waits_now(void) { return P.waits + (P.conn ? P.conn->waits : 0); }
static uint64_t missed_now(void) { return P.missed + (P.conn ? P.conn->missed : 0); }

/* Closes the connection; bytes read and not used are dropped. */
static void close_conn(void) {
    if (P.conn != NULL) {
        P.waits += P.conn->waits;
        P.missed += P.conn->missed;
        P.conn->ops->close(P.conn);
    }
    P.conn = NULL;
    P.in_pos = P.in_len = 0;
}

/* Closes the connection and the endpoint; a listener removes its socket file or segment name. */
static void close_all(void) {
    close_conn();
    if (P.listener != NULL) P.listener->ops->close(P.listener);
    P.listener = NULL;
}

/* The transports, as word 1 of LISTEN/CONNECT names them. */
typedef enum transport { TR_UDS, TR_SHM, TR_TCP } transport;

/* Checks the transport and address of LISTEN/CONNECT and copies the address into
 * addr[MAX_ADDRESS + 1]. *t tells the transport. */
static int endpoint(const request *rq, char *addr, transport *t) {
    size_t n = rq->word_len[2];
    if (word_is(rq, 1, "uds")) *t = TR_UDS;
    else if (word_is(rq, 1, "shm")) *t = TR_SHM;
    else if (word_is(rq, 1, "tcp")) *t = TR_TCP;
    else return err("unsupported", "transport %.*s", WORD(rq, 1));
    if (n > MAX_ADDRESS) return err("runtime", "address longer than %d bytes", MAX_ADDRESS);
    if (memchr(rq->word[2], '\0', n)) return err("runtime", "address contains a NUL byte");
    if (P.listener != NULL || P.conn != NULL)
        return err("runtime", "an endpoint or connection is already open: CLOSE first");
    memcpy(addr, rq->word[2], n);
    addr[n] = '\0';
    return 0;
}

/* Reads until P.in holds `count` unused bytes or the deadline passes (what was read stays).
 * The other side closing is `ERR runtime closed` between frames, `ERR decode truncated
 * frame` inside one (and the connection is closed). */
static int fill(size_t count, uint64_t deadline) {
    while (P.in_len - P.in_pos < count) {
        size_t have = P.in_len - P.in_pos;
        cw_terr e;
        long n;
        if (P.in_pos + count > P.frame_max) {         /* make room: the unused bytes to the front */
            memmove(P.in, P.in + P.in_pos, have);
            P.in_pos = 0;
            P.in_len = have;
        }
        n = P.conn->ops->read(P.conn, P.in + P.in_len, P.frame_max - P.in_len, deadline, &e);
        if (n > 0) {
            P.in_len += (size_t)n;
        } else if (n == 0 && have == 0) {
            return err("runtime", "closed by the other side");
        } else if (n == 0) {
            P.cut = P.in + P.in_pos;        /* close_conn() leaves the bytes in P.in */
            P.cut_len = have;
            close_conn();
            return err("decode", "truncated frame closed after %zu of %zu bytes", have, count);
        } else if (strcmp(e.kind, "timeout") == 0) {
            return err("timeout", "waiting for a frame, %zu of %zu bytes read", have, count);
        } else {
            return err_t(&e);
        }
    }
    return 0;
}

/* Reads one whole frame, its header checked (a message of `direction`), without decoding it:
 * *frame points into P.in until the next read. The header's size is the declaration's, the
 * frame's from the header (frame_head; with `find`, frame_find: the length and the id only, for
 * a framing adapter, which judges the rest itself). A bad header closes the connection (the
 * stream is out of step). */
static int frame_head_in(uint64_t deadline, int direction, int find, const uint8_t **frame, cw_head *h) {
    cw_ctx c;
    if (!K->has_frame) return err("unsupported", NO_FRAME);
    if (P.conn == NULL) return err("runtime", "no connection: CONNECT or ACCEPT first");
    if (fill(K->header_size, deadline)) return -1;
    if ((find ? K->frame_find : K->frame_head)(P.in + P.in_pos, direction, h, &c)) {
        P.cut = P.in + P.in_pos;            /* close_conn() leaves the bytes in P.in */
        P.cut_len = K->header_size;
        close_conn();
        return err_ctx(&c);
    }
    if (fill(h->size, deadline)) return -1;
    *frame = P.in + P.in_pos;
    P.in_pos += h->size;
    if (P.in_pos == P.in_len) P.in_pos = P.in_len = 0;     /* the bytes stay where they are */
    return 0;
}

/* The same for bench.h's io: any message (read in the stream message's direction), the frame
 * and its size. */
static int frame_in(uint64_t deadline, const uint8_t **frame, size_t *size) {
    cw_head h;
    h.size = 0;
    if (frame_head_in(deadline, P.stream_msg ? P.stream_msg->direction : CW_EITHER, 0, frame, &h)) return -1;
    *size = h.size;
    return 0;
}

/* Writes all of a frame (bench.h's io). */
static int frame_out(const uint8_t *frame, size_t len) {
    cw_terr e;
    if (P.conn == NULL) return err("runtime", "no connection: CONNECT or ACCEPT first");
    return P.conn->ops->write(P.conn, frame, len, &e) ? err_t(&e) : 0;
}

/* ------------------------------------------------------------------ the codec: generated or adapter */

int cw_unimplemented(cw_ctx *c) {
    c->state = CW_UNIMPLEMENTED;
    c->err[0] = '\0';
    return -1;
}

int cw_adapter_fail(cw_ctx *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    c->state = CW_ADAPTER;
    return -1;
}

/* An adapter's failure (op "encode" or "decode") as the contract's error text in c->err. */
static int adapter_error(const cw_message_info *m, const char *op, cw_ctx *c) {
    char text[ADAPTER_TEXT_MAX + 1];
    size_t i;
    if (c->state == CW_FAILED) return -1;               /* a codec error: as it is */
    if (c->state == CW_UNIMPLEMENTED) {
        snprintf(c->err, sizeof c->err, "unsupported adapter: %s is not implemented", m->name);
        return -1;
    }
    if (c->state != CW_ADAPTER) snprintf(c->err, sizeof c->err, "failed without saying why");
    for (i = 0; i < ADAPTER_TEXT_MAX && c->err[i]; i++) text[i] = c->err[i];
    text[i] = '\0';
    for (i = 0; text[i]; i++)
        if (text[i] == '\n' || text[i] == '\r') text[i] = ' ';
    snprintf(c->err, sizeof c->err, "runtime adapter %s %s: %s", op, m->name, text);
    c->state = CW_FAILED;
    return -1;
}

static const cw_adapter *adapter_of(const cw_message_info *m) {
    return K->adapters ? &K->adapters[m - K->messages] : NULL;
}

/* Calls an adapter's function through its row: NULL is not implemented. */
#define ADAPTER_CALL(m, op, fn, ...) \
    ((fn) == NULL ? (cw_unimplemented(c), adapter_error(m, op, c)) : (fn)(__VA_ARGS__) ? adapter_error(m, op, c) : 0)

/* Frames a value with seq and the plain values into out (frame_max bytes): the codec's payload
 * and frame_write, or a framing adapter's frame as it is. *size is the frame's. */
static int encode_payload(const cw_message_info *m, const void *v, uint8_t *out, size_t *len, cw_ctx *c);

static int frame_value(const cw_message_info *m, const void *v, uint64_t seq, const uint64_t *plain, uint8_t *out,
                       size_t *size, cw_ctx *c) {
    const cw_adapter *a = adapter_of(m);
    size_t len = 0;
    if (a != NULL && K->frames) {
        cw_begin(c, "encode", m->name);
        return ADAPTER_CALL(m, "encode", a->encode_frame, v, seq, plain, out, P.frame_max, size, c);
    }
    if (encode_payload(m, v, out, &len, c)) return -1;
    *size = K->has_frame ? K->frame_write(out, m, len, seq, plain) : len;
    return 0;
}

/* The payload of a value at out + header_size: the generated codec's or a payload adapter's. */
static int encode_payload(const cw_message_info *m, const void *v, uint8_t *out, size_t *len, cw_ctx *c) {
    const cw_adapter *a = adapter_of(m);
    if (a != NULL) {
        cw_begin(c, "encode", m->name);
        cw_begin(c, "encode", m->name);
        if (ADAPTER_CALL(m, "encode", a->encode, v, out + K->header_size, K->max_payload, len, c)) return -1;
        if (*len > K->max_payload) {
            cw_adapter_fail(c, "%zu bytes, more than max_payload %u", *len, (unsigned)K->max_payload);
            return adapter_error(m, "encode", c);
        }
        return 0;
    }
    return cw_encode_message(m, v, out + K->header_size, K->max_payload, len, c);
}

/* The payload of a value into P.frame + header_size (ENCODE): a framing adapter's frame is
 * checked as a receiver would (constants, id, length, checksum), its payload kept. */
static int payload_of(const cw_message_info *m, const void *v, size_t *len, cw_ctx *c) {
    static const uint64_t zeros[CW_HEAD_PLAIN_MAX];
    cw_head h;
    size_t size = 0;
    if (!(K->adapters && K->frames)) {
        if (frame_value(m, v, 0, zeros, P.frame, &size, c)) return -1;
        *len = K->has_frame ? size - K->header_size - K->trailer_size : size;
        return 0;
    }
    if (frame_value(m, v, 0, zeros, P.scratch, &size, c)) return -1;
    if (size < K->header_size || K->frame_head(P.scratch, m->direction, &h, c) || K->frame_verify(P.scratch, &h, c)) {
        if (size < K->header_size) cw_adapter_fail(c, "a frame of %zu bytes, shorter than a header", size);
        else cw_adapter_fail(c, "its frame fails the declared header: %s", c->err);
        return adapter_error(m, "encode", c);
    }
    if (h.msg != m || h.size != size) {
        cw_adapter_fail(c, "its frame is %s of %zu bytes, not %s of %zu", h.msg->name, size, m->name, h.size);
        return adapter_error(m, "encode", c);
    }
    memcpy(P.frame + K->header_size, P.scratch + K->header_size, h.payload_len);
    *len = h.payload_len;
    return 0;
}

/* Decodes a payload (DECODE) into P.value: a framing adapter gets it framed with seq 0 and
 * plain values 0. */
static int decode_payload(const cw_message_info *m, const uint8_t *buf, size_t len, cw_ctx *c) {
    static const uint64_t zeros[CW_HEAD_PLAIN_MAX];
    const cw_adapter *a = adapter_of(m);
    if (a == NULL) return cw_decode_message(m, buf, len, P.value, c);
    cw_begin(c, "decode", m->name);
    memset(P.value, 0, m->size);
    if (!K->frames) return ADAPTER_CALL(m, "decode", a->decode, buf, len, P.value, c);
    if (len > K->max_payload)
        return cw_fail(c, "length", "%zu bytes, more than max_payload %u", len, (unsigned)K->max_payload);
    memcpy(P.scratch + K->header_size, buf, len);
    len = K->frame_write(P.scratch, m, len, 0, zeros);
    return ADAPTER_CALL(m, "decode", a->decode, P.scratch, len, P.value, c);
}

/* Reads one whole frame and decodes it into P.value: the checksum, then the payload. A framing
 * adapter gets every frame the kit finds (by the header's length and id alone: no constant,
 * checksum or seq checked here) and judges it itself. A bad checksum or payload, read whole,
 * leaves the connection open. */
static int framing(void) { return K->adapters != NULL && K->frames; }

static int read_frame(uint64_t deadline, int direction, cw_head *h) {
    const cw_adapter *a;
    const uint8_t *f = NULL;
    cw_ctx ctx, *c = &ctx;
    if (frame_head_in(deadline, direction, framing(), &f, h)) return -1;
    a = adapter_of(h->msg);
    if (a != NULL && K->frames) {
        cw_begin(c, "decode", h->msg->name);
        memset(P.value, 0, h->msg->size);
        return ADAPTER_CALL(h->msg, "decode", a->decode, f, h->size, P.value, c) ? err_ctx(c) : 0;
    }
    if (K->frame_verify(f, h, c)) return err_ctx(c);
    return decode_payload(h->msg, f + K->header_size, h->payload_len, c) ? err_ctx(c) : 0;
}

/* Frames P.value (message m) with seq and the plain header values, in range, and writes the
 * whole frame, waiting as long as the reader needs (the contract gives SEND and ECHO no
 * timeout; the harness's own timeout is the bound). *size is the frame's. */
static int write_value(const cw_message_info *m, uint64_t seq, const uint64_t *plain, size_t *size) {
    cw_ctx c;
    if (frame_value(m, P.value, seq, plain, P.frame, size, &c)) return err_ctx(&c);
    return frame_out(P.frame, *size);
}

/* ------------------------------------------------------------------ requests */

/* HELLO <contract>: who we are, with ptr_bits and byte order measured here. */
static int do_hello(request *rq) {
    volatile uint32_t probe = 0x01020304;   /* byte order, measured */
    uint32_t word = probe;
    uint8_t first;
    memcpy(&first, &word, 1);
    if (usage(rq, 1, "HELLO <contract>")) return -1;
    if (rq->word_len[1] != strlen(CONTRACT) || memcmp(rq->word[1], CONTRACT, strlen(CONTRACT)) != 0)
        return err("unsupported", "contract %.*s", WORD(rq, 1));
    return ok("OK name=%s language=%s contract=%s transports=uds,shm,tcp messages=* ptr_bits=%u byte_order=%s kit=%d",
              K->name, K->language, CONTRACT, (unsigned)(sizeof(void *) * 8),
              first == 4 ? "little" : first == 1 ? "big" : "unknown", CW_KIT_VERSION);
}

/* The value text: the words from word i on (none if there are fewer words). */
static void value_text(const request *rq, size_t i, const char **text, size_t *len) {
    *text = i < rq->count ? rq->word[i] : rq->line + rq->len;
    *len = (size_t)(rq->line + rq->len - *text);
}

/* Parses the value text from word i into P.value. */
static int parse_value(const request *rq, size_t i, const cw_message_info *m) {
    const char *text;
    size_t n;
    cw_ctx c;
    value_text(rq, i, &text, &n);
    return cw_parse_message(m, text, n, P.value, &c) ? err_ctx(&c) : 0;
}

/* Formats P.value into the reply after what it holds (a space between, none for no value). */
static int reply_value(const cw_message_info *m) {
    cw_ctx c;
    size_t n = 0, at = P.reply_len + 1;
    P.reply[P.reply_len] = ' ';
    if (cw_format_message(m, P.value, P.reply + at, P.reply_max - at, &n, &c)) return err_ctx(&c);
    if (n) P.reply_len = at + n;
    else P.reply[P.reply_len] = '\0';
    return 0;
}

/* ENCODE <Message> <value>: the payload as a blob. */
static int do_encode(request *rq) {
    const cw_message_info *m = NULL;
    size_t len = 0;
    cw_ctx c;
    if (rq->count < 2) return err("request", "usage: ENCODE <Message> <value>");
    if ((m = message(rq, 1)) == NULL || parse_value(rq, 2, m)) return -1;
    if (payload_of(m, P.value, &len, &c)) return err_ctx(&c);
    ok("OK x");
    cw_hex_encode(P.frame + K->header_size, len, P.reply + P.reply_len);
    P.reply_len += 2 * len;
    return 0;
}

/* DECODE <Message> x<payload>: the value; the hex is decoded in place in the line. */
static int do_decode(request *rq) {
    const cw_message_info *m = NULL;
    char *hex;
    size_t n;
    cw_ctx c;
    if (usage(rq, 2, "DECODE <Message> x<payload>") || (m = message(rq, 1)) == NULL) return -1;
    hex = rq->word[2];
    n = rq->word_len[2];
    if (hex[0] != 'x' || n % 2 != 1 || cw_hex_decode(hex + 1, n - 1, (uint8_t *)hex))
        return err("request", "bad blob '%.*s'", WORD(rq, 2));
    if (decode_payload(m, (uint8_t *)hex, n / 2, &c)) return err_ctx(&c);
    ok("OK");
    return reply_value(m);
}

/* LISTEN uds <path> | LISTEN shm <name> [capacity] | LISTEN tcp <host>:<port>: create the
 * endpoint. Over tcp the reply names the address really bound (port 0: the kernel's choice). */
static int do_listen(request *rq) {
    char addr[MAX_ADDRESS + 1], bound[CW_TCP_MAX_ADDRESS];
    uint64_t capacity = CW_SHM_DEFAULT_CAPACITY;
    transport t = TR_UDS;
    int over = 0, rc;
    cw_terr e;
    if (word_is(rq, 1, "shm")) {
        if ((rq->count != 3 && rq->count != 4) || (rq->count == 4 && digits(rq, 3, &capacity, &over)))
            return err("request", "usage: LISTEN shm <name> [capacity]");
    } else if (usage(rq, 2, "LISTEN <transport> <address>")) {
        return -1;
    }
    if (endpoint(rq, addr, &t)) return -1;
    if (over) capacity = UINT64_MAX;                        /* refused as out of range */
    rc = t == TR_SHM ? cw_shm_listen(addr, capacity, &P.listener, &e)
       : t == TR_TCP ? cw_tcp_listen(addr, &P.listener, bound, &e)
                  : cw_uds_listen(addr, &P.listener, &e);
    if (rc) return err_t(&e);
    return t == TR_TCP ? ok("OK %s", bound) : ok("OK");
}

/* CONNECT <transport> <address> <timeout_ms>. */
static int do_connect(request *rq) {
    char addr[MAX_ADDRESS + 1];
    uint64_t deadline = 0;
    transport t = TR_UDS;
    int rc;
    cw_terr e;
    if (usage(rq, 3, "CONNECT <transport> <address> <timeout_ms>") || endpoint(rq, addr, &t) ||
        deadline_of(rq, 3, &deadline))
        return -1;
    rc = t == TR_SHM ? cw_shm_connect(addr, deadline, &P.conn, &e)
       : t == TR_TCP ? cw_tcp_connect(addr, deadline, &P.conn, &e)
                  : cw_uds_connect(addr, deadline, &P.conn, &e);
    if (rc) return err_t(&e);
    P.in_pos = P.in_len = 0;
    return ok("OK");
}

/* ACCEPT <timeout_ms>: one connection on the endpoint. */
static int do_accept(request *rq) {
    uint64_t deadline = 0, want = 0;
    uint32_t uid = 0;
    int over = 0, check = rq->count == 3 && rq->word_len[2] > 4 && memcmp(rq->word[2], "uid=", 4) == 0;
    cw_terr e;
    if (check) {
        request v = *rq;                    /* the digits after "uid=" as a word of their own */
        v.word[2] += 4;
        v.word_len[2] -= 4;
        if (digits(&v, 2, &want, &over) || over || want > UINT32_MAX)
            return err("request", "bad uid '%.*s'", WORD(rq, 2));
    } else if (usage(rq, 1, "ACCEPT <timeout_ms> [uid=<n>]")) {
        return -1;
    }
    if (deadline_of(rq, 1, &deadline)) return -1;
    if (P.listener == NULL) return err("runtime", "no endpoint: LISTEN first");
    if (P.conn != NULL) return err("runtime", "a connection is already open");
    if (P.listener->ops->accept(P.listener, deadline, &P.conn, &e)) return err_t(&e);
    P.in_pos = P.in_len = 0;
    if (check) {                            /* who connected, as the kernel says */
        if (P.conn->ops->peer_uid(P.conn, &uid, &e)) {
            close_conn();
            return err_t(&e);
        }
        if (uid != want) {
            close_conn();
            return err("runtime", "peer credentials: the client runs as uid %" PRIu32 ", not %" PRIu64 "; closed",
                       uid, want);
        }
    }
    return ok("OK");
}

/* The largest value of an n-byte unsigned field (n 1..8). */
static uint64_t max_of(size_t n) { return n >= 8 ? UINT64_MAX : ((uint64_t)1 << (8 * n)) - 1; }

/* Word i as a header value: -?[0-9]+ into *neg and *mag, *over when above 2^64 - 1. */
static int header_word(const request *rq, size_t i, int *neg, uint64_t *mag, int *over) {
    request w = *rq;
    *neg = rq->word_len[i] > 1 && rq->word[i][0] == '-';
    w.word[i] += *neg;
    w.word_len[i] -= (size_t)*neg;
    return digits(&w, i, mag, over);
}

/* The plain header value of word i for field f, as its bits in *raw; out of range is
 * `ERR encode range frame.<name>`. */
static int header_value(const request *rq, size_t i, const cw_hfield *f, uint64_t *raw) {
    int neg, over;
    uint64_t mag, top;
    header_word(rq, i, &neg, &mag, &over);
    top = f->is_signed ? max_of(f->size) / 2 + (neg ? 1 : 0) : neg ? 0 : max_of(f->size);
    if (over || mag > top)
        return err("encode", "range frame.%s %.*s does not fit its %s %u-byte field", f->name, WORD(rq, i),
                   f->is_signed ? "signed" : "unsigned", (unsigned)f->size);
    *raw = neg ? (uint64_t)0 - mag : mag;
    return 0;
}

/* The tokens after the message name in RECV's reply: seq, then the plain header values. */
static void frame_tokens(const cw_head *h, char *out, size_t cap) {
    size_t i, n = (size_t)snprintf(out, cap, "%" PRIu64, h->seq);
    for (i = 0; i < K->plain_count && n < cap; i++) {
        const cw_hfield *f = &K->plain_fields[i];
        n += (size_t)(f->is_signed ? snprintf(out + n, cap - n, " %" PRId64, cw_signed(h->plain[i], f->size))
                                   : snprintf(out + n, cap - n, " %" PRIu64, h->plain[i]));
    }
}

/* The direction word of RECV and ECHO (word i, optional): CW_EITHER when absent. */
static int direction_of(const request *rq, size_t i, int *direction) {
    *direction = CW_EITHER;
    if (rq->count <= i) return 0;
    if (word_is(rq, i, "request")) *direction = CW_REQUEST;
    else if (word_is(rq, i, "response")) *direction = CW_RESPONSE;
    else return err("request", "bad direction '%.*s' (request or response)", WORD(rq, i));
    return 0;
}

/* SEND <Message> <seq> [<h>...] <value>: errors in the contract's order: request (the line,
 * then the value's tokens), encode (the value, then the seq's range, then the header values'),
 * runtime (no connection, a failed write). A framing adapter encodes after the range checks:
 * it needs the seq and the header values. */
static int do_send(request *rq) {
    const cw_message_info *m = NULL;
    uint64_t seq, plain[CW_HEAD_PLAIN_MAX], mag;
    size_t len = 0, size = 0, i, first = 3 + K->plain_count;
    int seq_over, over, neg;
    cw_ctx c;
    if (!K->has_frame) return err("unsupported", NO_FRAME);
    if (rq->count < first) return err("request", "usage: SEND <Message> <seq> [<header value>...] <value>");
    if ((m = message(rq, 1)) == NULL) return -1;
    if (digits(rq, 2, &seq, &seq_over)) return err("request", "bad seq '%.*s'", WORD(rq, 2));
    for (i = 0; i < K->plain_count; i++)
        if (header_word(rq, 3 + i, &neg, &mag, &over))
            return err("request", "bad value '%.*s' for frame.%s", WORD(rq, 3 + i), K->plain_fields[i].name);
    if (parse_value(rq, first, m)) return -1;
    if (!framing() && encode_payload(m, P.value, P.frame, &len, &c)) return err_ctx(&c);
    if (seq_over || (K->seq_size == 0 && seq != 0) || seq > max_of(K->seq_size))
        return err("encode", "range frame.seq %.*s does not fit the frame's seq (0..%" PRIu64 ")", WORD(rq, 2),
                   K->seq_size ? max_of(K->seq_size) : 0);
    for (i = 0; i < K->plain_count; i++)
        if (header_value(rq, 3 + i, &K->plain_fields[i], &plain[i])) return -1;
    if (framing()) {
        if (write_value(m, seq, plain, &size)) return -1;
    } else if (frame_out(P.frame, size = K->frame_write(P.frame, m, len, seq, plain))) {
        return -1;
    }
    return ok("OK %zu", size);
}

/* RECV <timeout_ms> [request|response]: one frame, reported as <Message> <seq> [<h>...] <value>. */
static int do_recv(request *rq) {
    uint64_t deadline = 0;
    int direction = CW_EITHER;
    char tokens[24 + 24 * CW_HEAD_PLAIN_MAX];
    cw_head h;
    if (!K->has_frame) return err("unsupported", NO_FRAME);
    if (rq->count != 2 && rq->count != 3) return err("request", "usage: RECV <timeout_ms> [request|response]");
    if (deadline_of(rq, 1, &deadline) || direction_of(rq, 2, &direction) || read_frame(deadline, direction, &h))
        return -1;
    frame_tokens(&h, tokens, sizeof tokens);
    ok("OK %s %s", h.msg->name, tokens);
    return reply_value(h.msg);
}

/* ECHO <timeout_ms> [request|response]: one frame, re-encoded from its decoded value and sent
 * back with the same seq and header values. */
static int do_echo(request *rq) {
    uint64_t deadline = 0;
    int direction = CW_EITHER;
    size_t size = 0;
    cw_head h;
    if (!K->has_frame) return err("unsupported", NO_FRAME);
    if (rq->count != 2 && rq->count != 3) return err("request", "usage: ECHO <timeout_ms> [request|response]");
    if (deadline_of(rq, 1, &deadline) || direction_of(rq, 2, &direction) || read_frame(deadline, direction, &h) ||
        write_value(h.msg, h.seq, h.plain, &size))
        return -1;
    return ok("OK %s %" PRIu64, h.msg->name, h.seq);
}

/* VERSION <n>: speak protocol version n (1..format_version) from now on. */
static int do_version(request *rq) {
    uint64_t n;
    int over;
    if (usage(rq, 1, "VERSION <n>")) return -1;
    if (digits(rq, 1, &n, &over) || over || n < 1 || n > K->format_version)
        return err("request", "bad version '%.*s' (1 to %u)", WORD(rq, 1), (unsigned)K->format_version);
    cw_version = (uint32_t)n;
    return ok("OK");
}

/* ------------------------------------------------------------------ streams */

/* The streams and the bench carry the stream message that STREAM describes, as bytes (stream.h):
 * they need a frame with a seq field, else `ERR unsupported`. */
static int streams(void) { return K->has_frame && K->seq_size > 0; }
static const uint64_t NO_PLAIN[CW_HEAD_PLAIN_MAX];  /* streams send every plain header value as 0 */

/* Word i as a number of at most `max`, else `ERR request STREAM <what> ...`. */
static int stream_number(const request *rq, size_t i, const char *what, uint64_t max, uint64_t *v) {
    int over;
    if (digits(rq, i, v, &over) || over || *v > max)
        return err("request", "STREAM %s '%.*s' (0 to %" PRIu64 ")", what, WORD(rq, i), max);
    return 0;
}

/* Word i as a byte order: *big 1 for be, 0 for le. */
static int stream_order(const request *rq, size_t i, int *big) {
    if (word_is(rq, i, "le")) *big = 0;
    else if (word_is(rq, i, "be")) *big = 1;
    else return err("request", "STREAM order '%.*s' (le or be)", WORD(rq, i));
    return 0;
}

/* STREAM <Message> <template> <at> <width> <order> <max> <k> [<offset> <width> <order> <mul> <add>]*k:
 * the stream message and its layout, kept until the next STREAM (a refused one keeps none). */
static int do_stream(request *rq) {
    const cw_message_info *m;
    cw_layout l;
    uint64_t v, k;
    size_t i, n;
    char *hex;
    const char *why;
    P.stream_msg = NULL;
    if (rq->count < 8)
        return err("request", "usage: STREAM <Message> <template> <at> <width> <order> <max> <k> "
                              "[<offset> <width> <order> <mul> <add>]...");
    if (!streams()) return err("unsupported", "the streams need a frame with a seq field");
    if ((m = message(rq, 1)) == NULL) return -1;
    memset(&l, 0, sizeof l);
    hex = rq->word[2];
    n = rq->word_len[2];
    if (hex[0] != 'x' || n % 2 != 1 || n / 2 > K->max_payload || cw_hex_decode(hex + 1, n - 1, (uint8_t *)hex))
        return err("request", "STREAM bad template (a blob: x and pairs of hex digits, at most %u bytes)",
                   (unsigned)K->max_payload);
    l.template_len = n / 2;
    if (stream_number(rq, 3, "at", l.template_len, &v)) return -1;
    l.at = (size_t)v;
    if (stream_number(rq, 4, "width", 8, &v) || stream_order(rq, 5, &l.big) || stream_number(rq, 6, "max", UINT64_MAX, &l.max) ||
        stream_number(rq, 7, "k", CW_LAYOUT_MAX_PATCHES, &k))
        return -1;
    l.width = (size_t)v;
    l.k = (size_t)k;
    if (rq->count != 8 + 5 * l.k)
        return err("request", "STREAM: %zu patches need %zu words after the command, not %zu", l.k, 7 + 5 * l.k,
                   rq->count - 1);
    for (i = 0; i < l.k; i++) {
        cw_patch *p = &l.patch[i];
        size_t w = 8 + 5 * i;
        if (stream_number(rq, w, "patch offset", l.template_len, &v)) return -1;
        p->offset = (size_t)v;
        if (stream_number(rq, w + 1, "patch width", 8, &v) || stream_order(rq, w + 2, &p->big) ||
            stream_number(rq, w + 3, "patch mul", UINT64_MAX, &p->mul) ||
            stream_number(rq, w + 4, "patch add", UINT64_MAX, &p->add))
            return -1;
        p->width = (size_t)v;
    }
    if ((why = cw_layout_check(&l, K->max_payload)) != NULL) return err("request", "STREAM: %s", why);
    memcpy(P.stream_template, hex, l.template_len);
    l.template = P.stream_template;
    l.work = P.stream_work;
    P.stream = l;
    P.stream_msg = m;
    return ok("OK");
}

/* `ERR request` before any STREAM. */
static int stream_described(void) {
    return P.stream_msg != NULL ? 0 : err("request", "no STREAM: describe the stream message with STREAM first");
}

/* The words 1..4 of BLAST/DRAIN: count, seed, min_len, max_len, each a bounded decimal. */
static int stream_args(const request *rq, uint64_t *count, cw_stream *s) {
    uint64_t v[4];
    size_t i;
    int over;
    if (stream_described()) return -1;
    for (i = 0; i < 4; i++)
        if (digits(rq, i + 1, &v[i], &over) || over) return err("request", "bad count '%.*s'", WORD(rq, i + 1));
    *count = v[0];
    s->seed = v[1];
    s->min_len = v[2];
    s->max_len = v[3];
    return 0;
}

/* The checks after the arguments: lengths (in data elements) in order and at most the layout's
 * max, seqs that fit the frame's seq field, a connection. */
static int stream_ready(uint64_t count, const cw_stream *s) {
    if (s->min_len > s->max_len)
        return err("request", "min_len %" PRIu64 " is more than max_len %" PRIu64, s->min_len, s->max_len);
    if (s->max_len > P.stream.max)
        return err("request", "max_len %" PRIu64 " is more than the stream's max %" PRIu64 " elements", s->max_len,
                   P.stream.max);
    if (count > max_of(K->seq_size))
        return err("request", "count %" PRIu64 ": the frame's seq holds at most %" PRIu64, count, max_of(K->seq_size));
    if (P.conn == NULL) return err("runtime", "no connection: CONNECT or ACCEPT first");
    return 0;
}

/* BLAST <count> <seed> <min_len> <max_len>: send frames 1..count of the stream, each payload
 * written as bytes (no codec) and framed with every plain header value 0. */
static int do_blast(request *rq) {
    uint64_t count = 0, i, bytes = 0, start, waits = waits_now(), missed = missed_now();
    cw_stream s;
    if (usage(rq, 4, "BLAST <count> <seed> <min_len> <max_len>") || stream_args(rq, &count, &s) ||
        stream_ready(count, &s))
        return -1;
    start = cw_now_ns();
    for (i = 1; i <= count; i++) {
        size_t len = cw_layout_write(&P.stream, i, cw_stream_len(&s, i), P.frame + K->header_size);
        size_t size = K->frame_write(P.frame, P.stream_msg, len, i, NO_PLAIN);
        if (frame_out(P.frame, size)) return -1;
        bytes += size;
    }
    return ok("OK sent=%" PRIu64 " bytes=%" PRIu64 " ns=%" PRIu64 " waits=%" PRIu64 " missed=%" PRIu64, count,
              bytes, cw_now_ns() - start, waits_now() - waits, missed_now() - missed);
}

/* DRAIN's first corrupt frame: its offset in the stream and its first bytes as read. */
#define BAD_MAX 4096

typedef struct bad_frame {
    int set;
    uint64_t at;
    size_t len;
    uint8_t bytes[BAD_MAX];
} bad_frame;

/* Keeps the frame at stream offset `at` (len bytes read of it) unless one is kept already. */
static void note_bad(bad_frame *b, uint64_t at, const uint8_t *f, size_t len) {
    if (b->set) return;
    b->set = 1;
    b->at = at;
    b->len = len < BAD_MAX ? len : BAD_MAX;
    memcpy(b->bytes, f, b->len);
}

/* Receives until count frames arrived, the deadline passed or the other side left, and
 * tallies them, comparing each payload with the stream's byte for byte (nothing is decoded).
 * A frame that fails its checksum is corrupt, its bytes and seq not counted; a bad header or a
 * frame cut short (which drop the connection) is corrupt and ends the stream. The first corrupt
 * frame is reported as bad_at (the sizes of the frames read before it) and bad (its bytes). */
static int do_drain(request *rq) {
    uint64_t count = 0, deadline = 0, start = 0, waits = waits_now(), missed = missed_now(), at = 0;
    cw_stream s;
    cw_tally t;
    bad_frame bad;
    bad.set = 0;
    if (usage(rq, 5, "DRAIN <count> <seed> <min_len> <max_len> <timeout_ms>") || stream_args(rq, &count, &s) ||
        deadline_of(rq, 5, &deadline) || stream_ready(count, &s))
        return -1;
    cw_tally_init(&t, count);
    while (t.received < count) {
        const uint8_t *f = NULL;
        cw_head h;
        cw_ctx c;
        if (frame_head_in(deadline, P.stream_msg->direction, 0, &f, &h) == 0) {
            int mine = h.msg == P.stream_msg;
            if (start == 0) start = cw_now_ns();
            if (K->frame_verify(f, &h, &c)) {
                t.received++;
                t.corrupt++;
                note_bad(&bad, at, f, h.size);
            } else if (cw_tally_add(&t, mine, h.seq,
                                    mine && h.seq >= 1 && h.seq <= count &&
                                        cw_layout_matches(&P.stream, h.seq, cw_stream_len(&s, h.seq),
                                                          f + K->header_size, h.payload_len),
                                    h.size)) {
                note_bad(&bad, at, f, h.size);
            }
            at += h.size;
        } else if (strncmp(P.reply, "ERR decode ", 11) == 0) {
            t.received++;
            t.corrupt++;
            note_bad(&bad, at, P.cut, P.cut_len);
            if (P.conn == NULL) break;
        } else if (strncmp(P.reply, "ERR timeout ", 12) == 0 || strstr(P.reply, "closed") != NULL) {
            break;                          /* what arrived is reported; the rest is lost */
        } else {
            cw_tally_free(&t);
            return -1;
        }
    }
    cw_tally_free(&t);
    ok("OK received=%" PRIu64 " lost=%" PRIu64 " duplicated=%" PRIu64 " reordered=%" PRIu64 " corrupt=%" PRIu64
       " bytes=%" PRIu64 " ns=%" PRIu64 " waits=%" PRIu64 " missed=%" PRIu64,
       t.received, cw_tally_lost(&t), t.duplicated, t.reordered, t.corrupt, t.bytes,
       start ? cw_now_ns() - start : 0, waits_now() - waits, missed_now() - missed);
    if (bad.set) {          /* reply_max leaves room for BAD_MAX bytes in hex (cw_peer_main) */
        int n = snprintf(P.reply + P.reply_len, P.reply_max - P.reply_len, " bad_at=%" PRIu64 " bad=", bad.at);
        P.reply_len += n < 0 ? 0 : (size_t)n;
        cw_hex_encode(bad.bytes, bad.len, P.reply + P.reply_len);
        P.reply_len += 2 * bad.len;
    }
    return 0;
}

/* ------------------------------------------------------------------ benchmarks */

static cw_bench_io BENCH_IO = {NULL, frame_in, frame_out, err};   /* .p set by cw_peer_main */

/* The bench rewrites the seq field of one built frame in place (seq_offset, seq_size): so a
 * frame with a seq and no checksum, which would have to be computed again for every frame.
 * Otherwise PING, PONG, FLOOD and SINK are unsupported. */
static int bench_supported(void) {
    if (!streams() || K->trailer_size != 0)
        return err("unsupported", "the bench needs a frame with a seq field and no checksum");
    return 0;
}

/* Word i as a count of at most CW_BENCH_MAX_COUNT (and half what the seq field holds). */
static int bench_count(const request *rq, size_t i, uint64_t *v) {
    int over;
    if (digits(rq, i, v, &over) || over || *v > CW_BENCH_MAX_COUNT)
        return err("request", "bad count '%.*s' (0 to %" PRIu64 ")", WORD(rq, i), CW_BENCH_MAX_COUNT);
    if (*v > max_of(K->seq_size) / 2)
        return err("request", "count '%.*s': the frame's seq holds at most %" PRIu64, WORD(rq, i), max_of(K->seq_size));
    return 0;
}

/* Word i as a bench frame size S; the frame (seq 0) is built into P.frame and its length set:
 * the stream message with payload P(0, n), n = (S - template length) / width. */
static int bench_frame(const request *rq, size_t i, size_t *len) {
    const cw_layout *l = &P.stream;
    uint64_t size;
    size_t plen;
    int over;
    if (digits(rq, i, &size, &over) || over || size > K->max_payload || size < l->template_len ||
        (size - l->template_len) % l->width != 0 || (size - l->template_len) / l->width > l->max)
        return err("request", "bad size '%.*s' (the stream message's payload is %zu + n x %zu bytes, n 0 to %" PRIu64 ")",
                   WORD(rq, i), l->template_len, l->width, l->max);
    plen = cw_layout_write(l, 0, (size_t)((size - l->template_len) / l->width), P.frame + K->header_size);
    *len = K->frame_write(P.frame, P.stream_msg, plen, 0, NO_PLAIN);
    return 0;
}

/* WAIT <spin|futex|spin-futex>: how shm rings wait from the next connection on. */
static int do_wait(request *rq) {
    char name[16] = "";
    if (usage(rq, 1, "WAIT <spin|futex|spin-futex>")) return -1;
    if (rq->word_len[1] < sizeof name) memcpy(name, rq->word[1], rq->word_len[1]);
    if (cw_shm_set_wait(name)) return err("request", "unknown wait strategy '%.*s'", WORD(rq, 1));
    return ok("OK");
}

/* PING <count> <warmup> <size> <timeout_ms>: round trips of the bench frame. */
static int do_ping(request *rq) {
    uint64_t count = 0, warmup = 0, deadline = 0, waits = waits_now();
    size_t len = 0;
    cw_latency l;
    if (usage(rq, 4, "PING <count> <warmup> <size> <timeout_ms>") || stream_described() || bench_supported() ||
        bench_count(rq, 1, &count) || bench_count(rq, 2, &warmup) || bench_frame(rq, 3, &len) ||
        deadline_of(rq, 4, &deadline) || cw_bench_ping(&BENCH_IO, P.frame, len, count, warmup, deadline, &l))
        return -1;
    return ok("OK rounds=%" PRIu64 " min=%" PRIu64 " p50=%" PRIu64 " p90=%" PRIu64 " p99=%" PRIu64 " p999=%" PRIu64
              " max=%" PRIu64 " mean=%" PRIu64 " waits=%" PRIu64, l.rounds, l.min, l.p50, l.p90, l.p99, l.p999,
              l.max, l.mean, waits_now() - waits);
}

/* PONG <count> <timeout_ms>: frames written back as they came (no STREAM needed). */
static int do_pong(request *rq) {
    uint64_t count = 0, deadline = 0, waits = waits_now();
    if (usage(rq, 2, "PONG <count> <timeout_ms>") || bench_supported() || bench_count(rq, 1, &count) ||
        deadline_of(rq, 2, &deadline) || cw_bench_pong(&BENCH_IO, count, deadline))
        return -1;
    return ok("OK rounds=%" PRIu64 " waits=%" PRIu64, count, waits_now() - waits);
}

/* FLOOD <count> <size>: the bench frame, seq 1..count. */
static int do_flood(request *rq) {
    uint64_t count = 0, ns = 0, waits = waits_now();
    size_t len = 0;
    if (usage(rq, 2, "FLOOD <count> <size>") || stream_described() || bench_supported() ||
        bench_count(rq, 1, &count) || bench_frame(rq, 2, &len) || cw_bench_flood(&BENCH_IO, P.frame, len, count, &ns))
        return -1;
    return ok("OK sent=%" PRIu64 " bytes=%" PRIu64 " ns=%" PRIu64 " waits=%" PRIu64, count, count * len, ns,
              waits_now() - waits);
}

/* SINK <count> <size> <timeout_ms>: count bench frames, checked. */
static int do_sink(request *rq) {
    uint64_t count = 0, deadline = 0, ns = 0, waits = waits_now();
    size_t len = 0;
    if (usage(rq, 3, "SINK <count> <size> <timeout_ms>") || stream_described() || bench_supported() ||
        bench_count(rq, 1, &count) || bench_frame(rq, 2, &len) || deadline_of(rq, 3, &deadline) ||
        cw_bench_sink(&BENCH_IO, P.frame, len, count, deadline, &ns))
        return -1;
    return ok("OK received=%" PRIu64 " bytes=%" PRIu64 " ns=%" PRIu64 " waits=%" PRIu64, count, count * len, ns,
              waits_now() - waits);
}

/* CLOSE: the connection and the endpoint. */
static int do_close(request *rq) {
    if (usage(rq, 0, "CLOSE")) return -1;
    close_all();
    return ok("OK");
}

/* QUIT: reply, then main() exits. */
static int do_quit(request *rq) {
    if (usage(rq, 0, "QUIT")) return -1;
    P.quitting = 1;
    return ok("OK");
}

static const struct {
    const char *name;
    int (*run)(request *rq);
} COMMANDS[] = {
    {"HELLO", do_hello}, {"ENCODE", do_encode}, {"DECODE", do_decode}, {"LISTEN", do_listen},
    {"CONNECT", do_connect}, {"ACCEPT", do_accept}, {"SEND", do_send}, {"RECV", do_recv},
    {"ECHO", do_echo}, {"CLOSE", do_close}, {"QUIT", do_quit}, {"BLAST", do_blast}, {"DRAIN", do_drain},
    {"WAIT", do_wait}, {"PING", do_ping}, {"PONG", do_pong}, {"FLOOD", do_flood}, {"SINK", do_sink},
    {"VERSION", do_version}, {"STREAM", do_stream},
};

/* Answers one request line (line[0..len), no newline) into P.reply. */
static void answer(char *line, size_t len) {
    request rq;
    size_t i, start = 0;
    P.reply_len = 0;
    for (i = 0; i < len; i++)
        if ((unsigned char)line[i] >= 0x80) {
            err("request", "the request line is not ASCII");
            return;
        }
    rq.line = line;
    rq.len = len;
    rq.count = 0;
    for (i = 0; i <= len; i++) {
        if (i < len && line[i] != ' ') continue;
        if (i == start) {
            err("request", "empty request or an empty token (two spaces?)");
            return;
        }
        if (rq.count < MAX_WORDS) {
            rq.word[rq.count] = line + start;
            rq.word_len[rq.count] = i - start;
        }
        rq.count++;
        start = i + 1;
    }
    for (i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        if (strlen(COMMANDS[i].name) == rq.word_len[0] && memcmp(COMMANDS[i].name, line, rq.word_len[0]) == 0) {
            COMMANDS[i].run(&rq);
            return;
        }
    err("request", "unknown command '%.*s'", (int)(rq.word_len[0] > 40 ? 40 : rq.word_len[0]), line);
}

/* stdin through a buffer of our own (read(2), not stdio, whose buffer would hide whether a
 * request is waiting): the wait for the next request is a poll() in slices of 100 ms with a
 * look at the harness between them, so that an idle peer notices a gone harness too. */
static struct {
    unsigned char buf[65536];
    size_t pos, len;
    int eof;
} IN;

/* The next byte of stdin, or EOF (at its end or on an error). */
static int next_byte(void) {
    if (IN.pos == IN.len) {
        struct pollfd p;
        ssize_t n;
        if (IN.eof) return EOF;
        p.fd = 0;
        p.events = POLLIN;
        while (poll(&p, 1, 100) == 0) cw_harness_check();  /* -1 (EINTR, not a pollable fd): read */
        while ((n = read(0, IN.buf, sizeof IN.buf)) < 0 && errno == EINTR) continue;
        if (n <= 0) {
            IN.eof = 1;
            return EOF;
        }
        IN.pos = 0;
        IN.len = (size_t)n;
    }
    return IN.buf[IN.pos++];
}

/* Reads one line from stdin into *buf (grown as needed, up to line_limit bytes and a NUL;
 * the caller owns *buf), *len its length without the newline. Returns 0, -1 at the end of
 * input, or -2 if the line was too long (it is then read up to its newline and dropped). */
static int read_line(char **buf, size_t *cap, size_t *len) {
    size_t n = 0;
    int ch, too_long = 0;
    while ((ch = next_byte()) != EOF && ch != '\n') {
        if (too_long) continue;
        if (n == P.line_limit) {
            too_long = 1;
            continue;
        }
        if (n + 1 >= *cap) {
            size_t bigger = *cap * 2 > P.line_limit + 1 ? P.line_limit + 1 : *cap * 2;
            char *p = realloc(*buf, bigger);
            if (p == NULL) {
                too_long = 1;
                continue;
            }
            *buf = p;
            *cap = bigger;
        }
        (*buf)[n++] = (char)ch;
    }
    if (ch == EOF && n == 0 && !too_long) return -1;
    (*buf)[n] = '\0';
    *len = n;
    return too_long ? -2 : 0;
}

int cw_peer_main(const cw_protocol *p, int argc, char **argv) {
    size_t cap = 65536, len = 0, i;
    char *line = malloc(cap);
    int rc;
    (void)argc;
    (void)argv;
    cw_harness_watch(close_all);    /* a gone harness ends us, its socket file or segment removed */
    signal(SIGPIPE, SIG_IGN);   /* a closed socket or stdout is an error return, not death */
    if (p->plain_count > CW_HEAD_PLAIN_MAX) {
        fprintf(stderr, "cw-peer: the frame has %zu plain header fields, the kit holds %u\n", p->plain_count,
                (unsigned)CW_HEAD_PLAIN_MAX);
        return 2;
    }
    if (p->name == NULL || p->language == NULL) {
        fprintf(stderr, "cw-peer: the protocol has no peer name: set it in main (p.name = \"...\")\n");
        return 2;
    }
    K = p;
    BENCH_IO.p = p;
    P.frame_max = p->header_size + p->max_payload + p->trailer_size;
    P.line_limit = 8 * (size_t)p->max_payload + 65536;
    P.reply_max = 2 * (size_t)p->max_payload + p->max_text + p->max_name + CW_ERR_MAX + 64 + 24 * CW_HEAD_PLAIN_MAX +
                  2 * (p->header_size + p->trailer_size) + 256;   /* + DRAIN's figures and bad= (BAD_MAX) */
    P.in = malloc(P.frame_max);
    P.frame = malloc(P.frame_max);
    P.scratch = malloc(P.frame_max);
    P.value = malloc(p->max_value_size);
    P.stream_template = malloc(p->max_payload ? p->max_payload : 1);
    P.stream_work = malloc(p->max_payload ? p->max_payload : 1);
    P.reply = malloc(P.reply_max);
    if (!line || !P.in || !P.frame || !P.scratch || !P.value || !P.reply || !P.stream_template || !P.stream_work) {
        fprintf(stderr, "cw-peer: out of memory\n");
        return 1;
    }
    while ((rc = read_line(&line, &cap, &len)) != -1) {
        if (rc == -2) err("request", "line too long");
        else answer(line, len);
        for (i = 0; i < P.reply_len; i++)       /* one reply, one line */
            if (P.reply[i] == '\n' || P.reply[i] == '\r') P.reply[i] = ' ';
        fwrite(P.reply, 1, P.reply_len, stdout);
        putc('\n', stdout);
        if (fflush(stdout) != 0) break;
        if (P.quitting) break;
    }
    close_all();
    free(line);
    free(P.in);
    free(P.frame);
    free(P.scratch);
    free(P.value);
    free(P.stream_template);
    free(P.stream_work);
    free(P.reply);
    return 0;
}
