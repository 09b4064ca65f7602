/* The @NAME@ peer: scaffolded by `python -m harness new-peer`; yours to edit.
 *
 * It speaks the start of protocols/PEER_CONTRACT.md: HELLO, QUIT, `ERR request` for a line it
 * cannot parse, `ERR unsupported` for a request it does not implement yet, and the line-length
 * limit. docs/adding-a-peer.md says what to add next; `python -m harness check-peer peers/@NAME@`
 * says what is still missing. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME "@NAME@"
#define MAX_LINE @MAX_LINE@ /* 8 x max_payload + 65536 bytes (PEER_CONTRACT.md, "Lines") */
#define TRANSPORTS ""       /* keep these two as peer.toml's [supports] says */
#define MESSAGES ""

static const char *known[] = {"ENCODE", "DECODE", "LISTEN", "CONNECT", "ACCEPT", "SEND", "RECV", "ECHO",
                              "CLOSE", "BLAST", "DRAIN", "WAIT", "PING", "PONG", "FLOOD", "SINK", NULL};

/* One request line into buf (without its newline): its length, -1 at the end of input, -2 for a
 * line longer than MAX_LINE (read and dropped up to its newline). */
static long read_line(char *buf) {
    long n = 0;
    int c;
    while ((c = getchar()) != EOF && c != '\n') {
        if (n < MAX_LINE) buf[n] = (char)c;
        n++;
    }
    if (c == EOF && n == 0) return -1;
    if (n > MAX_LINE) return -2;
    buf[n] = '\0';
    return n;
}

static void hello(const char *args) {
    const uint16_t probe = 1;
    const char *order = *(const uint8_t *)&probe == 1 ? "little" : "big";
    if (strcmp(args, "1") != 0) {
        printf("ERR unsupported contract %.40s\n", args);
        return;
    }
    printf("OK name=" NAME " language=c contract=1 transports=" TRANSPORTS " messages=" MESSAGES
           " ptr_bits=%u byte_order=%s\n", (unsigned)(8 * sizeof(void *)), order);
}

int main(void) {
    char *buf = malloc((size_t)MAX_LINE + 1);
    if (buf == NULL) return 1;
    for (;;) {
        long n = read_line(buf);
        if (n == -1) break;
        if (n == -2) {
            puts("ERR request line too long");
        } else if (strcmp(buf, "QUIT") == 0) {
            puts("OK");
            fflush(stdout);
            break;
        } else {
            char *args = strchr(buf, ' ');
            int implemented_later = 0;
            if (args != NULL) *args++ = '\0';
            if (strcmp(buf, "HELLO") == 0) {
                hello(args ? args : "");
            } else {
                for (int i = 0; known[i] != NULL; i++) implemented_later |= strcmp(buf, known[i]) == 0;
                if (implemented_later) printf("ERR unsupported %s is not implemented yet\n", buf);
                else printf("ERR request unknown command %.40s\n", buf);
            }
        }
        fflush(stdout);
    }
    free(buf);
    return 0;
}
