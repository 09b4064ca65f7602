/* tcp.c -- the TCP transport (tcp.h). The connection and its waits are the stream socket's of
 * transport.c (read before poll, deadlines, MSG_NOSIGNAL or SO_NOSIGPIPE); this file has the
 * addresses, TCP_NODELAY on every connected socket, and the listener. There is nothing to
 * remove on close, and no peer credentials to ask for.
 */
#include "tcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NO_CREDENTIALS "peer credentials over tcp: there are none; closed"

typedef union tcp_addr {
    struct sockaddr sa;
    struct sockaddr_in in4;
    struct sockaddr_in6 in6;
} tcp_addr;

typedef struct tcp_listener {
    cw_listener base;           /* first: a cw_listener * is a tcp_listener * */
    int fd;
} tcp_listener;

/* Parses `<a.b.c.d>:<port>` or `[<IPv6>]:<port>` into *a and its length. 0 or -1. */
static int address_of(const char *address, tcp_addr *a, socklen_t *len, cw_terr *e) {
    const char *colon = strrchr(address, ':'), *host = address, *p;
    char text[INET6_ADDRSTRLEN + 1];
    unsigned long port = 0;
    size_t n;
    int v6 = 0;
    if (colon == NULL || colon[1] == '\0' || strlen(colon + 1) > 5) goto bad;
    for (p = colon + 1; *p != '\0'; p++) {
        if (*p < '0' || *p > '9') goto bad;
        port = port * 10 + (unsigned long)(*p - '0');
    }
    if (port > 65535) goto bad;
    n = (size_t)(colon - address);
    if (n >= 2 && address[0] == '[' && address[n - 1] == ']') {
        host++;
        n -= 2;
        v6 = 1;
    }
    if (n == 0 || n >= sizeof text) goto bad;
    memcpy(text, host, n);
    text[n] = '\0';
    memset(a, 0, sizeof *a);
    if (v6) {
        if (inet_pton(AF_INET6, text, &a->in6.sin6_addr) != 1) goto bad;
        a->in6.sin6_family = AF_INET6;
        a->in6.sin6_port = htons((uint16_t)port);
        *len = sizeof a->in6;
    } else {
        if (inet_pton(AF_INET, text, &a->in4.sin_addr) != 1) goto bad;
        a->in4.sin_family = AF_INET;
        a->in4.sin_port = htons((uint16_t)port);
        *len = sizeof a->in4;
    }
    return 0;
bad:
    return cw_terr_set(e, "runtime", "bad tcp address '%.60s': <IPv4>:<port> or [<IPv6>]:<port>", address);
}

/* The address fd is bound to, in the contract's form, into out[CW_TCP_MAX_ADDRESS]. 0 or -1. */
static int bound_name(int fd, char *out, cw_terr *e) {
    tcp_addr a;
    socklen_t len = sizeof a;
    char text[INET6_ADDRSTRLEN + 1];
    memset(&a, 0, sizeof a);
    if (getsockname(fd, &a.sa, &len) < 0) return cw_terr_set(e, "runtime", "getsockname: %s", strerror(errno));
    if (a.sa.sa_family == AF_INET6) {
        if (inet_ntop(AF_INET6, &a.in6.sin6_addr, text, sizeof text) == NULL) goto fail;
        snprintf(out, CW_TCP_MAX_ADDRESS, "[%s]:%u", text, (unsigned)ntohs(a.in6.sin6_port));
    } else {
        if (inet_ntop(AF_INET, &a.in4.sin_addr, text, sizeof text) == NULL) goto fail;
        snprintf(out, CW_TCP_MAX_ADDRESS, "%s:%u", text, (unsigned)ntohs(a.in4.sin_port));
    }
    return 0;
fail:
    return cw_terr_set(e, "runtime", "inet_ntop: %s", strerror(errno));
}

/* Frames go out as they are written: no Nagle delay behind a small frame. 0 or -1. */
static int no_delay(int fd, cw_terr *e) {
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
        return cw_terr_set(e, "runtime", "TCP_NODELAY: %s", strerror(errno));
    return 0;
}

int cw_tcp_connect(const char *address, uint64_t deadline, cw_conn **out, cw_terr *e) {
    tcp_addr a;
    socklen_t len = 0;
    int fd;
    if (address_of(address, &a, &len, e)) return -1;
    if ((fd = cw_sock_new(a.sa.sa_family, e)) < 0) return -1;
    if (no_delay(fd, e) || cw_sock_connect(fd, &a.sa, len, deadline, address, e)) {
        close(fd);
        return -1;
    }
    return cw_sock_conn(fd, 0, NO_CREDENTIALS, out, e);
}

/* ------------------------------------------------------------------ listener */

static int tcp_accept(cw_listener *l, uint64_t deadline, cw_conn **out, cw_terr *e) {
    int fd;
    if (cw_sock_accept(((tcp_listener *)l)->fd, deadline, &fd, e)) return -1;
    if (no_delay(fd, e)) {
        close(fd);
        return -1;
    }
    return cw_sock_conn(fd, 0, NO_CREDENTIALS, out, e);
}

static void tcp_listener_close(cw_listener *l) {
    tcp_listener *t = (tcp_listener *)l;
    close(t->fd);
    free(t);
}

static const cw_listener_ops TCP_LISTENER = {tcp_accept, tcp_listener_close};

int cw_tcp_listen(const char *address, cw_listener **out, char *bound, cw_terr *e) {
    tcp_addr a;
    socklen_t len = 0;
    tcp_listener *t;
    int fd, one = 1;
    if (address_of(address, &a, &len, e)) return -1;
    if ((fd = cw_sock_new(a.sa.sa_family, e)) < 0) return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) {
        cw_terr_set(e, "runtime", "SO_REUSEADDR: %s", strerror(errno));
        goto fail;
    }
    if (bind(fd, &a.sa, len) < 0) {
        cw_terr_set(e, "runtime", "bind %s: %s", address, strerror(errno));
        goto fail;
    }
    if (listen(fd, 1) < 0) {
        cw_terr_set(e, "runtime", "listen on %s: %s", address, strerror(errno));
        goto fail;
    }
    if (bound_name(fd, bound, e)) goto fail;
    if ((t = malloc(sizeof *t)) == NULL) {
        cw_terr_set(e, "runtime", "out of memory");
        goto fail;
    }
    t->base.ops = &TCP_LISTENER;
    t->fd = fd;
    *out = &t->base;
    return 0;
fail:
    close(fd);
    return -1;
}
