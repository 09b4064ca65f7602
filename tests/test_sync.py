"""Synchronisation bugs named (harness/sync.py): a peer that never wakes a sleeping partner, and one
that publishes its ring head before it copies the frame in, each written into a copy of the
Python kit's shared-memory helper (tests/faulty_peer/peer.py), against every reference peer. The
named cause is asserted, with the side and the ring offsets; the analysis itself is checked on
frames built here."""
from __future__ import annotations

import sys

import pytest

from harness import stress, sync
from harness.driver import figures
from harness.errors import PeerProtocolError
from harness.peers import load_manifest
from harness.project import Project

from .conftest import ROOT

PROJECT = Project(ROOT)
NATIVE = [p for p in PROJECT.registry.values() if "shm" in p.transports and not p.run[0].startswith("qemu-")]
linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="lost wake-ups are counted where futex tells a time-out")


def available(*specs):
    for spec in specs:
        reason = spec.unavailable()
        if reason:
            pytest.skip(reason)


@pytest.fixture
def faulty(faulty_peer):
    def make(fault):
        return load_manifest(faulty_peer(fault, "-", transports='["uds", "shm"]') / "peer.toml")
    return make


@linux
@pytest.mark.parametrize("spec", NATIVE, ids=[p.name for p in NATIVE])
def test_a_lost_wakeup_is_named_by_the_sender_that_waited(spec, faulty):
    available(spec)
    r = stress.run_pair(spec, faulty("no_wake"), "shm", 1000, PROJECT.stream, 4096, max_len=200, timeout_s=60)
    assert not r.ok, r.line()
    assert r.drained.get("received") == 1000, r.line()        # every frame arrived: only the figures tell
    assert r.sent["missed"] >= sync.LOST_WAKEUPS, r.line()
    assert r.named and r.named[0].startswith(f"lost wake-up: the sender {spec.name} slept"), r.line()
    assert "faulty does not wake a sleeping peer" in r.named[0], r.line()


@pytest.mark.parametrize("spec", NATIVE, ids=[p.name for p in NATIVE])
def test_a_clean_pair_counts_no_lost_wakeup(spec):
    available(spec)
    r = stress.run_pair(spec, spec, "shm", 3000, PROJECT.stream, 4096, max_len=200, timeout_s=60)
    assert r.ok and not r.named, r.line()
    assert r.sent.get("missed", 0) == 0 and r.drained.get("missed", 0) == 0, r.line()


def test_a_pair_ten_times_slower_over_shm_than_over_a_socket_is_flagged(faulty):
    python = PROJECT.registry["python"]
    available(python)
    bad = faulty("no_wake")
    results = [stress.run_pair(python, bad, t, 1000, PROJECT.stream, 4096, max_len=200, timeout_s=60)
               for t in ("uds", "shm")]
    slow = sync.slow_pairs(results, stress.FREEZE)
    assert list(slow) == [1], [r.line() for r in results]
    assert slow[1].startswith("slow: ") and "the same pair over uds" in slow[1], slow[1]
    assert sync.slow_pairs(results[1:], stress.FREEZE, floors=results[:1]) == {0: slow[1]}   # a floor run
    clean = [stress.run_pair(python, python, t, 1000, PROJECT.stream, 4096, max_len=200, timeout_s=60)
             for t in ("uds", "shm")]
    assert sync.slow_pairs(clean, stress.FREEZE) == {}, [r.line() for r in clean]


@pytest.mark.parametrize("spec", NATIVE, ids=[p.name for p in NATIVE])
def test_a_torn_frame_is_named_with_its_ring_offsets(spec, faulty):
    available(spec)
    r = stress.run_pair(faulty("early_publish"), spec, "shm", 2000, PROJECT.stream, 4096, max_len=200, timeout_s=60)
    assert not r.ok, r.line()
    torn = [n for n in r.named if n.startswith("torn frame ")]
    assert torn, r.line()
    assert "ring offset" in torn[0] and "hold what the ring held one lap earlier" in torn[0], torn[0]
    assert r.drained["bad_at"] + len(r.drained["bad"]) // 2 > 4096, r.line()     # the fault starts on the second lap


# ------------------------------------------------------------------ the analysis, on frames built here

@pytest.fixture(scope="module")
def stream():
    return sync.Stream(PROJECT.stream, 42, 0, 200, 500)


def test_the_regenerated_stream_is_the_frames_end_to_end(stream):
    frames = b"".join(stream.frame(i) for i in range(1, 501))
    got, where = stream.bytes_at(0, len(frames))
    assert got == frames
    assert [seq for seq, _ in where] == list(range(1, 501))
    assert stream.bytes_at(-10, 5)[0] == bytes(10) + frames[:5]         # before the ring was written: zeros
    assert stream.bytes_at(len(frames) - 2, len(frames) + 3)[0] == frames[-2:] + bytes(3)


def test_bytes_of_the_fresh_ring_are_named_never_written(stream):
    first = stream.frame(1)
    got = bytes(8) + first[8:]
    note = sync.torn({"bad_at": 0, "bad": got.hex()}, stream, 4096, "shm")
    assert note.startswith("torn frame 1 at stream offset 0, ring offset 0:"), note
    assert "zeros of the fresh ring, never written" in note, note


def test_bytes_of_the_previous_lap_are_named_stale(stream):
    at = next(pos for seq, pos in stream.bytes_at(4096, 5000)[1] if pos >= 4096)    # a frame of the second lap
    want, _ = stream.bytes_at(at, at + 40)
    earlier, _ = stream.bytes_at(at - 4096, at - 4096 + 40)
    got = earlier[:12] + want[12:]
    note = sync.torn({"bad_at": at, "bad": got.hex()}, stream, 4096, "shm")
    assert note.startswith("torn frame "), note
    assert f"ring offset {at % 4096}" in note and "one lap earlier" in note, note


def test_other_damage_is_not_called_torn(stream):
    frame = bytearray(stream.frame(3))
    at = len(stream.frame(1)) + len(stream.frame(2))
    frame[-1] ^= 0x5A
    note = sync.torn({"bad_at": at, "bad": bytes(frame).hex()}, stream, 4096, "shm")
    assert note.startswith("corrupt frame 3 at stream offset"), note
    assert f"first at byte {len(frame) - 1} (payload)" in note, note
    assert sync.torn({"received": 1}, stream, 4096, "shm") == ""


def test_the_first_bad_frame_is_a_hex_figure():
    assert figures(["corrupt=1", "bad_at=7", "bad=00ff"]) == {"corrupt": 1, "bad_at": 7, "bad": "00ff"}
    with pytest.raises(PeerProtocolError):
        figures(["bad=zz"])
