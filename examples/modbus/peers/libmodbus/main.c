/* main.c -- the libmodbus peer: crosswire's C kit around the library under test (adapter.c). */
#include "cw_adapter.h"

int main(int argc, char **argv) {
    return cw_adapter_main("libmodbus", argc, argv);   /* the name as in peer.toml */
}
