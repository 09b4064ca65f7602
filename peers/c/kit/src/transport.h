/* transport.h -- the one interface kit.c sees for every transport (uds.h, tcp.h, shm.h):
 *
 *   - a listener (after LISTEN) that accepts one connection before a deadline, and closes;
 *   - a connection (after CONNECT or ACCEPT) that reads what is there with a deadline, writes
 *     all of a buffer (waiting as long as the other side lives), and closes.
 *
 * Deadlines are cw_now_ns() values (platform.h); CW_NO_DEADLINE waits for ever. A function
 * that fails returns -1 and fills the cw_terr it was given with the contract's error kind
 * ("timeout", "runtime" or "unsupported") and a text; kit.c turns it into the `ERR` reply.
 *
 * The two socket transports (uds.c, tcp.c) share one connection over a stream socket and the
 * waits around it (the cw_sock_* functions at the end, in transport.c); they differ only in
 * their addresses and in what they know of the peer's credentials.
 */
#ifndef CW_TRANSPORT_H
#define CW_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CW_NO_DEADLINE UINT64_MAX
#define CW_TERR_MAX 256

typedef struct cw_terr {
    const char *kind;           /* "timeout", "runtime" or "unsupported" */
    char text[CW_TERR_MAX];
} cw_terr;

/* Fills e with kind and printf-style text. Returns -1. */
int cw_terr_set(cw_terr *e, const char *kind, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

typedef struct cw_conn cw_conn;
typedef struct cw_listener cw_listener;

typedef struct cw_conn_ops {
    /* Up to cap bytes into buf, waiting until some are there or the deadline passes (a passed
     * deadline still takes what is already there). Returns the count (> 0), 0 when the other
     * side closed or died and nothing is left to read, or -1 (kind "timeout" or "runtime"). */
    long (*read)(cw_conn *c, uint8_t *buf, size_t cap, uint64_t deadline, cw_terr *e);
    /* All of buf[0..len), waiting for room as long as the other side lives. 0 or -1. */
    int (*write)(cw_conn *c, const uint8_t *buf, size_t len, cw_terr *e);
    /* Ends the connection and frees c. */
    void (*close)(cw_conn *c);
    /* The uid of the process at the other end, as the kernel vouches for it. 0 or -1 (kind
     * "unsupported" where the transport has no credentials: tcp). */
    int (*peer_uid)(cw_conn *c, uint32_t *uid, cw_terr *e);
} cw_conn_ops;

struct cw_conn {
    const cw_conn_ops *ops;
    uint64_t waits;             /* times a read or write slept on an empty or full ring */
    uint64_t missed;            /* of those, sleeps that timed out on a wake-up owed (SHM.md) */
};

typedef struct cw_listener_ops {
    /* One connection into *out before the deadline. 0 or -1. */
    int (*accept)(cw_listener *l, uint64_t deadline, cw_conn **out, cw_terr *e);
    /* Ends the endpoint (removing its name) and frees l. */
    void (*close)(cw_listener *l);
} cw_listener_ops;

struct cw_listener {
    const cw_listener_ops *ops;
};

/* ------------------------------------------------------------------ stream sockets (uds, tcp)
 * Sockets are non-blocking, close-on-exec and quiet on a closed peer (MSG_NOSIGNAL, or
 * SO_NOSIGPIPE where that does not exist); every wait is a poll() with the time left to the
 * deadline, and a read first takes what is there without a poll(). */

/* A new stream socket of `domain` (AF_UNIX, AF_INET, AF_INET6), prepared. The fd, or -1. */
int cw_sock_new(int domain, cw_terr *e);

/* Connects the socket fd to sa: refused (nothing listening) fails at once, in progress is
 * waited for until the deadline, a full backlog (Linux, Unix sockets) is retried until then.
 * `name` says where to, for the error text. The fd stays open either way. 0 or -1. */
int cw_sock_connect(int fd, const struct sockaddr *sa, socklen_t len, uint64_t deadline, const char *name,
                    cw_terr *e);

/* One connection from the listening socket lfd before the deadline into *fd, prepared. 0 or -1. */
int cw_sock_accept(int lfd, uint64_t deadline, int *fd, cw_terr *e);

/* The connection over a connected, prepared stream socket fd (taken over: closed on failure).
 * `unix_socket`: the peer's uid can be asked of the kernel; otherwise peer_uid is "unsupported"
 * with `no_credentials` as its text. 0 or -1. */
int cw_sock_conn(int fd, int unix_socket, const char *no_credentials, cw_conn **out, cw_terr *e);

#endif /* CW_TRANSPORT_H */
