/* cw_kit.h -- the C kit of crosswire: the protocol-free part of a peer (docs/kits.md).
 *
 * The kit runs the contract of protocols/PEER_CONTRACT.md (the request loop, the transports
 * uds, tcp and shm with the ring and its waits, the frame finder, the streams BLAST/DRAIN and
 * the bench PING/PONG/FLOOD/SINK) for any schema: it knows no message. The generated code
 * (harness/codegen/c.py) describes one schema in a cw_protocol (the message table, the frame's
 * sizes and functions, the limits) and a thin main hands it over:
 *
 *     int main(int argc, char **argv) {
 *         cw_protocol p = cw_schema_protocol;
 *         p.name = "c";                      (as in peer.toml: HELLO reports it)
 *         return cw_peer_main(&p, argc, argv);
 *     }
 *
 * An adapter peer (a library under test) sets p.adapters: per message, the functions that call
 * the library. A payload adapter encodes a value into a payload and decodes one; a framing
 * adapter (p.frames) encodes a value with the seq and the plain header values into a whole
 * frame and decodes a whole frame: the kit finds it on the stream from the header's length and
 * id alone (frame_find) and leaves every other check (constants, checksum, seq) to the library.
 * An adapter function returns 0, or -1 after one of
 *   - cw_unimplemented(c): `ERR unsupported adapter: M is not implemented` (a skip);
 *   - cw_adapter_fail(c, ...): `ERR runtime adapter <encode|decode> M: <text>` (cut at 200);
 *   - a codec error of cw_runtime.h (cw_fail with a code and the path): replied as it is.
 */
#ifndef CW_KIT_H
#define CW_KIT_H

#include "cw_runtime.h"

#define CW_KIT_VERSION 2    /* HELLO says kit=<this>; harness/kits.py holds the harness's */

/* One message's entry points into the library under test (a row per message, in the order of
 * the message table; NULL members are not implemented). */
typedef struct cw_adapter {
    /* payload adapters: the payload of *value into out[0..cap) */
    int (*encode)(const void *value, uint8_t *out, size_t cap, size_t *out_len, cw_ctx *c);
    /* framing adapters: the whole frame, with seq and the plain header values */
    int (*encode_frame)(const void *value, uint64_t seq, const uint64_t *plain, uint8_t *out, size_t cap,
                        size_t *out_len, cw_ctx *c);
    /* a payload (or, framing, a whole frame) into *value (zeroed first) */
    int (*decode)(const uint8_t *buf, size_t len, void *value, cw_ctx *c);
} cw_adapter;

/* The schema, as the generated code describes it (cw_schema_protocol), and who runs it. */
typedef struct cw_protocol {
    const char *name;               /* the peer's name, as in its peer.toml */
    const char *language;
    uint32_t format_version;        /* VERSION 1..this */
    uint32_t max_payload;
    const cw_message_info *messages;
    size_t message_count;
    size_t max_value_size;          /* the largest message struct */
    size_t max_text;                /* the longest text of a value, NUL included */
    size_t max_name;                /* the longest message name */
    /* the frame (has_frame 0: payloads only) */
    int has_frame;
    size_t header_size, trailer_size;
    size_t seq_offset, seq_size;    /* seq_size 0: the frame has no seq */
    int seq_big;
    size_t plain_count;
    const cw_hfield *plain_fields;
    size_t (*frame_write)(uint8_t *frame, const cw_message_info *m, size_t payload_len, uint64_t seq,
                          const uint64_t *plain);
    int (*frame_head)(const uint8_t *in, int direction, cw_head *h, cw_ctx *c);
    /* frame_head without its checks of the constants: where a framing adapter's frame ends */
    int (*frame_find)(const uint8_t *in, int direction, cw_head *h, cw_ctx *c);
    int (*frame_verify)(const uint8_t *frame, const cw_head *h, cw_ctx *c);
    const cw_message_info *(*by_id)(uint32_t id, int direction, const cw_message_info **other);
    /* adapters: NULL for the reference codec, else one row per message */
    const cw_adapter *adapters;
    int frames;                     /* the adapter writes and reads whole frames */
} cw_protocol;

/* Runs the peer on stdin/stdout until QUIT or the end of input; the exit status. */
int cw_peer_main(const cw_protocol *p, int argc, char **argv);

/* What an adapter function returns: -1, with the reply it stands for in c (see above). */
int cw_unimplemented(cw_ctx *c);
int cw_adapter_fail(cw_ctx *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif /* CW_KIT_H */
