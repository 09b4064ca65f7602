"""The benchmark (`make bench`, `python -m harness bench`): sockets against shared memory for
every pair of peers, next to the machine's own limits measured in the same run.

- baseline: the project's small C programs (bench/baseline.c) for the floors: a bare
  cache-line ping-pong, a bare futex ping-pong, a bare socketpair ping-pong, memcpy.
- measure: one pair of peers over one transport; the peers time themselves (PING/PONG,
  FLOOD/SINK of PEER_CONTRACT.md "Benchmarks"), the harness only sets up and reads figures.
- codec: the Python peer's codec against a bare precompiled struct.Struct.
- scaling: the wall time of the test matrix as peers and cases grow.
- suite: what is measured, in which order, and the targets; output: bench.json, bench.md,
  the PNG plots and the README's comparison table.
"""
