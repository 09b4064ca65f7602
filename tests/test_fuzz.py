"""Fuzzing (README.md "Fuzzing"): a short run of each fuzzer finds nothing; every input kept in
fuzz/regressions/{c,rust}/ still passes both fuzzers; and those inputs, with a seeded batch of
mutated ones, go through every peer over the contract: each `DECODE` is `OK` or a typed
`ERR decode`, the peer stays alive, and all peers give the same answer.

An input is read as fuzz/c/fuzz_decode.c says: as frames back to back, and as a bare payload
whose first byte picks the message (index byte mod count of the ids, sorted)."""
from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import sys

import pytest

from harness.driver import PeerProcess
from harness.errors import PeerReplyError
from harness.project import Project

from .conftest import ROOT

PROJECT = Project(ROOT)
PEERS = list(PROJECT.registry.values())
FUZZ = ROOT / "fuzz"
RUST = ROOT / "peers" / "rust"
C_SOURCES = [FUZZ / "c" / "fuzz_decode.c", ROOT / "peers/c/kit/src/cw_runtime.c", ROOT / "peers/c/gen/cw_schema.c"]
C_FLAGS = ["-std=c11", "-D_POSIX_C_SOURCE=200809L", "-Wall", "-Wextra", "-Werror", "-pedantic", "-g", "-O1",
           "-fno-omit-frame-pointer", "-fno-sanitize-recover=all", f"-I{ROOT / 'peers/c/kit/include'}", f"-I{ROOT / 'peers/c/gen'}"]
LIBFUZZER_PACKAGE = "libclang-rt-dev (Debian; it pulls in the runtime of the default clang, libclang-rt-14-dev on bookworm)"
DECODE_CODES = {"const", "type", "length", "checksum", "truncated", "trailing", "bool", "enum", "flags", "char",
                "utf8", "bigint", "padding", "union"}


def regressions() -> list:
    """Every kept input: the files of fuzz/regressions/c/ and rust/ (hidden files and notes aside)."""
    found = []
    for d in ("c", "rust"):
        folder = FUZZ / "regressions" / d
        if folder.is_dir():
            found += sorted(p for p in folder.iterdir()
                            if p.is_file() and not p.name.startswith(".") and p.suffix != ".md")
    return found


def run(argv, timeout=120, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout, **kw)


# ------------------------------------------------------------------ building the fuzzers

@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    out = tmp_path_factory.mktemp("seeds")
    r = run([sys.executable, FUZZ / "seed_corpus.py", out])
    assert r.returncode == 0, r.stdout + r.stderr
    files = sorted(out.iterdir())
    assert len(files) > 100, r.stdout
    return out


@pytest.fixture(scope="module")
def libfuzzer(tmp_path_factory):
    """fuzz_decode built with libFuzzer, ASan and UBSan, as `make fuzz` builds it."""
    if shutil.which("clang") is None:
        pytest.skip("clang is not installed (.ci/run installs it)")
    d = tmp_path_factory.mktemp("libfuzzer")
    probe = d / "probe.c"
    probe.write_text("#include <stddef.h>\n#include <stdint.h>\n"
                     "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n")
    r = run(["clang", "-fsanitize=fuzzer", "-o", d / "probe", probe])
    if r.returncode != 0:
        pytest.skip(f"clang's libFuzzer runtime is missing: install {LIBFUZZER_PACKAGE}. {r.stderr.strip()[:200]}")
    r = run(["clang", *C_FLAGS, "-fsanitize=fuzzer,address,undefined", "-o", d / "fuzz_decode", *C_SOURCES])
    assert r.returncode == 0, r.stderr
    assert "warning" not in r.stderr.lower(), r.stderr
    return d / "fuzz_decode"


@pytest.fixture(scope="module")
def replayer(tmp_path_factory):
    """The same target as a plain program (-DCW_FUZZ_MAIN) under ASan and UBSan with the default
    compiler: the regressions replay without libFuzzer too."""
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler (.ci/run installs gcc and clang)")
    out = tmp_path_factory.mktemp("replayer") / "fuzz_decode_replay"
    r = run([cc, *C_FLAGS, "-DCW_FUZZ_MAIN", "-fsanitize=address,undefined", "-o", out, *C_SOURCES])
    assert r.returncode == 0, r.stderr
    assert "warning" not in r.stderr.lower(), r.stderr
    return out


@pytest.fixture(scope="module")
def cw_fuzz():
    """The Rust property loop, built like the peer (same crate, same target folder)."""
    if shutil.which("cargo") is None:
        pytest.skip("cargo is not installed")
    r = run(["cargo", "build", "--release", "--locked", "--quiet", "--bin", "cw-fuzz"], cwd=RUST, timeout=280)
    assert r.returncode == 0, r.stderr
    return RUST / "target" / "release" / "cw-fuzz"


# ------------------------------------------------------------------ short runs find nothing

@pytest.mark.timeout(120)
def test_libfuzzer_smoke_run_finds_nothing(libfuzzer, seeds, tmp_path):
    corpus, artifacts = tmp_path / "corpus", tmp_path / "artifacts"
    corpus.mkdir()
    artifacts.mkdir()
    r = run([libfuzzer, "-max_total_time=5", "-malloc_limit_mb=64", "-print_final_stats=1",
             f"-artifact_prefix={artifacts}/", corpus, seeds], timeout=90)
    assert r.returncode == 0, r.stderr[-3000:]
    execs = re.search(r"stat::number_of_executed_units:\s*(\d+)", r.stderr)
    assert execs and int(execs.group(1)) > len(list(seeds.iterdir())), r.stderr[-3000:]
    assert list(artifacts.iterdir()) == [], "libFuzzer kept a crashing input"


@pytest.mark.timeout(120)
def test_rust_loop_smoke_run_finds_nothing(cw_fuzz, seeds, tmp_path):
    out = tmp_path / "out"
    r = run([cw_fuzz, "--seed", "1", "--seconds", "3", "--out", out, seeds], timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    summary = re.search(r"execs=(\d+) .* failures=0", r.stdout)
    assert summary and int(summary.group(1)) > 1000, r.stdout
    assert not out.exists(), "the loop kept a failing input"


def test_rust_loop_is_reproducible(cw_fuzz, seeds, tmp_path):
    """The same seed and iterations give the same inputs, so a run can be repeated."""
    saved = []
    for i in range(2):
        d = tmp_path / f"run{i}"
        r = run([cw_fuzz, "--seed", "42", "--iterations", "3000", "--save", d, seeds])
        assert r.returncode == 0, r.stdout + r.stderr
        saved.append(sorted(p.name for p in d.iterdir()))
    assert saved[0] == saved[1] and saved[0]


# ------------------------------------------------------------------ kept inputs replay

def test_regressions_replay_through_libfuzzer(libfuzzer, seeds):
    files = regressions() + sorted(seeds.iterdir())   # the seeds too, so the list is never empty
    r = run([libfuzzer, "-malloc_limit_mb=64", *files], timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stderr.count("Executed ") == len(files), r.stderr[-3000:]


def test_regressions_replay_without_libfuzzer(replayer, seeds):
    files = regressions() + sorted(seeds.iterdir())
    r = run([replayer, *files], timeout=120)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    assert f"{len(files)} inputs, no failure" in r.stdout


def test_regressions_replay_through_the_rust_loop(cw_fuzz, seeds):
    files = regressions() + sorted(seeds.iterdir())
    r = run([cw_fuzz, "--replay", *files])
    assert r.returncode == 0, "\n".join(line for line in r.stdout.splitlines() if line.startswith("FAIL"))
    assert f"{len(files)} inputs, 0 failed" in r.stdout


# ------------------------------------------------------------------ kept inputs through the peers

def decode_requests(data: bytes) -> list[tuple[str, bytes]]:
    """(message, payload) of each whole frame at the start of data, then of the bare payload."""
    from harness import codec
    from harness.errors import DecodeError
    schema = PROJECT.schema
    by_id = {m.id: m.name for m in schema.messages.values()}
    hs = schema.frame.header_size
    out, rest = [], data
    while len(rest) >= hs:
        try:
            head = codec.decode_head(schema, rest)
        except DecodeError:
            break
        if len(rest) < head.size:
            break
        out.append((head.message.name, rest[hs:hs + head.payload_len]))
        rest = rest[head.size:]
    if data:
        ids = sorted(by_id)
        out.append((by_id[ids[data[0] % len(ids)]], data[1:]))
    return out


@pytest.fixture(scope="module")
def fuzzed_requests(tmp_path_factory, seeds):
    """The DECODE requests of every kept input, and of the inputs a seeded run of the Rust loop
    found new outcomes with (when cargo is there): mutated payloads of every message."""
    files = regressions()
    if shutil.which("cargo") is not None:
        build = run(["cargo", "build", "--release", "--locked", "--quiet", "--bin", "cw-fuzz"], cwd=RUST, timeout=280)
        assert build.returncode == 0, build.stderr
        saved = tmp_path_factory.mktemp("fuzzed")
        r = run([RUST / "target/release/cw-fuzz", "--seed", "7", "--iterations", "20000", "--save", saved, seeds])
        assert r.returncode == 0, r.stdout + r.stderr
        files += sorted(saved.iterdir())
    requests = []
    for f in files:
        for message, payload in decode_requests(f.read_bytes()):
            requests.append((f.name, f"DECODE {message} x{payload.hex()}", message))
    if not requests:
        pytest.skip("no kept inputs in fuzz/regressions/ and no cargo to make mutated ones")
    return requests


def answer(proc: PeerProcess, line: str, message: str) -> tuple[str, ...]:
    """("OK", text) or ("decode", code, path); anything else fails the test."""
    try:
        return ("OK", " ".join(proc.request(line)))
    except PeerReplyError as err:
        code, path = (err.detail.split(" ") + ["", ""])[:2]
        assert err.kind == "decode" and code in DECODE_CODES, f"{proc.label}: {line[:80]}: {err}"
        assert path == message or path.startswith((message + ".", message + "[")), f"{proc.label}: {err}"
        return ("decode", code, path)


@pytest.mark.parametrize("spec", PEERS, ids=[p.name for p in PEERS])
def test_peer_decodes_fuzzed_inputs(spec, fuzzed_requests):
    reason = spec.unavailable()
    if reason:
        pytest.skip(reason)
    with PeerProcess(spec, "fuzz") as proc:
        proc.handshake()
        for _name, line, message in fuzzed_requests:
            answer(proc, line, message)
        assert proc.request("HELLO 3")[0].startswith("name="), "the peer must stay usable"


def test_peers_agree_on_fuzzed_inputs(fuzzed_requests):
    """Every peer gives the same value, or the same error code and path, for every input."""
    specs = [s for s in PEERS if not s.unavailable()]
    if len(specs) < 2:
        pytest.skip("fewer than two peers are available")
    with contextlib.ExitStack() as stack:
        procs = [stack.enter_context(PeerProcess(s, "fuzz-agree")) for s in specs]
        for p in procs:
            p.handshake()
        for name, line, message in fuzzed_requests:
            answers = {p.spec.name: answer(p, line, message) for p in procs}
            assert len(set(answers.values())) == 1, f"input {name}: {line[:120]}: " + "; ".join(
                f"{peer}: {a}" for peer, a in answers.items())
