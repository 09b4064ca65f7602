"""Peer driver: starts a peer, speaks the contract on its stdin/stdout, and never waits
without a timeout.

A reader thread turns the peer's stdout into a queue of lines, so every wait for a reply is a
`queue.get(timeout=...)`; another thread keeps the last lines of its stderr for error reports.
A peer that times out, dies or writes garbage is killed and reaped, and the error names the
request in flight. Every live peer is also killed at interpreter exit.

Bounds (issue 17): a reply line is at most the contract's line limit; a line nobody asked for
(a flood, a repeated reply) is a protocol error against the request in flight, and the reader
stops reading, so a peer's output never grows the harness. Killing a peer kills its process
group whatever the state of its leader, and every process found below it (a child that called
setsid included); on Linux the harness is a subreaper, so what those leave is adopted here, and
each peer's environment carries a mark (CROSSWIRE_PEER=<harness pid>.<n>) that its descendants
inherit, so an escapee whose parent already died is found among the adopted and killed with
its peer, not only at exit.
"""
from __future__ import annotations

import atexit
import collections
import os
import queue
import signal
import subprocess
import threading
import time
from typing import IO, Any, Iterator

from .errors import PeerDied, PeerProtocolError, PeerReplyError, PeerTimeout
from .peers import CONTRACT_VERSION, PeerSpec

DEFAULT_TIMEOUT = 10.0        # seconds for a reply to a request that does not block
MAX_LINE = 8 * (1 << 20) + 65536   # PEER_CONTRACT.md "Lines" for a 1 MiB max_payload; a schema's own below
_EOF = object()
_live: "set[PeerProcess]" = set()
_live_lock = threading.Lock()
_serial = iter(range(1, 1 << 62))
MARK = "CROSSWIRE_PEER"


class PeerProcess:
    """One running peer. Requests go one at a time in order; replies may be awaited later,
    so two peers can work at once (pipelining)."""

    def __init__(self, spec: PeerSpec, label: str = "", timeout: float = DEFAULT_TIMEOUT,
                 env: dict[str, str] | None = None) -> None:
        self.spec, self.timeout = spec, timeout
        self.label = f"{spec.name}{'/' + label if label else ''}"
        self._lines: queue.Queue = queue.Queue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=40)
        self._pending: collections.deque[str] = collections.deque()   # requests awaiting replies
        self._sent = 0              # requests written; the reader may never have more lines than this
        self.max_line = line_limit(spec)
        self.hello: dict[str, str] = {}
        spec.require_available()
        self.mark = new_mark()
        try:
            self.proc = subprocess.Popen(
                spec.argv(), cwd=spec.dir, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, start_new_session=True, bufsize=1 << 16,
                env={**spec.env(), **(env or {}), MARK: self.mark})
        except OSError as exc:
            raise PeerDied(self.label, "(start)", f"cannot start {spec.argv()[0]}: {exc}") from None
        with _live_lock:
            _live.add(self)
        threading.Thread(target=self._read_stdout, args=(self.proc.stdout,), daemon=True,
                         name=f"{self.label}-stdout").start()
        threading.Thread(target=self._read_stderr, args=(self.proc.stderr,), daemon=True,
                         name=f"{self.label}-stderr").start()

    # -- threads

    def _read_stdout(self, stream: IO[bytes]) -> None:
        got = 0
        try:
            while True:
                line = stream.readline(self.max_line + 2)
                if not line:
                    break
                got += 1
                if got > self._sent:        # nobody asked: a flood or a repeated reply. Stop reading
                    self._lines.put(_Unsolicited(line[:120]))      # (the peer blocks, the harness
                    return                                          # does not grow) and say so
                if not line.endswith(b"\n") and len(line) > self.max_line:
                    self._lines.put(_Unsolicited(line[:120], f"a reply line longer than the contract's "
                                                             f"{self.max_line} bytes"))
                    return
                self._lines.put(line.rstrip(b"\r\n"))
        except (OSError, ValueError):
            pass
        self._lines.put(_EOF)

    def _read_stderr(self, stream: IO[bytes]) -> None:
        try:
            for line in iter(lambda: stream.readline(1 << 16), b""):
                self._stderr.append(line.decode("utf-8", "replace").rstrip())
        except (OSError, ValueError):
            pass

    def stderr_tail(self) -> str:
        time.sleep(0.02)  # let the stderr thread catch the last words of a dying peer
        return "\n".join(self._stderr)

    # -- requests

    def send(self, line: str) -> None:
        """Write one request; its reply is read later with reply()."""
        if "\n" in line:
            raise ValueError("a request is one line")
        self._pending.append(line)
        self._sent += 1
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(line.encode("ascii") + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._died(line) from None

    def reply(self, timeout: float | None = None) -> list[str]:
        """The OK tokens answering the oldest request not yet answered. Raises PeerReplyError
        for an ERR reply (the peer stays usable), PeerTimeout/PeerDied/PeerProtocolError
        (the peer is killed)."""
        request = self._pending[0] if self._pending else "(none)"
        wait = self.timeout if timeout is None else timeout
        try:
            item = self._lines.get(timeout=wait)
        except queue.Empty:
            self.kill()
            raise PeerTimeout(self.label, request, f"no reply within {wait:g} s; killed",
                              self.stderr_tail()) from None
        if item is _EOF:
            raise self._died(request)
        if isinstance(item, _Unsolicited):
            self.kill()
            raise PeerProtocolError(self.label, request, f"{item.what}: {item.line!r}; killed "
                                    "(its replies would no longer match the requests)", self.stderr_tail())
        self._pending.popleft()
        text = item.decode("ascii", "replace")
        if text == "OK" or text.startswith("OK "):
            return text.split(" ")[1:] if text != "OK" else []
        if text.startswith("ERR "):
            kind, _, detail = text[4:].partition(" ")
            raise PeerReplyError(self.label, request, kind, detail)
        self.kill()
        raise PeerProtocolError(self.label, request, f"not a contract reply: {text[:200]!r}; killed",
                                self.stderr_tail())

    def drain(self, timeout: float | None = None) -> None:
        """Read and drop the replies still owed, so the next reply matches the next request."""
        if _INTERRUPTED.is_set():
            self.kill()
            return
        while self._pending and self.alive:
            try:
                self.reply(timeout)
            except PeerReplyError:
                pass

    def has_reply(self) -> bool:
        """A reply (or the end of the output) is waiting: reply() would not block."""
        return not self._lines.empty() or not self.alive

    def request(self, line: str, timeout: float | None = None) -> list[str]:
        self.send(line)
        return self.reply(timeout)

    def _died(self, request: str) -> PeerDied:
        try:
            code = self.proc.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            code = None
        self.kill()             # what it left in its group goes with it
        code = self.proc.returncode if code is None else code
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exited with status {code}"
        return PeerDied(self.label, request, f"the peer {how}", self.stderr_tail())

    # -- contract conveniences

    def handshake(self) -> dict[str, str]:
        """HELLO: the peer's facts as a dict; checked against its manifest."""
        tokens = self.request(f"HELLO {CONTRACT_VERSION}")
        facts = dict(t.split("=", 1) for t in tokens if "=" in t)
        if facts.get("name") != self.spec.program:
            self.kill()
            raise PeerProtocolError(self.label, "HELLO", f"HELLO says name={facts.get('name')!r}, "
                                    f"its manifest says {self.spec.program!r}")
        from .kits import hello_problem
        problem = hello_problem(facts, self.spec.language)
        if problem:
            self.kill()
            raise PeerProtocolError(self.label, "HELLO", problem)
        self.hello = facts
        return facts

    # -- ending

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self, timeout: float = 3.0) -> None:
        """QUIT politely, then make sure the process is gone and reaped."""
        if self.alive and not _INTERRUPTED.is_set():
            try:
                self.send("QUIT")
                self.proc.wait(timeout=timeout)
            except (PeerDied, subprocess.TimeoutExpired):
                pass
        self.kill()

    def kill(self) -> None:
        """SIGKILL the peer's process group, whatever the state of its leader (a child that
        ignores SIGTERM outlives its leader), and every process below it (a child that called
        setsid left the group but not the tree)."""
        below = kill_tree(self.proc, self.mark)
        try:
            self.proc.wait(timeout=5.0)
        except subprocess.TimeoutExpired:  # pragma: no cover - a zombie the kernel keeps
            pass
        reap(below)
        try:  # stdout/stderr are left to their reader threads, which end at EOF
            if self.proc.stdin:
                self.proc.stdin.close()
        except OSError:
            pass
        self._forget()

    def _forget(self) -> None:
        with _live_lock:
            _live.discard(self)

    def __enter__(self) -> "PeerProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def as_they_answer(procs: "list[PeerProcess]", timeout: float) -> "Iterator[PeerProcess]":
    """The peers in the order their next replies arrive, each once, when its reply() will not
    block; those silent at the deadline come last (their reply() then times out). Two peers
    working together (BLAST and DRAIN, PING and PONG): a refusal on one side is seen at once,
    not after the other side's time-out."""
    waiting, deadline = list(procs), time.monotonic() + timeout
    while waiting:
        ready = next((p for p in waiting if p.has_reply()), None)
        if ready is None and time.monotonic() < deadline:
            time.sleep(0.002)
            continue
        ready = ready or waiting[0]
        waiting.remove(ready)
        yield ready


_INTERRUPTED = threading.Event()     # Ctrl-C: peers are killed, never drained or asked to QUIT


def interrupt() -> None:
    """Ctrl-C (the pytest plugin's keyboard-interrupt hook, the CLI's handler): kill every peer
    now; from here on nothing waits for a peer's reply at teardown."""
    _INTERRUPTED.set()
    kill_all()


_builds: dict[subprocess.Popen, str] = {}     # running builds (peers.run_step): process -> mark


def track(proc: subprocess.Popen, mark: str) -> None:
    """A process that is not a peer (a build) that kill_all must kill too, with what it started."""
    with _live_lock:
        _builds[proc] = mark


def untrack(proc: subprocess.Popen) -> None:
    with _live_lock:
        _builds.pop(proc, None)


def die_with_parent() -> None:
    """preexec_fn of a child that must not outlive this process (a build): on Linux it gets
    SIGKILL when the thread that started it ends (PR_SET_PDEATHSIG); elsewhere a no-op."""
    try:
        import ctypes
        ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)     # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def kill_all() -> None:
    """Kill every peer and build this process started (at exit, on Ctrl-C or SIGTERM), and what
    they left that this process adopted as a subreaper."""
    with _live_lock:
        procs = list(_live)
        builds = list(_builds.items())
    for p in procs:
        p.kill()
    for proc, mark in builds:
        reap(kill_tree(proc, mark))
    if _SUBREAPER:
        reap([(pid, started) for pid, started in adopted() if kill_if_same(pid, started)])


atexit.register(kill_all)


class _Unsolicited:
    """A line the reader got that no request asked for (or one over the line limit)."""

    def __init__(self, line: bytes, what: str = "a reply line nobody asked for") -> None:
        self.line, self.what = line.decode("ascii", "replace"), what


_LIMITS: dict[str, int] = {}


def line_limit(spec: PeerSpec) -> int:
    """The contract's line limit for the peer's schema: 8 x max_payload + 65536."""
    if not spec.schema:
        return MAX_LINE
    if spec.schema not in _LIMITS:
        try:
            from . import schema as S
            _LIMITS[spec.schema] = 8 * S.load(spec.schema).max_payload + 65536
        except Exception:  # noqa: BLE001 - the schema's own errors are reported where it is loaded
            _LIMITS[spec.schema] = MAX_LINE
    return _LIMITS[spec.schema]


# ------------------------------------------------------------------ the process tree (Linux /proc)

def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time in clock ticks) of a live process, from /proc; None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return int(fields[1]), int(fields[19])
    except (OSError, ValueError, IndexError):
        return None


def _running(pid: int) -> bool:
    """pid is a process that has not exited (not a zombie)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except (OSError, IndexError):
        return False


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(c) for c in f.read().split()]
    except (OSError, ValueError):
        pass
    return out


def descendants(pid: int) -> list[tuple[int, int]]:
    """Every process below pid, with its start time (to kill it later only if it is the same
    process, not a pid reused meanwhile). Empty where /proc is not (macOS)."""
    out, todo, seen = [], _children(pid), {pid}
    while todo and len(out) < 10000:
        c = todo.pop()
        if c in seen:
            continue
        seen.add(c)
        st = _stat(c)
        if st is not None:
            out.append((c, st[1]))
            todo += _children(c)
    return out


def adopted() -> list[tuple[int, int]]:
    """The processes this one adopted as a subreaper: its children that it did not start as
    peers (nor as anything else: a Popen's child is not adopted, so only those with a peer's
    mark, or all of them at exit, are killed)."""
    mine = {p.proc.pid for p in list(_live)}
    return [(c, st[1]) for c in _children(os.getpid()) if c not in mine and (st := _stat(c)) is not None]


def new_mark() -> str:
    """A mark for the environment of a process this one starts (a peer, a build)."""
    return f"{os.getpid()}.{next(_serial)}"


def kill_tree(proc: subprocess.Popen, mark: str) -> list[tuple[int, int]]:
    """SIGKILL proc's process group whatever the state of its leader, every process below it,
    and (as a subreaper) the adopted escapees that carry its mark; what was killed, to reap()."""
    below = descendants(proc.pid) if proc.poll() is None else []
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if _SUBREAPER:      # escapees whose parent died were adopted here: those of this process
        below += [(pid, started) for pid, started in adopted() if _marked(pid) == mark]
        below += [d for pid, _ in below for d in descendants(pid)]
    return [(pid, started) for pid, started in below if kill_if_same(pid, started)]


def _marked(pid: int) -> str | None:
    """The peer mark in a process's environment (inherited from the peer it descends from)."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            for var in f.read(1 << 20).split(b"\0"):
                if var.startswith(MARK.encode() + b"="):
                    return var[len(MARK) + 1:].decode("ascii", "replace")
    except OSError:
        pass
    return None


def kill_if_same(pid: int, started: int) -> bool:
    """SIGKILL pid if it is still the process that started then (True if it was)."""
    st = _stat(pid)
    if st is None or st[1] != started:
        return False
    try:
        os.kill(pid, signal.SIGKILL)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def reap(killed: list[tuple[int, int]], within: float = 1.0) -> None:
    """Wait (at most `within` s in all) for killed processes below a peer to be gone: those this
    process adopted as a subreaper are reaped here (they would stay zombies), the others by their
    own parents."""
    todo, deadline = dict(killed), time.monotonic() + within
    while todo and time.monotonic() < deadline:
        for pid, started in list(todo.items()):
            try:
                if os.waitpid(pid, os.WNOHANG)[0]:
                    del todo[pid]
                    continue
            except ChildProcessError:       # not (yet) ours: gone, or a living parent of its own reaps it
                st = _stat(pid)
                if st is None or st[1] != started or (st[0] != os.getpid() and _running(st[0])):
                    del todo[pid]
                    continue
        if todo:
            time.sleep(0.005)


def _become_subreaper() -> bool:
    """Linux: orphans below this process are adopted by it, not by init, so they can be found."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0        # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


_SUBREAPER = os.path.isdir("/proc/self/task") and _become_subreaper()


HEX_FIGURES = frozenset({"bad"})      # DRAIN's first corrupt frame: its bytes in hex


def figures(tokens: list[str]) -> dict[str, Any]:
    """An OK reply of `key=value` integers (BLAST, DRAIN, PING, FLOOD, ...) as a dict; the
    figures of HEX_FIGURES stay hex text (checked)."""
    try:
        out: dict[str, Any] = {}
        for k, v in (t.split("=", 1) for t in tokens):
            if k in HEX_FIGURES:
                bytes.fromhex(v)
                out[k] = v
            else:
                out[k] = int(v)
        return out
    except ValueError:
        raise PeerProtocolError("-", "-", f"not key=value figures: {' '.join(tokens)[:200]}") from None
