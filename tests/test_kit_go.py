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
matrix goes on.

A framing adapter's library judges every frame the kit finds on the stream: the kit reads the
header only for the message id and the length, and checks no constant, checksum or seq. A third
peer, `golax`, wraps a lax "library" (it reads the length and nothing else of the header); frames
written over uds by the test itself show that it gets a wrong magic and a wrong checksum to judge
(and accepts them), while an unknown id stays the kit's error, and that goframe (the reference
codec, strict) refuses the same frames with the contract's codes, the connection closed after a
bad constant and kept after a bad checksum. The kit still checks the frame a library's encode
makes. And the kit's peer never outlives the harness: stdin hung up mid-wait ends it, its
endpoint removed; its parent's death kills it. Skipped, with the reason, when `go` is not
installed."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from .conftest import ROOT, running as alive

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

# golax: a framing "library" that reads the header's length and nothing else of it (no magic, no
# checksum: what libmodbus 3.1.6 does with the MBAP protocol id), and writes no magic.
GOLAX = """\
package main

import (
	"encoding/binary"

	"golax/codec"
)

type adapter struct {
	codec.Unimplemented
}

func (a *adapter) EncodePing(v *codec.Ping, seq uint64, plain []uint64) ([]byte, error) {
	frame, err := codec.EncodeFrame(v, seq, plain)
	if err == nil {
		frame[0] = 0
	}
	return frame, err
}

func (a *adapter) DecodePing(frame []byte) (*codec.Ping, error) {
	n := int(binary.LittleEndian.Uint16(frame[5:7]))
	return codec.Decode[codec.Ping](frame[7 : 7+n])
}
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
        hello = subprocess.run([str(peer / "build" / "cw-peer")], input="HELLO 3\nENCODE Pong true 1\nQUIT\n",
                               capture_output=True, text=True, timeout=30).stdout.splitlines()
        assert hello[0].startswith(f"OK name={name} language=go contract=3") and hello[0].endswith(" kit=2"), hello
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


# ------------------------------------------------------------------ a framing adapter's frames


@pytest.fixture(scope="module")
def framers(project) -> Path:
    """goframe (the reference codec) and golax (a lax library) built; the project's root."""
    r = crosswire(project, "new-peer", "golax", "--lang", "go", "--adapter", "--frames")
    assert r.returncode == 0, r.stdout + r.stderr
    (project / "peers" / "golax" / "adapter.go").write_text(GOLAX)
    (project / "peers" / "goframe" / "adapter.go").write_text(GOFRAME)
    r = crosswire(project, "build", "--peers", "golax,goframe", timeout=1200)
    assert r.returncode == 0, r.stdout + r.stderr
    return project


def duo_frames(root: Path) -> dict[str, bytes]:
    """Frames of the duo schema: a good Ping (seq 1, node 9), the same with a wrong magic, with a
    wrong checksum, and with an id no message has."""
    from harness import codec
    from harness import schema as S
    schema = S.load(root / "protocols" / "schema.toml")
    ping = schema.message("Ping")
    good = codec.frame_bytes(schema, ping, 1, codec.encode(ping, {"count": 7, "note": "hi"}), {"node": 9})
    return {"good": good, "magic": b"\x00" + good[1:], "checksum": good[:-1] + bytes([good[-1] ^ 0xFF]),
            "id": good[:1] + b"\x09" + good[2:]}


def replies(peer: Path, frames: list[bytes], lines: list[str]) -> list[str]:
    """Start the peer, make it listen on uds and accept the test's connection, write the frames,
    then send each request line: the replies, an error as `ERR <kind> <detail>`."""
    from harness.errors import PeerReplyError
    from harness.driver import PeerProcess
    from harness import peers as P
    spec = P.load_manifest(peer / "peer.toml")
    where = tempfile.mkdtemp(prefix="cw-kit-go-")
    path = os.path.join(where, "s")
    out = []
    try:
        with PeerProcess(spec, "framing") as proc, socket.socket(socket.AF_UNIX) as s:
            proc.handshake()
            proc.request(f"LISTEN uds {path}")
            proc.send("ACCEPT 5000")
            s.connect(path)
            proc.reply(10)
            s.sendall(b"".join(frames))
            for line in lines:
                try:
                    out.append("OK " + " ".join(proc.request(line, 10)))
                except PeerReplyError as exc:
                    out.append(f"ERR {exc.kind} {exc.detail}")
    finally:
        shutil.rmtree(where, ignore_errors=True)
    return out


def test_a_framing_library_judges_the_constants_and_the_checksum(framers):
    """golax gets the frames with a wrong magic and a wrong checksum (the kit checks neither) and,
    lax, accepts them; the connection stays open all along."""
    f = duo_frames(framers)
    got = replies(framers / "peers" / "golax", [f["magic"], f["checksum"], f["good"]],
                  ["RECV 3000", "RECV 3000", "RECV 3000"])
    assert got == ["OK Ping 1 9 7 x6869"] * 3, got


def test_an_unknown_id_stays_the_kits_error(framers):
    """The id picks the message's decode: an id no message has is the kit's `type` error at the
    id field, and the connection is dropped (the stream is out of step)."""
    f = duo_frames(framers)
    got = replies(framers / "peers" / "golax", [f["id"], f["good"]], ["RECV 3000", "RECV 0"])
    assert got[0].startswith("ERR decode type frame.id"), got
    assert got[1].startswith("ERR runtime"), got


def test_a_strict_library_refuses_with_the_contracts_codes(framers):
    """goframe decodes with the reference codec's DecodeFrame: a wrong magic is its `const` error
    and the kit then closes the connection (a header out of step); a wrong checksum is its
    `checksum` error and the next frame is read."""
    f = duo_frames(framers)
    peer = framers / "peers" / "goframe"
    got = replies(peer, [f["magic"], f["good"]], ["RECV 3000", "RECV 0"])
    assert got[0].startswith("ERR decode const frame.magic"), got
    assert got[1].startswith("ERR runtime"), got
    got = replies(peer, [f["checksum"], f["good"]], ["RECV 3000", "RECV 3000"])
    assert got[0].startswith("ERR decode checksum frame.crc") and got[1] == "OK Ping 1 9 7 x6869", got


def test_the_kit_still_checks_the_frame_a_library_encodes(framers):
    """golax writes no magic: ENCODE (the kit checks the frame before answering its payload)
    refuses it as the adapter's encode error."""
    from harness.driver import PeerProcess
    from harness.errors import PeerReplyError
    from harness import peers as P
    with PeerProcess(P.load_manifest(framers / "peers" / "golax" / "peer.toml"), "encode") as proc:
        proc.handshake()
        with pytest.raises(PeerReplyError) as info:
            proc.request("ENCODE Ping 7 x6869")
    assert info.value.kind == "runtime" and "adapter encode Ping: the frame it made" in info.value.detail, info.value
    assert "frame.magic" in info.value.detail, info.value


# ------------------------------------------------------------------ when the harness goes
# PEER_CONTRACT.md, "When the harness goes", as the kit does it (peers/go/kit/harness.go): a
# watcher goroutine, and on Linux the parent-death signal. The scaffolded gopay peer serves: the
# waits are the kit's, whatever the schema.

@pytest.fixture(scope="module")
def waiter(project) -> Path:
    peer = project / "peers" / "gopay"
    r = subprocess.run([go(), "build", "-o", "build/cw-peer", "."], cwd=peer, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    return peer / "build" / "cw-peer"


@pytest.fixture
def names():
    """A socket path and a segment name of this run (conftest's leftover check sees them)."""
    tag = os.environ.get("CW_RUN_TAG", "")
    folder = Path(tempfile.mkdtemp(prefix=f"cw-{tag}go"))
    yield folder / "w.sock", f"/cw{tag}go{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)


def ask(peer: subprocess.Popen, line: str) -> str:
    peer.stdin.write(line + "\n")
    peer.stdin.flush()
    return peer.stdout.readline().strip()


@pytest.mark.parametrize("transport", ["uds", "shm"])
def test_stdin_hung_up_mid_accept_ends_the_peer_and_removes_its_endpoint(waiter, names, transport):
    """The harness's end of stdin closes while the peer waits in ACCEPT (60 s): within 1 s the
    peer has removed its socket file (uds) or segment name (shm) and exited with status 0."""
    path, shm = names
    address, made = (str(path), path) if transport == "uds" else (shm, Path("/dev/shm" + shm))
    peer = subprocess.Popen([str(waiter)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert ask(peer, f"LISTEN {transport} {address}") == "OK"
        assert made.exists()
        peer.stdin.write("ACCEPT 60000\n")
        peer.stdin.close()
        start = time.monotonic()
        assert peer.wait(timeout=5) == 0
        assert time.monotonic() - start < 1
        assert not made.exists()
    finally:
        peer.kill()
        peer.wait()
        made.unlink(missing_ok=True)


def test_lines_sent_before_stdin_hung_up_are_still_answered(waiter, names):
    path, _ = names
    r = subprocess.run([str(waiter)], input=f"LISTEN uds {path}\nACCEPT 300\nHELLO 3\n", capture_output=True,
                       text=True, timeout=30)
    lines = r.stdout.splitlines()
    assert r.returncode == 0 and len(lines) == 3, r.stdout
    assert lines[:2] == ["OK", "ERR timeout no connection to accept"] and lines[2].startswith("OK name=gopay")
    assert not path.exists()


MIDDLE = """\
import subprocess, sys, time
peer = subprocess.Popen([sys.argv[1]], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
for line in ("LISTEN uds " + sys.argv[2], "ACCEPT 60000"):
    peer.stdin.write(line + "\\n")
    peer.stdin.flush()
assert peer.stdout.readline().strip() == "OK"
print(peer.pid, flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_a_peer_dies_with_the_process_that_started_it(waiter, names):
    """SIGKILL of the peer's parent (the harness, here a middle process) while the peer waits in
    ACCEPT (60 s): the peer is gone within 1 s (PR_SET_PDEATHSIG, its socket file is left to the
    harness's sweep: a SIGKILL leaves nothing time to remove it)."""
    path, _ = names
    middle = subprocess.Popen([sys.executable, "-c", MIDDLE, str(waiter), str(path)], stdout=subprocess.PIPE,
                              text=True)
    pid = int(middle.stdout.readline())
    try:
        time.sleep(0.2)
        middle.kill()
        middle.wait()
        deadline = time.monotonic() + 1
        while time.monotonic() < deadline and alive(pid):
            time.sleep(0.01)
        assert not alive(pid)
    finally:
        if alive(pid):
            os.kill(pid, 9)


