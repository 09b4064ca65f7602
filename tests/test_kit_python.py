"""The Python kit (peers/python/kit, docs/kits.md), in process: its STREAM layout gives the payloads
harness/streams.py describes, on every schema the tests carry; STREAM is checked before it is
kept; BLAST and DRAIN over a socket pair tally as PEER_CONTRACT.md "Streams" says; the bench frame
is P(0, n); and a framing adapter's library gets every frame the kit finds, the kit checking only
its id and length (not the constants nor the checksum) on the way in, and still the whole frame
the library encodes on the way out. And, as a process: the peer never outlives the harness
(PEER_CONTRACT.md, "When the harness goes"), whatever it waits on."""
from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness import codec as hcodec
from harness import driver
from harness import streams
from harness.project import Project
from harness.vectors import special_value, splitmix64

from .conftest import ROOT, running

PEER_DIR = ROOT / "peers" / "python"
KIT = PEER_DIR / "kit"
SCHEMAS = [ROOT, *(ROOT / "tests" / "schemas" / n for n in ("demo", "zoo", "noid", "streams")), ROOT / "examples" / "modbus"]
MODULES = ("cwkit", "codec", "stream", "bench", "shm", "plans", "alive")


@pytest.fixture(scope="module")
def kit():
    """The kit's modules (cwkit, codec, stream), imported from peers/python/kit, then forgotten."""
    saved = {m: sys.modules.pop(m) for m in MODULES if m in sys.modules}
    sys.path[:0] = [str(KIT), str(PEER_DIR / "build")]
    try:
        import codec
        import cwkit
        import stream
        yield SimpleNamespace(cwkit=cwkit, codec=codec, stream=stream)
    finally:
        del sys.path[:2]
        for m in MODULES:
            sys.modules.pop(m, None)
        sys.modules.update(saved)


def peer_for(kit, root: Path, adapter=None):
    """A kit Peer on the schema of the project at root (walker codec), unconnected."""
    p = kit.cwkit.Peer(PEER_DIR, adapter)
    p.schema = kit.codec.Schema(Project(root).schema_path, plans_path=None)
    return p


def ask(p, line: str) -> str:
    return p.answer((line + "\n").encode())


@pytest.mark.parametrize("root", SCHEMAS, ids=[p.name if p != ROOT else "crosswire" for p in SCHEMAS])
def test_the_layout_gives_the_harness_payloads(kit, root):
    proj = Project(root)
    lay = streams.layout(proj.schema)
    p = peer_for(kit, root)
    assert ask(p, lay.request) == "OK"
    mine = p.layout
    for n in sorted({0, 1, 2, 3, lay.max // 2, lay.max - 1, lay.max} & set(range(lay.max + 1))):
        for seq in (0, 1, 255, 256, 300, 65535):
            assert mine.payload(seq, n) == lay.payload(seq, n), (n, seq)
        assert mine.elements(lay.size(n)) == n


@pytest.mark.parametrize("line", [
    "STREAM", "STREAM Nope x00 0 1 le 1 0", "STREAM Blob x0000000000000000 9 1 le 10 0",
    "STREAM Blob x0000000000000000 8 0 le 10 0", "STREAM Blob x0000000000000000 8 9 le 10 0",
    "STREAM Blob x0000000000000000 8 1 middle 10 0", "STREAM Blob x0000000000000000 8 1 le 1048569 0",
    "STREAM Blob x0000000000000000 8 1 le 10 1 7 2 le 1 0", "STREAM Blob x0000000000000000 8 1 le 10 1 4 4 le 1",
    "STREAM Blob x0000000000000000 8 1 le 10 2 0 4 le 1 0 2 4 le 1 0", "STREAM Blob x0000000000000000 8 1 le 10 9",
    "STREAM Blob x00zz 0 1 le 10 0", "STREAM Blob x0000000000000000 8 1 le 10 1 4 4 le 18446744073709551616 0",
    "STREAM Blob x0000000000000000 8 1 le 10 1 6 4 le 1 0", "STREAM Blob x0000000000000000 8 1 le 10 1 4 0 le 1 0",
])
def test_a_bad_stream_is_refused_and_not_kept(kit, line):
    p = peer_for(kit, ROOT)
    assert ask(p, line).startswith("ERR request"), line
    assert p.layout is None
    assert ask(p, "BLAST 1 1 0 1").startswith("ERR request no STREAM")


def test_a_frame_without_seq_is_unsupported(kit, tmp_path):
    (tmp_path / "protocols").mkdir()
    (tmp_path / "protocols" / "schema.toml").write_text("""
[format]
name = "noseq"
byte_order = "little"
max_payload = 64

[frame]
header = [{ name = "kind", type = "u8", role = "id" }, { name = "len", type = "u16", role = "length" }]

[messages.Data]
id = 1
fields = [{ name = "data", type = "bytes", prefix = "u8", max = 32 }]
""")
    (tmp_path / "crosswire.toml").write_text('name = "noseq"\n')
    p = peer_for(kit, tmp_path)
    assert ask(p, "STREAM Data x00 1 1 le 32 1 0 1 le 1 0").startswith("ERR unsupported")
    assert ask(p, "DRAIN 1 1 0 1 10").startswith("ERR request no STREAM")


def figures(reply: str) -> dict:
    assert reply.startswith("OK "), reply
    return driver.figures(reply.split()[1:])


@pytest.mark.parametrize("root", [ROOT, ROOT / "tests" / "schemas" / "demo", ROOT / "examples" / "modbus"],
                         ids=["crosswire", "demo", "modbus"])
def test_blast_then_drain_over_a_socket_pair(kit, root):
    lay = streams.layout(Project(root).schema)
    a, b = peer_for(kit, root), peer_for(kit, root)
    a.conn, b.conn = socket.socketpair()
    try:
        for p in (a, b):
            assert ask(p, lay.request) == "OK"
        high = min(lay.max, 40)
        count = min(200, Project(root).schema.frame.role("seq").type.max)
        sent = figures(ask(a, f"BLAST {count} 9 0 {high}"))
        got = figures(ask(b, f"DRAIN {count} 9 0 {high} 5000"))
        assert sent["sent"] == count and got["bytes"] == sent["bytes"]
        assert (got["received"], got["lost"], got["duplicated"], got["reordered"], got["corrupt"]) == (count, 0, 0, 0, 0)
        assert ask(b, f"DRAIN 1 9 0 {lay.max + 1} 10").startswith("ERR request")
    finally:
        a.close_all()
        b.close_all()


def test_drain_tallies_as_the_contract_says(kit):
    """A checksum failure: received and corrupt, no bytes, no seq; another message: corrupt, its
    bytes, no seq; a wrong payload: corrupt, its bytes and its seq (demo's frame has a CRC)."""
    root = ROOT / "tests" / "schemas" / "demo"
    schema = Project(root).schema
    lay = streams.layout(schema)
    msg = lay.message
    other = next(m for m in schema.messages.values() if m is not msg and (not msg.direction or m.direction == msg.direction))
    plain = {h.name: 0 for h in schema.frame.header if not h.role}
    b = peer_for(kit, root)
    b.conn, sock = socket.socketpair()
    try:
        assert ask(b, lay.request) == "OK"

        def good(i: int) -> bytes:
            return hcodec.frame_bytes(schema, msg, i, lay.payload(i, splitmix64(3 ^ i) % 3 + 1), plain)

        bad_crc = bytearray(good(2))
        bad_crc[-1] ^= 1
        wrong = bytearray(lay.payload(3, splitmix64(3 ^ 3) % 3 + 1))
        wrong[-1] ^= 0xFF
        wrong = hcodec.frame_bytes(schema, msg, 3, bytes(wrong), plain)
        zero = hcodec.encode(other, special_value(other, "zero"))
        foreign = hcodec.frame_bytes(schema, other, 4, zero, plain)
        sent = [good(1), bytes(bad_crc), wrong, foreign, good(99), good(1), good(6), good(5)]
        sock.sendall(b"".join(sent))
        got = figures(ask(b, "DRAIN 8 3 1 3 5000"))
        assert {k: got[k] for k in ("received", "lost", "duplicated", "reordered", "corrupt", "bytes")} == {
            "received": 8, "lost": 4, "duplicated": 1, "reordered": 1, "corrupt": 4,
            "bytes": sum(len(f) for f in sent) - len(bad_crc)}, got
        # the first corrupt frame (PEER_CONTRACT.md, "Streams"): the one whose checksum failed
        assert got["bad_at"] == len(good(1)) and got["bad"] == bytes(bad_crc).hex(), got
        assert got["missed"] == 0, got
    finally:
        sock.close()
        b.close_all()


def test_the_bench_frame_is_p0n(kit):
    lay = streams.layout(Project(ROOT).schema)
    p = peer_for(kit, ROOT)
    assert ask(p, lay.request) == "OK"
    frame = p.bench_frame("64")
    assert bytes(frame) == hcodec.frame_bytes(Project(ROOT).schema, lay.message, 0, lay.payload(0, 56), {})
    for size in ("7", str(lay.size(lay.max) + 1)):
        assert ask(p, f"FLOOD 1 {size}").startswith("ERR request"), size


# ------------------------------------------------------------------ framing adapters

MODBUS = ROOT / "examples" / "modbus"


class Library:
    """A "library" that frames Modbus TCP with the harness's reference codec, and records what
    it is handed; it does not look at the protocol id."""

    FRAMES = True

    def __init__(self):
        self.schema = Project(MODBUS).schema
        self.got: list[bytes] = []

    def decode_ReadCoilsRequest(self, frame):
        self.got.append(frame)
        payload = frame[self.schema.frame.header_size:]
        value = hcodec.decode(self.schema.messages["ReadCoilsRequest"], payload)
        return dict(value)

    def encode_ReadCoilsRequest(self, value, seq, header):
        m = self.schema.messages["ReadCoilsRequest"]
        frame = bytearray(hcodec.frame_bytes(self.schema, m, seq, hcodec.encode(m, value), {"unit_id": header[0]}))
        if value["quantity"] == 7:
            frame[2] = 1            # a protocol id the kit must catch on the way out
        return bytes(frame)


def test_a_framing_library_judges_the_constants(kit):
    lib = Library()
    p = peer_for(kit, MODBUS, lib)
    p.conn, sock = socket.socketpair()
    try:
        m = lib.schema.messages["ReadCoilsRequest"]
        frame = bytearray(hcodec.frame_bytes(lib.schema, m, 5, hcodec.encode(m, {"starting_address": 19, "quantity": 3}),
                                             {"unit_id": 17}))
        frame[3] = 9                # protocol id 9: the kit no longer refuses it, the library sees it
        sock.sendall(bytes(frame))
        assert ask(p, "RECV 5000 request") == "OK ReadCoilsRequest 5 17 19 3"
        assert lib.got == [bytes(frame)]
        unknown = bytearray(frame)
        unknown[7] = 0x63           # an id no message has: still the kit's error
        sock.sendall(bytes(unknown))
        assert ask(p, "RECV 5000 request").startswith("ERR decode type frame.function")
        refused = ask(p, "ENCODE ReadCoilsRequest 1 7")     # the kit still checks the frame the library made
        assert refused.startswith("ERR runtime adapter encode ReadCoilsRequest: ") and "frame.protocol_id" in refused
    finally:
        sock.close()
        p.close_all()


def test_a_payload_adapter_still_has_the_kit_check_the_constants(kit):
    p = peer_for(kit, MODBUS, SimpleNamespace(FRAMES=False, decode_ReadCoilsRequest=lambda b: pytest.fail("called")))
    p.conn, sock = socket.socketpair()
    try:
        schema = Project(MODBUS).schema
        m = schema.messages["ReadCoilsRequest"]
        frame = bytearray(hcodec.frame_bytes(schema, m, 5, hcodec.encode(m, {"starting_address": 19, "quantity": 3}),
                                             {"unit_id": 17}))
        frame[3] = 9
        sock.sendall(bytes(frame))
        assert ask(p, "RECV 5000 request").startswith("ERR decode const frame.protocol_id")
    finally:
        sock.close()
        p.close_all()


# ------------------------------------------------------------------ the harness goes (issue 17)

PROJECT = Project(ROOT)
STREAM = streams.layout(PROJECT.schema).request
TAG = "cw" + os.environ.get("CW_RUN_TAG", "")   # conftest's leftover check sees what these leave


def python_spec():
    spec = PROJECT.registry["python"]
    reason = spec.unavailable()
    if reason:
        pytest.skip(reason)
    return spec


class Running:
    """The Python peer started as the harness starts it; its stdin is ours to hang up."""

    def __init__(self, argv=None, **popen):
        spec = python_spec()
        self.proc = subprocess.Popen(argv or spec.argv(), cwd=spec.dir, env=spec.env(), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)

    def tell(self, line: str) -> None:
        """A request whose reply we do not wait for (it blocks)."""
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def ask(self, line: str) -> str:
        self.tell(line)
        return self.proc.stdout.readline().decode().rstrip("\n")

    def hang_up(self, within: float = 3.0) -> float:
        """Close its stdin (we stay its parent); the seconds it took to exit, status 0."""
        time.sleep(0.3)                 # well inside the wait
        assert self.proc.poll() is None, self.proc.stderr.read().decode()
        t0 = time.monotonic()
        self.proc.stdin.close()
        code = self.proc.wait(within)
        took = time.monotonic() - t0
        assert code == 0, self.proc.stderr.read().decode()
        assert self.proc.stdout.read() == b"", "no reply to a request the harness cannot read"
        return took

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            f.close()


@pytest.fixture
def peers():
    started: list[Running] = []

    def start(argv=None, **popen) -> Running:
        started.append(Running(argv, **popen))
        return started[-1]
    yield start
    for p in started:
        p.stop()


def shm_name() -> str:
    return f"/{TAG}k{secrets.token_hex(4)}"


def segment_left(name: str) -> bool:
    return Path("/dev/shm" + name).exists()


def connected_over_shm(peers, capacity=65536):
    """(listener side, connecting side), connected over a fresh segment, both after STREAM."""
    a, b, name = peers(), peers(), shm_name()
    for p in (a, b):
        assert p.ask("HELLO 3").startswith("OK ") and p.ask(STREAM) == "OK"
    assert a.ask(f"LISTEN shm {name} {capacity}") == "OK"
    assert b.ask(f"CONNECT shm {name} 5000") == "OK"
    assert a.ask("ACCEPT 5000") == "OK"
    return a, b


def test_a_hung_up_stdin_ends_accept_and_removes_the_socket_file(peers, tmp_path):
    p, path = peers(), tmp_path / "x.sock"
    assert p.ask("HELLO 3").startswith("OK ") and p.ask(f"LISTEN uds {path}") == "OK"
    p.tell("ACCEPT 60000")
    assert p.hang_up() < 1.5
    assert not path.exists()


def test_a_hung_up_stdin_ends_accept_on_shm_and_removes_the_segment(peers):
    p, name = peers(), shm_name()
    assert p.ask("HELLO 3").startswith("OK ") and p.ask(f"LISTEN shm {name}") == "OK"
    assert segment_left(name)
    p.tell("ACCEPT 60000")
    assert p.hang_up() < 1.5
    assert not segment_left(name)


@pytest.mark.parametrize("transport", ["uds", "tcp"])
@pytest.mark.parametrize("request_", ["RECV 60000", "GRAB 60000", "DRAIN 10 1 0 10 60000", "SINK 10 64 60000",
                                      "BLAST 10000000 1 0 1000", "FLOOD 10000000 4096"])
def test_a_hung_up_stdin_ends_a_socket_wait(peers, tmp_path, transport, request_):
    """Reads that wait for frames never sent, writes blocked on a socket nobody reads."""
    if transport == "uds":
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(tmp_path / "s.sock"))
        address = str(tmp_path / "s.sock")
    else:
        server = socket.socket(socket.AF_INET)
        server.bind(("127.0.0.1", 0))
        address = "127.0.0.1:%d" % server.getsockname()[1]
    server.listen(1)
    p = peers()
    try:
        assert p.ask("HELLO 3").startswith("OK ") and p.ask(STREAM) == "OK"
        assert p.ask(f"CONNECT {transport} {address} 5000") == "OK"
        conn, _ = server.accept()
        p.tell(request_)
        assert p.hang_up() < 1.5
        conn.close()
    finally:
        server.close()


@pytest.mark.parametrize("request_", ["RECV 60000", "DRAIN 10 1 0 10 60000", "SINK 10 64 60000", "PONG 10 60000"])
@pytest.mark.parametrize("side", ["listener", "connector"])
def test_a_hung_up_stdin_ends_a_wait_on_an_empty_ring(peers, request_, side):
    a, b = connected_over_shm(peers)
    p = a if side == "listener" else b
    p.tell(request_)
    assert p.hang_up() < 1.5
    other = b if p is a else a
    assert other.ask("QUIT") == "OK"


@pytest.mark.parametrize("request_", ["BLAST 10000000 1 0 100", "FLOOD 10000000 64"])
def test_a_hung_up_stdin_ends_a_writer_blocked_on_a_full_ring(peers, request_):
    """The reader lives and never reads: only the harness check can end the writer's wait."""
    a, b = connected_over_shm(peers, capacity=64)
    b.tell(request_)
    assert b.hang_up() < 1.5
    assert a.ask("QUIT") == "OK"




def reap(pid: int) -> int | None:
    """Its exit code, when it was this process's to reap (a subreaper's orphan), else None."""
    try:
        got, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None
    return os.waitstatus_to_exitcode(status) if got == pid else None


NO_PDEATHSIG = """import os, sys
sys.path.insert(0, {kit!r})
import alive, cwkit
alive.watch = lambda: setattr(alive, "parent", os.getppid())   # as on macOS: no PR_SET_PDEATHSIG
sys.exit(cwkit.run({peer!r}))
"""

MIDDLE = """import subprocess, sys, time
p = subprocess.Popen(sys.argv[1:])     # stdin, stdout: the test's pipes, which outlive this process
print(p.pid, file=sys.stderr, flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
@pytest.mark.parametrize("pdeathsig", [True, False], ids=["pdeathsig", "getppid"])
@pytest.mark.parametrize("wait", ["accept", "drain-shm"])
def test_a_peer_whose_parent_is_killed_goes(peers, tmp_path, pdeathsig, wait):
    """A middle process starts the peer, then is SIGKILLed while the peer waits. The peer's stdin
    is still open (our pipe), so only its parent says the harness is gone: PR_SET_PDEATHSIG
    (Linux: the peer is SIGKILLed with it) or, without it (macOS), the getppid() check, which
    cleans up as QUIT does."""
    spec = python_spec()
    argv = list(spec.argv())
    if not pdeathsig:
        shim = tmp_path / "no_pdeathsig.py"
        shim.write_text(NO_PDEATHSIG.format(kit=str(KIT), peer=str(PEER_DIR)))
        argv = [argv[0], str(shim)]
    if sys.platform != "linux" and pdeathsig:
        pytest.skip("PR_SET_PDEATHSIG is Linux's")
    middle = peers([sys.executable, "-c", MIDDLE, *argv])
    pid = int(middle.proc.stderr.readline())
    assert middle.ask("HELLO 3").startswith("OK ")
    if wait == "accept":
        path = tmp_path / "x.sock"
        assert middle.ask(f"LISTEN uds {path}") == "OK"
        middle.tell("ACCEPT 60000")
    else:
        other, name = peers(), shm_name()
        assert other.ask("HELLO 3").startswith("OK ") and other.ask(f"LISTEN shm {name}") == "OK"
        assert middle.ask(STREAM) == "OK" and middle.ask(f"CONNECT shm {name} 5000") == "OK"
        assert other.ask("ACCEPT 5000") == "OK"
        middle.tell("DRAIN 10 1 0 10 60000")
    time.sleep(0.3)
    assert running(pid)
    t0 = time.monotonic()
    middle.proc.send_signal(signal.SIGKILL)
    try:
        while running(pid) and time.monotonic() - t0 < 3:
            time.sleep(0.01)
        took = time.monotonic() - t0
        assert not running(pid), "the peer outlived its parent"
    finally:
        if running(pid):
            os.kill(pid, signal.SIGKILL)
        code = reap(pid)
    assert took < 1.5
    assert code in (None, -signal.SIGKILL if pdeathsig else 0)
    if wait == "accept" and not pdeathsig:
        assert not path.exists(), "the socket file is removed as QUIT removes it"
    if wait == "drain-shm":
        assert other.ask("QUIT") == "OK"
