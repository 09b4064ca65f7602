/* adapter.c -- the libmodbus adapter: Modbus TCP frames (ADUs) written and read by libmodbus
 * itself (Debian's libmodbus-dev, 3.1.x), through its public API only.
 *
 * libmodbus does I/O, not codecs: it writes an ADU to a socket and reads one from it. So every
 * call here runs libmodbus over one end of a socketpair and reads or writes the other end:
 *
 *   - a request is encoded by the client call that sends it (modbus_read_bits, modbus_read_registers,
 *     modbus_write_register, modbus_write_registers): the ADU it writes is the frame. The call
 *     then waits for a response that never comes (a 1 ms response timeout);
 *   - a response is encoded by the server: modbus_reply (or modbus_reply_exception) answering the
 *     request it answers, from a modbus_mapping_t holding the value;
 *   - a request is decoded by the server: modbus_receive reads it, modbus_reply serves it (an
 *     exception reply means libmodbus refuses it); written values are read back from the mapping;
 *   - a response is decoded by the client: the call whose request it answers reads it, checks it
 *     against that request (check_confirmation) and unpacks it.
 *
 * The transaction id (the frame's seq): libmodbus numbers its requests itself (a counter per
 * context, from 1; no API sets it). So a request's ADU gets the harness's seq written over
 * libmodbus's, and a response is handed to the client with the transaction id of the request
 * libmodbus sent (1: each call has a fresh context). Everything else is libmodbus's bytes.
 * libmodbus sizes an ADU by its function code and byte count, not by the MBAP length: a frame
 * it reads short or long is an error here, naming both lengths.
 */
#include "cw_adapter.h"

#include <errno.h>
#include <fcntl.h>
#include <modbus/modbus.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TID_LIBMODBUS 1         /* the transaction id of a fresh context's first request */
#define MBAP 7                  /* transaction id, protocol id, length, unit id */

static int fds[2] = {-1, -1};   /* fds[0]: libmodbus's end; fds[1]: ours, non-blocking */
static modbus_mapping_t *mapping;   /* a server's data: 65536 coils and 65536 registers */
static uint8_t bits[MODBUS_MAX_READ_BITS];

/* ------------------------------------------------------------------ the socketpair */

static int setup(cw_ctx *c) {
    if (fds[0] >= 0) return 0;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) return cw_adapter_fail(c, "socketpair: %s", strerror(errno));
    if (fcntl(fds[1], F_SETFL, O_NONBLOCK) != 0) return cw_adapter_fail(c, "fcntl: %s", strerror(errno));
    mapping = modbus_mapping_new(65536, 0, 65536, 0);
    if (mapping == NULL) return cw_adapter_fail(c, "modbus_mapping_new: %s", modbus_strerror(errno));
    return 0;
}

/* Everything waiting on fd (non-blocking) into out[0..cap); the count. */
static size_t take(int fd, uint8_t *out, size_t cap) {
    size_t n = 0;
    ssize_t r;
    while (n < cap && (r = recv(fd, out + n, cap - n, MSG_DONTWAIT)) > 0) n += (size_t)r;
    return n;
}

static void flush_both(void) {
    uint8_t junk[512];
    while (take(fds[0], junk, sizeof junk) > 0) {}
    while (take(fds[1], junk, sizeof junk) > 0) {}
}

/* A fresh context on libmodbus's end (transaction ids from 1), unit `unit`, short timeouts. */
static modbus_t *context(int unit, cw_ctx *c) {
    modbus_t *ctx;
    if (setup(c)) return NULL;
    flush_both();
    ctx = modbus_new_tcp("127.0.0.1", 502);
    if (ctx == NULL) {
        cw_adapter_fail(c, "modbus_new_tcp: %s", modbus_strerror(errno));
        return NULL;
    }
    if (modbus_set_socket(ctx, fds[0]) != 0 || modbus_set_response_timeout(ctx, 0, 1000) != 0 ||
        modbus_set_indication_timeout(ctx, 0, 200000) != 0 || modbus_set_byte_timeout(ctx, 0, 200000) != 0) {
        cw_adapter_fail(c, "setting up the context: %s", modbus_strerror(errno));
        modbus_free(ctx);
        return NULL;
    }
    if (modbus_set_slave(ctx, unit) != 0) {
        cw_adapter_fail(c, "modbus_set_slave(%d): %s (libmodbus takes unit ids 0..247 and 255 over TCP)", unit,
                        modbus_strerror(errno));
        modbus_free(ctx);
        return NULL;
    }
    return ctx;
}

static int done(modbus_t *ctx, int rc) {
    modbus_free(ctx);           /* not modbus_close: the socket is ours */
    return rc;
}

/* ------------------------------------------------------------------ encoding */

/* The ADU libmodbus wrote (a request, after a client call `rc` and its errno; a response after
 * modbus_reply) into out, with transaction id `tid` when tid >= 0. A client call times out
 * waiting for the response, which is expected; any other failure is libmodbus's refusal. */
static int written(modbus_t *ctx, int rc, const char *call, long tid, uint8_t *out, size_t cap, size_t *out_len,
                   cw_ctx *c) {
    int saved = errno;
    size_t n = take(fds[1], out, cap);
    if (n == 0) {
        cw_adapter_fail(c, "%s wrote nothing: %s", call, rc < 0 ? modbus_strerror(saved) : "no error");
        return done(ctx, -1);
    }
    if (rc < 0 && saved != ETIMEDOUT) {
        cw_adapter_fail(c, "%s: %s", call, modbus_strerror(saved));
        return done(ctx, -1);
    }
    if (tid >= 0 && n >= 2) {
        out[0] = (uint8_t)(tid >> 8);
        out[1] = (uint8_t)tid;
    }
    *out_len = n;
    return done(ctx, 0);
}

/* A response to the request that asks for it: modbus_reply from the mapping. An exception
 * reply where a normal one was wanted is libmodbus refusing the value. */
static int reply(modbus_t *ctx, const uint8_t *req, int req_len, uint8_t *out, size_t cap, size_t *out_len,
                 cw_ctx *c) {
    int rc = modbus_reply(ctx, req, req_len, mapping);
    if (written(ctx, rc < 0 ? -1 : 0, "modbus_reply", -1, out, cap, out_len, c)) return -1;
    if (*out_len > MBAP && out[MBAP] != req[MBAP]) {
        return cw_adapter_fail(c, "libmodbus answers this with exception %u (%s)", out[MBAP + 1],
                               modbus_strerror((int)MODBUS_ENOBASE + out[MBAP + 1]));
    }
    return 0;
}

/* The request a response answers, as a client sends it: transaction id seq, unit, function,
 * address, count (and for 0x10 the byte count and zero values). Its length. */
static int request(uint8_t *req, uint64_t seq, uint64_t unit, int function, unsigned address, unsigned count) {
    int n = 12, i;
    req[0] = (uint8_t)(seq >> 8);
    req[1] = (uint8_t)seq;
    req[2] = req[3] = 0;
    req[6] = (uint8_t)unit;
    req[7] = (uint8_t)function;
    req[8] = (uint8_t)(address >> 8);
    req[9] = (uint8_t)address;
    req[10] = (uint8_t)(count >> 8);
    req[11] = (uint8_t)count;
    if (function == MODBUS_FC_WRITE_MULTIPLE_REGISTERS) {
        req[n++] = (uint8_t)(2 * count);
        for (i = 0; i < (int)(2 * count) && n < MODBUS_TCP_MAX_ADU_LENGTH; i++) req[n++] = 0;
    }
    req[4] = (uint8_t)((n - 6) >> 8);
    req[5] = (uint8_t)(n - 6);
    return n;
}

/* An exception response: modbus_reply_exception to a request of `function`. */
static int exception(int function, unsigned code, uint64_t seq, const uint64_t *header, uint8_t *out, size_t cap,
                     size_t *out_len, cw_ctx *c) {
    uint8_t req[MODBUS_TCP_MAX_ADU_LENGTH];
    modbus_t *ctx = context(0, c);
    if (ctx == NULL) return -1;
    request(req, seq, header[0], function, 0, 1);
    if (modbus_reply_exception(ctx, req, code) < 0) {
        cw_adapter_fail(c, "modbus_reply_exception(%u): %s (libmodbus sends codes below %d)", code,
                        modbus_strerror(errno), (int)MODBUS_EXCEPTION_MAX);
        return done(ctx, -1);
    }
    return written(ctx, 0, "modbus_reply_exception", -1, out, cap, out_len, c);
}

/* ------------------------------------------------------------------ decoding */

/* Hands the frame to libmodbus's end with transaction id `tid` (>= 0) instead of its own. */
static int feed(const uint8_t *frame, size_t len, long tid, cw_ctx *c) {
    uint8_t copy[MODBUS_TCP_MAX_ADU_LENGTH + 8];
    if (len > sizeof copy) return cw_adapter_fail(c, "a frame of %zu bytes", len);
    memcpy(copy, frame, len);
    if (tid >= 0) {
        copy[0] = (uint8_t)(tid >> 8);
        copy[1] = (uint8_t)tid;
    }
    if (send(fds[1], copy, len, MSG_NOSIGNAL) != (ssize_t)len) return cw_adapter_fail(c, "send: %s", strerror(errno));
    return 0;
}

/* After libmodbus read a frame of `len` bytes: what it left unread is an error. */
static int all_read(size_t len, cw_ctx *c) {
    uint8_t rest[MODBUS_TCP_MAX_ADU_LENGTH];
    size_t left = take(fds[0], rest, sizeof rest);
    if (left > 0)
        return cw_adapter_fail(c, "libmodbus read %zu of the frame's %zu bytes (it sizes an ADU by its function "
                               "code and byte count, not by the MBAP length)", len - left, len);
    return 0;
}

/* A request, as the server reads and serves it: modbus_receive, then modbus_reply from the
 * mapping; the request libmodbus read into req (its length in *req_len), the reply into rsp. */
static int serve(const uint8_t *frame, size_t len, uint8_t *req, int *req_len, uint8_t *rsp, size_t *rsp_len,
                 cw_ctx *c) {
    modbus_t *ctx = context(0, c);
    int rc;
    if (ctx == NULL) return -1;
    if (feed(frame, len, -1, c)) return done(ctx, -1);
    rc = modbus_receive(ctx, req);
    if (rc < 0) {
        cw_adapter_fail(c, "modbus_receive: %s%s", modbus_strerror(errno),
                        errno == ETIMEDOUT ? " (libmodbus waits for more bytes than the frame has)" : "");
        return done(ctx, -1);
    }
    *req_len = rc;
    if (all_read(len, c)) return done(ctx, -1);
    return reply(ctx, req, rc, rsp, MODBUS_TCP_MAX_ADU_LENGTH, rsp_len, c);
}

/* A response, as the client that sent the matching request reads it: the client call runs with
 * the frame waiting, its transaction id the client's own. `call` is the result of the call. */
static modbus_t *client(const uint8_t *frame, size_t len, cw_ctx *c) {
    modbus_t *ctx = context(0, c);
    if (ctx == NULL) return NULL;
    if (modbus_set_response_timeout(ctx, 0, 200000) != 0 || feed(frame, len, TID_LIBMODBUS, c)) {
        if (c->state == CW_OK) cw_adapter_fail(c, "modbus_set_response_timeout: %s", modbus_strerror(errno));
        done(ctx, -1);
        return NULL;
    }
    return ctx;
}

static int client_done(modbus_t *ctx, int rc, const char *call, size_t len, cw_ctx *c) {
    int saved = errno;
    uint8_t sent[MODBUS_TCP_MAX_ADU_LENGTH];
    take(fds[1], sent, sizeof sent);            /* the request libmodbus sent */
    if (rc < 0) {
        cw_adapter_fail(c, "%s: %s", call, modbus_strerror(saved));
        return done(ctx, -1);
    }
    if (all_read(len, c)) return done(ctx, -1);
    return done(ctx, 0);
}

/* An exception response as the client of `function` reads it: the call fails with errno
 * MODBUS_ENOBASE + the code. */
static int client_exception(const uint8_t *frame, size_t len, int function, uint8_t *code, cw_ctx *c) {
    uint16_t reg[1] = {0};
    modbus_t *ctx = client(frame, len, c);
    int rc, saved;
    if (ctx == NULL) return -1;
    rc = function == MODBUS_FC_READ_COILS ? modbus_read_bits(ctx, 0, 1, bits)
       : function == MODBUS_FC_READ_HOLDING_REGISTERS ? modbus_read_registers(ctx, 0, 1, reg)
       : function == MODBUS_FC_WRITE_SINGLE_REGISTER ? modbus_write_register(ctx, 0, 0)
                                                   : modbus_write_registers(ctx, 0, 1, reg);
    saved = errno;
    take(fds[1], bits, sizeof bits);
    if (rc >= 0) {
        cw_adapter_fail(c, "libmodbus took the exception for a normal response");
        return done(ctx, -1);
    }
    if (saved < (int)MODBUS_ENOBASE || saved >= (int)MODBUS_ENOBASE + MODBUS_EXCEPTION_MAX) {
        cw_adapter_fail(c, "not an exception libmodbus reports: %s", modbus_strerror(saved));
        return done(ctx, -1);
    }
    *code = (uint8_t)(saved - (int)MODBUS_ENOBASE);
    if (all_read(len, c)) return done(ctx, -1);
    return done(ctx, 0);
}

static unsigned u16_at(const uint8_t *p) { return (unsigned)p[0] << 8 | p[1]; }

/* ------------------------------------------------------------------ 0x01 Read Coils */

int adapter_encode_ReadCoilsRequest(const cw_ReadCoilsRequest *v, uint64_t seq, const uint64_t *header,
                                    uint8_t *out, size_t cap, size_t *out_len, cw_ctx *c)
{
    modbus_t *ctx = context((int)header[0], c);
    int rc;
    if (ctx == NULL) return -1;
    rc = modbus_read_bits(ctx, v->starting_address, v->quantity, bits);
    return written(ctx, rc, "modbus_read_bits", (long)seq, out, cap, out_len, c);
}

int adapter_decode_ReadCoilsRequest(const uint8_t *frame, size_t len, cw_ReadCoilsRequest *v, cw_ctx *c)
{
    uint8_t req[MODBUS_TCP_MAX_ADU_LENGTH], rsp[MODBUS_TCP_MAX_ADU_LENGTH];
    int req_len = 0;
    size_t rsp_len = 0;
    if (serve(frame, len, req, &req_len, rsp, &rsp_len, c)) return -1;
    v->starting_address = (uint16_t)u16_at(req + MBAP + 1);
    v->quantity = (uint16_t)u16_at(req + MBAP + 3);
    return 0;
}

int adapter_encode_ReadCoilsResponse(const cw_ReadCoilsResponse *v, uint64_t seq, const uint64_t *header,
                                     uint8_t *out, size_t cap, size_t *out_len, cw_ctx *c)
{
    uint8_t req[MODBUS_TCP_MAX_ADU_LENGTH];
    unsigned nb = 8 * v->coil_status.len;
    modbus_t *ctx = context(0, c);
    if (ctx == NULL) return -1;
    modbus_set_bits_from_bytes(mapping->tab_bits, 0, nb, v->coil_status.data);
    return reply(ctx, req, request(req, seq, header[0], MODBUS_FC_READ_COILS, 0, nb), out, cap, out_len, c);
}

int adapter_decode_ReadCoilsResponse(const uint8_t *frame, size_t len, cw_ReadCoilsResponse *v, cw_ctx *c)
{
    int nb = len > MBAP + 1 ? 8 * frame[MBAP + 1] : 0, i, rc;
    modbus_t *ctx = client(frame, len, c);
    if (ctx == NULL) return -1;
    rc = modbus_read_bits(ctx, 0, nb, bits);
    if (client_done(ctx, rc, "modbus_read_bits", len, c)) return -1;
    v->coil_status.len = (uint32_t)(nb / 8);
    for (i = 0; i < nb; i++)
        if (bits[i]) v->coil_status.data[i / 8] |= (uint8_t)(1u << (i % 8));
    return 0;
}

int adapter_encode_ReadCoilsException(const cw_ReadCoilsException *v, uint64_t seq, const uint64_t *header,
                                      uint8_t *out, size_t cap, size_t *out_len, cw_ctx *c)
{
    return exception(MODBUS_FC_READ_COILS, v->exception_code, seq, header, out, cap, out_len, c);
}

int adapter_decode_ReadCoilsException(const uint8_t *frame, size_t len, cw_ReadCoilsException *v, cw_ctx *c)
{
    return client_exception(frame, len, MODBUS_FC_READ_COILS, &v->exception_code, c);
}

/* ------------------------------------------------------------------ 0x03 Read Holding Registers */

int adapter_encode_ReadHoldingRegistersRequest(const cw_ReadHoldingRegistersRequest *v, uint64_t seq,
                                               const uint64_t *header, uint8_t *out, size_t cap, size_t *out_len,
                                               cw_ctx *c)
{
    uint16_t regs[MODBUS_MAX_READ_REGISTERS];
    modbus_t *ctx = context((int)header[0], c);
    int rc;
    if (ctx == NULL) return -1;
    rc = modbus_read_registers(ctx, v->starting_address, v->quantity, regs);
    return written(ctx, rc, "modbus_read_registers", (long)seq, out, cap, out_len, c);
}

int adapter_decode_ReadHoldingRegistersRequest(const uint8_t *frame, size_t len, cw_ReadHoldingRegistersRequest *v,
                                               cw_ctx *c)
{
    uint8_t req[MODBUS_TCP_MAX_ADU_LENGTH], rsp[MODBUS_TCP_MAX_ADU_LENGTH];
    int req_len = 0;
    size_t rsp_len = 0;
    if (serve(frame, len, req, &req_len, rsp, &rsp_len, c)) return -1;
    v->starting_address = (uint16_t)u16_at(req + MBAP + 1);
    v->quantity = (uint16_t)u16_at(req + MBAP + 3);
    return 0;
}

int adapter_encode_ReadHoldingRegistersResponse(const cw_ReadHoldingRegistersResponse *v, uint64_t seq,
                                                const uint64_t *header, uint8_t *out, size_t cap, size_t *out_len,
                                                cw_ctx *c)
{
    uint8_t req[MODBUS_TCP_MAX_ADU_LENGTH];
    modbus_t *ctx = context(0, c);
    uint32_t i;
    if (ctx == NULL) return -1;
    for (i = 0; i < v->registers.count; i++) mapping->tab_registers[i] = v->registers.items[i];
    return reply(ctx, req, request(req, seq, header[0], MODBUS_FC_READ_HOLDING_REGISTERS, 0, v->registers.count), out,
                 cap, out_len, c);
}

int adapter_decode_ReadHoldingRegistersResponse(const uint8_t *frame, size_t len, cw_ReadHoldingRegistersResponse *v,
                                                cw_ctx *c)
{
    int nb = len > MBAP + 1 ? frame[MBAP + 1] / 2 : 0, rc;
    modbus_t *ctx = client(frame, len, c);
    if (ctx == NULL) return -1;
    rc = modbus_read_registers(ctx, 0, nb, v->registers.items);
    if (client_done(ctx, rc, "modbus_read_registers", len, c)) return -1;
    v->registers.count = (uint32_t)rc;
    return 0;
}

int adapter_encode_ReadHoldingRegistersException(const cw_ReadHoldingRegistersException *v, uint64_t seq,
                                                 const uint64_t *header, uint8_t *out, size_t cap, size_t *out_len,
                                                 cw_ctx *c)
{
    return exception(MODBUS_FC_READ_HOLDING_REGISTERS, v->exception_code, seq, header, out, cap, out_len, c);
}

int adapter_decode_ReadHoldingRegistersException(const uint8_t *frame, size_t len,
                                                 cw_ReadHoldingRegistersException *v, cw_ctx *c)
{
    return client_exception(frame, len, MODBUS_FC_READ_HOLDING_REGISTERS, &v->exception_code, c);
}

/* ------------------------------------------------------------------ 0x06 Write Single Register */

int adapter_encode_WriteSingleRegisterRequest(const cw_WriteSingleRegisterRequest *v, uint64_t seq,
                                              const uint64_t *header, uint8_t *out, size_t cap, size_t *out_len,
                                              cw_ctx *c)
{
    modbus_t *ctx = context((int)header[0], c);
    int rc;
    if (ctx == NULL) return -1;
    rc = modbus_write_register(ctx, v->address, v->value);
    return written(ctx, rc, "modbus_write_register", (long)seq, out, cap, out_len, c);
}

int adapter_decode_WriteSingleRegisterRequest(const uint8_t *frame, size_t len, cw_WriteSingleRegisterRequest *v,
                                              cw_ctx *c)
{
    uint8_t req[MODBUS_TCP_MAX_ADU_LENGTH], rsp[MODBUS_TCP_MAX_ADU_LENGTH];
    int req_len = 0;
    size_t rsp_len = 0;
    if (serve(frame, len, req, &req_len, rsp, &rsp_len, c)) return -1;
    v->address = (uint16_t)u16_at(rsp + MBAP + 1);              /* the reply's echo */
    v->value = mapping->tab_registers[v->address];              /* what libmodbus wrote */
    return 0;
}

int adapter_encode_WriteSingleRegisterResponse(const cw_WriteSingleRegisterResponse *v, uint64_t seq,
                                               const uint64_t *header, uint8_t *out, size_t cap, size_t *out_len,
                                               cw_ctx *c)
{
    uint8_t req[MODBUS_TCP_MAX_ADU_LENGTH];
    modbus_t *ctx = context(0, c);
    if (ctx == NULL) return -1;
    return reply(ctx, req, request(req, seq, header[0], MODBUS_FC_WRITE_SINGLE_REGISTER, v->address, v->value), out,
                 cap, out_len, c);
}

int adapter_decode_WriteSingleRegisterResponse(const uint8_t *frame, size_t len, cw_WriteSingleRegisterResponse *v,
                                               cw_ctx *c)
{
    int whole = len >= MBAP + 5;
    unsigned address = whole ? u16_at(frame + MBAP + 1) : 0, value = whole ? u16_at(frame + MBAP + 3) : 0;
    modbus_t *ctx = client(frame, len, c);
    int rc;
    if (ctx == NULL) return -1;
    rc = modbus_write_register(ctx, (int)address, (uint16_t)value);
    if (client_done(ctx, rc, "modbus_write_register", len, c)) return -1;
    /* libmodbus checks the echo's length only and returns no value: the fields are the echo's */
    v->address = (uint16_t)address;
    v->value = (uint16_t)value;
    return 0;
}

int adapter_encode_WriteSingleRegisterException(const cw_WriteSingleRegisterException *v, uint64_t seq,
                                                const uint64_t *header, uint8_t *out, size_t cap, size_t *out_len,
                                                cw_ctx *c)
{
    return exception(MODBUS_FC_WRITE_SINGLE_REGISTER, v->exception_code, seq, header, out, cap, out_len, c);
}

int adapter_decode_WriteSingleRegisterException(const uint8_t *frame, size_t len, cw_WriteSingleRegisterException *v,
                                                cw_ctx *c)
{
    return client_exception(frame, len, MODBUS_FC_WRITE_SINGLE_REGISTER, &v->exception_code, c);
}

/* ------------------------------------------------------------------ 0x10 Write Multiple Registers */

int adapter_encode_WriteMultipleRegistersRequest(const cw_WriteMultipleRegistersRequest *v, uint64_t seq,
                                                 const uint64_t *header, uint8_t *out, size_t cap, size_t *out_len,
                                                 cw_ctx *c)
{
    modbus_t *ctx = context((int)header[0], c);
    int rc;
    if (ctx == NULL) return -1;
    rc = modbus_write_registers(ctx, v->starting_address, (int)v->values.count, v->values.items);
    return written(ctx, rc, "modbus_write_registers", (long)seq, out, cap, out_len, c);
}

int adapter_decode_WriteMultipleRegistersRequest(const uint8_t *frame, size_t len,
                                                 cw_WriteMultipleRegistersRequest *v, cw_ctx *c)
{
    uint8_t req[MODBUS_TCP_MAX_ADU_LENGTH], rsp[MODBUS_TCP_MAX_ADU_LENGTH];
    int req_len = 0;
    size_t rsp_len = 0;
    unsigned i, address, nb;
    if (serve(frame, len, req, &req_len, rsp, &rsp_len, c)) return -1;
    address = u16_at(rsp + MBAP + 1);                           /* the reply's echo */
    nb = u16_at(rsp + MBAP + 3);
    v->starting_address = (uint16_t)address;
    v->values.count = nb;
    for (i = 0; i < nb && i < 123; i++) v->values.items[i] = mapping->tab_registers[address + i];   /* as written */
    return 0;
}

int adapter_encode_WriteMultipleRegistersResponse(const cw_WriteMultipleRegistersResponse *v, uint64_t seq,
                                                  const uint64_t *header, uint8_t *out, size_t cap, size_t *out_len,
                                                  cw_ctx *c)
{
    uint8_t req[MODBUS_TCP_MAX_ADU_LENGTH + 300];
    modbus_t *ctx = context(0, c);
    if (ctx == NULL) return -1;
    if (v->quantity > MODBUS_MAX_WRITE_REGISTERS) {
        cw_adapter_fail(c, "no request of %u registers reaches modbus_reply: libmodbus writes at most %d",
                        (unsigned)v->quantity, MODBUS_MAX_WRITE_REGISTERS);
        return done(ctx, -1);
    }
    return reply(ctx, req, request(req, seq, header[0], MODBUS_FC_WRITE_MULTIPLE_REGISTERS, v->starting_address,
                                   v->quantity), out, cap, out_len, c);
}

int adapter_decode_WriteMultipleRegistersResponse(const uint8_t *frame, size_t len,
                                                  cw_WriteMultipleRegistersResponse *v, cw_ctx *c)
{
    static const uint16_t zeros[MODBUS_MAX_WRITE_REGISTERS];
    int whole = len >= MBAP + 5;
    unsigned address = whole ? u16_at(frame + MBAP + 1) : 0, nb = whole ? u16_at(frame + MBAP + 3) : 0;
    modbus_t *ctx = client(frame, len, c);
    int rc;
    if (ctx == NULL) return -1;
    rc = modbus_write_registers(ctx, (int)address, (int)nb, zeros);
    if (client_done(ctx, rc, "modbus_write_registers", len, c)) return -1;
    v->starting_address = (uint16_t)address;    /* libmodbus checks the quantity, not the address */
    v->quantity = (uint16_t)rc;
    return 0;
}

int adapter_encode_WriteMultipleRegistersException(const cw_WriteMultipleRegistersException *v, uint64_t seq,
                                                   const uint64_t *header, uint8_t *out, size_t cap, size_t *out_len,
                                                   cw_ctx *c)
{
    return exception(MODBUS_FC_WRITE_MULTIPLE_REGISTERS, v->exception_code, seq, header, out, cap, out_len, c);
}

int adapter_decode_WriteMultipleRegistersException(const uint8_t *frame, size_t len,
                                                   cw_WriteMultipleRegistersException *v, cw_ctx *c)
{
    return client_exception(frame, len, MODBUS_FC_WRITE_MULTIPLE_REGISTERS, &v->exception_code, c);
}
