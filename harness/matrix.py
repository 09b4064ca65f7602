"""The interop matrix: cells of sender x receiver x transport x case, and the session that
runs them with long-lived peers.

Cell kinds:
- encode: a peer alone encodes the case's value; its bytes must equal the golden bytes.
- decode: a peer alone decodes the golden bytes; its value must equal the case's value.
- send:   the sender SENDs over a transport, the receiver RECVs; value, type and seq must match.
- echo:   A sends, B echoes back what it decoded (re-encoded), A receives: the value must survive.
- reject: a peer alone decodes a malformed payload (malformed.json): it must refuse it with the
          documented `ERR decode <code> <path>`; a lenient decoder that accepts it fails the cell.
- hostile: the reference peer writes a hostile frame's bytes as they are (RAW: a header error, a
          frame cut short or split into small writes, a malformed payload between good frames)
          over a transport to the receiver, which must answer each RECV as the entry says
          (harness/hostile.py): the malformed vectors and frame errors over every transport.

Version skew (WIRE.md, "Versions"): for a message with extension fields, encode and decode
cells at each older version (`@v1`), and send cells between every two of its versions, both
ways (`@v1>v2`: the sender speaks 1, the receiver 2; `@v2>v1` the other way; `@v1>v3`, ...). The
receiver must report the value with the fields the older side lacks at their defaults.

Peers are started once per session and reused: two processes per peer (one to send, one to
receive), one connection at a time, re-established only when the pair or transport changes
or after a failure. So a whole row of cases costs two request lines each, not a process each.
"""
from __future__ import annotations

import fnmatch
import itertools
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from . import schema as S
from . import transports
from .diagnose import diagnose, diff_bytes, diff_values, explain_reading
from .driver import DEFAULT_TIMEOUT, PeerProcess
from .errors import CrosswireError, PeerError, PeerReplyError, TextFormError
from .memo import Memo
from .peers import PeerSpec
from .textform import blob, format_message, parse_blob, parse_message
from .vectors import Case

KINDS = ("encode", "decode", "send", "echo", "reject", "hostile")
BREAKER = 3                # failed starts (or HELLOs) in a row after which a peer is not started again
SMALL_FRAME = 16 << 10     # a frame every transport's buffer holds whole (the shm ring's default is 64 KiB)
IO_TIMEOUT_MS = 5000
REFERENCE = "python"       # the peer that captures frames for the diagnosis (its GRAB request)


@dataclass(frozen=True)
class Cell:
    kind: str
    sender: str
    receiver: str          # the sender itself for encode/decode
    transport: str         # "-" for encode/decode
    case: Case
    versions: tuple[int, ...] = ()   # version skew: (peer's,) for encode/decode, (sender's, receiver's) for send

    @property
    def id(self) -> str:
        skew = "@" + ">".join(f"v{v}" for v in self.versions) if self.versions else ""
        if self.kind in ("encode", "decode", "reject"):
            return f"{self.sender}-{self.kind}-{self.case.id}{skew}"
        if self.kind == "hostile":
            return f"{self.receiver}-hostile-{self.transport}-{self.case.id}"
        arrow = "->" if self.kind == "send" else "<->"
        return f"{self.sender}{arrow}{self.receiver}-{self.transport}-{self.case.id}{skew}"

    @property
    def link(self) -> tuple[str, str, str]:
        return self.sender, self.receiver, self.transport


@dataclass(frozen=True)
class Result:
    cell: Cell
    status: str            # pass, fail, skip (xfail and xpass come with expected-failure lists)
    detail: str = ""
    seconds: float = 0.0

    def record(self) -> dict[str, Any]:
        c = self.cell
        return {"id": c.id, "kind": c.kind, "sender": c.sender, "receiver": c.receiver,
                "transport": c.transport, "case": c.case.id, "message": c.case.message.name,
                **({"versions": list(c.versions)} if c.versions else {}),
                "status": self.status, "detail": self.detail, "seconds": round(self.seconds, 6)}


def select_cases(cases: list[Case], patterns: list[str] | None) -> list[Case]:
    """Cases whose id matches one of the glob patterns (all when None)."""
    if not patterns:
        return cases
    chosen = [c for c in cases if any(fnmatch.fnmatchcase(c.id, p) for p in patterns)]
    if not chosen:
        raise CrosswireError(f"no case matches {', '.join(patterns)}; case ids look like "
                             f"{cases[0].id}, {cases[-1].id}")
    return chosen


def select_rejects(rejects: list[Case], patterns: list[str] | None) -> list[Case]:
    """The reject or hostile cases a --cases selection keeps (none need match: it may name golden
    cases only)."""
    if not patterns:
        return rejects
    return [c for c in rejects if any(fnmatch.fnmatchcase(c.id, p) for p in patterns)]


def plan(peers: list[PeerSpec], transport_names: list[str], cases: list[Case],
         kinds: Iterable[str] = KINDS, rejects: Iterable[Case] = (), hostile: Iterable[Case] = (),
         variant_pairs: bool = False) -> list[Cell]:
    """Every cell, grouped so that cells sharing a connection are adjacent. `rejects`: the
    malformed payloads of the reject cells (Project.reject_cases); `hostile`: the hostile frames
    of the hostile cells (Project.hostile_cases), which the reference peer writes. A variant (a
    cross or sanitizer build: c@s390x) meets the native peers over the transports, not the other
    variants nor itself, unless `variant_pairs` (or no native peer is planned): a bug it has
    shows against the native peers, and emulated pairs cost the most."""
    kinds = list(kinds)
    cells: list[Cell] = []
    if "reject" in kinds:
        cells += [Cell("reject", p.name, p.name, "-", c) for p in peers for c in rejects]
    if "hostile" in kinds:
        cells += [Cell("hostile", REFERENCE, p.name, t, c) for t in transport_names for p in peers for c in hostile]
    for kind in ("encode", "decode"):
        if kind in kinds:
            cells += [Cell(kind, p.name, p.name, "-", c) for p in peers for c in cases]
            cells += [Cell(kind, p.name, p.name, "-", c, (v,)) for p in peers for c in cases for v in c.versions]
    native = any(not p.base for p in peers)
    pairs = [(s, r) for s, r in itertools.product(peers, peers)
             if variant_pairs or not native or not (s.base and r.base)]
    for t in transport_names:
        for s, r in pairs:
            for kind in ("send", "echo"):
                if kind in kinds:
                    cells += [Cell(kind, s.name, r.name, t, c) for c in cases]
            if "send" in kinds:      # every ordered pair of the message's versions: N against N+1, both ways, and on
                for c in cases:
                    if c.versions:
                        cells += [Cell("send", s.name, r.name, t, c, (a, b))
                                  for a, b in itertools.permutations(c.message.groups, 2)]
    return cells


class CellSkipped(Exception):
    """A cell that cannot run after all: an adapter peer's stub for the message is not filled in."""


def skip_reason(cell: Cell, registry: dict[str, PeerSpec], unavailable: dict[str, str | None] | None = None) -> str | None:
    """Why a cell cannot run here (a manifest's word, or a missing toolchain), else None.
    `unavailable` caches each peer's spec.unavailable() (a PATH search and file checks) for a run."""
    for name in dict.fromkeys((cell.sender, cell.receiver)):
        spec = registry.get(name)
        if spec is None:
            return f"no peer {name} in this project (the hostile cells' writer is the reference peer {REFERENCE})"
        if unavailable is None:
            reason = spec.unavailable()
        else:
            if name not in unavailable:
                unavailable[name] = spec.unavailable()
            reason = unavailable[name]
        if reason:
            return f"peer {name}: {reason}"
        if cell.transport != "-" and cell.transport not in spec.transports:
            return f"peer {name} does not support transport {cell.transport} (its manifest)"
        if not spec.supports_message(cell.case.message.name):
            return f"peer {name} does not support message {cell.case.message.name} (its manifest)"
    if cell.transport != "-" and not cell.case.frame:
        return "the schema declares no frame: its messages are checked as payloads (encode, decode) only"
    return None


_DIAGNOSED = Memo()     # the diagnoses of byte pairs (_diagnosis)


def _diagnosis(schema: Any, msg: Any, expected: bytes, actual: bytes, frame: bool = False, value: Any = None,
               strict: bool = False) -> str:
    """diagnose(...).render(), or, should the diagnosis itself fail, one line that says so and
    where the bytes first differ: a cell's report never becomes the run's traceback. The same
    bytes (an encode cell and the same peer's ENCODE in a send cell's explanation) are diagnosed
    once: the expected bytes stand for the value."""
    key = (id(schema), msg.name, frame, value is None, expected, actual)
    try:
        return _DIAGNOSED.get(key, lambda: diagnose(schema, msg, expected, actual, frame=frame, value=value).render(),
                              len(expected) + len(actual))
    except (ValueError, CrosswireError):
        if strict:
            raise
        return f"(no diagnosis: the expected bytes do not read as {msg.name}) {diff_bytes(expected, actual)}"
    except Exception as exc:    # noqa: BLE001 - a diagnosis must never end the run
        return f"(the diagnosis failed: {type(exc).__name__}: {exc}) {diff_bytes(expected, actual)}"


def _line(*parts: str) -> str:
    """A request line: words joined by single spaces, empty parts (an Empty value) left out."""
    return " ".join(p for p in parts if p)


def send_line(c: Case) -> str:
    """SEND <Message> <seq> [<header values>] <value> (PEER_CONTRACT.md)."""
    return _line("SEND", c.message.name, str(c.seq), *[str(v) for v in c.header.values()],
                 format_message(c.message, c.value))


def recv_args(c: Case, timeout_ms: int) -> str:
    """RECV's and ECHO's arguments: the timeout, and the direction the message is read in."""
    return _line(str(timeout_ms), c.message.direction)


class Session:
    """Runs cells with peers kept alive between them. Close it (or use `with`)."""

    def __init__(self, registry: dict[str, PeerSpec], timeout: float = DEFAULT_TIMEOUT,
                 io_timeout_ms: int = IO_TIMEOUT_MS, schema: S.Schema | None = None) -> None:
        self.registry, self.timeout, self.io_ms = registry, timeout, io_timeout_ms
        self.schema = schema                     # for the frame-level diagnosis (a capture of the sender's frame)
        self.schema_version = schema.version if schema is not None else 0   # what peers speak unless told
        self._procs: dict[tuple[str, str], PeerProcess] = {}
        self._transports: dict[str, transports.Transport] = {}
        self._link: tuple[str, str, str] | None = None
        self._address = ""
        self._unavailable: dict[str, str | None] = {}
        self._speaking: dict[tuple[str, str], int] = {}   # (peer, slot) -> the version it was told
        self._alone: dict[tuple, str] = {}      # (peer, case, versions) -> what it alone does wrong ("": nothing)
        self._captured: dict[tuple, str] = {}   # (sender, case, transport) -> its captured frame's diagnosis
        self._failed_starts: dict[str, tuple[int, str]] = {}   # peer -> failed starts in a row, the first error

    # -- peers and links

    def peer(self, name: str, slot: str) -> PeerProcess:
        proc = self._procs.get((name, slot))
        if proc is None or not proc.alive:
            failed = self._failed_starts.get(name)
            if failed and failed[0] >= BREAKER:      # the circuit breaker: a dead peer costs seconds
                raise PeerError(self.registry[name].name, "(start)",
                                f"not started again after {failed[0]} failed starts in a row; the first: {failed[1]}")
            self._procs.pop((name, slot), None)
            try:
                proc = PeerProcess(self.registry[name], slot, timeout=self.timeout)
                self._procs[(name, slot)] = proc
                self._speaking.pop((name, slot), None)
                proc.handshake()
            except PeerError as exc:
                started = self._procs.pop((name, slot), None)
                if started is not None:
                    started.kill()
                count, first = self._failed_starts.get(name, (0, str(exc).splitlines()[0]))
                self._failed_starts[name] = (count + 1, first)
                raise
            self._failed_starts.pop(name, None)
        return proc

    def _connect(self, sender: str, receiver: str, transport: str) -> tuple[PeerProcess, PeerProcess]:
        if self._link != (sender, receiver, transport):
            self.drop_link()
            tx, rx = self.peer(sender, "tx"), self.peer(receiver, "rx")
            t = self._transports.get(transport) or self._transports.setdefault(transport, transports.get(transport))
            self._address = t.address()
            transports.connect(tx, rx, transport, self._address, timeout_ms=self.io_ms, slack_s=self.timeout)
            self._link = (sender, receiver, transport)
        return self._procs[(sender, "tx")], self._procs[(receiver, "rx")]

    def drop_link(self) -> None:
        """Close the current connection on both sides; kill a side that does not cooperate."""
        if self._link is None:
            return
        sender, receiver, transport = self._link
        self._link = None
        for key in ((sender, "tx"), (receiver, "rx")):
            proc = self._procs.get(key)
            if proc is None or not proc.alive:
                continue
            try:
                proc.drain(self.io_ms / 1000 + self.timeout)
                proc.request("CLOSE")
            except PeerError:
                proc.kill()
        self._transports[transport].release(self._address)

    def close(self) -> None:
        try:
            self.drop_link()
        finally:
            for proc in self._procs.values():
                proc.close()
            self._procs.clear()
            for t in self._transports.values():
                t.cleanup()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- cells

    def run(self, cell: Cell) -> Result:
        reason = skip_reason(cell, self.registry, self._unavailable)
        if reason:
            return Result(cell, "skip", reason)
        start = time.perf_counter()
        try:
            problem = getattr(self, f"_run_{cell.kind}")(cell)
        except CellSkipped as exc:
            if cell.kind in ("send", "echo"):
                self._recover()
            return Result(cell, "skip", str(exc), time.perf_counter() - start)
        except PeerReplyError as exc:
            if exc.kind == "unsupported" and self.registry[cell.sender].adapter:   # an adapter's stub left to fill
                return Result(cell, "skip", f"peer {cell.sender}: {exc.detail}", time.perf_counter() - start)
            problem = str(exc)
            if cell.kind in ("send", "echo"):
                self._recover()
        except (PeerError, CrosswireError) as exc:
            problem = str(exc)
            if cell.kind in ("send", "echo"):
                self._recover()
        return Result(cell, "fail" if problem else "pass", problem or "", time.perf_counter() - start)

    def _recover(self) -> None:
        try:
            self.drop_link()
        except CrosswireError:
            self._link = None

    def _speak(self, name: str, slot: str, version: int, newest: int) -> None:
        """Tell a peer the protocol version to speak (VERSION), when it is not already."""
        key = (name, slot)
        if self._speaking.get(key, newest) != version:
            self.peer(name, slot).request(f"VERSION {version}")
            self._speaking[key] = version

    def _versions(self, cell: Cell) -> None:
        """Set the versions a cell needs on its peers (VERSION): the skew's, else the newest."""
        top = self.schema_version or cell.case.message.newest
        self._speak(cell.sender, "tx", cell.versions[0] if cell.versions else top, top)
        if cell.transport != "-":
            self._speak(cell.receiver, "rx", cell.versions[-1] if cell.versions else top, top)

    def _expected(self, cell: Cell) -> Any:
        """The value the receiving side must report: at a skew, the fields newer than the older
        side's version take their defaults."""
        from .codec import restrict
        if not cell.versions:
            return cell.case.value
        return restrict(cell.case.message, cell.case.value, min(cell.versions))

    def _run_encode(self, cell: Cell) -> str | None:
        c = cell.case
        self._versions(cell)
        tokens = self.peer(cell.sender, "tx").request(_line("ENCODE", c.message.name, format_message(c.message, c.value)))
        if len(tokens) != 1:
            return f"ENCODE replied {len(tokens)} tokens, expected one blob"
        got = parse_blob(tokens[0], "ENCODE reply")
        want = c.versions[cell.versions[0]] if cell.versions else c.payload
        if got == want:
            return None
        at = f" (at version {cell.versions[0]})" if cell.versions else ""
        return f"{cell.sender} encoded other bytes than the golden ones{at}\n" + _diagnosis(
            None, c.message, want, got, value=None if cell.versions else c.value)

    def _run_reject(self, cell: Cell) -> str | None:
        from .hostile import refused_by_library
        c = cell.case
        code, path = c.refuse
        want = f"ERR decode {code} {path}"
        try:
            tokens = self.peer(cell.sender, "tx").request(f"DECODE {c.message.name} {blob(c.payload)}")
        except PeerReplyError as exc:
            if exc.kind == "unsupported":
                raise           # an adapter's stub left to fill: a skip (Session.run)
            got = (exc.kind, *(exc.detail.split(" ") + ["", ""])[:2])
            if got == ("decode", code, path):
                return None
            if self.registry[cell.sender].adapter and refused_by_library(exc):
                return None         # the library's own refusal, in its own words
            return (f"likely cause: {got[1] or exc.kind} at {got[2] or c.message.name}: {cell.sender} refused the "
                    f"malformed payload with ERR {exc.kind} {exc.detail[:120]}, expected {want} ({c.note})")
        return (f"likely cause: lenient at {path}: {cell.sender} accepted a malformed payload "
                f"(x{c.payload.hex()[:96]}) as {' '.join(tokens)[:160]}; expected {want} ({c.note})")

    def _run_hostile(self, cell: Cell) -> str | None:
        """The reference peer writes the entry's bytes (RAW) on a connection of their own."""
        from . import hostile
        entry = cell.case.hostile
        spec = self.registry[cell.receiver]
        missing = [m.name for m in entry.messages if not spec.supports_message(m.name)]
        if missing:
            raise CellSkipped(f"peer {cell.receiver} does not support message {missing[0]} (its manifest)")
        self.drop_link()
        tx, rx = self.peer(REFERENCE, "tx"), self.peer(cell.receiver, "rx")
        t = self._transports.get(cell.transport) or self._transports.setdefault(cell.transport,
                                                                                transports.get(cell.transport))
        address = t.address()
        try:
            problems = hostile.attempt(tx, rx, cell.transport, address, entry,
                                       {"timeout_ms": self.io_ms, "slack_s": self.timeout})
        except PeerReplyError as exc:
            if exc.kind == "unsupported" and spec.adapter:
                raise CellSkipped(f"peer {cell.receiver}: {exc.detail}") from None
            raise
        finally:
            t.release(address)
        if not problems:
            return None
        return (f"likely cause: hostile at {entry.id}: {cell.receiver} over {cell.transport}, {entry.klass}: "
                f"{problems[0]}")

    def _run_decode(self, cell: Cell) -> str | None:
        c = cell.case
        self._versions(cell)
        tokens = self.peer(cell.sender, "tx").request(f"DECODE {c.message.name} {blob(c.payload)}")
        at = f" at version {cell.versions[0]}" if cell.versions else ""
        return self._compare(c, tokens, f"{cell.sender} decoded the golden bytes{at}", self._expected(cell),
                             golden=not cell.versions)

    def _run_send(self, cell: Cell) -> str | None:
        tx, rx = self._connect(*cell.link)
        self._versions(cell)
        c = cell.case
        tx.send(send_line(c))
        rx.send(f"RECV {recv_args(c, self.io_ms)}")
        problems = self._collect([(tx, "SEND"), (rx, "RECV")])
        if problems:
            if not self._in_step(rx):
                self._recover()
            return self._frame_hint(c) + problems + self._explain(cell)
        who = f"{cell.receiver} received" + (" (sender at version {}, receiver at {})".format(*cell.versions)
                                              if cell.versions else "")
        problem = self._compare_frame(c, self._last[1], who, self._expected(cell))
        return problem and problem + self._explain(cell)

    def _run_echo(self, cell: Cell) -> str | None:
        tx, rx = self._connect(*cell.link)
        self._versions(cell)
        c = cell.case
        tx.send(send_line(c))
        rx.send(f"ECHO {recv_args(c, self.io_ms)}")
        # the sender's RECV goes once its SEND succeeded (a refused SEND leaves it idle, so it can
        # close its end and the echoing side's read ends at once: fail fast), and for a frame any
        # transport buffers whole, once the ECHO succeeded too (a refused ECHO leaves both idle
        # and in step: the link serves the next cell)
        last = 1 if len(c.frame) <= SMALL_FRAME else 0
        problems = self._collect([(tx, "SEND"), (rx, "ECHO"), (tx, "RECV")],
                                 after={last: (2, f"RECV {recv_args(c, self.io_ms)}")})
        if problems:
            if not (last == 1 and self._in_step(rx)):
                self._recover()
            return self._frame_hint(c) + problems + self._explain(cell)
        problem = self._compare_frame(c, self._last[2], f"{cell.sender} received back from {cell.receiver}")
        return problem and problem + self._explain(cell)

    def _explain(self, cell: Cell) -> str:
        """After a failed exchange, find the side at fault: the sender's bytes for the value
        against the golden bytes (diagnosed field by field), then the receiver's reading of
        the golden bytes. Each peer alone, through ENCODE and DECODE."""
        c = cell.case
        notes = []
        for who in dict.fromkeys((cell.sender, cell.receiver)):
            key = (who, c.id, cell.versions)
            if key not in self._alone:      # a peer's own reading of a case does not change: once a session
                self._alone[key] = self._alone_note(who, cell)
            if self._alone[key]:
                notes.append(self._alone[key])
        framing = any(exc.kind == "decode" and (exc.detail.split(" ") + ["", ""])[1].startswith("frame")
                      for exc in self._refusals)
        if cell.kind == "send" and not cell.versions and (not self._alone[(cell.sender, c.id, ())] or framing):
            capture = self._capture(cell)      # the sender's payload is right, or the frame was refused
            if capture:
                notes.append(capture)
        if not notes:
            return "\n(each peer alone encodes and decodes this case right: the fault is in the transport or framing)"
        return "\n" + "\n".join(notes)

    def _alone_note(self, who: str, cell: Cell) -> str:
        """What a peer alone does with the case: its ENCODE against the golden bytes, then its
        DECODE of them; "" when both are right."""
        c = cell.case
        notes = []
        try:
            tokens = self.peer(who, "tx").request(_line("ENCODE", c.message.name, format_message(c.message, c.value)))
            got = parse_blob(tokens[0], "ENCODE reply") if len(tokens) == 1 else None
            if got is not None and got != c.payload:
                notes.append(f"{who} encodes the value wrongly\n" + _diagnosis(None, c.message, c.payload, got,
                                                                                value=c.value))
        except (PeerError, CrosswireError) as exc:
            notes.append(f"{who} cannot ENCODE the value: {exc}")
        try:
            problem = self._run_decode(Cell("decode", who, who, "-", c))
        except (PeerError, CrosswireError) as exc:
            problem = f"{who} cannot DECODE the golden bytes: {exc}"
        if problem:
            notes.append(problem)
        return "\n".join(notes)

    def _capture(self, cell: Cell) -> str:
        key = (cell.sender, cell.case.id, cell.transport)
        if key not in self._captured:    # the sender's frame for a case is the same whatever the receiver
            self._captured[key] = self._capture_once(cell)
        return self._captured[key]

    def _capture_once(self, cell: Cell) -> str:
        """The sender's frame, captured by the reference peer (GRAB) over the same transport and
        diagnosed byte by byte against the golden frame: how a framing fault is named."""
        ref = self.registry.get(REFERENCE)
        c = cell.case
        if self.schema is None or ref is None or not c.frame or cell.transport not in ref.transports or ref.unavailable():
            return ""
        self._recover()
        t = transports.get(cell.transport)
        address = t.address()
        try:
            grab = self.peer(REFERENCE, "grab")     # one for the session, restarted if it fails
            tx = self.peer(cell.sender, "tx")
            transports.connect(tx, grab, cell.transport, address, timeout_ms=self.io_ms, slack_s=self.timeout)
            tx.send(send_line(c))
            grab.send(f"GRAB {recv_args(c, self.io_ms)}")
            wait = self.io_ms / 1000 + self.timeout
            try:
                tx.reply(wait)
            except PeerReplyError as refused:
                # refused before writing, or a write cut off by the grab's close after a header it
                # refused: the sender closes its end, so the grab's read ends either way
                tx.request("CLOSE")
                try:
                    tokens = grab.reply(wait)
                except PeerReplyError:
                    grab.request("CLOSE")
                    raise refused from None
            except PeerError:
                grab.kill()          # nothing will come: do not wait for its GRAB to time out
                raise
            else:
                tokens = grab.reply(wait)
                tx.request("CLOSE")
            grab.request("CLOSE")
            actual = parse_blob(tokens[0], "GRAB reply") if len(tokens) == 1 else b""
        except PeerReplyError as exc:   # both still answer: nothing to kill
            return f"(the sender's frame could not be captured: {str(exc).splitlines()[0]})"
        except (PeerError, CrosswireError) as exc:
            for key in ((cell.sender, "tx"), (REFERENCE, "grab")):   # their connection may be open still
                stale = self._procs.pop(key, None)
                if stale is not None:
                    stale.kill()
            return f"(the sender's frame could not be captured: {str(exc).splitlines()[0]})"
        finally:
            t.release(address)
            t.cleanup()
        if actual == c.frame:
            return f"{cell.sender} wrote the golden frame byte for byte: the fault is on the receiving side"
        try:
            return f"{cell.sender} frames the value wrongly\n" + _diagnosis(self.schema, c.message, c.frame, actual,
                                                                           frame=True, value=c.value, strict=True)
        except (ValueError, CrosswireError) as exc:
            return f"{cell.sender} wrote another frame ({len(actual)} bytes: {actual[:48].hex(' ')}): {exc}"

    def _collect(self, waits: list[tuple[PeerProcess, str]], after: dict[int, tuple[int, str]] | None = None
                 ) -> str | None:
        """Read the replies of pipelined requests; the ERR replies are the problems reported.
        `after`: {i: (j, line)}: the request of waits[j] is sent (its line) only once waits[i]
        answered OK; a refusal there leaves it unsent."""
        self._last: list[list[str]] = []
        self._refusals: list[PeerReplyError] = []
        problems = []
        abandoned = closed = False
        after = dict(after or {})
        unsent = {j for j, _ in after.values()}
        waits = list(waits)
        for i, (proc, what) in enumerate(waits):
            if i in unsent:
                problems.append(f"{proc.label} {what}: not sent (the request before it was refused)")
                self._last.append([])
                continue
            if abandoned:
                # the refusing side closed its end: the read the other side waits on ends with
                # `closed` at once; one that does not answer even so (or when the refusing side
                # had more requests queued, and could not close) is restarted
                said = f"{proc.label} {what}: not awaited (the other side refused)"
                try:
                    if not closed:
                        raise PeerError(proc.label, what, "not awaited")
                    proc.reply(min(2.0, self.io_ms / 1000 + self.timeout))
                except PeerReplyError:
                    pass
                except PeerError as exc:
                    if closed and not proc.alive:       # it died meanwhile: say how (the stderr tail too)
                        said = str(exc)
                    proc.kill()
                problems.append(said)
                self._last.append([])
                continue
            try:
                self._last.append(proc.reply(self.io_ms / 1000 + self.timeout))
                if i in after:
                    j, line = after.pop(i)
                    waits[j][0].send(line)
                    unsent.discard(j)
            except PeerReplyError as exc:
                if exc.kind == "unsupported" and proc.spec.adapter:
                    for other, _ in waits[i + 1:]:     # waiting on the other side would only time out
                        other.kill()
                    raise CellSkipped(f"peer {proc.spec.name} {what}: {exc.detail}")
                problems.append(f"{proc.label} {what}: ERR {exc.kind} {exc.detail}")
                self._refusals.append(exc)
                self._last.append([])
                # a side refused: what the other side waits for will not come, so it is not awaited
                # for a whole timeout (fail fast): the refusing side closes the connection
                later = [p for k, (p, _) in enumerate(waits) if k > i and k not in unsent]
                abandoned = any(p is not proc for p in later)
                closed = abandoned and not any(p is proc for p in later)   # it is idle now
                if closed:
                    try:
                        proc.request("CLOSE", 5)
                    except PeerError:
                        proc.kill()
        return "; ".join(problems) or None

    def _in_step(self, rx: PeerProcess) -> bool:
        """After a send cell's problems: only the receiver refused, inside a payload (PEER_CONTRACT.md:
        it read the whole frame and stays connected), so the link serves the next cell."""
        if len(self._refusals) != 1:
            return False
        exc = self._refusals[0]
        path = (exc.detail.split(" ") + ["", ""])[1]
        return exc.peer == rx.label and exc.kind == "decode" and not path.startswith("frame")

    def _frame_hint(self, c: Case) -> str:
        """A receiver's refusal that points at the frame rather than the payload."""
        for exc in self._refusals:
            if exc.kind != "decode":
                continue
            code, path = (exc.detail.split(" ") + ["", ""])[:2]
            if path.startswith("frame.") and code != "truncated":
                cause = {"type": "msg_type"}.get(code, code)
                part = "checksum" if code == "checksum" else "header"
                return f"likely cause: {cause} at {path}: the receiver refused the frame's {part} ({exc.detail})\n"
            named = path.split(".")[0].split("[")[0]
            if named and named not in (c.message.name, "frame", "-"):
                return (f"likely cause: msg_type at frame.msg_type: the receiver decoded the payload as {named}, "
                        f"expected {c.message.name}: the frame names another message\n")
        return ""

    def _compare_frame(self, c: Case, tokens: list[str], who: str, value: Any = None) -> str | None:
        fields = 2 + len(c.header)
        if len(tokens) < fields:
            return f"{who}: reply {' '.join(tokens)!r} lacks the message name, seq and header values"
        if tokens[0] != c.message.name:
            return (f"likely cause: msg_type at the frame's id: {who} message {tokens[0]}, expected {c.message.name}: "
                    "the frame names another message")
        seqf = self.schema.frame.role("seq") if self.schema is not None and self.schema.frame is not None else None
        for name, want, got in [(seqf.name if seqf else "seq", c.seq, tokens[1]),
                                *[(n, w, g) for (n, w), g in zip(c.header.items(), tokens[2:fields])]]:
            if got != str(want):
                hint = _swapped_hint(got, want)
                cause = f"likely cause: byteswap at frame.{name}: written in the other byte order\n" if hint else ""
                return f"{cause}{who} frame.{name} {got}, expected {want}{hint}"
        return self._compare(c, tokens[fields:], who, value)

    def _compare(self, c: Case, tokens: list[str], who: str, value: Any = None, golden: bool = False) -> str | None:
        want = c.value if value is None else value
        try:
            got = parse_message(c.message, tokens)
        except TextFormError as exc:
            return f"{who} a value that is not in the contract's text form: {exc}"
        diffs = diff_values(c.message, want, got, c.message.name)
        if not diffs:
            return None
        cause = explain_reading(c.message, c.payload, got) if golden else ""
        return (cause + "\n" if cause else "") + f"{who} another value ({len(diffs)} field(s) differ):\n  " + \
            "\n  ".join(diffs[:20])


def _swapped_hint(got: str, want: int) -> str:
    """" <- byte-swapped" when a header value is the expected one with its bytes reversed."""
    try:
        g = int(got)
    except ValueError:
        return ""
    for size in (2, 3, 4, 8):
        if 0 <= want < (1 << (8 * size)) and 0 <= g < (1 << (8 * size)) and g != want and \
                int.from_bytes(want.to_bytes(size, "little"), "big") == g:
            return f"  <- byte-swapped ({size} bytes): written in the other byte order"
    return ""


def _failed(result: Result) -> bool:
    return result.status in ("fail", "xpass")


def run(cells: list[Cell], registry: dict[str, PeerSpec], jobs: int = 1,
        on_result: Callable[[Result], None] | None = None, maxfail: int = 0,
        failing: Callable[[Result], bool] | None = None, **session_args: Any) -> list[Result]:
    """Run cells, `jobs` sessions in parallel threads, each taking whole connection groups.
    With `maxfail` > 0, no new cell starts once that many have failed: the cells run so far are
    returned (in plan order), the rest are not. `failing` says which results count (default:
    fail and xpass; the CLI counts a listed expected failure out)."""
    import queue
    import threading

    groups: dict[tuple[str, str, str, str], list[tuple[int, Cell]]] = {}
    for i, cell in enumerate(cells):
        key = (cell.kind if cell.transport == "-" or cell.kind == "hostile" else "link", *cell.link)
        groups.setdefault(key, []).append((i, cell))
    todo: queue.Queue = queue.Queue()
    for group in groups.values():
        todo.put(group)
    results: dict[int, Result] = {}
    lock = threading.Lock()
    errors: list[BaseException] = []
    failed = [0]

    def worker() -> None:
        try:
            with Session(registry, **session_args) as session:
                while True:
                    try:
                        group = todo.get_nowait()
                    except queue.Empty:
                        return
                    for i, cell in group:
                        if maxfail and failed[0] >= maxfail:
                            return
                        result = session.run(cell)
                        with lock:
                            results[i] = result
                            failed[0] += (failing or _failed)(result)
                            if on_result:
                                on_result(result)
        except BaseException as exc:  # surfaced in the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, min(jobs, len(groups))))]
    for t in threads:
        t.start()
    for t in threads:
        while t.is_alive():
            t.join(0.2)
    if errors:
        raise errors[0]
    return [results[i] for i in range(len(cells)) if i in results]
