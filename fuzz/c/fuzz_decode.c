/* fuzz_decode.c -- a libFuzzer target over the C peer's codec: peers/c/kit/src/cw_runtime.c and the
 * generated peers/c/gen/cw_schema.c (`make fuzz`, README.md "Fuzzing").
 *
 * Every input is read two ways:
 *   - as a stream of frames of the schema's declared frame: each header is checked
 *     (cw_frame_head: CW_HEADER_SIZE bytes, the frame's size from them), its checksum verified
 *     (cw_frame_verify) and its payload decoded as the message it names; the stream ends at a
 *     header error or a frame cut short (a schema without a frame skips this);
 *   - as a bare payload: the first byte picks a message, the one at index (byte mod count) of
 *     the messages sorted by id (with ids 0..count-1, the byte is the id), the rest is its
 *     payload. The Rust loop (peers/rust/src/bin/cw-fuzz.rs) reads inputs the same way, so a
 *     regression file of either means the same to both.
 *
 * Properties, each an abort() when broken (libFuzzer then keeps the input as a crash file):
 *   - no crash and no sanitizer report (build with -fsanitize=fuzzer,address,undefined);
 *   - a failed decode is a typed error: "decode <code> <path> ..." with a code of
 *     PEER_CONTRACT.md, the path under "frame" for a header, under the message for a payload;
 *   - a decode that succeeds encodes back to the very same bytes (a message with extension
 *     fields or trimmed zeros: to bytes that decode to the same value), and a frame whose
 *     header and checksum pass is rebuilt by cw_frame_write to the very same bytes;
 *   - cw_wire_to_text agrees with the decode (same success, same error), and its text goes
 *     back through cw_text_to_wire to the very same bytes.
 *
 * Memory: nothing is allocated per input but what cw_wire_to_text and cw_text_to_wire allocate
 * themselves (one value struct each, freed before they return; a trimmed payload's copy). The
 * value decoded here sits at
 * the very end of a static buffer of CW_MAX_VALUE_SIZE bytes (the largest message struct), so a
 * write past its struct runs into ASan's redzone after the buffer; it is filled with a pattern
 * first, so a decoder that leaves a field unwritten shows up as other bytes on re-encoding.
 * (A malloc of the struct per input would be as strict, and three times slower under ASan.)
 *
 * Built with -DCW_FUZZ_MAIN, it is a plain program without libFuzzer that runs each file named
 * on its command line once: the regression replay where clang's libFuzzer runtime is missing.
 */
#include "cw_schema.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static union {
    max_align_t align;
    unsigned char bytes[CW_MAX_VALUE_SIZE];
} slab;                                  /* the decoded value, at its end */
static uint8_t again[CW_MAX_PAYLOAD];   /* a decoded value encoded again */
static uint8_t via_text[CW_MAX_PAYLOAD]; /* the same value, through its text form */
static char text[CW_MAX_TEXT];
static char text2[CW_MAX_TEXT];
static uint8_t rebuilt[CW_FRAME_MAX];   /* a frame written again from its header's values */
static const cw_message_info *by_id[CW_MESSAGE_COUNT]; /* the messages sorted by id */

/* Reports a broken property with the message and the detail, then aborts. */
static void broken(const char *what, const cw_message_info *m, const char *detail) {
    fprintf(stderr, "fuzz_decode: %s (message %s): %s\n", what, m ? m->name : "-", detail ? detail : "");
    abort();
}

/* The codes of PEER_CONTRACT.md "Errors" for decode errors. */
static int known_code(const char *code, size_t n) {
    static const char *const codes[] = {"const", "type", "length", "checksum", "truncated", "trailing", "bool",
                                        "enum", "flags", "char", "utf8", "bigint", "padding", "union"};
    size_t i;
    for (i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strlen(codes[i]) == n && memcmp(codes[i], code, n) == 0) return 1;
    return 0;
}

/* Requires err to be "decode <code> <path> ..." with a known code and a path that is `root`
 * or starts with it followed by '.' or '['. */
static void require_typed(const char *err, const char *root, const cw_message_info *m) {
    const char *code, *path, *end;
    size_t n = strlen(root);
    if (strncmp(err, "decode ", 7) != 0) broken("not a decode error", m, err);
    code = err + 7;
    if ((path = strchr(code, ' ')) == NULL || !known_code(code, (size_t)(path - code)))
        broken("an unknown decode code", m, err);
    path++;
    end = strchr(path, ' ');
    if (end == NULL) end = path + strlen(path);
    if ((size_t)(end - path) < n || memcmp(path, root, n) != 0 ||
        ((size_t)(end - path) > n && path[n] != '.' && path[n] != '['))
        broken("an error path outside its root", m, err);
}

/* Decodes payload[0..len) as message m and checks every property on the result. Returns 1 if
 * it decoded. */
static int check_payload(const cw_message_info *m, const uint8_t *payload, size_t len) {
    cw_ctx c;
    void *value = slab.bytes + sizeof slab.bytes - m->size; /* aligned: both are multiples of its alignment */
    char err[CW_ERR_MAX];
    size_t n = 0, tn = 0;
    int ok, text_rc;

    if (m->size > sizeof slab.bytes) broken("a message struct larger than CW_MAX_VALUE_SIZE", m, NULL);
    memset(value, 0xA5, m->size);
    ok = cw_decode_message(m, payload, len, value, &c) == 0;
    text_rc = cw_wire_to_text(m->name, payload, len, text, sizeof text, err, sizeof err);
    if (!ok) {
        require_typed(c.err, m->name, m);
        if (text_rc == 0) broken("cw_wire_to_text decoded what cw_decode_message refused", m, c.err);
        if (strcmp(err, c.err) != 0) broken("cw_wire_to_text gave another error", m, err);
        return 0;
    }
    if (text_rc != 0) broken("cw_wire_to_text refused what cw_decode_message decoded", m, err);
    if (cw_encode_message(m, value, again, sizeof again, &n, &c) != 0) broken("a decoded value does not encode", m, c.err);
    if (m->newest > 1 || m->sizes != NULL) {     /* defaults filled in, zeros trimmed: the same value */
        if (cw_wire_to_text(m->name, again, n, text2, sizeof text2, err, sizeof err) != 0 || strcmp(text, text2) != 0)
            broken("decode then encode changed the value", m, text);
        len = n;
        payload = again;
    } else if (n != len || memcmp(again, payload, len) != 0) {
        broken("decode then encode changed the bytes", m, NULL);
    }
    if (cw_format_message(m, value, text2, sizeof text2, &tn, &c) != 0) broken("a decoded value does not format", m, c.err);
    if (strcmp(text, text2) != 0) broken("cw_wire_to_text and cw_format_message disagree", m, text);
    if (cw_text_to_wire(m->name, text, via_text, sizeof via_text, &n, err, sizeof err) != 0)
        broken("the text of a decoded value does not encode", m, err);
    if (n != len || memcmp(via_text, payload, len) != 0) broken("wire -> text -> wire changed the bytes", m, text);
    return 1;
}

/* Reads data[0..size) as frames back to back. */
static void check_frames(const uint8_t *data, size_t size) {
    while (CW_FRAME && size >= CW_HEADER_SIZE) {
        cw_head h;
        cw_ctx c;
        size_t n;
        if (cw_frame_head(data, CW_EITHER, &h, &c) != 0) {
            require_typed(c.err, "frame", NULL);
            return;
        }
        if (h.msg == NULL || h.payload_len > CW_MAX_PAYLOAD || h.size != CW_HEADER_SIZE + h.payload_len + CW_TRAILER_SIZE)
            broken("cw_frame_head passed a bad header", h.msg, NULL);
        if (size < h.size) return;   /* cut short */
        if (cw_frame_verify(data, &h, &c) != 0) {
            require_typed(c.err, "frame", h.msg);
        } else {
            memset(rebuilt, 0xA5, h.size);      /* the payload alone, the rest written again */
            memcpy(rebuilt + CW_HEADER_SIZE, data + CW_HEADER_SIZE, h.payload_len);
            n = cw_frame_write(rebuilt, h.msg, h.payload_len, h.seq, h.plain);
            if (n != h.size || memcmp(rebuilt, data, n) != 0) broken("a checked frame is not rebuilt as it was", h.msg, NULL);
            check_payload(h.msg, data + CW_HEADER_SIZE, h.payload_len);
        }
        data += h.size;
        size -= h.size;
    }
}

static int by_id_order(const void *a, const void *b) {
    const cw_message_info *x = *(const cw_message_info *const *)a, *y = *(const cw_message_info *const *)b;
    return x->id != y->id ? (x->id > y->id) - (x->id < y->id) : (x > y) - (x < y);   /* ties: schema order */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t i;
    if (by_id[0] == NULL) {
        for (i = 0; i < CW_MESSAGE_COUNT; i++) by_id[i] = &cw_messages[i];
        qsort(by_id, CW_MESSAGE_COUNT, sizeof by_id[0], by_id_order);
    }
    check_frames(data, size);
    if (size >= 1) check_payload(by_id[data[0] % CW_MESSAGE_COUNT], data + 1, size - 1);
    return 0;
}

#ifdef CW_FUZZ_MAIN
/* Runs each file named on the command line once; exits non-zero if one cannot be read. */
int main(int argc, char **argv) {
    int i;
    for (i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        uint8_t *buf;
        long n;
        if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
            perror(argv[i]);
            return 2;
        }
        if ((buf = malloc((size_t)n + 1)) == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
            perror(argv[i]);
            return 2;
        }
        fclose(f);
        LLVMFuzzerTestOneInput(buf, (size_t)n);
        free(buf);
        printf("ran %s (%ld bytes)\n", argv[i], n);
    }
    printf("fuzz_decode: %d inputs, no failure\n", argc - 1);
    return 0;
}
#endif
