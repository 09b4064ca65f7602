"""The C kit (peers/c/kit, docs/kits.md) under an adapter peer: a project in a temporary folder
with a two-message schema, its C adapter written by harness/codegen/c.py (adapter_files and
adapter_generated) with one message implemented (through the generated reference codec, as a
library would be called) and one left as the stub, the kit vendored, built and run by the
harness against the Python reference peer. The implemented message passes over uds, tcp and shm;
the other is skipped with the kit's reason. Both forms: a payload adapter, and a framing adapter
(--frames) that writes and reads whole frames itself, and judges every frame the kit finds (no
constant or checksum checked before it). The streams (STREAM, BLAST, DRAIN) are the kit's own,
bytes for bytes what harness/streams.py describes, whichever the adapter."""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from harness import codec, kits, streams
from harness import schema as S
from harness.codegen import c as cgen
from harness.vectors import splitmix64

from .conftest import ROOT

SCHEMA = """
[format]
name = "pair"
byte_order = "little"
max_payload = 64

[frame]
header = [
  { name = "magic", type = "u16", const = 0xC0DE },
  { name = "kind",  type = "u8",  role = "id" },
  { name = "len",   type = "u16", role = "length", counts = "payload" },
  { name = "seq",   type = "u32", role = "seq" },
  { name = "node",  type = "u8" },
]

[frame.checksum]
name = "crc"
algorithm = "crc-32"
covers = "magic..payload"

[messages.Ping]
id = 1
fields = [{ name = "n", type = "u32" }, { name = "note", type = "string", prefix = "u8", max = 16 }]

[messages.Pong]
id = 2
fields = [{ name = "n", type = "u32" }]
"""

CONFIG = 'name = "pair"\nkits = "build/kits"\n'

# Ping, implemented as a library would be called: here the generated reference codec (and, for a
# framing adapter, the generated frame functions). n = 0xdeadbeef is refused, to show an error.
PAYLOAD_PING = """
int adapter_encode_Ping(const cw_Ping *v, uint8_t *out, size_t cap, size_t *out_len, cw_ctx *c)
{
    if (v->n == 0xdeadbeefu) return cw_adapter_fail(c, "the library refuses 0xdeadbeef");
    return cw_encode_Ping(v, out, cap, out_len, c);
}

int adapter_decode_Ping(const uint8_t *buf, size_t len, cw_Ping *v, cw_ctx *c)
{
    return cw_decode_Ping(buf, len, v, c);
}
"""

FRAME_PING = """
int adapter_encode_Ping(const cw_Ping *v, uint64_t seq, const uint64_t *header, uint8_t *out, size_t cap,
                        size_t *out_len, cw_ctx *c)
{
    size_t len = 0;
    if (v->n == 0xdeadbeefu) return cw_adapter_fail(c, "the library refuses 0xdeadbeef");
    if (cw_encode_Ping(v, out + CW_HEADER_SIZE, cap - CW_HEADER_SIZE - CW_TRAILER_SIZE, &len, c)) return -1;
    *out_len = cw_frame_write(out, &cw_messages[0], len, seq, header);
    return 0;
}

int adapter_decode_Ping(const uint8_t *frame, size_t len, cw_Ping *v, cw_ctx *c)
{
    cw_head h;
    if (cw_frame_head(frame, CW_EITHER, &h, c) || h.size != len) return cw_adapter_fail(c, "not a whole frame");
    return cw_decode_Ping(frame + CW_HEADER_SIZE, h.payload_len, v, c);
}
"""


def fill(adapter_c: str, name: str, body: str) -> str:
    """adapter.c with the two stubs of `name` replaced by `body`."""
    start = adapter_c.index(f"int adapter_encode_{name}(")
    end = adapter_c.index("}\n", adapter_c.index(f"int adapter_decode_{name}(")) + 2
    return adapter_c[:start] + body.strip() + "\n" + adapter_c[end:]


def harness(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module", params=[False, True], ids=["payload", "frames"])
def project(request, tmp_path_factory):
    """A built project whose peer `cpair` is a C adapter with Ping implemented, Pong not."""
    if shutil.which("cc") is None or shutil.which("make") is None:
        pytest.skip("no C compiler or make")
    frames = request.param
    root = tmp_path_factory.mktemp("frames" if frames else "payload")
    (root / "protocols").mkdir()
    (root / "protocols" / "schema.toml").write_text(SCHEMA)
    (root / "crosswire.toml").write_text(CONFIG)
    schema = S.load(root / "protocols" / "schema.toml")
    peer = root / "peers" / "cpair"
    kits.vendor("c", root / "build" / "kits" / "c")
    files = {**cgen.adapter_files(schema, "cpair", "../../build/kits/c", frames),
             **cgen.adapter_generated(schema, frames)}
    for rel, text in files.items():
        (peer / rel).parent.mkdir(parents=True, exist_ok=True)
        (peer / rel).write_text(text)
    (peer / "adapter.c").write_text(fill(files["adapter.c"], "Ping", FRAME_PING if frames else PAYLOAD_PING))
    r = harness("vectors", "--root", str(root), "--regenerate")
    assert r.returncode == 0, r.stdout + r.stderr
    r = harness("build", "--root", str(root), "--peers", "cpair,python")
    assert r.returncode == 0 and (peer / "build" / "cw-peer").exists(), r.stdout + r.stderr
    return root, peer, frames


def test_generated_files_say_so_and_stubs_are_the_users(project):
    root, peer, frames = project
    for rel in ("gen/cw_schema.h", "gen/cw_schema.c", "gen/cw_adapter.h", "gen/cw_adapter.c"):
        assert "DO NOT EDIT" in (peer / rel).read_text().splitlines()[0], rel
    manifest = (peer / "peer.toml").read_text()
    assert f'[adapter]\nlang = "c"\nframes = {str(frames).lower()}' in manifest and "contract = 3" in manifest
    assert "KIT = ../../build/kits/c" in (peer / "Makefile").read_text()
    adapter = (peer / "adapter.c").read_text()
    assert "return cw_unimplemented(c);" in adapter and "n: u32  (v->n: uint32_t)" in adapter


def test_the_contract_answers_of_an_adapter(project):
    root, peer, frames = project
    requests = ["HELLO 3", "ENCODE Pong 7", "DECODE Pong x07000000", "ENCODE Ping 3735928559 x", "ENCODE Ping 1 x61",
                "DECODE Ping x0100000001 61", "DECODE Ping x010000000161", "ENCODE Ping 1 x" + "61" * 17, "QUIT"]
    out = subprocess.run([peer / "build" / "cw-peer"], input="\n".join(requests) + "\n", capture_output=True,
                         text=True, timeout=30, cwd=peer).stdout.splitlines()
    assert out[0].startswith("OK name=cpair language=c contract=3 ") and out[0].endswith(f" kit={kits.KIT_VERSION}")
    assert out[1] == "ERR unsupported adapter: Pong is not implemented"
    assert out[2] == "ERR unsupported adapter: Pong is not implemented"
    assert out[3] == "ERR runtime adapter encode Ping: the library refuses 0xdeadbeef"
    assert out[4] == "OK x010000000161"
    assert out[5].startswith("ERR request")
    assert out[6] == "OK 1 x61"
    assert out[7].startswith("ERR encode length Ping.note")     # the text form's limits come first
    assert out[8] == "OK"


def test_matrix_implemented_passes_unimplemented_skips(project):
    root, peer, frames = project
    report = root / "matrix.json"
    r = harness("matrix", "--root", str(root), "--peers", "cpair,python", "--json", str(report))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    results = json.loads(report.read_text())["results"]
    mine = [x for x in results if "cpair" in (x["sender"], x["receiver"])]
    by = Counter((x["message"], x["transport"], x["status"]) for x in mine)
    for transport in ("uds", "tcp", "shm"):
        assert by[("Ping", transport, "pass")] > 0, by
        assert not [x for x in mine if x["message"] == "Ping" and x["transport"] == transport
                    and x["status"] != "pass"]
        assert by[("Pong", transport, "skip")] > 0, by
    pong = [x for x in mine if x["message"] == "Pong"
            and not (x["kind"] == "hostile" and x["status"] == "pass")]   # a header the kit refuses itself
    assert pong and all(x["status"] == "skip" and "Pong is not implemented" in x["detail"] for x in pong)


class Wired:
    """The built peer on its stdin/stdout, connected over uds to a socket of the test's."""

    def __init__(self, peer: Path, tmp: Path) -> None:
        self.proc = subprocess.Popen([peer / "build" / "cw-peer"], cwd=peer, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        path = str(tmp / "s.sock")
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(1)
        assert self.ask("HELLO 3").startswith("OK ")
        self.proc.stdin.write(f"CONNECT uds {path} 5000\n")
        self.proc.stdin.flush()
        self.sock, _ = self.listener.accept()
        self.sock.settimeout(10)
        assert self.proc.stdout.readline().strip() == "OK"

    def ask(self, line: str) -> str:
        self.send(line)
        return self.reply()

    def send(self, line: str) -> None:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def reply(self) -> str:
        return self.proc.stdout.readline().strip()

    def read(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            assert chunk, f"closed after {len(out)} of {n} bytes"
            out += chunk
        return out

    def close(self) -> None:
        self.sock.close()
        self.listener.close()
        self.proc.stdin.close()
        self.proc.wait(10)


@pytest.fixture
def wired(project, tmp_path):
    root, peer, frames = project
    w = Wired(peer, tmp_path)
    yield w, S.load(root / "protocols" / "schema.toml"), frames
    w.close()


def layout(schema: S.Schema) -> streams.Layout:
    """A layout with what the kit must get right: 2-byte big-endian elements inside the template,
    patches before and after them (one moving with the data), a patch that wraps around."""
    return streams.Layout(schema.messages["Ping"], "note", bytes(range(1, 11)), 4, 2, "be", 27,
                          (streams.Patch(1, 1, "le", 3, 5), streams.Patch(6, 2, "be", 4000, 65000)))


def test_blast_is_the_layout_byte_for_byte(wired):
    """BLAST frames P(i, len_i) as bytes with every plain header value 0 and the frame's checksum,
    whatever the adapter (the streams are the kit's)."""
    w, schema, frames = wired
    lay = layout(schema)
    assert w.ask("BLAST 1 1 0 1") == "ERR request no STREAM: describe the stream message with STREAM first"
    assert w.ask(lay.request) == "OK"
    assert w.ask("BLAST 1 1 0 28").startswith("ERR request max_len 28")
    w.send("BLAST 40 7 0 27")
    ping = schema.messages["Ping"]
    want = b"".join(codec.frame_bytes(schema, ping, i, lay.payload(i, splitmix64(7 ^ i) % 28), {"node": 0})
                    for i in range(1, 41))
    assert w.read(len(want)) == want
    assert w.reply().startswith("OK sent=40 bytes=%d " % len(want))


def test_drain_compares_bytes_and_tallies(wired):
    """DRAIN compares each payload with P(seq, len_seq), decoding nothing: a bad frame checksum is
    corrupt without bytes or seq; another message or a seq outside 1..count is corrupt with its
    bytes, no seq; a wrong payload is corrupt with its bytes and its seq."""
    w, schema, frames = wired
    lay = layout(schema)
    assert w.ask(lay.request) == "OK"
    ping, pong = schema.messages["Ping"], schema.messages["Pong"]

    def good(i: int) -> bytes:
        return codec.frame_bytes(schema, ping, i, lay.payload(i, splitmix64(3 ^ i) % 11 + 2), {"node": 0})

    bad_crc = bytearray(good(2))
    bad_crc[-1] ^= 1
    wrong = codec.frame_bytes(schema, ping, 3, lay.payload(3, splitmix64(3 ^ 3) % 11 + 2)[:-1] + b"\xee", {"node": 0})
    other = codec.frame_bytes(schema, pong, 4, b"\x07\0\0\0", {"node": 0})
    sent = [good(1), bytes(bad_crc), wrong, other, good(99), good(1), good(6), good(5)]
    w.send("DRAIN 8 3 2 12 5000")
    w.sock.sendall(b"".join(sent))
    reply = dict(kv.split("=") for kv in w.reply().split()[1:])
    assert {k: int(reply[k]) for k in ("received", "lost", "duplicated", "reordered", "corrupt", "bytes")} == {
        "received": 8, "lost": 4, "duplicated": 1, "reordered": 1, "corrupt": 4,
        "bytes": sum(len(f) for f in sent) - len(bad_crc)}, reply
    # the first corrupt frame (PEER_CONTRACT.md, "Streams"): the one whose checksum failed
    assert int(reply["bad_at"]) == len(sent[0]) and reply["bad"] == bytes(bad_crc).hex(), reply
    assert reply["missed"] == "0", reply


def test_drain_names_the_first_corrupt_frame_and_nothing_when_clean(wired):
    """bad_at/bad: a wrong payload after two good frames is the first corrupt one (a refused
    header after it is not); a clean stream gives neither; a refused header alone gives its
    header bytes; a frame cut short gives the bytes that came."""
    w, schema, frames = wired
    lay = layout(schema)
    assert w.ask(lay.request) == "OK"
    ping = schema.messages["Ping"]

    def good(i: int) -> bytes:
        return codec.frame_bytes(schema, ping, i, lay.payload(i, splitmix64(3 ^ i) % 11 + 2), {"node": 0})

    def drain(data: bytes, count: int, close: bool = False) -> dict:
        w.send(f"DRAIN {count} 3 2 12 3000")
        w.sock.sendall(data)
        if close:
            w.sock.shutdown(socket.SHUT_WR)
        return dict(kv.split("=") for kv in w.reply().split()[1:])

    got = drain(good(1) + good(2), 2)
    assert "bad_at" not in got and "bad" not in got and got["corrupt"] == "0", got
    wrong = codec.frame_bytes(schema, ping, 3, lay.payload(3, splitmix64(3 ^ 3) % 11 + 2)[:-1] + b"\xee", {"node": 0})
    header = schema.frame.header_size
    refused = b"\x00" * header
    got = drain(good(1) + good(2) + wrong + refused, 4)
    assert int(got["bad_at"]) == len(good(1)) + len(good(2)) and got["bad"] == wrong.hex(), got


def test_a_framing_adapter_judges_every_frame_it_gets(wired):
    """RECV: the kit finds the frame by its length and id alone. A payload adapter's kit checks the
    constants and the checksum; a framing adapter's library gets the frame as it came (here the
    test's library checks the constants through cw_frame_head, not the checksum)."""
    w, schema, frames = wired
    ping = schema.messages["Ping"]
    frame = codec.encode_frame(schema, ping, 5, {"n": 1, "note": "a"}, {"node": 2})
    bad_crc = frame[:-1] + bytes([frame[-1] ^ 1])
    bad_magic = b"\xdf" + frame[1:]
    w.sock.sendall(bad_crc)
    got = w.ask("RECV 5000")
    if frames:
        assert got == "OK Ping 5 2 1 x61", got                    # this library does not check the CRC
    else:
        assert got.startswith("ERR decode checksum frame.crc"), got
    w.sock.sendall(bad_magic + frame)
    got = w.ask("RECV 5000")
    if frames:
        assert got == "ERR runtime adapter decode Ping: not a whole frame", got
        assert w.ask("RECV 5000") == "OK Ping 5 2 1 x61"          # the connection stays in step
    else:
        assert got.startswith("ERR decode const frame.magic"), got


@pytest.mark.parametrize("how", ["refused_header", "cut_short"])
def test_drain_gives_the_bytes_read_of_a_frame_that_ends_the_stream(wired, how):
    """A refused header (its header bytes) or a frame cut short by a close (the bytes that came)
    is corrupt, ends the DRAIN, and is reported as the first corrupt frame."""
    w, schema, frames = wired
    lay = layout(schema)
    assert w.ask(lay.request) == "OK"
    ping = schema.messages["Ping"]
    first = codec.frame_bytes(schema, ping, 1, lay.payload(1, splitmix64(3 ^ 1) % 11 + 2), {"node": 0})
    second = codec.frame_bytes(schema, ping, 2, lay.payload(2, splitmix64(3 ^ 2) % 11 + 2), {"node": 0})
    bad = b"\xdf" * schema.frame.header_size if how == "refused_header" else second[:len(second) - 3]
    w.send("DRAIN 2 3 2 12 3000")
    w.sock.sendall(first + bad)
    if how == "cut_short":
        w.sock.shutdown(socket.SHUT_WR)
    got = dict(kv.split("=") for kv in w.reply().split()[1:])
    assert got["corrupt"] == "1" and int(got["bad_at"]) == len(first) and got["bad"] == bad.hex(), got


# ------------------------------------------------------------------ when the harness goes (PEER_CONTRACT.md)

class Piped:
    """The built peer on pipes, started as the harness starts peers (a session of its own)."""

    def __init__(self, peer: Path) -> None:
        self.proc = subprocess.Popen([peer / "build" / "cw-peer"], cwd=peer, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, start_new_session=True)

    def send(self, line: str) -> None:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def ask(self, line: str) -> str:
        self.send(line)
        return self.proc.stdout.readline().strip()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self.proc.stdin.close()
        self.proc.stdout.close()


def shm_link(peer: Path, schema: S.Schema, name: str) -> tuple[Piped, Piped]:
    """Two peers linked over shm (a LISTENs, b CONNECTs), the stream described to both."""
    a, b = Piped(peer), Piped(peer)
    for p in (a, b):
        assert p.ask("HELLO 3").startswith("OK ") and p.ask(layout(schema).request) == "OK"
    assert a.ask(f"LISTEN shm {name} 65536") == "OK"
    a.send("ACCEPT 10000")
    assert b.ask(f"CONNECT shm {name} 10000") == "OK" and a.proc.stdout.readline().strip() == "OK"
    return a, b


# A wait of each kind: the requests that start it (the last one blocks) and what it created.
GONE_WAITS = ["accept-uds", "accept-shm", "recv-uds", "write-uds", "drain-shm", "blast-shm"]


@pytest.mark.parametrize("wait", GONE_WAITS)
def test_a_peer_whose_stdin_hangs_up_ends_every_wait(project, tmp_path, wait):
    """PEER_CONTRACT.md, "When the harness goes": stdin hung up with nothing left to read (a
    harness gone, the peer started through a wrapper that outlives it) ends the peer within
    about 100 ms, whatever it waits for: ACCEPT, RECV, a write on a full socket, DRAIN, BLAST on
    a full ring. It removes the socket file or segment it created and exits with status 0."""
    root, peer, frames = project
    if frames:
        pytest.skip("the waits are the kit's, whatever the adapter: once is enough")
    schema = S.load(root / "protocols" / "schema.toml")
    name, path = f"/ck{secrets.token_hex(6)}", str(tmp_path / "a.sock")
    created, others, listener = None, [], None
    try:
        if wait in ("accept-uds", "accept-shm"):
            a = Piped(peer)
            assert a.ask("HELLO 3").startswith("OK ")
            address = path if wait == "accept-uds" else name
            assert a.ask(f"LISTEN {wait[7:]} {address}") == "OK"
            created = path if wait == "accept-uds" else "/dev/shm" + name
            a.send("ACCEPT 60000")
        elif wait in ("recv-uds", "write-uds"):
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(path)
            listener.listen(1)
            a = Piped(peer)
            assert a.ask("HELLO 3").startswith("OK ") and a.ask(layout(schema).request) == "OK"
            assert a.ask(f"CONNECT uds {path} 5000") == "OK"
            others.append(listener.accept()[0])         # never read
            a.send("RECV 60000" if wait == "recv-uds" else "BLAST 1000000 1 0 27")
        else:
            a, b = shm_link(peer, schema, name)
            others.append(b)                            # never reads, stays
            a.send("DRAIN 1000 1 0 27 60000" if wait == "drain-shm" else "BLAST 1000000 1 0 27")
        time.sleep(0.5)
        assert a.proc.poll() is None, "the peer did not wait"
        assert created is None or os.path.exists(created)
        start = time.monotonic()
        a.proc.stdin.close()
        assert a.proc.wait(5) == 0
        assert time.monotonic() - start < 1.0
        assert created is None or not os.path.exists(created), f"{created} left behind"
    finally:
        a.stop()
        for o in others:
            o.stop() if isinstance(o, Piped) else o.close()
        if listener is not None:
            listener.close()
        if wait == "accept-shm" and os.path.exists("/dev/shm" + name):
            os.unlink("/dev/shm" + name)


MIDDLE = """
import os, signal, subprocess, sys, time
peer, stream, name = sys.argv[1:4]
def start():
    return subprocess.Popen([peer], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
def ask(p, line):
    p.stdin.write(line + "\\n"); p.stdin.flush()
    return p.stdout.readline().strip() if not line.startswith(("ACCEPT", "BLAST")) else ""
a, b = start(), start()
for p in (a, b):
    ask(p, "HELLO 3"); ask(p, stream)
ask(a, f"LISTEN shm {name} 65536"); ask(a, "ACCEPT 10000")
assert ask(b, f"CONNECT shm {name} 10000") == "OK" and a.stdout.readline().strip() == "OK"
ask(a, "BLAST 1000000 1 0 27")
time.sleep(0.3)
os.kill(b.pid, signal.SIGSTOP)
print(a.pid, b.pid, flush=True)
time.sleep(60)
"""


def live(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return text[text.rindex(")") + 2] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_killed_harness_takes_a_stopped_peer_and_a_blocked_writer_along(project, tmp_path):
    """Issue 17's first finding: the harness SIGKILLed while the receiver is stopped and the
    sender blocked on the full ring. Both peers go with it (PR_SET_PDEATHSIG), within a second."""
    root, peer, frames = project
    if frames:
        pytest.skip("the waits are the kit's, whatever the adapter: once is enough")
    schema = S.load(root / "protocols" / "schema.toml")
    middle = subprocess.Popen([sys.executable, "-c", MIDDLE, str(peer / "build" / "cw-peer"),
                               layout(schema).request, f"/ck{secrets.token_hex(6)}"],
                              stdout=subprocess.PIPE, text=True)
    pids: list[int] = []
    try:
        pids = [int(x) for x in middle.stdout.readline().split()]
        assert len(pids) == 2 and all(live(p) for p in pids)
        time.sleep(0.2)
        middle.kill()
        middle.wait(10)
        deadline = time.monotonic() + 1.0
        while any(live(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not [p for p in pids if live(p)], "a peer outlived its harness"
    finally:
        for p in pids:
            if live(p):
                os.kill(p, signal.SIGKILL)
        if middle.poll() is None:
            middle.kill()
        middle.wait(10)
        middle.stdout.close()
