"""Hostile frames: a catalogue of malformed and awkwardly written frames, sent through a real
transport to a receiving peer, with the reply each one must get (PEER_CONTRACT.md "Errors").

The sender is the Python reference peer with its `RAW <chunk> x<hex>` request, which writes
bytes as they are (in writes of at most `chunk` bytes, pausing between them, so the receiver
sees partial reads), over whichever transport: the harness never needs its own ring writer.
After an error in a header the receiver must close the connection (the stream is out of step);
after one inside a payload it must stay connected, which the entry checks by sending a good
frame behind the bad one. No entry may crash, hang or report a partial value as success.
"""
from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path

from . import codec, transports
from . import schema as S
from .driver import PeerProcess
from .errors import PeerError, PeerReplyError
from .peers import PeerSpec

HEADER = struct.Struct("<IHHIIQ")
RECV_MS = 3000


@dataclass(frozen=True)
class Expect:
    """One RECV on the receiver: ok (message and seq) or an error (kind, code, path)."""
    ok: bool
    message: str = ""
    seq: int = 0
    kind: str = ""
    code: str = ""
    path: str = ""

    def __str__(self) -> str:
        return f"OK {self.message} {self.seq}" if self.ok else f"ERR {self.kind} {self.code} {self.path}"


@dataclass(frozen=True)
class Hostile:
    id: str
    klass: str                          # the class of malformation, for the summary
    data: bytes
    chunk: int = 0                      # 0: one write; n: writes of at most n bytes
    sender_closes: bool = False         # the sender closes after writing (a frame cut short)
    expect: tuple[Expect, ...] = ()
    receiver_closes: bool = False       # the receiver must drop the connection after the last error


@dataclass
class Outcome:
    entry: Hostile
    receiver: str
    transport: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _frame(schema: S.Schema, msg_id: int, payload: bytes, seq: int = 1, magic: int | None = None,
           version: int | None = None, flags: int = 0, length: int | None = None) -> bytes:
    return HEADER.pack(schema.magic if magic is None else magic, schema.version if version is None else version,
                       msg_id, flags, len(payload) if length is None else length, seq) + payload


def catalogue(schema: S.Schema, malformed_path: Path) -> list[Hostile]:
    """Every class of the hardening issue, built from the schema and protocols/vectors/malformed.json."""
    ints = schema.message("Integers")
    good_value = {"val_u8": 1, "val_u16": 2, "val_u32": 3, "val_u64": 4, "val_i8": -5, "val_i16": -6, "val_i32": -7,
                  "val_i64": -8}
    good = codec.encode(ints, good_value)

    def ok(seq: int, name: str = "Integers") -> Expect:
        return Expect(True, name, seq)

    def err(code: str, path: str) -> Expect:
        return Expect(False, kind="decode", code=code, path=path)

    out = [
        Hostile("header.magic", "bad magic", _frame(schema, ints.id, good, magic=0xDEADBEEF),
                expect=(err("magic", "frame.magic"),), receiver_closes=True),
        Hostile("header.version", "unknown version", _frame(schema, ints.id, good, version=schema.version + 1),
                expect=(err("version", "frame.version"),), receiver_closes=True),
        Hostile("header.flags", "non-zero flags", _frame(schema, ints.id, good, flags=1),
                expect=(err("flags", "frame.flags"),), receiver_closes=True),
        Hostile("header.type", "unknown message type", _frame(schema, max(schema.by_id) + 1, good),
                expect=(err("type", "frame.msg_type"),), receiver_closes=True),
        Hostile("header.length_over_limit", "length over the limit",
                _frame(schema, ints.id, b"", length=schema.max_payload + 1),
                expect=(err("length", "frame.payload_len"),), receiver_closes=True),
        Hostile("header.length_over_data", "length over the data (truncated)",
                _frame(schema, ints.id, good[:10], length=len(good)), sender_closes=True,
                expect=(err("truncated", "frame"),), receiver_closes=True),
        Hostile("header.cut", "header cut short", _frame(schema, ints.id, good)[:13], sender_closes=True,
                expect=(err("truncated", "frame"),), receiver_closes=True),
        Hostile("split.1_byte_writes", "frame split into 1-byte writes", _frame(schema, ints.id, good, seq=7),
                chunk=1, expect=(ok(7),)),
        Hostile("split.7_byte_writes", "frame split into 7-byte writes",
                _frame(schema, ints.id, good, seq=8) + _frame(schema, ints.id, good, seq=9), chunk=7,
                expect=(ok(8), ok(9))),
        Hostile("coalesced.three", "frames coalesced back to back",
                b"".join(_frame(schema, ints.id, good, seq=s) for s in (1, 2, 3)), expect=(ok(1), ok(2), ok(3))),
    ]
    for case in json.loads(malformed_path.read_text()):
        msg = schema.message(case["message"])
        payload = bytes.fromhex(case["payload"])
        out.append(Hostile(
            f"payload.{case['id']}", f"payload: {case['code']}",
            _frame(schema, msg.id, payload, seq=5) + _frame(schema, ints.id, good, seq=6),
            expect=(err(case["code"], case["path"]), ok(6))))
    bad = next(c for c in json.loads(malformed_path.read_text()) if c["id"] == "bool_2")
    choices = schema.message(bad["message"])
    out.append(Hostile("coalesced.bad_in_the_middle", "a bad payload between good frames, coalesced",
                       _frame(schema, ints.id, good, seq=1) + _frame(schema, choices.id, bytes.fromhex(bad["payload"]), seq=2)
                       + _frame(schema, ints.id, good, seq=3),
                       expect=(ok(1), err(bad["code"], bad["path"]), ok(3))))
    return out


def _check(reply: list[str] | PeerReplyError, want: Expect) -> str | None:
    if isinstance(reply, PeerReplyError):
        got = [reply.kind, *reply.detail.split(" ")[:2]]
        if want.ok:
            return f"expected {want}, got ERR {reply.kind} {reply.detail[:120]}"
        if got != [want.kind, want.code, want.path]:
            return f"expected {want}, got ERR {reply.kind} {reply.detail[:120]}"
        return None
    if not want.ok:
        return f"expected {want}, got OK {' '.join(reply)[:120]} (a malformed frame reported as success)"
    if reply[:2] != [want.message, str(want.seq)]:
        return f"expected {want}, got OK {' '.join(reply)[:120]}"
    return None


class Bench:
    """A sender (the reference peer) and a receiver, reconnected for every entry."""

    def __init__(self, sender: PeerSpec, receiver: PeerSpec, transport: str) -> None:
        self.transport, self.t = transport, transports.get(transport)
        self.tx = PeerProcess(sender, "hostile-tx")
        self.rx = PeerProcess(receiver, "hostile-rx")
        self.tx.handshake()
        self.rx.handshake()

    def run(self, entry: Hostile) -> Outcome:
        out = Outcome(entry, self.rx.spec.name, self.transport)
        address = self.t.address()
        try:
            transports.connect(self.tx, self.rx, self.transport, address, 4096)
            self.tx.request(f"RAW {entry.chunk} x{entry.data.hex()}", 60)
            if entry.sender_closes:
                self.tx.request("CLOSE")
            for want in entry.expect:
                try:
                    reply: list[str] | PeerReplyError = self.rx.request(f"RECV {RECV_MS}", RECV_MS / 1000 + 10)
                except PeerReplyError as exc:
                    reply = exc
                problem = _check(reply, want)
                if problem:
                    out.problems.append(problem)
                    break
            if not out.problems and entry.receiver_closes:
                try:
                    self.rx.request("RECV 0")
                    out.problems.append("the connection stayed open after an error in the header")
                except PeerReplyError as exc:
                    if exc.kind != "runtime":
                        out.problems.append(f"after the error, RECV said ERR {exc.kind} {exc.detail[:100]}, "
                                            "expected ERR runtime (connection closed)")
            self.rx.request("HELLO 1")          # alive and answering
        except PeerError as exc:
            out.problems.append(str(exc))
        finally:
            for proc in (self.tx, self.rx):
                if proc.alive:
                    try:
                        proc.request("CLOSE")
                    except PeerError:
                        pass
            self.t.release(address)
            if not self.rx.alive:               # crashed: the next entry gets a fresh receiver
                self.rx = PeerProcess(self.rx.spec, "hostile-rx")
                self.rx.handshake()
        return out

    def close(self) -> None:
        self.tx.close()
        self.rx.close()
        self.t.cleanup()


def run(sender: PeerSpec, receivers: list[PeerSpec], transport_names: list[str], entries: list[Hostile]) -> list[Outcome]:
    outcomes = []
    for t in transport_names:
        for rx in receivers:
            if t not in rx.transports or t not in sender.transports:
                continue
            bench = Bench(sender, rx, t)
            try:
                outcomes += [bench.run(e) for e in entries]
            finally:
                bench.close()
    return outcomes
