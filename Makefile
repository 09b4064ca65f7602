# crosswire: `make peers && make test` on a fresh machine (see README.md).
# Portable make: no GNU-only syntax.

PYTHON ?= python3
VENV = .venv
VPY = $(VENV)/bin/python

.PHONY: all peers peers-asan codegen test matrix soak bench bench-quick vectors clean

all: peers

$(VPY): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q -e '.[test,bench]' tox
	touch $(VPY)

# Build every peer discovered under peers/*/peer.toml (missing toolchains are skipped, with the reason).
peers: $(VPY)
	$(VPY) -m harness build

# Only the AddressSanitizer + UndefinedBehaviorSanitizer build of the C peer (`make peers` builds it too).
peers-asan: $(VPY)
	$(VPY) -m harness build --peers c@asan

# Regenerate each language's types and codec from protocols/schema.toml.
codegen: $(VPY)
	$(VPY) -m harness codegen

# The test suite and the matrix under tox (tox itself is bootstrapped into .venv).
test: peers
	$(VENV)/bin/tox -q

# The interop matrix: a sender x receiver table per transport; JSON in reports/matrix.json.
matrix: peers
	$(VPY) -m harness matrix --json reports/matrix.json

# A longer shared-memory soak than the test suite's: 10^7 frames per pair through a 4 KiB ring.
soak: peers
	$(VPY) -m harness stress --count 10000000 --json reports/soak.json

# Sockets against shared memory for every pair of peers, next to this machine's floors (bench/):
# reports/bench.{json,md}, reports/bench-*.png, and the comparison table in README.md.
bench: peers
	$(VPY) -m harness bench --readme README.md

# The same tables in under a minute (fewer, shorter repetitions; no matrix timing).
bench-quick: peers
	$(VPY) -m harness bench --quick

vectors: $(VPY)
	$(VPY) -m harness vectors

clean:
	rm -rf $(VENV) .tox reports .pytest_cache .hypothesis *.egg-info bench/build
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
