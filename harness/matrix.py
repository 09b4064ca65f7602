"""The interop matrix: cells of sender x receiver x transport x case, and the session that
runs them with long-lived peers.

Cell kinds:
- encode: a peer alone encodes the case's value; its bytes must equal the golden bytes.
- decode: a peer alone decodes the golden bytes; its value must equal the case's value.
- send:   the sender SENDs over a transport, the receiver RECVs; value, type and seq must match.
- echo:   A sends, B echoes back what it decoded (re-encoded), A receives: the value must survive.

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
from .diagnose import diagnose, diff_values
from .driver import DEFAULT_TIMEOUT, PeerProcess
from .errors import CrosswireError, PeerError, PeerReplyError, TextFormError
from .peers import PeerSpec
from .textform import blob, format_message, parse_blob, parse_message
from .vectors import Case

KINDS = ("encode", "decode", "send", "echo")
IO_TIMEOUT_MS = 5000


@dataclass(frozen=True)
class Cell:
    kind: str
    sender: str
    receiver: str          # the sender itself for encode/decode
    transport: str         # "-" for encode/decode
    case: Case

    @property
    def id(self) -> str:
        if self.kind in ("encode", "decode"):
            return f"{self.sender}-{self.kind}-{self.case.id}"
        arrow = "->" if self.kind == "send" else "<->"
        return f"{self.sender}{arrow}{self.receiver}-{self.transport}-{self.case.id}"

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


def plan(peers: list[PeerSpec], transport_names: list[str], cases: list[Case],
         kinds: Iterable[str] = KINDS) -> list[Cell]:
    """Every cell, grouped so that cells sharing a connection are adjacent."""
    kinds = list(kinds)
    cells: list[Cell] = []
    for kind in ("encode", "decode"):
        if kind in kinds:
            cells += [Cell(kind, p.name, p.name, "-", c) for p in peers for c in cases]
    for t in transport_names:
        for s, r in itertools.product(peers, peers):
            for kind in ("send", "echo"):
                if kind in kinds:
                    cells += [Cell(kind, s.name, r.name, t, c) for c in cases]
    return cells


def skip_reason(cell: Cell, registry: dict[str, PeerSpec], unavailable: dict[str, str | None] | None = None) -> str | None:
    """Why a cell cannot run here (a manifest's word, or a missing toolchain), else None.
    `unavailable` caches each peer's spec.unavailable() (a PATH search and file checks) for a run."""
    for name in dict.fromkeys((cell.sender, cell.receiver)):
        spec = registry[name]
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
    return None


def _line(*parts: str) -> str:
    """A request line: words joined by single spaces, empty parts (an Empty value) left out."""
    return " ".join(p for p in parts if p)


class Session:
    """Runs cells with peers kept alive between them. Close it (or use `with`)."""

    def __init__(self, registry: dict[str, PeerSpec], timeout: float = DEFAULT_TIMEOUT,
                 io_timeout_ms: int = IO_TIMEOUT_MS) -> None:
        self.registry, self.timeout, self.io_ms = registry, timeout, io_timeout_ms
        self._procs: dict[tuple[str, str], PeerProcess] = {}
        self._transports: dict[str, transports.Transport] = {}
        self._link: tuple[str, str, str] | None = None
        self._address = ""
        self._seq = itertools.count(1)
        self._unavailable: dict[str, str | None] = {}

    # -- peers and links

    def peer(self, name: str, slot: str) -> PeerProcess:
        proc = self._procs.get((name, slot))
        if proc is None or not proc.alive:
            proc = PeerProcess(self.registry[name], slot, timeout=self.timeout)
            self._procs[(name, slot)] = proc
            try:
                proc.handshake()
            except PeerError:
                proc.kill()
                del self._procs[(name, slot)]
                raise
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

    def _run_encode(self, cell: Cell) -> str | None:
        c = cell.case
        tokens = self.peer(cell.sender, "tx").request(_line("ENCODE", c.message.name, format_message(c.message, c.value)))
        if len(tokens) != 1:
            return f"ENCODE replied {len(tokens)} tokens, expected one blob"
        got = parse_blob(tokens[0], "ENCODE reply")
        if got == c.payload:
            return None
        return f"{cell.sender} encoded other bytes than the golden ones\n" + diagnose(
            None, c.message, c.payload, got).render()

    def _run_decode(self, cell: Cell) -> str | None:
        c = cell.case
        tokens = self.peer(cell.sender, "tx").request(f"DECODE {c.message.name} {blob(c.payload)}")
        return self._compare(c, tokens, f"{cell.sender} decoded the golden bytes")

    def _run_send(self, cell: Cell) -> str | None:
        tx, rx = self._connect(*cell.link)
        c, seq = cell.case, next(self._seq)
        tx.send(_line("SEND", c.message.name, str(seq), format_message(c.message, c.value)))
        rx.send(f"RECV {self.io_ms}")
        problems = self._collect([(tx, "SEND"), (rx, "RECV")])
        if problems:
            self._recover()
            return self._frame_hint(c) + problems + self._explain(cell)
        problem = self._compare_frame(c, seq, self._last[1], f"{cell.receiver} received")
        return problem and problem + self._explain(cell)

    def _run_echo(self, cell: Cell) -> str | None:
        tx, rx = self._connect(*cell.link)
        c, seq = cell.case, next(self._seq)
        tx.send(_line("SEND", c.message.name, str(seq), format_message(c.message, c.value)))
        rx.send(f"ECHO {self.io_ms}")
        tx.send(f"RECV {self.io_ms}")
        problems = self._collect([(tx, "SEND"), (rx, "ECHO"), (tx, "RECV")])
        if problems:
            self._recover()
            return self._frame_hint(c) + problems + self._explain(cell)
        problem = self._compare_frame(c, seq, self._last[2], f"{cell.sender} received back from {cell.receiver}")
        return problem and problem + self._explain(cell)

    def _explain(self, cell: Cell) -> str:
        """After a failed exchange, find the side at fault: the sender's bytes for the value
        against the golden bytes (diagnosed field by field), then the receiver's reading of
        the golden bytes. Each peer alone, through ENCODE and DECODE."""
        c = cell.case
        notes = []
        for who in dict.fromkeys((cell.sender, cell.receiver)):
            try:
                tokens = self.peer(who, "tx").request(_line("ENCODE", c.message.name, format_message(c.message, c.value)))
                got = parse_blob(tokens[0], "ENCODE reply") if len(tokens) == 1 else None
            except (PeerError, CrosswireError) as exc:
                notes.append(f"{who} cannot ENCODE the value: {exc}")
                continue
            if got is not None and got != c.payload:
                notes.append(f"{who} encodes the value wrongly\n" + diagnose(None, c.message,
                                                                            c.payload, got).render())
            try:
                problem = self._run_decode(Cell("decode", who, who, "-", c))
            except (PeerError, CrosswireError) as exc:
                problem = f"{who} cannot DECODE the golden bytes: {exc}"
            if problem:
                notes.append(problem)
        if not notes:
            return "\n(each peer alone encodes and decodes this case right: the fault is in the transport or framing)"
        return "\n" + "\n".join(notes)

    def _collect(self, waits: list[tuple[PeerProcess, str]]) -> str | None:
        """Read the replies of pipelined requests; the ERR replies are the problems reported."""
        self._last: list[list[str]] = []
        self._refusals: list[PeerReplyError] = []
        problems = []
        for proc, what in waits:
            try:
                self._last.append(proc.reply(self.io_ms / 1000 + self.timeout))
            except PeerReplyError as exc:
                problems.append(f"{proc.label} {what}: ERR {exc.kind} {exc.detail}")
                self._refusals.append(exc)
                self._last.append([])
        return "; ".join(problems) or None

    def _frame_hint(self, c: Case) -> str:
        """A receiver's refusal that points at the frame rather than the payload."""
        for exc in self._refusals:
            if exc.kind != "decode":
                continue
            code, path = (exc.detail.split(" ") + ["", ""])[:2]
            if path.startswith("frame.") and code != "truncated":
                cause = {"type": "msg_type"}.get(code, code)
                return f"likely cause: {cause} at {path}: the receiver refused the frame header ({exc.detail})\n"
            named = path.split(".")[0].split("[")[0]
            if named and named not in (c.message.name, "frame", "-"):
                return (f"likely cause: msg_type at frame.msg_type: the receiver decoded the payload as {named}, "
                        f"expected {c.message.name}: the frame names another message\n")
        return ""

    def _compare_frame(self, c: Case, seq: int, tokens: list[str], who: str) -> str | None:
        if len(tokens) < 2:
            return f"{who}: reply {' '.join(tokens)!r} lacks the message name and seq"
        if tokens[0] != c.message.name:
            return (f"likely cause: msg_type at frame.msg_type: {who} message {tokens[0]}, expected {c.message.name}: "
                    "the frame names another message")
        if tokens[1] != str(seq):
            return f"{who} seq {tokens[1]}, expected {seq}"
        return self._compare(c, tokens[2:], who)

    def _compare(self, c: Case, tokens: list[str], who: str) -> str | None:
        try:
            got = parse_message(c.message, tokens)
        except TextFormError as exc:
            return f"{who} a value that is not in the contract's text form: {exc}"
        diffs = diff_values(c.message, c.value, got, c.message.name)
        if not diffs:
            return None
        return f"{who} another value ({len(diffs)} field(s) differ):\n  " + "\n  ".join(diffs[:20])


def run(cells: list[Cell], registry: dict[str, PeerSpec], jobs: int = 1,
        on_result: Callable[[Result], None] | None = None, **session_args: Any) -> list[Result]:
    """Run cells, `jobs` sessions in parallel threads, each taking whole connection groups."""
    import queue
    import threading

    groups: dict[tuple[str, str, str, str], list[tuple[int, Cell]]] = {}
    for i, cell in enumerate(cells):
        key = (cell.kind if cell.transport == "-" else "link", *cell.link)
        groups.setdefault(key, []).append((i, cell))
    todo: queue.Queue = queue.Queue()
    for group in groups.values():
        todo.put(group)
    results: dict[int, Result] = {}
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with Session(registry, **session_args) as session:
                while True:
                    try:
                        group = todo.get_nowait()
                    except queue.Empty:
                        return
                    for i, cell in group:
                        result = session.run(cell)
                        with lock:
                            results[i] = result
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
    return [results[i] for i in range(len(cells))]
