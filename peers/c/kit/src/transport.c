/* transport.c -- what every transport shares (transport.h): the error helper, and the
 * connection over a stream socket that uds.c and tcp.c both hand out.
 */
#include "transport.h"
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cw_terr_set(cw_terr *e, const char *kind, const char *fmt, ...) {
    va_list ap;
    e->kind = kind;
    va_start(ap, fmt);
    vsnprintf(e->text, sizeof e->text, fmt, ap);
    va_end(ap);
    return -1;
}

/* ------------------------------------------------------------------ waits */

#define SLICE_MS 100    /* the longest poll() before a look at the harness (cw_harness_check) */

/* Milliseconds from now to deadline for poll(), rounded up; 0 once it has passed. */
static int ms_until(uint64_t deadline) {
    uint64_t now = cw_now_ns(), ms = now < deadline ? (deadline - now + 999999) / 1000000 : 0;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* poll() for one fd: >0 ready, 0 not yet (timeout or a signal), <0 an error. */
static int wait_for(int fd, short events, int ms) {
    struct pollfd p;
    memset(&p, 0, sizeof p);
    p.fd = fd;
    p.events = events;
    return poll(&p, 1, ms);
}

/* Waits until fd is ready for `events`: 0, or -1 after an `ERR timeout` naming `what` once
 * the deadline has passed. A passed deadline still gets one look without waiting, so that a
 * timeout of 0 takes what is already there. The wait is slices of at most SLICE_MS with a look
 * at the harness between them (after a slice, never before the first: no cost on a fast path). */
static int wait_until(int fd, short events, uint64_t deadline, const char *what, cw_terr *e) {
    int ms;
    if (wait_for(fd, events, 0) > 0) return 0;
    do {
        ms = ms_until(deadline);
        if (wait_for(fd, events, ms < SLICE_MS ? ms : SLICE_MS) > 0) return 0;
        cw_harness_check();
    } while (ms > 0);
    return cw_terr_set(e, "timeout", "%s", what);
}

/* Makes fd close-on-exec and non-blocking, and quiet on a closed peer where MSG_NOSIGNAL
 * does not exist. 0 or -1. */
static int prepare(int fd, cw_terr *e) {
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 || fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
        return cw_terr_set(e, "runtime", "fcntl: %s", strerror(errno));
#ifdef SO_NOSIGPIPE
    { int one = 1; setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one); }
#endif
    return 0;
}

int cw_sock_new(int domain, cw_terr *e) {
    int fd = socket(domain, SOCK_STREAM, 0);   /* no SOCK_CLOEXEC/SOCK_NONBLOCK: macOS lacks them */
    if (fd < 0) return cw_terr_set(e, "runtime", "socket: %s", strerror(errno));
    if (prepare(fd, e)) {
        close(fd);
        return -1;
    }
    return fd;
}

int cw_sock_connect(int fd, const struct sockaddr *sa, socklen_t len, uint64_t deadline, const char *name,
                    cw_terr *e) {
    char what[160];
    int err = 0;
    socklen_t elen = sizeof err;
    snprintf(what, sizeof what, "connecting to %s", name);
    while (connect(fd, sa, len) < 0) {
        if (errno == EAGAIN) {          /* Linux, Unix sockets: the backlog is full; retry until the deadline */
            int ms = ms_until(deadline);
            if (ms == 0) return cw_terr_set(e, "timeout", "%s", what);
            poll(NULL, 0, ms < 10 ? ms : 10);
            cw_harness_check();
            continue;
        }
        if (errno != EINPROGRESS && errno != EINTR)     /* nothing listening: at once */
            return cw_terr_set(e, "runtime", "connect to %s: %s", name, strerror(errno));
        if (wait_until(fd, POLLOUT, deadline, what, e)) return -1;     /* in progress: wait, ask */
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0) err = errno;
        if (err != 0) return cw_terr_set(e, "runtime", "connect to %s: %s", name, strerror(err));
        break;
    }
    return 0;
}

int cw_sock_accept(int lfd, uint64_t deadline, int *fd, cw_terr *e) {
    for (;;) {
        if (wait_until(lfd, POLLIN, deadline, "no connection to accept", e)) return -1;
        if ((*fd = accept(lfd, NULL, NULL)) >= 0) break;
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
            return cw_terr_set(e, "runtime", "accept: %s", strerror(errno));
    }
    if (prepare(*fd, e)) {
        close(*fd);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ the connection */

typedef struct sock_conn {
    cw_conn base;               /* first: a cw_conn * is a sock_conn * */
    int fd;
    int unix_socket;
    const char *no_credentials;
} sock_conn;

static long sock_read(cw_conn *c, uint8_t *buf, size_t cap, uint64_t deadline, cw_terr *e) {
    sock_conn *s = (sock_conn *)c;
    for (;;) {
        ssize_t n = read(s->fd, buf, cap);     /* what is there already, without a poll() first */
        if (n >= 0) return (long)n;
        if (errno == ECONNRESET) return 0;      /* the other side went (tcp: with bytes of ours unread) */
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return cw_terr_set(e, "runtime", "read: %s", strerror(errno));
        if (errno != EINTR && wait_until(s->fd, POLLIN, deadline, "waiting for bytes", e)) return -1;
    }
}

/* The contract gives SEND and ECHO no timeout; the harness's own timeout is the bound (and
 * a gone harness ends the wait: slices, with a look between them). */
static int sock_write(cw_conn *c, const uint8_t *buf, size_t len, cw_terr *e) {
    sock_conn *s = (sock_conn *)c;
    int flags = 0;
#ifdef MSG_NOSIGNAL
    flags = MSG_NOSIGNAL;
#endif
    while (len > 0) {
        ssize_t n = send(s->fd, buf, len, flags);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (wait_for(s->fd, POLLOUT, SLICE_MS) <= 0) cw_harness_check();
        } else if (n < 0 && errno != EINTR) {
            return cw_terr_set(e, "runtime", "write: %s", strerror(errno));
        }
    }
    return 0;
}

static void sock_close(cw_conn *c) {
    sock_conn *s = (sock_conn *)c;
    close(s->fd);
    free(s);
}

static int sock_peer_uid(cw_conn *c, uint32_t *uid, cw_terr *e) {
    sock_conn *s = (sock_conn *)c;
    if (!s->unix_socket) return cw_terr_set(e, "unsupported", "%s", s->no_credentials);
    if (cw_socket_peer_uid(s->fd, uid) != 0)
        return cw_terr_set(e, "runtime", "peer credentials: %s", strerror(errno));
    return 0;
}

static const cw_conn_ops SOCK_CONN = {sock_read, sock_write, sock_close, sock_peer_uid};

int cw_sock_conn(int fd, int unix_socket, const char *no_credentials, cw_conn **out, cw_terr *e) {
    sock_conn *s = malloc(sizeof *s);
    if (s == NULL) {
        close(fd);
        return cw_terr_set(e, "runtime", "out of memory");
    }
    s->base.ops = &SOCK_CONN;
    s->base.waits = 0;
    s->base.missed = 0;
    s->fd = fd;
    s->unix_socket = unix_socket;
    s->no_credentials = no_credentials;
    *out = &s->base;
    return 0;
}
