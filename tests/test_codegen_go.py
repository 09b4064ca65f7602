"""The Go backend of the code generator (harness/codegen/go.py) and the Go codec it feeds
(peers/go/codec): the generated code is gofmt-clean as generated and `go vet`-clean on every
platform the Go peer targets; the codec's Go tests (golden vectors through EncodeText/DecodeText
byte for byte, older versions, frames, malformed ones refused with the exact code and path) pass
natively, on a 32-bit host (386) and on a big-endian one (s390x, under qemu-user); and a schema
with every type combination WIRE.md allows (nested arrays, vecs of structs of arrays, 64-bit
enums, padding in structs and a struct of padding only, 24-bit and big-endian values, unions
on a negative tag, counted vecs, ...) and with names Go or the runtime would take (a struct
called Head, fields called type, func, range, len, _1 and f1) is generated, vetted and passes
its own golden vectors. The schemas of tests/schemas and examples are each generated, vetted and
compiled with the peer. Everything is skipped, with the reason, when `go` is not installed."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from harness import codegen, schema as S, vectors
from harness.codegen import go as gogen

from .conftest import ROOT

GO_DIR = ROOT / "peers" / "go"
TARGETS = [("linux", "amd64"), ("linux", "386"), ("linux", "s390x"), ("darwin", "arm64")]

# Every type combination of WIRE.md that the project's schema lacks, added to a copy of it.
RICH = """
[enums.Wide]
type = "u64"
values = { zero = 0, top = 18446744073709551615 }

[enums.Deep]
type = "i64"
values = { bottom = -9223372036854775808, top = 9223372036854775807 }

[enums.Tiny]
type = "i8"
values = { neg = -128, pos = 127, nil_value = 0 }

[structs.Cell]
fields = [
  { name = "flag", type = "bool" },
  { name = "_gap", type = "pad[1]" },
  { name = "kind", type = "Wide" },
]

[structs.OnlyPad]
fields = [ { name = "_a", type = "pad[2]" } ]

[structs.Inner]
fields = [
  { name = "grid",  type = "u8[2][3]" },
  { name = "label", type = "char[4]" },
  { name = "tags",  type = "Tiny[2]" },
  { name = "cell",  type = "Cell" },
]

[messages.Combos]
id = 100
fields = [
  { name = "grid",    type = "i16[3][2]" },
  { name = "cells",   type = "vec<Cell>", max = 3 },
  { name = "names",   type = "char[3][2]" },
  { name = "inners",  type = "vec<Inner>", max = 2 },
  { name = "flags",   type = "vec<bool>", max = 5 },
  { name = "floats",  type = "f32[2][2]" },
  { name = "wides",   type = "vec<Wide>", max = 2 },
  { name = "deeps",   type = "Deep[2]" },
  { name = "pads",    type = "OnlyPad[3]" },
  { name = "doubles", type = "vec<f64>", max = 2 },
  { name = "cubes",   type = "vec<u16[2][2]>", max = 2 },
  { name = "big",     type = "bigint", max = 3 },
  { name = "text",    type = "string", max = 5 },
  { name = "raw",     type = "bytes", max = 3 },
  { name = "_tail",   type = "pad[2]" },
]

[messages.Names]
id = 101
fields = [
  { name = "_lead",  type = "u8" },
  { name = "a_b_c",  type = "i32" },
  { name = "x1",     type = "Tiny" },
  { name = "id",     type = "OnlyPad" },
]

[messages.Nothing]
id = 65535
fields = [ { name = "_p", type = "pad[1]" } ]

[flags.Bits]
type = "u24"
unknown = "keep"
bits = { lo = 0, hi = 23 }

[structs.Head]
fields = [
  { name = "type",  type = "u8" },
  { name = "func",  type = "i24", byte_order = "big" },
  { name = "_1",    type = "u16" },
  { name = "f1",    type = "u16", byte_order = "big" },
  { name = "n",     type = "u8" },
  { name = "range", type = "vec<u24>", count = "n", max = 3 },
]

[unions.Error]
type = "Tiny"
cases = [{ tag = "neg", type = "Head" }, { tag = "pos", type = "Bits[2]" }, { tag = "nil_value" }]

[messages.Message]
id = 102
fields = [
  { name = "len",  type = "Tiny" },
  { name = "hex",  type = "Error", on = "len" },
  { name = "bits", type = "vec<Bits>", prefix = "u8", unit = "bytes", max = 4, byte_order = "big" },
  { name = "grid", type = "u24[2][2]", byte_order = "big" },
]
"""


def go() -> str:
    path = shutil.which("go")
    if path is None:
        pytest.skip("go not found on PATH; on Debian: apt-get install golang-go")
    return path


def gofmt() -> str:
    """gofmt, which comes with go (next to it, when not on PATH itself)."""
    path = shutil.which("gofmt") or str(Path(go()).resolve().parent / "gofmt")
    if not Path(path).exists():
        pytest.skip("gofmt not found (it comes with go)")
    return path


def run(argv: list[str], cwd: Path, timeout: int = 300, **env: str) -> subprocess.CompletedProcess:
    full = {**os.environ, "CGO_ENABLED": "0", **env}
    return subprocess.run(argv, cwd=cwd, env=full, capture_output=True, text=True, timeout=timeout)


def rich_schema() -> S.Schema:
    return S.loads((ROOT / "protocols" / "schema.toml").read_text() + RICH, "rich schema")


@pytest.fixture(scope="module")
def rich_module(tmp_path_factory) -> tuple[Path, Path]:
    """A copy of the Go peer with the codec generated from the rich schema, and that schema's
    golden vectors: (module dir, vectors dir)."""
    root = tmp_path_factory.mktemp("go-rich")
    mod, vecs = root / "go", root / "vectors"
    shutil.copytree(GO_DIR, mod, ignore=shutil.ignore_patterns("build"))
    vecs.mkdir()
    for rel, text in gogen.generate(rich_schema()).items():
        (mod / "codec" / Path(rel).name).write_text(text)
    (vecs / "golden.json").write_text(vectors.dump(vectors.generate(rich_schema())))
    return mod, vecs


# ------------------------------------------------------------------ the generator alone


def test_generated_go_is_gofmt_clean_as_generated(schema, tmp_path):
    for name, sch in (("project", schema), ("rich", rich_schema())):
        for rel, text in gogen.generate(sch).items():
            path = tmp_path / name / Path(rel).name
            path.parent.mkdir(exist_ok=True)
            path.write_text(text)
            assert text.splitlines()[0] == codegen.generated_banner("//").rstrip("\n"), rel
    r = subprocess.run([gofmt(), "-l", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout == "", f"not gofmt-clean as generated:\n{r.stdout}{r.stderr}"


def test_the_go_peer_in_the_tree_is_gofmt_clean():
    r = subprocess.run([gofmt(), "-l", str(GO_DIR)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout == "", f"run gofmt -w on:\n{r.stdout}{r.stderr}"


def test_the_generated_entry_points_are_reserved():
    """Every package-level name the generated code declares besides the schema's types (the
    entry points, the adapter's table) is one a schema type cannot take; the kit's names are
    qualified (cw.X, kit.X) and need no reserving."""
    code = gogen.API + "".join(gogen.adapter_table(rich_schema(), frames) for frames in (False, True))
    declared = set(re.findall(r"^(?:func|type|const|var) ([A-Za-z]\w*)", code, re.M)) | {"Reference", "cw", "kit"}
    assert {"Encode", "Decode", "Protocol", "Adapter", "Unimplemented"} <= declared
    assert declared <= gogen.RESERVED, declared - gogen.RESERVED


def test_go_names_that_would_clash_take_other_names():
    """A type named like the runtime's exports, fields whose Go names would be one: each gets a
    Go name of its own (`_` appended), and the schema's names stay in paths and text."""
    text = gogen.generate(rich_schema())[gogen.OUT]
    for decl in ("type Head_ struct", "type Error_ struct", "type Message_ struct", "\tF1 uint16", "\tF1_ uint16",
                 "\tType uint8", "\tFunc int32", "\tRange []uint32", "\tLen Tiny", "\tHex Error_"):
        assert decl in text, decl
    assert 'cw.At(err, ".range")' in text and 't.Push(".func")' in text


# ------------------------------------------------------------------ go vet, every target


@pytest.fixture(scope="module")
def huge_module(tmp_path_factory) -> Path:
    """The Go peer for crosswire's schema with the largest max_payload (4 GiB - 1): what does not
    fit an int on 386 must not be one."""
    mod = tmp_path_factory.mktemp("go-huge") / "go"
    shutil.copytree(GO_DIR, mod, ignore=shutil.ignore_patterns("build"))
    text = (ROOT / "protocols" / "schema.toml").read_text()
    huge = S.loads(re.sub(r"max_payload = \d+", "max_payload = 4294967295", text), "huge schema")
    for rel, code in gogen.generate(huge).items():
        (mod / "codec" / Path(rel).name).write_text(code)
    return mod


@pytest.mark.parametrize("goos, goarch", TARGETS, ids=[f"{o}-{a}" for o, a in TARGETS])
def test_go_vet_is_clean(goos, goarch, rich_module, huge_module):
    gobin = go()
    for where in (GO_DIR, GO_DIR / "kit", rich_module[0], huge_module):
        r = run([gobin, "vet", "./..."], where, GOOS=goos, GOARCH=goarch)
        assert r.returncode == 0, f"go vet ./... in {where} for {goos}/{goarch}:\n{r.stdout}{r.stderr}"


SCHEMAS = sorted([*(ROOT / "tests" / "schemas").glob("*/protocols/schema.toml"),
                  *(ROOT / "examples").glob("*/protocols/schema.toml")])


@pytest.mark.parametrize("path", SCHEMAS, ids=[p.parent.parent.name for p in SCHEMAS])
def test_every_schema_gives_a_peer_that_vets_and_passes_its_own_tests(path, tmp_path):
    """The whole peer, its codec generated from another schema (the way `harness build` copies
    it): go vet for 64 and 32 bits, and its tests against that schema's vectors."""
    gobin = go()
    mod = tmp_path / "peers" / "go"
    shutil.copytree(GO_DIR, mod, ignore=shutil.ignore_patterns("build"))
    for rel, text in gogen.generate(S.load(path)).items():
        (tmp_path / rel).write_text(text)
    (tmp_path / "protocols").symlink_to(path.parent)
    for goarch in ("amd64", "386"):
        r = run([gobin, "vet", "./..."], mod, GOOS="linux", GOARCH=goarch)
        assert r.returncode == 0, f"go vet for {goarch}:\n{r.stdout}{r.stderr}"
    r = run([gobin, "test", "-count=1", "./..."], mod)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]


# ------------------------------------------------------------------ go test, every host


def can_run(gobin: str, goarch: str, runner: list[str], tmp: Path) -> str | None:
    """None if a Go program built for goarch runs under runner ([] = natively); else why not."""
    src = tmp / f"probe-{goarch}"
    src.mkdir(exist_ok=True)
    (src / "go.mod").write_text("module probe\n\ngo 1.21\n")
    (src / "main.go").write_text('package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("probe ok") }\n')
    built = run([gobin, "build", "-o", "probe", "."], src, GOOS="linux", GOARCH=goarch)
    if built.returncode != 0:
        return f"cannot build for {goarch}: {built.stderr[-300:]}"
    try:
        r = subprocess.run([*runner, str(src / "probe")], capture_output=True, text=True, timeout=60)
    except OSError as exc:
        return f"{exc}"
    if r.stdout.strip() != "probe ok":
        said = re.sub(r"(fatal error: )+", "fatal error: ", " ".join(r.stderr.split()))  # the Go runtime repeats itself
        return f"exit status {r.returncode}: {said[:160] or 'no output'}"
    return None


# (id, GOARCH, how to run the test binary: None natively for the host, [] natively for another
# GOARCH, else an emulator's argv). Under qemu-i386 the guest gets GODEBUG=asyncpreemptoff=1 as
# the go@386 peer does: qemu-user 7.2 kills a Go 386 program on the runtime's preemption signal
# ("fatal: bad g in signal handler"); 8 and later run it, and the flag costs nothing there.
HOSTS = [
    ("native", "amd64", None),
    ("s390x-qemu", "s390x", ["qemu-s390x"]),                                 # big-endian
    ("386-qemu", "386", ["qemu-i386", "-E", "GODEBUG=asyncpreemptoff=1"]),   # 32-bit
    ("386-native", "386", []),   # 32-bit, on an x86-64 kernel with IA32 emulation
]


@pytest.mark.parametrize("goarch, runner", [(a, e) for _, a, e in HOSTS], ids=[h[0] for h in HOSTS])
def test_go_codec_unit_tests(goarch, runner, tmp_path):
    """The Go peer's own tests on each host: codec_test.go (the vectors), runtime_test.go, then
    the kit's peer_test.go (the Blob frames, the stream tally, percentiles, shm rings)."""
    gobin = go()
    argv = [gobin, "test", "-count=1", "./..."]
    if runner is None:
        r = run(argv, GO_DIR)
        assert r.returncode == 0, f"{' '.join(argv)}:\n{r.stdout[-4000:]}{r.stderr[-2000:]}"
        r = run(argv, GO_DIR / "kit")
    else:
        if runner and shutil.which(runner[0]) is None:
            pytest.skip(f"{runner[0]} not found on PATH; on Debian: apt-get install qemu-user")
        why = can_run(gobin, goarch, runner, tmp_path)
        if why is not None:
            where = f"under {' '.join(runner)}" if runner else "natively on this host"
            pytest.skip(f"a Go program built for linux/{goarch} does not run {where}: {why}")
        if runner:
            argv[2:2] = ["-exec", " ".join(runner)]
        r = run(argv, GO_DIR, GOOS="linux", GOARCH=goarch)
        if r.returncode == 0:
            r = run(argv, GO_DIR / "kit", GOOS="linux", GOARCH=goarch)
    assert r.returncode == 0, f"{' '.join(argv)} (GOARCH={goarch}):\n{r.stdout[-4000:]}{r.stderr[-2000:]}"
    assert "ok" in r.stdout, r.stdout


def test_every_type_combination_passes_its_golden_vectors(rich_module):
    gobin = go()
    mod, vecs = rich_module
    r = run([gobin, "test", "-count=1", "-run", "Vectors", "-v", "./codec/"], mod, CW_VECTORS=str(vecs))
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    for test in ("TestGoldenVectors", "TestVersionVectors", "TestFrameVectors"):
        assert f"--- PASS: {test}" in r.stdout, r.stdout[-2000:]
