/* uds.c -- the Unix stream socket transport (uds.h). Sockets are non-blocking and every wait
 * is a poll() with the time left to the deadline. A listener unlinks its socket file on close.
 */
#include "uds.h"
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

typedef struct uds_conn {
    cw_conn base;               /* first: a cw_conn * is a uds_conn * */
    int fd;
} uds_conn;

typedef struct uds_listener {
    cw_listener base;
    int fd;
    char path[CW_UDS_MAX_PATH + 1];
} uds_listener;

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
 * timeout of 0 takes what is already there. */
static int wait_until(int fd, short events, uint64_t deadline, const char *what, cw_terr *e) {
    int ms;
    if (wait_for(fd, events, 0) > 0) return 0;
    do {
        ms = ms_until(deadline);
        if (wait_for(fd, events, ms) > 0) return 0;
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

/* A new Unix stream socket, prepared. The fd, or -1. */
static int new_socket(cw_terr *e) {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) return cw_terr_set(e, "runtime", "socket: %s", strerror(errno));
    if (prepare(fd, e)) {
        close(fd);
        return -1;
    }
    return fd;
}

static void address_of(const char *path, struct sockaddr_un *sa) {
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    memcpy(sa->sun_path, path, strlen(path));   /* at most CW_UDS_MAX_PATH < sizeof sun_path */
}

/* ------------------------------------------------------------------ connection */

static long uds_read(cw_conn *c, uint8_t *buf, size_t cap, uint64_t deadline, cw_terr *e) {
    uds_conn *u = (uds_conn *)c;
    for (;;) {
        ssize_t n = read(u->fd, buf, cap);     /* what is there already, without a poll() first */
        if (n >= 0) return (long)n;
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return cw_terr_set(e, "runtime", "read: %s", strerror(errno));
        if (errno != EINTR && wait_until(u->fd, POLLIN, deadline, "waiting for bytes", e)) return -1;
    }
}

/* The contract gives SEND and ECHO no timeout; the harness's own timeout is the bound. */
static int uds_write(cw_conn *c, const uint8_t *buf, size_t len, cw_terr *e) {
    uds_conn *u = (uds_conn *)c;
    int flags = 0;
#ifdef MSG_NOSIGNAL
    flags = MSG_NOSIGNAL;
#endif
    while (len > 0) {
        ssize_t n = send(u->fd, buf, len, flags);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            wait_for(u->fd, POLLOUT, -1);
        } else if (n < 0 && errno != EINTR) {
            return cw_terr_set(e, "runtime", "write: %s", strerror(errno));
        }
    }
    return 0;
}

static void uds_close(cw_conn *c) {
    uds_conn *u = (uds_conn *)c;
    close(u->fd);
    free(u);
}

static int uds_peer_uid(cw_conn *c, uint32_t *uid, cw_terr *e) {
    if (cw_socket_peer_uid(((uds_conn *)c)->fd, uid) != 0)
        return cw_terr_set(e, "runtime", "peer credentials: %s", strerror(errno));
    return 0;
}

static const cw_conn_ops UDS_CONN = {uds_read, uds_write, uds_close, uds_peer_uid};

/* Wraps a connected, prepared fd; closes it on failure. 0 or -1. */
static int new_conn(int fd, cw_conn **out, cw_terr *e) {
    uds_conn *u = malloc(sizeof *u);
    if (u == NULL) {
        close(fd);
        return cw_terr_set(e, "runtime", "out of memory");
    }
    u->base.ops = &UDS_CONN;
    u->base.waits = 0;
    u->fd = fd;
    *out = &u->base;
    return 0;
}

int cw_uds_connect(const char *path, uint64_t deadline, cw_conn **out, cw_terr *e) {
    struct sockaddr_un sa;
    char what[160];
    int fd, err = 0;
    socklen_t elen = sizeof err;
    address_of(path, &sa);
    snprintf(what, sizeof what, "connecting to %s", path);
    if ((fd = new_socket(e)) < 0) return -1;
    while (connect(fd, (const struct sockaddr *)&sa, sizeof sa) < 0) {
        if (errno == EAGAIN) {          /* Linux: the backlog is full; retry until the deadline */
            int ms = ms_until(deadline);
            if (ms == 0) {
                cw_terr_set(e, "timeout", "%s", what);
                goto fail;
            }
            poll(NULL, 0, ms < 10 ? ms : 10);
            continue;
        }
        if (errno != EINPROGRESS && errno != EINTR) {   /* nothing listening: at once */
            cw_terr_set(e, "runtime", "connect to %s: %s", path, strerror(errno));
            goto fail;
        }
        if (wait_until(fd, POLLOUT, deadline, what, e)) goto fail;     /* in progress: wait, ask */
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0) err = errno;
        if (err != 0) {
            cw_terr_set(e, "runtime", "connect to %s: %s", path, strerror(err));
            goto fail;
        }
        break;
    }
    return new_conn(fd, out, e);
fail:
    close(fd);
    return -1;
}

/* ------------------------------------------------------------------ listener */

static int uds_accept(cw_listener *l, uint64_t deadline, cw_conn **out, cw_terr *e) {
    uds_listener *u = (uds_listener *)l;
    int fd;
    for (;;) {
        if (wait_until(u->fd, POLLIN, deadline, "no connection to accept", e)) return -1;
        if ((fd = accept(u->fd, NULL, NULL)) >= 0) break;
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
            return cw_terr_set(e, "runtime", "accept: %s", strerror(errno));
    }
    if (prepare(fd, e)) {
        close(fd);
        return -1;
    }
    return new_conn(fd, out, e);
}

static void uds_listener_close(cw_listener *l) {
    uds_listener *u = (uds_listener *)l;
    close(u->fd);
    unlink(u->path);
    free(u);
}

static const cw_listener_ops UDS_LISTENER = {uds_accept, uds_listener_close};

int cw_uds_listen(const char *path, cw_listener **out, cw_terr *e) {
    struct sockaddr_un sa;
    uds_listener *u;
    int fd;
    address_of(path, &sa);
    if ((fd = new_socket(e)) < 0) return -1;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {     /* fails if the file exists */
        cw_terr_set(e, "runtime", "bind %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (listen(fd, 1) < 0 || (u = malloc(sizeof *u)) == NULL) {
        cw_terr_set(e, "runtime", "listen on %s: %s", path, strerror(errno));
        close(fd);
        unlink(path);
        return -1;
    }
    u->base.ops = &UDS_LISTENER;
    u->fd = fd;
    memcpy(u->path, path, strlen(path) + 1);
    *out = &u->base;
    return 0;
}
