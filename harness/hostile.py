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

from dataclasses import dataclass, field, replace
from pathlib import Path

from . import codec, malformed, transports
from . import schema as S
from .driver import PeerProcess
from .errors import PeerError, PeerReplyError
from .peers import PeerSpec
from .vectors import Case

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
    direction: str = ""    # what the receiver reads, for a schema whose messages say who sends them

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
    messages: tuple[S.Message, ...] = ()    # the messages its frames carry, the malformed one first


@dataclass
class Outcome:
    entry: Hostile
    receiver: str
    transport: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def catalogue(schema: S.Schema, malformed_path: Path, cases: list[Case]) -> list[Hostile]:
    """Every class of the hardening issue, built from the schema's declared frame, its golden
    cases and its malformed vectors. A schema without a frame has none."""
    frame = schema.frame
    if frame is None or not cases:
        return []
    good = min([c for c in cases if c.payload] or cases, key=lambda c: (len(c.frame), c.id))
    msg = good.message
    direction = msg.direction
    seqf = frame.role("seq")

    def seq_of(n: int) -> int:
        return n if seqf is not None and n <= seqf.type.max else 0

    def build(m: S.Message, payload: bytes, n: int, header: dict[str, int] | None = None, **change: int) -> bytes:
        """A frame of payload with seq n, its header fields changed as asked (the checksum kept
        right unless `checksum` is given)."""
        out = bytearray(codec.frame_bytes(schema, m, seq_of(n), payload, good.header if header is None else header))
        for h in frame.header:
            if h.name in change:
                out[h.offset:h.offset + h.type.size] = (change[h.name] % (1 << (8 * h.type.size))).to_bytes(
                    h.type.size, h.type.order)
        if frame.checksum is not None:
            c = frame.checksum
            at = len(out) - c.type.size
            parts = {h.name: bytes(out[h.offset:h.offset + h.type.size]) for h in frame.header}
            parts["payload"] = bytes(out[frame.header_size:at])
            value = codec.checksum(frame, m, parts) ^ change.get("checksum", 0)
            out[at:] = value.to_bytes(c.type.size, c.type.order)
        return bytes(out)

    def ok(n: int, name: str = msg.name) -> Expect:
        return Expect(True, name, seq_of(n), direction=direction)

    def err(code: str, path: str) -> Expect:
        return Expect(False, kind="decode", code=code, path=path, direction=direction)

    body = good.payload
    out: list[Hostile] = []
    for h in frame.header:
        if h.role == "const":
            wrong = h.const ^ 0x5A if h.type.size else h.const
            wrong = wrong if h.type.min <= wrong <= h.type.max else h.const ^ 1
            out.append(Hostile(f"header.{h.name}", f"constant {h.name} changed", build(msg, body, 1, **{h.name: wrong}),
                               expect=(err("const", f"frame.{h.name}"),), receiver_closes=True))
    idf = frame.role("id")
    if idf is not None:
        used = {m.id for m in schema.messages.values()}
        free = next((v for v in range(idf.type.max, -1, -1) if v not in used), None)
        if free is not None:
            out.append(Hostile("header.type", "unknown message id", build(msg, body, 1, **{idf.name: free}),
                               expect=(err("type", f"frame.{idf.name}"),), receiver_closes=True))
    lenf = frame.role("length")
    if lenf is not None:
        adjust = frame.length_adjust
        over = schema.max_payload + adjust + 1
        if over <= lenf.type.max:
            out.append(Hostile("header.length_over_limit", "length over the limit",
                               build(msg, b"", 1, **{lenf.name: over})[:frame.header_size],
                               expect=(err("length", f"frame.{lenf.name}"),), receiver_closes=True))
        if adjust > 0:
            out.append(Hostile("header.length_under_counted", "length less than the header bytes it counts",
                               build(msg, body, 1, **{lenf.name: adjust - 1}),
                               expect=(err("length", f"frame.{lenf.name}"),), receiver_closes=True))
        if body:
            whole = build(msg, body, 1)
            out.append(Hostile("header.length_over_data", "length over the data (truncated)",
                               whole[:frame.header_size + len(body) // 2], sender_closes=True,
                               expect=(err("truncated", "frame"),), receiver_closes=True))
    if frame.header_size > 1:
        out.append(Hostile("header.cut", "header cut short", build(msg, body, 1)[:frame.header_size - 1],
                           sender_closes=True, expect=(err("truncated", "frame"),), receiver_closes=True))
    if frame.checksum is not None:
        out.append(Hostile("trailer.checksum", "checksum wrong",
                           build(msg, body, 5, checksum=1) + build(msg, body, 6),
                           expect=(err("checksum", f"frame.{frame.checksum.name}"), ok(6))))
    out += [
        Hostile("split.1_byte_writes", "frame split into 1-byte writes", build(msg, body, 7), chunk=1, expect=(ok(7),)),
        Hostile("split.7_byte_writes", "frame split into 7-byte writes", build(msg, body, 8) + build(msg, body, 9),
                chunk=7, expect=(ok(8), ok(9))),
        Hostile("coalesced.three", "frames coalesced back to back",
                b"".join(build(msg, body, n) for n in (1, 2, 3)), expect=(ok(1), ok(2), ok(3))),
    ]
    rows = malformed.load(malformed_path)
    behind: dict[str, Case] = {}        # the good frame behind a bad payload: of the same message if it can,
    for c in sorted(cases, key=lambda c: (not c.id.endswith(".one"), len(c.frame), c.id)):
        behind.setdefault(c.message.name, c)     # its `one` case (a zero may be a value a library refuses)
    for case in rows:
        m = schema.message(case["message"])
        payload = bytes.fromhex(case["payload"])
        if len(payload) > schema.max_payload or (lenf is None and len(payload) != S.fixed_size(m)):
            continue   # the frame could not carry it
        after = behind.get(m.name, good)
        out.append(Hostile(
            f"payload.{case['id']}", f"payload: {case['code']}",
            build(m, payload, 5) + build(after.message, after.payload, 6, header=after.header),
            messages=tuple(dict.fromkeys((m, after.message))),
            expect=(Expect(False, kind="decode", code=case["code"], path=case["path"], direction=m.direction),
                    Expect(True, after.message.name, seq_of(6), direction=after.message.direction))))
    bad = next((c for c in rows if c["code"] != "trailing" and c["code"] != "truncated"), None)
    if bad is not None:
        m = schema.message(bad["message"])
        if lenf is not None or len(bytes.fromhex(bad["payload"])) == S.fixed_size(m):
            g = behind.get(m.name, good)

            def framed(n: int) -> bytes:
                return build(g.message, g.payload, n, header=g.header)

            def fine(n: int) -> Expect:
                return Expect(True, g.message.name, seq_of(n), direction=g.message.direction)
            out.append(Hostile("coalesced.bad_in_the_middle", "a bad payload between good frames, coalesced",
                               framed(1) + build(m, bytes.fromhex(bad["payload"]), 2) + framed(3),
                               messages=tuple(dict.fromkeys((m, g.message))),
                               expect=(fine(1), Expect(False, kind="decode", code=bad["code"], path=bad["path"],
                                                       direction=m.direction), fine(3))))
    return [e if e.messages else replace(e, messages=(msg,)) for e in out]


def refused_by_library(reply: PeerReplyError) -> bool:
    """An adapter peer's refusal of a payload comes from the library under test, in its own words
    (`ERR runtime adapter decode M: ...`): it counts as refusing, whatever the code and path."""
    return reply.kind == "runtime" and reply.detail.startswith("adapter decode ")


def _check(reply: list[str] | PeerReplyError, want: Expect, adapter: bool = False) -> str | None:
    if isinstance(reply, PeerReplyError):
        got = [reply.kind, *reply.detail.split(" ")[:2]]
        if want.ok:
            return f"expected {want}, got ERR {reply.kind} {reply.detail[:120]}"
        if adapter and refused_by_library(reply):
            return None
        if got != [want.kind, want.code, want.path]:
            return f"expected {want}, got ERR {reply.kind} {reply.detail[:120]}"
        return None
    if not want.ok:
        return f"expected {want}, got OK {' '.join(reply)[:120]} (a malformed frame reported as success)"
    if reply[:2] != [want.message, str(want.seq)]:
        return f"expected {want}, got OK {' '.join(reply)[:120]}"
    return None


def attempt(tx: PeerProcess, rx: PeerProcess, transport: str, address: str, entry: Hostile,
            connect: dict | None = None) -> list[str]:
    """One entry: connect tx (the reference peer, writing with RAW) to rx over the transport, send
    the bytes, check every RECV, then close both ends. The problems found (none: it passed);
    a peer that stops answering raises PeerError."""
    problems: list[str] = []
    try:
        transports.connect(tx, rx, transport, address, 4096, **(connect or {}))
        tx.request(f"RAW {entry.chunk} x{entry.data.hex()}", 60)
        if entry.sender_closes:
            tx.request("CLOSE")
        judged = False      # a framing adapter's refusal: the frame was found by its length and handed
                            # whole to the library (docs/kits.md), so the stream may stay in step
        for want in entry.expect:
            try:
                line = f"RECV {RECV_MS} {want.direction}".rstrip()
                reply: list[str] | PeerReplyError = rx.request(line, RECV_MS / 1000 + 10)
            except PeerReplyError as exc:
                if exc.kind == "unsupported":
                    raise           # an adapter's stub left to fill, a message not implemented
                reply = exc
                judged = rx.spec.frames     # a framing adapter: the frame went whole to the library
            problem = _check(reply, want, bool(rx.spec.adapter))
            if problem:
                problems.append(problem)
                break
        # the kit found that frame by its length and handed it whole to the library, so the
        # stream is still in step: the connection may stay open (or close, as a kit may choose)
        if not problems and entry.receiver_closes and not judged:
            try:
                rx.request("RECV 0")
                problems.append("the connection stayed open after an error in the header")
            except PeerReplyError as exc:
                if exc.kind != "runtime":
                    problems.append(f"after the error, RECV said ERR {exc.kind} {exc.detail[:100]}, "
                                    "expected ERR runtime (connection closed)")
        rx.request("HELLO 3")          # alive and answering
    finally:
        for proc in (tx, rx):
            if proc.alive:
                try:
                    proc.request("CLOSE")
                except PeerError:
                    pass
    return problems


def as_cases(entries: list[Hostile]) -> list[Case]:
    """The entries as the matrix's hostile cases (kind `hostile`, one cell per receiver and
    transport): the case id is the entry's, its message the first one the entry carries."""
    return [Case(e.id, e.messages[0], None, e.data, e.klass, frame=e.data, hostile=e) for e in entries]


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
            out.problems += attempt(self.tx, self.rx, self.transport, address, entry)
        except PeerError as exc:
            out.problems.append(str(exc))
        finally:
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
