"""One pair of peers over one transport, measured by the peers themselves.

The pinger/sender is `a`, the ponger/receiver `b`. The harness starts both, pins each to its
CPU (Linux), sets the wait strategy, connects them, and then only sends PING/PONG or
FLOOD/SINK requests and reads the figures: it is never in the data path. Counts adapt to the
pair's speed (a short probe first), so slow peers are measured as long as fast ones.
"""
from __future__ import annotations

import os
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path

from .. import transports
from ..driver import PeerProcess, figures
from ..errors import CrosswireError, PeerReplyError
from ..peers import PeerSpec

HEADER = 24                     # WIRE.md frame header; a bench message of size S is a frame of S + 24
MAX_COUNT = 1_000_000


class Unsupported(CrosswireError):
    """A peer answered a bench request with ERR unsupported: its figure is missing, not failed."""


@dataclass(frozen=True)
class Latency:
    """Round-trip figures in nanoseconds (nearest-rank percentiles of one run)."""
    rounds: int
    min: int
    p50: int
    p90: int
    p99: int
    p999: int
    max: int
    mean: int

    @classmethod
    def of(cls, f: dict[str, int]) -> "Latency":
        return cls(**{k: f[k] for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Summary:
    """Repetitions of one figure: the median is the figure, min and max the spread."""
    value: float
    low: float
    high: float
    reps: tuple[float, ...]

    @classmethod
    def of(cls, values: list[float]) -> "Summary":
        return cls(statistics.median(values), min(values), max(values), tuple(values))

    @property
    def spread(self) -> float:
        """(high - low) / value: how much the repetitions disagree."""
        return (self.high - self.low) / self.value if self.value else 0.0


def summarize_latency(runs: list[Latency]) -> dict[str, Summary]:
    return {k: Summary.of([getattr(r, k) for r in runs]) for k in ("p50", "p90", "p99", "p999", "mean", "min")}


def pin(pid: int, cpu: int | None) -> None:
    """Pin every thread of process pid to cpu. sched_setaffinity(pid) moves only the main thread,
    and a runtime with threads of its own (Go's) would go on running on the other CPUs. Two
    passes: a thread started during the first by a thread not pinned yet is caught by the second
    (later threads inherit the mask of the pinned thread that starts them)."""
    if cpu is None or not hasattr(os, "sched_setaffinity"):
        return
    tasks = Path(f"/proc/{pid}/task")
    for _ in range(2):
        for tid in sorted(int(t.name) for t in tasks.iterdir()) if tasks.is_dir() else [pid]:
            try:
                os.sched_setaffinity(tid, {cpu})
            except ProcessLookupError:      # a thread that ended meanwhile
                pass


def bench_capacity(size: int, overhead: int = HEADER) -> int:
    """The shm ring for messages of `size` (frames of size + overhead): room for four frames, at
    least 64 KiB."""
    need, cap = 4 * (size + overhead), 65536
    while cap < need:
        cap *= 2
    return min(cap, 1 << 30)


class Pair:
    """Two running peers, a -> b, over one transport; reconnect() per message size."""

    def __init__(self, a: PeerSpec, b: PeerSpec, transport: str, cpus: tuple[int, int] | None = None,
                 wait: str | None = None, timeout_s: float = 120.0, *, stream: str, seq_max: int = (1 << 64) - 1) -> None:
        """`stream`: the STREAM request (harness/streams.py) both peers get after HELLO; `seq_max`:
        the most the frame's seq holds, which bounds a request's rounds (Modbus's is a u16)."""
        self.seq_max = seq_max
        self.transport, self.timeout_s, self.wait = transport, timeout_s, wait
        self.t = transports.get(transport)
        self.address: str | None = None
        self.a = self.b = None
        try:
            self.a = PeerProcess(a, "bench-a", timeout=timeout_s)
            self.b = PeerProcess(b, "bench-b", timeout=timeout_s)
            for proc, cpu in ((self.a, cpus and cpus[0]), (self.b, cpus and cpus[1])):
                pin(proc.proc.pid, cpu)
                proc.handshake()
                self._ask(proc, stream)
                if wait:
                    self._ask(proc, f"WAIT {wait}")
        except BaseException:
            self.close()
            raise

    def _ask(self, proc: PeerProcess, line: str, timeout: float | None = None) -> list[str]:
        proc.send(line)
        return self._settle(proc, timeout)

    def connect(self, capacity: int) -> None:
        self.disconnect()
        self.address = self.t.address()
        transports.connect(self.a, self.b, self.transport, self.address, capacity)

    def disconnect(self) -> None:
        if self.address is not None:
            for proc in (self.a, self.b):
                if proc is not None and proc.alive:
                    proc.request("CLOSE")
            self.t.release(self.address)
            self.address = None

    def ping(self, count: int, size: int) -> Latency:
        count = min(count, self.seq_max // 2 * 10 // 11)    # PING's rounds, warmup included, in half the seq
        warmup = max(count // 10, 5)
        ms = int(self.timeout_s * 1000)
        self.b.send(f"PONG {count + warmup} {ms}")
        try:
            f = figures(self._ask(self.a, f"PING {count} {warmup} {size} {ms}", self.timeout_s + 10))
        finally:
            self._settle(self.b)
        return Latency.of(f)

    def stream(self, count: int, size: int) -> tuple[float, int]:
        """FLOOD a -> SINK b: (messages per second over count - 1 frames, waits of both)."""
        count = min(count, self.seq_max // 2)     # a kit may refuse more (PEER_CONTRACT.md)
        ms = int(self.timeout_s * 1000)
        self.b.send(f"SINK {count} {size} {ms}")
        try:
            sent = figures(self._ask(self.a, f"FLOOD {count} {size}", self.timeout_s + 10))
        finally:
            got = figures(self._settle(self.b))
        return (count - 1) / got["ns"] * 1e9 if got["ns"] else 0.0, sent["waits"] + got["waits"]

    def _settle(self, proc: PeerProcess, timeout: float | None = None) -> list[str]:
        """The reply to a bench request; a peer without the request is Unsupported, not failed."""
        try:
            return proc.reply(self.timeout_s + 10 if timeout is None else timeout)
        except PeerReplyError as exc:
            if exc.kind in ("unsupported", "request"):
                raise Unsupported(f"{proc.label} ({exc.request.split()[0]}): {exc.detail}") from None
            raise

    def close(self) -> None:
        try:
            self.disconnect()
        except CrosswireError:
            pass
        for proc in (self.a, self.b):
            if proc is not None:
                proc.close()
        if self.address is not None:
            self.t.release(self.address)
        self.t.cleanup()

    def __enter__(self) -> "Pair":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def adaptive_count(per_item_ns: float, target_s: float, floor: int = 50) -> int:
    """How many rounds or frames fill target_s at per_item_ns each."""
    if per_item_ns <= 0:
        return MAX_COUNT
    return int(max(floor, min(MAX_COUNT, target_s * 1e9 / per_item_ns)))


def record(obj: object) -> dict:
    return asdict(obj)  # type: ignore[call-overload]
