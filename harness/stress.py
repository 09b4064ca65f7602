"""Stress: a generated stream of sequenced frames of the stream message (harness/streams.py),
of mixed sizes, from one peer to another (BLAST -> DRAIN, PEER_CONTRACT.md "Streams") through a ring small enough to
wrap thousands of times, both sides blocking on full and empty. The peers generate, check and
time the traffic; the harness only sets up the link and reads the figures."""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field

from . import sync, transports
from .driver import PeerProcess, as_they_answer, descendants, figures, reap
from .errors import CrosswireError, PeerError, PeerReplyError
from .peers import PeerSpec
from .streams import Layout

FIGURES = ("received", "lost", "duplicated", "reordered", "corrupt")
FREEZE = 0.02       # seconds each side is frozen early in a stream, so that both must block


@dataclass
class StressResult:
    sender: str
    receiver: str
    transport: str
    count: int
    capacity: int
    sent: dict[str, int] = field(default_factory=dict)
    drained: dict[str, int] = field(default_factory=dict)
    error: str = ""
    named: list[str] = field(default_factory=list)     # synchronisation bugs named (harness/sync.py)

    @property
    def ok(self) -> bool:
        d = self.drained
        return (not self.error and not self.named and d.get("received") == self.count
                and all(d.get(k, 1) == 0 for k in ("lost", "duplicated", "reordered", "corrupt")))

    @property
    def wraps(self) -> int:
        return self.drained.get("bytes", 0) // self.capacity if self.transport == "shm" else 0

    def line(self) -> str:
        d, s = self.drained, self.sent
        rate = self.count / (s["ns"] / 1e9) if s.get("ns") else 0
        head = f"{self.sender}->{self.receiver} over {self.transport}"
        named = "".join(f"\n  {n}" for n in self.named)
        if self.error:
            return f"{head}: ERROR {self.error}{named}"
        ring = (f"ring {self.capacity} B wrapped {self.wraps} times; sender slept {s.get('waits')} times (full), "
                f"receiver {d.get('waits')} (empty)" if self.transport == "shm" else "a socket: no ring")
        return (f"{head}: {d.get('received', 0)}/{self.count} received, lost {d.get('lost')}, duplicated "
                f"{d.get('duplicated')}, reordered {d.get('reordered')}, corrupt {d.get('corrupt')}; "
                f"{d.get('bytes', 0) / 1e6:.1f} MB, {ring}; {rate:,.0f} msgs/s{named}")

    def record(self) -> dict:
        return {"sender": self.sender, "receiver": self.receiver, "transport": self.transport, "count": self.count,
                "capacity": self.capacity, "wraps": self.wraps, "ok": self.ok, "sent": self.sent,
                "drained": self.drained, "error": self.error, "named": self.named}


def _pause(procs: list[PeerProcess], seconds: float, stop: threading.Event) -> None:
    """Freeze each process in turn (SIGSTOP, then SIGCONT): a frozen receiver makes the sender
    block on a full ring, a frozen sender makes the receiver block on an empty one, whatever the
    speed of the pair. The harness touches only the processes, never the data. A watchdog of its
    own session resumes the process even if the harness is killed meanwhile: no peer is ever left
    stopped."""
    for proc in procs:
        if stop.wait(seconds):
            return
        pid = proc.proc.pid
        watchdog = subprocess.Popen(["/bin/sh", "-c", f"sleep {seconds + 0.5:.3f}; kill -s CONT {pid} 2>/dev/null"],
                                    start_new_session=True, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            os.kill(pid, signal.SIGSTOP)
            time.sleep(seconds)
        finally:
            os.kill(pid, signal.SIGCONT)
            below = descendants(watchdog.pid)     # not needed any more (the harness lives): its sleep too
            os.killpg(watchdog.pid, signal.SIGKILL)
            watchdog.wait()
            reap(below)


def _torn(result: StressResult, layout: Layout, seed: int, min_len: int, max_len: int) -> str:
    """The first corrupt frame named (torn or otherwise), never an exception: a diagnosis that
    fails says so and the figures stand."""
    if "bad_at" not in result.drained or layout.schema is None:
        return ""
    try:
        stream = sync.Stream(layout, seed, min_len, max_len, result.count)
        return sync.torn(result.drained, stream, result.capacity, result.transport)
    except Exception as exc:   # noqa: BLE001 (a diagnosis must not end the run)
        return f"the first corrupt frame could not be analysed: {type(exc).__name__}: {exc}"


def _close(tx: PeerProcess) -> None:
    """The sender leaves the link, so the receiver's DRAIN ends at the end of the stream."""
    try:
        tx.request("CLOSE", 5)
    except (PeerError, CrosswireError):
        tx.kill()


def run_pair(sender: PeerSpec, receiver: PeerSpec, transport: str, count: int, layout: Layout,
             capacity: int = 4096, seed: int = 42, min_len: int = 0, max_len: int = 200, timeout_s: float = 300.0,
             freeze: float = FREEZE) -> StressResult:
    """One stream of the layout's message from sender to receiver, of min_len..max_len data
    elements a frame (max_len at most the layout's max). With `freeze` > 0, the receiver and then
    the sender are frozen that long early in the stream, so that both sides must block (full,
    then empty)."""
    max_len = min(max_len, layout.max)
    min_len = min(min_len, max_len)
    result = StressResult(sender.name, receiver.name, transport, count, capacity)
    t = transports.get(transport)
    address = t.address()
    tx = rx = None
    try:
        tx, rx = PeerProcess(sender, "blast"), PeerProcess(receiver, "drain")
        tx.handshake()
        rx.handshake()
        transports.connect(tx, rx, transport, address, capacity)
        tx.request(layout.request)
        rx.request(layout.request)
        tx.send(f"BLAST {count} {seed} {min_len} {max_len}")
        rx.send(f"DRAIN {count} {seed} {min_len} {max_len} {int(timeout_s * 1000)}")
        done = threading.Event()
        pauser = threading.Thread(target=_pause, args=([rx, tx], freeze, done), daemon=True)
        if freeze > 0:
            pauser.start()
        try:
            errors = []     # both sides' reasons: the sender's error often hides the receiver's
            roles = {tx: ("sender", "sent"), rx: ("receiver", "drained")}
            answered = []
            for proc in as_they_answer([tx, rx], timeout_s + 10):
                side, key = roles[proc]
                answered.append(proc)
                try:
                    setattr(result, key, figures(proc.reply(timeout_s + 10)))
                    continue
                except (PeerError, CrosswireError) as exc:
                    errors.append(f"{side} {proc.spec.name}: {str(exc).splitlines()[0]}")
                    refused = isinstance(exc, PeerReplyError) and exc.kind == "unsupported"
                if refused:     # a side without streams: the other would wait for its time-out
                    other = rx if proc is tx else tx
                    if other not in answered and not other.has_reply():
                        other.kill()
                        errors.append(f"{roles[other][0]} {other.spec.name}: stopped, the {side} having refused")
                    break
                if proc is tx:
                    _close(tx)      # the receiver learns the stream ended when the sender leaves
            if errors:
                result.error = "; ".join(errors)
            result.named = [n for n in (sync.lost_wakeups(result), _torn(result, layout, seed, min_len, max_len))
                            if n]
        finally:
            done.set()
            if pauser.is_alive():
                pauser.join()
    except (PeerError, CrosswireError) as exc:
        result.error = str(exc)
    finally:
        for proc in (tx, rx):
            if proc is not None:
                proc.close()
        t.release(address)
        t.cleanup()
    return result
