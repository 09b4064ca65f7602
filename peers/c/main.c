/* main.c -- the C reference peer of crosswire: the C kit's contract loop (kit/, cw_kit.h) over
 * the codec generated from the schema (gen/cw_schema.c, harness/codegen/c.py). */
#include "cw_schema.h"

int main(int argc, char **argv) {
    cw_protocol p = cw_schema_protocol;
    p.name = "c";               /* as in peer.toml: HELLO must report the same */
    return cw_peer_main(&p, argc, argv);
}
