"""Synchronisation bugs named from a stress run's figures (PEER_CONTRACT.md, "Streams"; SHM.md):

- a **lost wake-up**: a side's sleeps that ended by their time limit although the other side had
  moved its index without the bump and wake it owed (`missed`);
- a **torn frame**: the first corrupt frame a receiver read (`bad_at`, `bad`), compared with what
  the sender wrote at that stream offset and with what the ring held one lap earlier: bytes that
  still hold the earlier lap's (or the fresh ring's zeros) were read before they were written;
- a **slow pair**: a pair an order of magnitude slower a frame over shared memory than over a
  socket (in the same run, or a short uds run for the purpose), where shared memory should be the
  faster (a lost wake-up in a peer that does not count them shows so).

The harness regenerates the sender's stream itself (the lengths from the seed, the payloads from
the layout, the frames from the reference codec); nothing here touches the data path.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import codec
from .vectors import splitmix64

if TYPE_CHECKING:
    from .streams import Layout
    from .stress import StressResult

LOST_WAKEUPS = 3        # SHM.md: a correct pair can count one only by a nanosecond-wide race
SLOWER = 10             # an order of magnitude


class Stream:
    """The frames BLAST sends: frame i carries P(i, len_i), len_i = min + splitmix64(seed ^ i) mod
    (max - min + 1) (PEER_CONTRACT.md, "Streams")."""

    def __init__(self, layout: Layout, seed: int, min_len: int, max_len: int, count: int) -> None:
        self.layout, self.seed, self.min, self.span, self.count = layout, seed, min_len, max_len - min_len + 1, count
        schema = layout.schema
        assert schema is not None and schema.frame is not None
        self.schema = schema
        self.header = {h.name: 0 for h in schema.frame.header if h.role not in ("const", "id", "length", "seq")}
        self.overhead = schema.frame.header_size + schema.frame.trailer_size

    def length(self, i: int) -> int:
        return self.min + splitmix64(self.seed ^ i) % self.span

    def frame(self, i: int) -> bytes:
        return codec.frame_bytes(self.schema, self.layout.message, i, self.layout.payload(i, self.length(i)),
                                 self.header)

    def bytes_at(self, start: int, end: int) -> tuple[bytes, list[tuple[int, int]]]:
        """The bytes the sender wrote at stream offsets start..end (zeros before 0 and after the
        last frame: a fresh ring), and the (seq, offset) of the frames they come from."""
        out, frames, pos = bytearray(end - start), [], 0
        for i in range(1, self.count + 1):
            if pos >= end:
                break
            size = self.overhead + self.layout.size(self.length(i))
            if pos + size > start:
                lo, hi = max(start, pos), min(end, pos + size)
                out[lo - start:hi - start] = self.frame(i)[lo - pos:hi - pos]
                frames.append((i, pos))
            pos += size
        return bytes(out), frames


def _spans(idx: list[int]) -> str:
    """Byte indexes as compact ranges: 0..7, 12, 20..23."""
    out, i = [], 0
    while i < len(idx):
        j = i
        while j + 1 < len(idx) and idx[j + 1] == idx[j] + 1:
            j += 1
        out.append(f"{idx[i]}" if i == j else f"{idx[i]}..{idx[j]}")
        i = j + 1
    return ", ".join(out[:6]) + (", ..." if len(out) > 6 else "")


def torn(drained: dict, stream: Stream, capacity: int, transport: str) -> str:
    """What the first corrupt frame was: torn (bytes read before they were written), or other
    damage; "" when the receiver gave no bad_at/bad."""
    at, raw = drained.get("bad_at"), drained.get("bad")
    if at is None or raw is None:
        return ""
    got = bytes.fromhex(raw)
    want, frames = stream.bytes_at(at, at + len(got))
    seq = next((s for s, pos in frames if pos == at), None)
    which = f"frame {seq}" if seq is not None else "a frame"
    where = f"stream offset {at}" + (f", ring offset {at % capacity}" if transport == "shm" else "")
    differ = [j for j in range(len(got)) if got[j] != want[j]]
    if not differ:
        return f"corrupt {which} at {where}: its {len(got)} bytes as read are what the sender wrote"
    if transport == "shm":
        earlier, _ = stream.bytes_at(at - capacity, at - capacity + len(got))
        stale = [j for j in differ if got[j] == earlier[j]]
        if len(stale) == len(differ):
            before = "zeros of the fresh ring, never written" if at - capacity + max(differ) < 0 else \
                "what the ring held one lap earlier"
            return (f"torn {which} at {where}: bytes {_spans(differ)} of it (ring offsets "
                    f"{_spans(sorted({(at + j) % capacity for j in differ}))}) hold {before}: they were read "
                    f"before they were written (the sender published its head before copying the frame, or "
                    f"the receiver read past the head it saw)")
    header = stream.schema.frame.header_size if stream.schema.frame else 0
    part = "header" if differ[0] < header else "payload"
    return (f"corrupt {which} at {where}: {len(differ)} of its {len(got)} bytes differ from what the sender wrote, "
            f"first at byte {differ[0]} ({part}): got {got[differ[0]]:#04x}, sent {want[differ[0]]:#04x}")


def lost_wakeups(r: StressResult) -> str:
    """A lost wake-up, named by the side that waited for it; "" when there is none."""
    for side, figures, other, waited in (("receiver", r.drained, r.sender, "published frames"),
                                         ("sender", r.sent, r.receiver, "freed space")):
        n = figures.get("missed", 0)
        if n >= LOST_WAKEUPS:
            name = r.receiver if side == "receiver" else r.sender
            return (f"lost wake-up: the {side} {name} slept {n} times until its time limit although the other "
                    f"side had {waited} ({other} does not wake a sleeping peer: SHM.md, \"Waiting\"); "
                    f"{figures.get('waits', 0)} sleeps in all")
    return ""


def seconds(r: StressResult) -> float:
    return max(r.sent.get("ns", 0), r.drained.get("ns", 0)) / 1e9


def per_frame(r: StressResult) -> float:
    return seconds(r) / max(r.count, 1)


def slow_pairs(results: list[StressResult], freeze: float, floors: list[StressResult] = ()) -> dict[int, str]:
    """The shm results (by index) an order of magnitude slower than the same pair over a socket
    (in `results`, or a floor run for the purpose), frame for frame, the freezes and a start-up
    allowance aside."""
    out: dict[int, str] = {}
    for i, r in enumerate(results):
        if r.transport != "shm" or r.error or not seconds(r):
            continue
        sockets = [s for s in [*results, *floors] if s.transport != "shm" and s.ok and seconds(s)
                   and (s.sender, s.receiver) == (r.sender, r.receiver)]
        if not sockets:
            continue
        best = min(sockets, key=per_frame)
        allowed = SLOWER * (per_frame(best) * r.count + 2 * freeze + 0.05)
        if seconds(r) > allowed:
            out[i] = (f"slow: {seconds(r):.2f} s over shm, {per_frame(r) / per_frame(best):.0f}x the time a frame "
                      f"takes the same pair over {best.transport} ({1e6 * per_frame(best):.1f} us); sleeps: sender "
                      f"{r.sent.get('waits')}, receiver {r.drained.get('waits')} (a wake-up that never comes makes "
                      f"each sleep last its whole slice)")
    return out

