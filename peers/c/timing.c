/* timing.c -- how fast the generated decoder is: decodes payloads read from stdin, one
 * "<Message> <hex>" line each, `rounds` times through cw_decode_message, and prints the best
 * of 5 runs in nanoseconds per decode, per message. `make timing` builds it; the golden
 * payloads of any schema make the input:
 *
 *   python3 -c 'import json; [print(c["message"], c["payload"]) for c in json.load(open("protocols/vectors/golden.json"))]' \
 *       | peers/c/build/cw-timing 1000
 *
 * It uses only cw_message_by_name, cw_hex_decode and cw_decode_message, so the same file
 * builds against an older checkout's codec to compare. */
#include "cw_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_ITEMS 4096
#define MAX_LINE (2 * (size_t)CW_MAX_PAYLOAD + 256)

typedef struct item {
    const cw_message_info *m;
    uint8_t *payload;
    size_t len;
} item;

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

int main(int argc, char **argv) {
    static item items[MAX_ITEMS];
    char *line = malloc(MAX_LINE);
    void *value = malloc(CW_MAX_VALUE_SIZE);
    long rounds = argc > 1 ? atol(argv[1]) : 1000;
    size_t n = 0, i, k, total_ns = 0;
    if (line == NULL || value == NULL || rounds < 1) return 2;
    while (n < MAX_ITEMS && fgets(line, (int)MAX_LINE, stdin)) {
        char *hex = strchr(line, ' ');
        size_t len;
        if (hex == NULL) continue;
        *hex++ = '\0';
        len = strcspn(hex, "\r\n");
        items[n].m = cw_message_by_name(line, strlen(line));
        items[n].payload = malloc(len / 2 + 1);
        if (items[n].m == NULL || items[n].payload == NULL || cw_hex_decode(hex, len, items[n].payload)) return 2;
        items[n++].len = len / 2;
    }
    for (k = 0; k < CW_MESSAGE_COUNT; k++) {          /* per message, the best of 5 runs */
        const cw_message_info *m = &cw_messages[k];
        uint64_t best = UINT64_MAX;
        size_t count = 0, run;
        for (run = 0; run < 5; run++) {
            uint64_t t0 = now_ns();
            long r;
            count = 0;
            for (i = 0; i < n; i++) {
                if (items[i].m != m) continue;
                for (r = 0; r < rounds; r++) {
                    cw_ctx c;
                    if (cw_decode_message(m, items[i].payload, items[i].len, value, &c)) {
                        fprintf(stderr, "%s: %s\n", m->name, c.err);
                        return 1;
                    }
                }
                count++;
            }
            t0 = now_ns() - t0;
            if (t0 < best) best = t0;
        }
        if (count == 0) continue;
        printf("%-24s %4zu payloads %10.1f ns/decode\n", m->name, count, (double)best / (double)(count * (size_t)rounds));
        total_ns += (size_t)(best / (uint64_t)rounds);
    }
    printf("every payload once: %.1f us\n", (double)total_ns / 1000.0);
    return 0;
}
