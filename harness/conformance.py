"""`python -m harness check-peer PATH`: one peer against the contract, on its own.

It runs, in the order docs/adding-a-peer.md builds a peer: the manifest and the build, the
control channel, the codec against the golden and malformed vectors, then each transport with
the reference peer (both directions, ECHO, timeouts, a refused connection, the other side
leaving, the hostile frames), then the optional streams and bench requests. Every item ends as
one of:

- pass:    it works;
- fail:    the manifest declares it, or the contract requires it, and it does not work;
- missing: the manifest does not declare it yet (or the peer replies `ERR unsupported` to an
           optional request): not an error, but the next step is printed;
- skip:    it cannot be checked here (the reference peer lacks the transport, an earlier
           item failed).

Each fail and missing item carries the next step, naming the guide's section. Exit status 1
when anything failed.
"""
from __future__ import annotations


import json
import time
from dataclasses import replace, dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from . import peers as P
from . import stress, transports
from .driver import PeerProcess, as_they_answer, figures
from .errors import CrosswireError, ManifestError, PeerError, PeerReplyError
from .matrix import Cell, Session
from .project import Project
from .vectors import Case

GUIDE = "docs/adding-a-peer.md"
REFERENCE = "python"
ORDER = ["uds", "tcp", "shm"]   # the guide's order of the transports

# Values every encoder must refuse, with the code and the path (PEER_CONTRACT.md, "Errors").
BAD_VALUES = [
    ("ENCODE Choices true 9 0", "enum", "Choices.color"),
    ("ENCODE Choices true 0 5", "enum", "Choices.status"),
    ("ENCODE Integers 256 0 0 0 0 0 0 0", "range", "Integers.val_u8"),
    ("ENCODE Integers 0 0 0 18446744073709551616 0 0 0 0", "range", "Integers.val_u64"),
    ("ENCODE Integers 0 0 0 0 -129 0 0 0", "range", "Integers.val_i8"),
    ("ENCODE Integers 0 0 0 0 0 0 0 -9223372036854775809", "range", "Integers.val_i64"),
    ("ENCODE Text x610062 x x", "char", "Text.name"),
    ("ENCODE Text x" + "61" * 17 + " x x", "length", "Text.name"),
    ("ENCODE Text x x" + "61" * 65 + " x", "length", "Text.label"),
    ("ENCODE Text x xc328 x", "utf8", "Text.label"),
    ("ENCODE Arrays 0 0 0 0 " + "0x0000000000000000 " * 3 + "17" + " 0" * 17 + " 0", "length", "Arrays.samples"),
    ("ENCODE BigNumber 0x" + "8" + "0" * 127, "length", "BigNumber.value"),
]

# Request lines every peer must refuse with `ERR request` (and stay usable).
BAD_REQUESTS = ["FROB", "ENCODE", "ENCODE Integers 1 2", "DECODE Integers 00ff", "RECV soon", "SEND Integers"]


@dataclass
class Item:
    area: str              # "manifest", "contract", "codec", "uds", "tcp", "shm", "streams", "bench"
    name: str
    status: str            # pass, fail, missing, skip
    detail: str = ""
    next: str = ""         # the next step, for fail and missing

    def record(self) -> dict[str, str]:
        return {"area": self.area, "name": self.name, "status": self.status, "detail": self.detail, "next": self.next}


@dataclass
class Report:
    peer: str
    items: list[Item] = field(default_factory=list)

    @property
    def failed(self) -> list[Item]:
        return [i for i in self.items if i.status == "fail"]

    def counts(self) -> dict[str, int]:
        out = {"pass": 0, "fail": 0, "missing": 0, "skip": 0}
        for i in self.items:
            out[i.status] += 1
        return out

    def write_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"peer": self.peer, "counts": self.counts(),
                                    "items": [i.record() for i in self.items]}, indent=1) + "\n")


def resolve(project: Project, target: str) -> tuple[P.PeerSpec, dict[str, P.PeerSpec]]:
    """The peer a PATH (its folder or its peer.toml, anywhere) or a peer name stands for, and the
    registry to run it in: the project's peers plus this one."""
    registry = dict(project.registry)
    if target in registry:
        return registry[target], registry
    for base in (Path.cwd(), project.root):      # a relative PATH: from here, else from the checkout
        path = (base / Path(target).expanduser()).resolve()
        manifest = path if path.name == "peer.toml" else path / "peer.toml"
        if manifest.is_file():
            break
    else:
        raise ManifestError(f"{target}: neither a peer name ({', '.join(registry)}) nor a folder with a peer.toml; "
                            f"`python -m harness new-peer NAME` makes one ({GUIDE}, step 1)")
    for spec in registry.values():
        if spec.manifest.resolve() == manifest and not spec.base:
            return spec, registry
    spec = P.load_manifest(manifest)
    if spec.name in registry:
        raise ManifestError(f"{manifest}: peer name {spec.name!r} is already used by {registry[spec.name].manifest}")
    registry[spec.name] = spec
    return spec, registry


class Checker:
    """Collects the items; one method per area, in the guide's order."""

    def __init__(self, project: Project, spec: P.PeerSpec, registry: dict[str, P.PeerSpec],
                 say: Callable[[Item], None] = lambda item: None, quick: bool = False, build: bool = True) -> None:
        self.project, self.spec, self.registry = project, spec, registry
        self.say, self.quick, self.build = say, quick, build
        self.report = Report(spec.name)
        self.reference = registry.get(REFERENCE)

    def add(self, area: str, name: str, status: str, detail: str = "", next: str = "") -> Item:
        item = Item(area, name, status, detail, next if status in ("fail", "missing") else "")
        self.report.items.append(item)
        self.say(item)
        return item

    def run(self) -> Report:
        if self.manifest() and self.contract():
            self.codec()
            if self.project.schema.frame is None:
                for t in sorted(transports.KNOWN, key=ORDER.index):
                    self.add(t, "exchange", "skip", f"schema {self.project.schema.name} declares no frame: "
                             "payloads only, nothing travels over a transport")
                return self.report
            for t in sorted(transports.KNOWN, key=ORDER.index):
                self.transport(t)
            self.optional()
        return self.report

    # -- 1. manifest and build

    def manifest(self) -> bool:
        s = self.spec
        self.add("manifest", "found", "pass", f"{s.manifest}: name={s.name} language={s.language}")
        missing = s.missing_tools()
        if missing:
            self.add("manifest", "toolchain", "fail", s.missing_reason(missing),
                     f"install it, or fix [build] requires in {s.manifest.name} ({GUIDE}, step 1)")
            return False
        if self.build and s.build:
            result = self.project.build(s)
            if result.status == "failed":
                self.add("manifest", "build", "fail", result.detail,
                         f"make `{' '.join(s.build)}` succeed in {s.dir} and produce {', '.join(s.outputs) or 'its outputs'}")
                return False
            self.add("manifest", "build", "pass", f"`{' '.join(s.build)}`")
        reason = s.unavailable()
        if reason:
            self.add("manifest", "runnable", "fail", reason,
                     f"[run] command in {s.manifest.name} must name the program the build makes ({GUIDE}, step 1)")
            return False
        if s.check:
            self.own_tests()
        declared = f"transports: {', '.join(s.transports) or 'none yet'}; messages: " + \
                   ("all" if s.messages is None else ", ".join(s.messages) or "none yet")
        self.add("manifest", "declares", "pass", declared)
        return True

    def own_tests(self) -> None:
        """The peer's own unit tests, the manifest's [check] command (`go test ./...`, `cargo test`)."""
        s = self.spec
        result = run_own_tests(s)
        self.add("manifest", "its own tests", "pass" if result is None else "fail", result or f"`{' '.join(s.check)}`",
                 f"make `{' '.join(s.check)}` pass in {s.dir}")

    # -- 2. the control channel

    def contract(self) -> bool:
        step = f"({GUIDE}, step 2; PEER_CONTRACT.md \"Lines\" and \"Requests\")"
        try:
            proc = PeerProcess(self.spec, "check")
        except PeerError as exc:
            self.add("contract", "starts", "fail", str(exc), f"the run command must start the program {step}")
            return False
        with proc:
            try:
                facts = proc.handshake()
            except PeerError as exc:
                self.add("contract", "HELLO 3", "fail", str(exc),
                         f"reply `OK name={self.spec.program} language=... contract=3 transports=... messages=... "
                         f"ptr_bits=... byte_order=...` on one line, flushed {step}")
                return False
            problems = self._hello_problems(facts)
            self.add("contract", "HELLO 3", "fail" if problems else "pass",
                     "; ".join(problems) or f"{facts.get('ptr_bits')}-bit, {facts.get('byte_order')}-endian",
                     f"fix the HELLO reply {step}")
            bad = []
            for line in BAD_REQUESTS:   # unknown commands are `ERR request`; the rest may also be unsupported
                kinds = ("request",) if line == "FROB" else ("request", "unsupported", "runtime")
                problem = self._refused(proc, line, kinds)
                if problem:
                    bad.append(problem)
            self.add("contract", "bad requests refused, peer stays usable", "fail" if bad else "pass",
                     "; ".join(bad[:3]) or f"{len(BAD_REQUESTS)} lines, each refused",
                     f"reply `ERR request <why>` to a line you cannot parse and keep reading {step}")
            if self.spec.transports and self.project.schema.frame is not None and self.project.cases:
                from .matrix import send_line
                problem = self._refused(proc, "RECV 100", ("runtime",)) or \
                    self._refused(proc, send_line(self.project.cases[0]), ("runtime",))
                self.add("contract", "no connection: ERR runtime", "fail" if problem else "pass", problem or "",
                         f"RECV and SEND before CONNECT/ACCEPT reply `ERR runtime ...` {step}")
            limit = 8 * self.project.schema.max_payload + 65536
            problem = self._refused(proc, "DECODE Empty x" + "00" * (limit // 2 + 10), ("request",), "line too long")
            self.add("contract", "over-long line", "fail" if problem else "pass", problem or f"> {limit} bytes refused",
                     f"read at most {limit} bytes of a line, discard the rest up to its newline and reply "
                     f"`ERR request line too long` {step}")
            try:
                proc.request("QUIT", 5)
                code = proc.proc.wait(timeout=5)
                self.add("contract", "QUIT", "pass" if code == 0 else "fail", f"exit status {code}",
                         f"after `OK`, exit with status 0 {step}")
            except Exception as exc:  # noqa: BLE001 - a timeout or a death, reported as such
                self.add("contract", "QUIT", "fail", str(exc), f"reply `OK` to QUIT, then exit with status 0 {step}")
        return True

    def _hello_problems(self, facts: dict[str, str]) -> list[str]:
        out = []
        if facts.get("contract") != str(P.CONTRACT_VERSION):
            out.append(f"contract={facts.get('contract')!r}, expected {P.CONTRACT_VERSION}")
        if facts.get("ptr_bits") not in ("32", "64"):
            out.append(f"ptr_bits={facts.get('ptr_bits')!r}: measure it at run time (32 or 64)")
        if facts.get("byte_order") not in ("little", "big"):
            out.append(f"byte_order={facts.get('byte_order')!r}: measure it at run time (little or big)")
        said = set(filter(None, facts.get("transports", "").split(",")))
        if said != set(self.spec.transports):
            out.append(f"HELLO says transports={facts.get('transports', '')}, the manifest says "
                       f"{','.join(self.spec.transports)}: keep them the same")
        messages = facts.get("messages", "")
        said_messages = None if messages == "*" else set(filter(None, messages.split(",")))
        declared = None if self.spec.messages is None else set(self.spec.messages)
        if said_messages != declared:
            out.append(f"HELLO says messages={messages}, the manifest says "
                       f"{'*' if declared is None else ','.join(self.spec.messages or ())}: keep them the same")
        return out

    @staticmethod
    def _refused(proc: PeerProcess, line: str, kinds: tuple[str, ...], detail: str | None = None) -> str | None:
        """None when the peer refuses `line` with one of `kinds` (and `detail`) and still answers HELLO."""
        shown = line if len(line) < 60 else line[:40] + f"... ({len(line)} bytes)"
        try:
            proc.request(line, 30)
            problem = f"`{shown}` replied OK"
        except PeerReplyError as exc:
            problem = None
            if exc.kind not in kinds or (detail is not None and exc.detail != detail):
                problem = f"`{shown}` replied ERR {exc.kind} {exc.detail[:80]}, expected ERR {kinds[0]}" + \
                          (f" {detail}" if detail else "")
        try:
            proc.request("HELLO 3")
        except PeerError as exc:
            raise CrosswireError(f"the peer stopped answering after `{shown}`: {exc}") from None
        return problem

    # -- 3. the codec

    def codec(self) -> None:
        step = f"({GUIDE}, step 3)"
        declared = [m for m in self.project.schema.messages.values() if self.spec.supports_message(m.name)]
        by_message: dict[str, list[Case]] = {}
        for case in self.project.cases:
            by_message.setdefault(case.message.name, []).append(case)
        with Session(self.registry, schema=self.project.schema) as session:
            undeclared = [name for name in self.project.schema.messages if not self.spec.supports_message(name)]
            if undeclared:
                self.add("codec", "messages not declared yet", "missing", ", ".join(undeclared),
                         f"implement ENCODE and DECODE of {undeclared[0]}, then add it to [supports] messages; "
                         f"once every one works, messages = \"*\" {step}")
            for m in declared:
                cases = by_message.get(m.name, [])
                results = self._expected([session.run(Cell(kind, self.spec.name, self.spec.name, "-", c))
                                          for c in self._sample(cases) for kind in ("encode", "decode")])
                bad = [r for r in results if r.status == "fail"]
                self.add("codec", m.name, "fail" if bad else "pass",
                         bad[0].cell.id + ": " + bad[0].detail if bad else f"{len(results)} golden encodes and decodes",
                         f"{len(bad)} of {len(results)} failed; run `python -m harness matrix --peers {self.spec.name} "
                         f"--kinds encode,decode --cases '{bad[0].cell.case.id}'` for the rest" if bad else "")
        self._malformed(declared, step)
        self._bad_values(declared, step)

    def _expected(self, results: list) -> list:
        """The peer's declared quirks and expected-failure list applied, as in the matrix: a listed
        failure is no failure here either (and a listed pass is one: xpass)."""
        from . import expected
        out = expected.apply(results, expected.load({self.spec.name: self.spec}), self.registry)
        return [replace(r, status="fail") if r.status == "xpass" else r for r in out]

    def _sample(self, cases: list[Case]) -> list[Case]:
        return cases[:3] if self.quick else cases

    def _malformed(self, declared: list, step: str) -> None:
        names = {m.name for m in declared}
        from . import malformed
        from .hostile import refused_by_library
        vectors = [v for v in malformed.load(self.project.malformed_path) if v["message"] in names]
        if not vectors:
            return
        bad = []
        proc = PeerProcess(self.spec, "malformed")
        try:
            proc.handshake()
            for v in vectors:
                try:
                    proc.request(f"DECODE {v['message']} x{v['payload']}")
                    bad.append(f"{v['id']}: accepted, expected ERR decode {v['code']} {v['path']}")
                except PeerReplyError as exc:
                    code, path = (exc.detail.split(" ") + ["", ""])[:2]
                    if self.spec.adapter and refused_by_library(exc):
                        continue          # the library's own refusal, in its own words
                    if (exc.kind, code, path) != ("decode", v["code"], v["path"]):
                        bad.append(f"{v['id']}: ERR {exc.kind} {exc.detail[:80]}, expected ERR decode {v['code']} {v['path']}")
                except PeerError as exc:      # it died on this payload: say so, and go on with a fresh one
                    bad.append(f"{v['id']}: the peer died ({str(exc).splitlines()[0][:100]})")
                    proc.close()
                    proc = PeerProcess(self.spec, "malformed")
                    proc.handshake()
        finally:
            proc.close()
        self.add("codec", "malformed payloads", "fail" if bad else "pass",
                 "; ".join(bad[:3]) or f"{len(vectors)} refused with the right code and path",
                 f"{len(bad)} of {len(vectors)} wrong; each must reply `ERR decode <code> <path>` exactly as "
                 f"protocols/vectors/malformed.json says {step}")

    def _bad_values(self, declared: list, step: str) -> None:
        names = {m.name for m in declared}
        lines = [b for b in BAD_VALUES if b[0].split(" ")[1] in names]
        if not lines:
            return
        bad = []
        with PeerProcess(self.spec, "bad-values") as proc:
            proc.handshake()
            for line, code, path in lines:
                try:
                    proc.request(line)
                    bad.append(f"`{line[:50]}` accepted, expected ERR encode {code} {path}")
                except PeerReplyError as exc:
                    if (exc.kind, *exc.detail.split(" ")[:2]) != ("encode", code, path):
                        bad.append(f"`{line[:50]}`: ERR {exc.kind} {exc.detail[:60]}, expected ERR encode {code} {path}")
        self.add("codec", "values out of range", "fail" if bad else "pass",
                 "; ".join(bad[:3]) or f"{len(lines)} refused with the right code and path",
                 f"ENCODE of a value that cannot be encoded replies `ERR encode <code> <path>` "
                 f"(PEER_CONTRACT.md \"Errors\") {step}")

    # -- 4, 5. transports, against the reference peer

    def transport(self, t: str) -> None:
        step = f"({GUIDE}, step {4 if t == 'uds' else 5})"
        if t not in self.spec.transports:
            self.add(t, "declared", "missing", "not in [supports] transports",
                     f"implement LISTEN/CONNECT/ACCEPT/SEND/RECV/ECHO/CLOSE over {t}, then add \"{t}\" to the "
                     f"manifest {step}")
            return
        ref = self.reference
        if ref is None or ref.unavailable() or t not in ref.transports:
            why = "missing" if ref is None else ref.unavailable() or f"it lacks {t}"
            self.add(t, "exchange with the reference peer", "skip", f"reference peer {REFERENCE}: {why}")
            return
        both = [c for c in self.project.cases if self.spec.supports_message(c.message.name)]
        cases = both if not self.quick else list({c.message.name: c for c in both}.values())
        me = self.spec.name
        with Session(self.registry, schema=self.project.schema) as session:
            for kind, sender, receiver, what in (("send", REFERENCE, me, f"{REFERENCE} sends, {me} receives"),
                                                 ("send", me, REFERENCE, f"{me} sends, {REFERENCE} receives"),
                                                 ("echo", REFERENCE, me, f"{me} echoes what {REFERENCE} sends")):
                results = self._expected([session.run(Cell(kind, sender, receiver, t, c)) for c in cases])
                bad = [r for r in results if r.status == "fail"]
                self.add(t, what, "fail" if bad else "pass",
                         f"{bad[0].cell.id}: {bad[0].detail}" if bad else f"{len(results)} cases",
                         f"{len(bad)} of {len(results)} failed; `python -m harness matrix --peers {me},{REFERENCE} "
                         f"--transports {t}` shows them all {step}")
        self._timeouts(t, step)
        self._hostile(t, step)

    @staticmethod
    def _timed(proc: PeerProcess, line: str, timeout: float = 10) -> tuple[list[str] | PeerReplyError, float]:
        """The reply to `line` (an ERR as the exception object) and how long it took, in ms."""
        start = time.monotonic()
        try:
            out: list[str] | PeerReplyError = proc.request(line, timeout)
        except PeerReplyError as exc:
            out = exc
        return out, (time.monotonic() - start) * 1000

    def _timeouts(self, t: str, step: str) -> None:
        """RECV on an idle connection times out on time; the other side's CLOSE is `ERR runtime`;
        a CONNECT to an address where nothing listens fails (at once over sockets)."""
        tr = transports.get(t)
        address = tr.address()
        me, ref = self.spec, self.reference
        assert ref is not None
        problems: list[str] = []
        try:
            with PeerProcess(me, "timeouts") as proc, PeerProcess(ref, "timeouts-ref") as other:
                proc.handshake()
                other.handshake()
                transports.connect(proc, other, t, address, 4096)
                for ms in (0, 300):
                    reply, took = self._timed(proc, f"RECV {ms}")
                    if not isinstance(reply, PeerReplyError) or reply.kind != "timeout":
                        problems.append(f"RECV {ms} on an idle connection: {self._show(reply)}, expected ERR timeout")
                    elif took > ms + 1500 or took < ms * 0.8:
                        problems.append(f"RECV {ms} took {took:.0f} ms")
                other.request("CLOSE")
                reply, _ = self._timed(proc, "RECV 2000")
                if not isinstance(reply, PeerReplyError) or reply.kind != "runtime":
                    problems.append(f"RECV after the other side closed: {self._show(reply)}, expected ERR runtime closed")
                proc.request("CLOSE")
                tr.release(address)
                nowhere = transports.get(t)
                try:
                    dead = nowhere.address()
                    if t == "tcp":
                        dead = self._closed_tcp_port()
                    wait = 300 if t == "shm" else 5000
                    reply, took = self._timed(proc, f"CONNECT {t} {dead} {wait}")
                    want = "timeout" if t == "shm" else "runtime"
                    if not isinstance(reply, PeerReplyError) or reply.kind != want:
                        problems.append(f"CONNECT where nothing listens: {self._show(reply)}, expected ERR {want}")
                    elif t != "shm" and took > 1500:
                        problems.append(f"CONNECT where nothing listens took {took:.0f} ms: refuse at once, no retries")
                finally:
                    nowhere.cleanup()
        except PeerError as exc:
            problems.append(str(exc))
        finally:
            tr.release(address)
            tr.cleanup()
        self.add(t, "timeouts, closes and refusals", "fail" if problems else "pass",
                 "; ".join(problems[:3]) or "RECV 0 and RECV 300 time out on time; a close is ERR runtime; "
                 "a CONNECT to nothing fails", f"every blocking request honours its timeout, 0 meaning only what is "
                 f"there (PEER_CONTRACT.md, below \"Requests\") {step}")

    @staticmethod
    def _closed_tcp_port() -> str:
        import socket
        with socket.socket() as s:          # a port just freed: nothing listens there
            s.bind(("127.0.0.1", 0))
            return f"127.0.0.1:{s.getsockname()[1]}"

    @staticmethod
    def _show(reply: list[str] | PeerReplyError) -> str:
        if isinstance(reply, PeerReplyError):
            return f"ERR {reply.kind} {reply.detail[:60]}"
        return "OK " + " ".join(reply)[:60]

    def _hostile(self, t: str, step: str) -> None:
        from . import hostile
        if self.spec.messages is not None:
            self.add(t, "hostile frames", "skip", "the hostile frames carry every message: declare messages = \"*\" first")
            return
        entries = hostile.catalogue(self.project.schema, self.project.malformed_path, self.project.cases)
        assert self.reference is not None
        outcomes = hostile.run(self.reference, [self.spec], [t], entries)
        bad = [o for o in outcomes if not o.ok]
        self.add(t, "hostile frames", "fail" if bad else "pass",
                 "; ".join(f"{o.entry.id}: {'; '.join(o.problems)[:120]}" for o in bad[:3]) or
                 f"{len(outcomes)} malformed, split and cut frames handled",
                 f"{len(bad)} of {len(outcomes)} wrong: a header error is replied and closes the connection, a "
                 f"payload error keeps it (PEER_CONTRACT.md \"Errors\"); `python -m harness hostile --peers "
                 f"{self.spec.name} --transports {t}` lists them {step}")

    # -- 6. streams and bench (optional)

    def optional(self) -> None:
        ref = self.reference
        usable = [t for t in self.spec.transports if ref is not None and not ref.unavailable() and t in ref.transports]
        why = self.project.streams_unsupported()
        if why:
            self.add("streams", "streams", "skip", why)
        else:
            for t in usable:
                self._streams(t)
        why = self.project.streams_unsupported(bench=True)
        if why:
            self.add("bench", "bench", "skip", why)
        else:
            for t in usable:
                self._bench(t)

    def _streams(self, t: str) -> None:
        step = f"implement BLAST and DRAIN (PEER_CONTRACT.md \"Streams\"; {GUIDE}, step 6)"
        assert self.reference is not None
        for a, b in ((self.spec, self.reference), (self.reference, self.spec)):
            r = stress.run_pair(a, b, t, 2000 if not self.quick else 300, self.project.stream, 4096, freeze=0)
            name = f"{a.name} BLAST -> {b.name} DRAIN over {t}"
            if "unsupported" in r.error:
                self.add("streams", name, "missing", "ERR unsupported (optional)", step)
            elif r.ok:
                self.add("streams", name, "pass", f"{r.count} frames, none lost, duplicated, reordered or corrupt")
            else:
                self.add("streams", name, "fail", r.line(), step)

    def _bench(self, t: str) -> None:
        step = f"implement WAIT, PING, PONG, FLOOD and SINK (PEER_CONTRACT.md \"Benchmarks\"; {GUIDE}, step 6)"
        assert self.reference is not None
        size = self.project.stream.fit(64)
        for what, lines in (("round trips", (f"PING 200 20 {size} 10000", "PONG 220 10000")),
                            ("streaming", (f"FLOOD 500 {size}", f"SINK 500 {size} 10000"))):
            for mine in (0, 1):
                problem, missing = self._bench_pair(t, lines, mine)
                who = f"{self.spec.name} {lines[mine].split()[0]}"
                if missing:
                    self.add("bench", f"{what} over {t} ({who})", "missing", problem, step)
                else:
                    self.add("bench", f"{what} over {t} ({who})", "fail" if problem else "pass", problem or "", step)

    def _bench_pair(self, t: str, lines: tuple[str, str], mine: int) -> tuple[str, bool]:
        """Run lines[0] on the first peer and lines[1] on the second; this peer runs lines[mine]."""
        assert self.reference is not None
        specs = (self.spec, self.reference) if mine == 0 else (self.reference, self.spec)
        tr = transports.get(t)
        address = tr.address()
        try:
            with PeerProcess(specs[0], "bench-a") as a, PeerProcess(specs[1], "bench-b") as b:
                a.handshake()
                b.handshake()
                transports.connect(a, b, t, address, 1 << 16)
                for proc in (a, b):
                    try:
                        proc.request(self.project.stream.request)
                    except PeerReplyError as exc:
                        if proc.spec is self.spec and exc.kind == "unsupported":
                            return f"STREAM: ERR unsupported {exc.detail[:60]} (optional)", True
                        raise
                a.send(lines[0])
                b.send(lines[1])
                replies = {}
                for proc in as_they_answer([a, b], 30):   # a refusal is seen at once, not after the other's time-out
                    try:
                        replies[proc] = figures(proc.reply(30))
                    except PeerReplyError as exc:
                        (b if proc is a else a).kill()      # it waits for a partner that has refused
                        if proc.spec is self.spec and exc.kind == "unsupported":
                            return f"ERR unsupported {exc.detail[:60]} (optional)", True
                        return f"{proc.label} {lines[(0 if proc is a else 1)].split()[0]}: ERR {exc.kind} {exc.detail[:100]}", False
                replies = [replies[a], replies[b]]
            for line, reply in zip(lines, replies):   # each side's count as its own request asked
                verb, count = line.split()[0], int(line.split()[1])
                key = {"PING": "rounds", "PONG": "rounds", "FLOOD": "sent", "SINK": "received"}[verb]
                if reply.get(key) != count:
                    return f"{verb} replied {key}={reply.get(key)}, expected {count}", False
            return "", False
        except (PeerError, CrosswireError) as exc:
            return str(exc), False
        finally:
            tr.release(address)
            tr.cleanup()


def run_own_tests(spec: P.PeerSpec, timeout: float = 600) -> str | None:
    """Run a peer's [check] command in its folder: None when it passes, else what went wrong."""
    return P.run_step(spec, spec.check, "check", timeout)


def check(project: Project, target: str, say: Callable[[Item], None] = lambda item: None, quick: bool = False,
          build: bool = True) -> Report:
    spec, registry = resolve(project, target)
    return Checker(project, spec, registry, say, quick, build).run()


def lines(item: Item) -> Iterator[str]:
    """An item as the checklist prints it (plain text; the CLI adds colour)."""
    mark = {"pass": "ok  ", "fail": "FAIL", "missing": "todo", "skip": "skip"}[item.status]
    first = item.detail.splitlines()[0] if item.detail else ""
    yield f"  {mark} {item.name}" + (f": {first}" if first else "")
    if item.status == "fail":
        for more in item.detail.splitlines()[1:12]:
            yield f"         {more}"
    if item.next:
        yield f"         next: {item.next}"
