"""Peer driver: starts a peer, speaks the contract on its stdin/stdout, and never waits
without a timeout.

A reader thread turns the peer's stdout into a queue of lines, so every wait for a reply is a
`queue.get(timeout=...)`; another thread keeps the last lines of its stderr for error reports.
A peer that times out, dies or writes garbage is killed (its whole process group) and reaped,
and the error names the request in flight. Every live peer is also killed at interpreter exit.
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
from typing import IO, Any

from .errors import PeerDied, PeerProtocolError, PeerReplyError, PeerTimeout
from .peers import CONTRACT_VERSION, PeerSpec

DEFAULT_TIMEOUT = 10.0        # seconds for a reply to a request that does not block
MAX_LINE = 64 << 20           # a reply longer than this is garbage, not a reply
_EOF = object()
_live: "set[PeerProcess]" = set()
_live_lock = threading.Lock()


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
        self.hello: dict[str, str] = {}
        spec.require_available()
        try:
            self.proc = subprocess.Popen(
                spec.argv(), cwd=spec.dir, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, start_new_session=True, bufsize=1 << 16,
                env={**spec.env(), **(env or {})})
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
        try:
            while True:
                line = stream.readline(MAX_LINE)
                if not line:
                    break
                if not line.endswith(b"\n") and len(line) >= MAX_LINE:
                    self._lines.put(b"<reply longer than %d bytes>" % MAX_LINE)
                    break
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
        while self._pending and self.alive:
            try:
                self.reply(timeout)
            except PeerReplyError:
                pass

    def request(self, line: str, timeout: float | None = None) -> list[str]:
        self.send(line)
        return self.reply(timeout)

    def _died(self, request: str) -> PeerDied:
        try:
            code = self.proc.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.proc.returncode
        self._forget()
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
        if self.alive:
            try:
                self.send("QUIT")
                self.proc.wait(timeout=timeout)
            except (PeerDied, subprocess.TimeoutExpired):
                pass
        self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            self.proc.wait(timeout=5.0)
        except subprocess.TimeoutExpired:  # pragma: no cover - a zombie the kernel keeps
            pass
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


def kill_all() -> None:
    """Kill every peer this process started (at exit, on Ctrl-C or SIGTERM)."""
    with _live_lock:
        procs = list(_live)
    for p in procs:
        p.kill()


atexit.register(kill_all)


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
