"""The shared-memory transport under stress and faults, for every pair of peers that speak it.

- Stress: 1,000,000 sequenced frames of the stream message (Blob), 0..200 data bytes, through a 4 KiB ring
  (it wraps tens of thousands of times; both sides block on full and empty): nothing lost,
  duplicated, reordered or torn. Figures are printed (pytest -s) and attached to the JUnit report.
- SIGKILL of either side mid-stream: the survivor reports within 2 s.
- A segment of the wrong version or byte order, a missing segment, a frame with a corrupted
  header: each a clear error, nothing hangs.
(CW_STRESS_COUNT lowers the count for quick local runs; the default is the issue's 10^6.)
"""
from __future__ import annotations

import itertools
import mmap
import os
import secrets
import struct
import sys
import threading
import time

import pytest

from harness import stress
from harness.driver import PeerProcess
from harness.errors import PeerReplyError
from harness.peers import load_manifest
from harness.project import Project

from .conftest import ROOT

COUNT = int(os.environ.get("CW_STRESS_COUNT", "1000000"))
PROJECT = Project(ROOT)
SHM_PEERS = [p for p in PROJECT.registry.values() if "shm" in p.transports]
PAIRS = list(itertools.product(SHM_PEERS, SHM_PEERS))


def available(*specs):
    for spec in specs:
        reason = spec.unavailable()
        if reason:
            pytest.skip(reason)


@pytest.mark.timeout(900)
@pytest.mark.parametrize("sender, receiver", PAIRS, ids=[f"{a.name}->{b.name}" for a, b in PAIRS])
def test_stress(sender, receiver, record_property):
    available(sender, receiver)
    # a peer run under an emulator (qemu-user) moves about a tenth as many frames a second: a
    # tenth of the count still wraps the 4 KiB ring thousands of times
    emulated = any(p.run[0].startswith("qemu-") for p in (sender, receiver))
    count = max(COUNT // 10, 1000) if emulated else COUNT
    r = stress.run_pair(sender, receiver, "shm", count, PROJECT.stream, capacity=4096, max_len=200, timeout_s=600)
    print(r.line())
    record_property("stress", r.line())
    assert r.ok, r.line()
    assert r.drained["received"] == count and r.sent["sent"] == count
    assert r.wraps >= min(1000, count // 40), r.line()
    assert r.sent["waits"] > 0 and r.drained["waits"] > 0, "both sides must have blocked: " + r.line()


def link(tx, rx, capacity=4096):
    name = "/cw" + secrets.token_hex(12)
    rx.request(f"LISTEN shm {name} {capacity}")
    tx.request(f"CONNECT shm {name} 5000", 10)
    rx.request("ACCEPT 5000", 10)
    return name


@pytest.mark.parametrize("victim_role", ["receiver", "sender"])
@pytest.mark.parametrize("spec", SHM_PEERS, ids=[p.name for p in SHM_PEERS])
def test_survivor_reports_a_killed_peer_within_two_seconds(spec, victim_role):
    """The peer under test survives; its partner (the Python reference peer) is SIGKILLed."""
    partner = PROJECT.registry["python"]
    available(spec, partner)
    survivor, victim = PeerProcess(spec, "survivor"), PeerProcess(partner, "victim")
    try:
        survivor.handshake()
        victim.handshake()
        for proc in (survivor, victim):
            proc.request(PROJECT.stream.request)
        if victim_role == "receiver":
            link(survivor, victim)
            survivor.send("BLAST 100000000 1 0 200")
            victim.send("DRAIN 100000000 1 0 200 60000")
        else:
            link(victim, survivor)
            victim.send("BLAST 100000000 1 0 200")
            survivor.send("DRAIN 100000000 1 0 200 60000")
        time.sleep(0.5)
        killed = time.monotonic()
        victim.kill()  # SIGKILL to its process group, then reaped: a zombie would still answer kill(pid, 0)
        try:
            tokens = survivor.reply(timeout=5)
            figures = dict(t.split("=") for t in tokens)
            assert int(figures.get("lost", 0)) > 0, tokens  # a DRAIN cut short counts the rest as lost
        except PeerReplyError as exc:
            assert exc.kind in ("runtime", "decode"), exc
        assert time.monotonic() - killed < 2.0, "the survivor took more than 2 s to notice"
    finally:
        victim.kill()
        survivor.close()


HEADER_SIZE = 1152      # SHM.md, layout version 2


def make_segment(name, version=2, endian=0x0102, capacity=4096):
    """A segment the harness makes by hand, to feed a peer bad headers."""
    from _posixshmem import shm_open
    fd = shm_open(name, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    size = HEADER_SIZE + 2 * capacity
    os.ftruncate(fd, size)
    mm = mmap.mmap(fd, size)
    os.close(fd)
    struct.pack_into("<IHHIIQII", mm, 0, 0x4D485343, version, endian, capacity, HEADER_SIZE, size, os.getpid(), 0)
    struct.pack_into("<I", mm, 32, 1)  # ready
    return mm


@pytest.mark.parametrize("bad", ["version", "endian", "missing"])
@pytest.mark.parametrize("spec", SHM_PEERS, ids=[p.name for p in SHM_PEERS])
def test_bad_segment_is_a_clear_error(spec, bad):
    from _posixshmem import shm_unlink
    available(spec)
    name = "/cw" + secrets.token_hex(12)
    mm = None
    if bad == "version":
        mm = make_segment(name, version=1)   # the old layout: refused, not misread
    elif bad == "endian":
        mm = make_segment(name, endian=0x0201)  # written big-endian
    try:
        with PeerProcess(spec, "attacher") as proc:
            proc.handshake()
            start = time.monotonic()
            with pytest.raises(PeerReplyError) as info:
                proc.request(f"CONNECT shm {name} 300", 5)
            assert time.monotonic() - start < 3
            if bad == "missing":
                assert info.value.kind in ("timeout", "runtime")
            else:
                assert info.value.kind == "runtime" and bad in info.value.detail.lower(), info.value.detail
            assert proc.request("HELLO 3")  # still usable
    finally:
        if mm is not None:
            mm.close()
            shm_unlink(name)


@pytest.mark.parametrize("spec", SHM_PEERS, ids=[p.name for p in SHM_PEERS])
def test_corrupted_frame_header_over_shm(spec, tmp_path):
    """The faulty peer puts format version 2 in the header: the receiver refuses the frame."""
    available(spec)
    d = tmp_path / "faulty"
    d.mkdir()
    (d / "peer.toml").write_text(f'name = "faulty"\nlanguage = "python"\ncontract = 3\n[run]\ncommand = '
                                 f'["{sys.executable}", "{ROOT / "tests/faulty_peer/peer.py"}", "version", "-"]\n'
                                 f'[supports]\ntransports = ["uds", "shm"]\n')
    with PeerProcess(load_manifest(d / "peer.toml"), "tx") as tx, PeerProcess(spec, "rx") as rx:
        tx.handshake()
        rx.handshake()
        link(tx, rx)
        tx.send("SEND Empty 5")
        rx.send("RECV 3000")
        assert tx.reply() == ["24"]
        with pytest.raises(PeerReplyError) as info:
            rx.reply(5)
        assert info.value.kind == "decode" and info.value.detail.startswith("const frame.version")


def test_message_larger_than_the_ring(project):
    """A 1 MiB Blob through a 4 KiB ring, both ways between every shm pair (streamed, like a socket)."""
    case = next(c for c in project.cases if c.id == "blob.max")
    assert len(case.payload) > 200 * 4096
    from harness.textform import format_message
    for a, b in PAIRS:
        if a.unavailable() or b.unavailable():
            continue
        with PeerProcess(a, "tx") as tx, PeerProcess(b, "rx") as rx:
            tx.handshake()
            rx.handshake()
            link(tx, rx, capacity=4096)
            tx.send(f"SEND Blob 1 {format_message(case.message, case.value)}")
            rx.send("RECV 10000")
            got = [None, None]
            t = threading.Thread(target=lambda: got.__setitem__(0, tx.reply(30)))
            t.start()
            got[1] = rx.reply(30)
            t.join()
            assert got[1][:2] == ["Blob", "1"] and got[1][3] == format_message(case.message, case.value).split()[1]
