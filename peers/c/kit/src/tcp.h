/* tcp.h -- the TCP transport (PEER_CONTRACT.md, transport `tcp`): frames back to back on a TCP
 * stream, TCP_NODELAY on both ends. Addresses are `<host>:<port>`, host an IPv4 address in
 * dotted form or an IPv6 address in brackets (no names: nothing to resolve). Behind the
 * interface of transport.h.
 */
#ifndef CW_TCP_H
#define CW_TCP_H

#include "transport.h"

#define CW_TCP_MAX_ADDRESS 64   /* bytes of an address we write: "[" 45 "]:" 5, and a NUL */

/* LISTEN tcp <host>:<port>: binds (port 0: the kernel chooses) and listens; the address
 * really bound goes into bound[CW_TCP_MAX_ADDRESS]. 0 or -1. */
int cw_tcp_listen(const char *address, cw_listener **out, char *bound, cw_terr *e);

/* CONNECT tcp <host>:<port> <timeout_ms>: refused (nothing listening) fails at once. 0 or -1. */
int cw_tcp_connect(const char *address, uint64_t deadline, cw_conn **out, cw_terr *e);

#endif /* CW_TCP_H */
