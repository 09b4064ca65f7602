/* transport.c -- what every transport shares (transport.h). */
#include "transport.h"

#include <stdarg.h>
#include <stdio.h>

int cw_terr_set(cw_terr *e, const char *kind, const char *fmt, ...) {
    va_list ap;
    e->kind = kind;
    va_start(ap, fmt);
    vsnprintf(e->text, sizeof e->text, fmt, ap);
    va_end(ap);
    return -1;
}
