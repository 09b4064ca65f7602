/* uds.c -- the Unix stream socket transport (uds.h). The connection and its waits are the
 * stream socket's of transport.c; this file has the addresses (paths) and the listener, which
 * unlinks its socket file on close.
 */
#include "uds.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

typedef struct uds_listener {
    cw_listener base;           /* first: a cw_listener * is a uds_listener * */
    int fd;
    char path[CW_UDS_MAX_PATH + 1];
} uds_listener;

static void address_of(const char *path, struct sockaddr_un *sa) {
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    memcpy(sa->sun_path, path, strlen(path));   /* at most CW_UDS_MAX_PATH < sizeof sun_path */
}

int cw_uds_connect(const char *path, uint64_t deadline, cw_conn **out, cw_terr *e) {
    struct sockaddr_un sa;
    int fd;
    address_of(path, &sa);
    if ((fd = cw_sock_new(AF_UNIX, e)) < 0) return -1;
    if (cw_sock_connect(fd, (const struct sockaddr *)&sa, sizeof sa, deadline, path, e)) {
        close(fd);
        return -1;
    }
    return cw_sock_conn(fd, 1, NULL, out, e);
}

/* ------------------------------------------------------------------ listener */

static int uds_accept(cw_listener *l, uint64_t deadline, cw_conn **out, cw_terr *e) {
    int fd;
    if (cw_sock_accept(((uds_listener *)l)->fd, deadline, &fd, e)) return -1;
    return cw_sock_conn(fd, 1, NULL, out, e);
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
    if ((fd = cw_sock_new(AF_UNIX, e)) < 0) return -1;
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
