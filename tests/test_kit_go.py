"""The Go kit (peers/go/kit, the module crosswire.dev/kit) under adapter peers made by the Go
codegen backend (harness/codegen/go.py: adapter_files, adapter_generated).

A project in a temporary folder with a two-message schema (Ping, Pong) gets two Go adapter
peers through `crosswire new-peer --lang go --adapter` (the kit vendored into build/kits/go):
`gopay`, a payload adapter, and `goframe`, a framing one (--frames: the library writes and reads
whole frames). As scaffolded, every stub returns kit.ErrUnimplemented and the peers build,
vet and gofmt clean. Then their adapter.go is filled in the way a user would: both wrap Ping
with the generated reference codec (codec.Encode/Decode, codec.EncodeFrame/DecodeFrame); gopay
leaves Pong unimplemented, goframe's Pong stubs return an error. The harness drives them
against the python reference peer over uds, tcp and shm: every Ping cell passes, gopay's Pong
cells are skipped with the kit's reason, goframe's fail with the adapter's error, and the
matrix goes on. Skipped, with the reason, when `go` is not installed."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

SCHEMA = """\
[format]
name = "duo"
byte_order = "little"
max_payload = 64

[frame]
header = [
  { name = "magic", type = "u8",  const = 0xA5 },
  { name = "id",    type = "u8",  role = "id" },
  { name = "node",  type = "u8" },
  { name = "seq",   type = "u16", role = "seq" },
  { name = "len",   type = "u16", role = "length", counts = "payload" },
]

[frame.checksum]
name = "crc"
algorithm = "crc-16/modbus"
covers = "id..payload"

[messages.Ping]
id = 1
fields = [
  { name = "count", type = "u32" },
  { name = "note",  type = "string", max = 16 },
]

[messages.Pong]
id = 2
fields = [
  { name = "ok",    type = "bool" },
  { name = "level", type = "i16" },
]
"""

CONFIG = """\
name = "duo"
schema = "protocols/schema.toml"
vectors = "protocols/vectors"
peers = "peers"
reports = "reports"
kits = "build/kits"
"""

# gopay: Ping through the reference codec, Pong left to the embedded Unimplemented (skipped).
GOPAY = """\
package main

import "gopay/codec"

type adapter struct {
	codec.Unimplemented
}

func (a *adapter) EncodePing(v *codec.Ping) ([]byte, error) { return codec.Encode(v) }

func (a *adapter) DecodePing(payload []byte) (*codec.Ping, error) { return codec.Decode[codec.Ping](payload) }
"""

# goframe: whole frames; Ping through the reference codec, Pong an error of the library's.
GOFRAME = """\
package main

import (
	"errors"

	"goframe/codec"
)

type adapter struct {
	codec.Unimplemented
}

func (a *adapter) EncodePing(v *codec.Ping, seq uint64, plain []uint64) ([]byte, error) {
	return codec.EncodeFrame(v, seq, plain)
}

func (a *adapter) DecodePing(frame []byte) (*codec.Ping, error) { return codec.DecodeFrame[codec.Ping](frame) }

func (a *adapter) EncodePong(*codec.Pong, uint64, []uint64) ([]byte, error) {
	return nil, errors.New("the library has no Pong")
}

func (a *adapter) DecodePong([]byte) (*codec.Pong, error) { return nil, errors.New("the library has no Pong") }
"""

TRANSPORTS = ("uds", "tcp", "shm")


def go() -> str:
    path = shutil.which("go")
    if path is None:
        pytest.skip("go not found on PATH; on Debian: apt-get install golang-go")
    return path


def crosswire(root: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, "-m", "harness", *args, "--root", str(root)], cwd=ROOT,
                       capture_output=True, text=True, timeout=timeout)
    return r


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    go()
    root = tmp_path_factory.mktemp("kit-go") / "duo"
    (root / "protocols").mkdir(parents=True)
    (root / "crosswire.toml").write_text(CONFIG)
    (root / "protocols" / "schema.toml").write_text(SCHEMA)
    for name, frames in (("gopay", False), ("goframe", True)):
        r = crosswire(root, "new-peer", name, "--lang", "go", "--adapter", *(["--frames"] if frames else []))
        assert r.returncode == 0, r.stdout + r.stderr
    r = crosswire(root, "vectors", "--regenerate")
    assert r.returncode == 0, r.stdout + r.stderr
    return root


def test_the_scaffolded_adapters_build_vet_and_are_gofmt_clean(project):
    """As new-peer writes them (every stub unimplemented), both peers compile against the
    vendored kit, go vet is clean and gofmt has nothing to say; the generated files say so on
    line one."""
    gobin = go()
    for name in ("gopay", "goframe"):
        peer = project / "peers" / name
        for rel in ("codec/schema_gen.go", "codec/adapter_gen.go"):
            assert "DO NOT EDIT" in (peer / rel).read_text().splitlines()[0], rel
        for argv in ([gobin, "build", "-o", "build/cw-peer", "."], [gobin, "vet", "./..."]):
            r = subprocess.run(argv, cwd=peer, capture_output=True, text=True, timeout=600)
            assert r.returncode == 0, f"{name}: {' '.join(argv)}\n{r.stdout}{r.stderr}"
        r = subprocess.run([str(Path(gobin).resolve().parent / "gofmt"), "-l", "."], cwd=peer,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and r.stdout == "", f"{name}: not gofmt-clean: {r.stdout}{r.stderr}"
        hello = subprocess.run([str(peer / "build" / "cw-peer")], input="HELLO 2\nENCODE Pong true 1\nQUIT\n",
                               capture_output=True, text=True, timeout=30).stdout.splitlines()
        assert hello[0].startswith(f"OK name={name} language=go contract=2") and hello[0].endswith(" kit=1"), hello
        assert hello[1] == "ERR unsupported adapter: Pong is not implemented", hello


@pytest.fixture(scope="module")
def matrix(project) -> list[dict]:
    (project / "peers" / "gopay" / "adapter.go").write_text(GOPAY)
    (project / "peers" / "goframe" / "adapter.go").write_text(GOFRAME)
    r = crosswire(project, "build", "--peers", "gopay,goframe,python", timeout=1200)
    assert r.returncode == 0, r.stdout + r.stderr
    out = project / "reports" / "kit-go.json"
    # Every Ping case and one Pong case; two connection groups at once, as the CLI runs by default.
    r = crosswire(project, "matrix", "--peers", "gopay,goframe,python", "--cases", "ping.*,pong.zero",
                  "--jobs", "2", "--json", str(out), timeout=1800)
    assert out.is_file(), r.stdout[-3000:] + r.stderr[-3000:]
    return json.loads(out.read_text())["results"]


def cells(results: list[dict], message: str, peer: str) -> list[dict]:
    return [c for c in results if c["message"] == message and peer in (c["sender"], c["receiver"])]


def test_the_implemented_message_passes_both_ways_on_every_transport(matrix):
    for peer in ("gopay", "goframe"):
        got = cells(matrix, "Ping", peer)
        bad = [f"{c['id']}: {c['status']} {c['detail']}" for c in got if c["status"] != "pass"]
        assert not bad, "\n".join(bad[:10])
        for t in TRANSPORTS:
            for a, b in ((peer, "python"), ("python", peer)):
                assert any(c["transport"] == t and (c["sender"], c["receiver"]) == (a, b) for c in got), (a, b, t)
        assert {"encode", "decode"} <= {c["kind"] for c in got}


def test_the_unimplemented_message_is_skipped_with_the_kits_reason(matrix):
    got = cells(matrix, "Pong", "gopay")
    assert got and {c["transport"] for c in got} >= {"-", *TRANSPORTS}
    for c in got:
        if "goframe" in (c["sender"], c["receiver"]) and c["status"] == "fail":
            continue       # goframe's own error comes first in a cell of both adapters
        assert c["status"] == "skip" and "adapter: Pong is not implemented" in c["detail"], c


def test_an_adapter_error_is_reported_as_the_adapters_and_the_matrix_goes_on(matrix):
    got = [c for c in cells(matrix, "Pong", "goframe") if "gopay" not in (c["sender"], c["receiver"])]
    assert got and {c["transport"] for c in got} >= {"-", *TRANSPORTS}
    for c in got:
        assert c["status"] == "fail", c
        assert ("adapter encode Pong: the library has no Pong" in c["detail"]
                or "adapter decode Pong: the library has no Pong" in c["detail"]), c
    # the cells after the failures ran: goframe's Ping cells on the transports run after its Pong ones
    assert all(c["status"] == "pass" for c in cells(matrix, "Ping", "goframe"))
