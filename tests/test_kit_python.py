"""The Python kit (peers/python/kit, docs/kits.md), in process: its STREAM layout gives the payloads
harness/streams.py describes, on every schema the tests carry; STREAM is checked before it is
kept; BLAST and DRAIN over a socket pair tally as PEER_CONTRACT.md "Streams" says; the bench frame
is P(0, n); and a framing adapter's library gets every frame the kit finds, the kit checking only
its id and length (not the constants nor the checksum) on the way in, and still the whole frame
the library encodes on the way out."""
from __future__ import annotations

import socket
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness import codec as hcodec
from harness import driver
from harness import streams
from harness.project import Project
from harness.vectors import special_value, splitmix64

from .conftest import ROOT

PEER_DIR = ROOT / "peers" / "python"
KIT = PEER_DIR / "kit"
SCHEMAS = [ROOT, *(ROOT / "tests" / "schemas" / n for n in ("demo", "zoo", "noid", "streams")), ROOT / "examples" / "modbus"]
MODULES = ("cwkit", "codec", "stream", "bench", "shm", "plans")


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
