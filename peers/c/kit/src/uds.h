/* uds.h -- the Unix stream socket transport (PEER_CONTRACT.md, transport `uds`): frames back
 * to back on a SOCK_STREAM socket. Behind the interface of transport.h.
 */
#ifndef CW_UDS_H
#define CW_UDS_H

#include "transport.h"

#define CW_UDS_MAX_PATH 100     /* bytes of a socket path */

/* LISTEN uds <path>: binds (the file must not exist) and listens. 0 or -1. */
int cw_uds_listen(const char *path, cw_listener **out, cw_terr *e);

/* CONNECT uds <path> <timeout_ms>: nothing listening fails at once; a full backlog is
 * retried until the deadline. 0 or -1. */
int cw_uds_connect(const char *path, uint64_t deadline, cw_conn **out, cw_terr *e);

#endif /* CW_UDS_H */
