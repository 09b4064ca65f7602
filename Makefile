# crosswire: `make peers && make test` on a fresh machine (see README.md).
# Portable make: no GNU-only syntax.

PYTHON ?= python3
VENV = .venv
VPY = $(VENV)/bin/python

.PHONY: all peers peers-asan codegen test matrix soak bench bench-quick docs-images lock vectors fuzz fuzz-smoke fuzz-build clean

all: peers

$(VPY): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q -c requirements.lock -e '.[test,bench]' tox
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

# The same tables in about a minute on an idle 2-core machine (fewer, shorter repetitions; no
# matrix timing); it warns when the machine is busy.
bench-quick: peers
	$(VPY) -m harness bench --quick

# docs/images/: screenshots of the HTML report of a run with one bug, and the bench's plots.
docs-images: peers
	$(VPY) docs/make_images.py

# Re-pin every Python dependency (pyproject.toml's, with the test and bench extras, and lock.in's)
# in requirements.lock, which `make`'s venv and tox install with (pip-tools' pip-compile).
lock: $(VPY)
	$(VPY) -m pip install -q pip-tools
	$(VENV)/bin/pip-compile -q --extra test --extra bench --strip-extras --allow-unsafe --no-emit-find-links \
		--no-emit-index-url -o requirements.lock pyproject.toml lock.in

vectors: $(VPY)
	$(VPY) -m harness vectors

# Fuzzing (README.md "Fuzzing"): libFuzzer over the C codec, then the property loop over the Rust
# codec, FUZZ_SECONDS each, from seeds made of the vectors. Inputs that break a property are kept in
# fuzz/regressions/c/ and fuzz/regressions/rust/ (commit them; tests/test_fuzz.py replays them).
FUZZ_SECONDS ?= 60
FUZZ_SEED ?= time
FUZZ_CC ?= clang
FUZZ = fuzz/build
FUZZ_FLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -pedantic -g -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Ipeers/c/kit/include -Ipeers/c/gen
FUZZ_SRC = fuzz/c/fuzz_decode.c peers/c/kit/src/cw_runtime.c peers/c/gen/cw_schema.c
FUZZ_HEADERS = peers/c/kit/include/cw_runtime.h peers/c/kit/include/cw_kit.h peers/c/gen/cw_schema.h

fuzz: fuzz-build
	mkdir -p $(FUZZ)/corpus-c fuzz/regressions/c fuzz/regressions/rust
	$(FUZZ)/fuzz_decode -max_total_time=$(FUZZ_SECONDS) -malloc_limit_mb=64 -print_final_stats=1 \
		-artifact_prefix=fuzz/regressions/c/ $(FUZZ)/corpus-c $(FUZZ)/seeds
	peers/rust/target/release/cw-fuzz --seed $(FUZZ_SEED) --seconds $(FUZZ_SECONDS) --out fuzz/regressions/rust \
		$(FUZZ)/seeds $(FUZZ)/corpus-c

# Five seconds of each: does the fuzzing still run?
fuzz-smoke:
	$(MAKE) fuzz FUZZ_SECONDS=5

fuzz-build: $(FUZZ)/fuzz_decode
	$(PYTHON) fuzz/seed_corpus.py $(FUZZ)/seeds
	cd peers/rust && cargo build --release --locked --quiet --bin cw-fuzz

$(FUZZ)/fuzz_decode: $(FUZZ_SRC) $(FUZZ_HEADERS)
	mkdir -p $(FUZZ)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $(FUZZ)/fuzz_decode $(FUZZ_SRC) || { \
		echo "fuzz: $(FUZZ_CC) -fsanitize=fuzzer failed: libFuzzer needs clang and its runtime (Debian: apt-get install clang libclang-rt-dev)"; \
		exit 1; }

clean:
	rm -rf $(VENV) .tox reports .pytest_cache .hypothesis *.egg-info bench/build fuzz/build
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
