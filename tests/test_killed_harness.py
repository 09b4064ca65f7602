"""SIGKILL of the harness itself at random moments of `matrix` and `stress` (issue 17): every
peer it started is gone within 3 s (none is left stopped by stress's freeze), and the next normal
run removes every socket directory and segment the dead harness left.

The moments come from a seed, printed in every failure; CROSSWIRE_KILL_SEED=<n> replays a run.
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from harness import driver
from harness.transports.sweep import DIR, SEGMENT, base36

from .conftest import ROOT, running

SEED = int(os.environ.get("CROSSWIRE_KILL_SEED") or random.randrange(1 << 32))
MOMENTS = random.Random(SEED)
LEFT: list[list[str]] = []  # what each killed harness left before the next run (shown by -s)
GRACE = 3.0                 # seconds a peer may take to notice its harness is gone

COMMANDS = {
    "matrix": ["matrix"],            # the main job: every peer, transport and kind
    "stress": ["stress", "--peers", "c,python", "--count", "300000"],
}
NORMAL_RUN = ["matrix", "--peers", "python", "--transports", "uds,shm", "--kinds", "send", "--cases", "integers.*"]


def harness(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "harness", *args], cwd=ROOT, start_new_session=True,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0].decode()
    except (OSError, IndexError):
        return "gone"


def left_by(pid: int) -> list[str]:
    """The socket directories and segments named for harness pid."""
    out = [f"/tmp/{n}" for n in os.listdir("/tmp") if (m := DIR.match(n)) and int(m.group(1)) == pid]
    if os.path.isdir("/dev/shm"):
        out += [f"/dev/shm/{n}" for n in os.listdir("/dev/shm")
                if (m := SEGMENT.match("/" + n)) and m.group(1) == base36(pid)]
    return out


def kill_and_check(proc: subprocess.Popen, why: str) -> None:
    """SIGKILL the harness alone (not its group); its peers must go by themselves, none stopped;
    then one normal run must leave nothing of it."""
    tree = driver.descendants(proc.pid)
    assert tree, f"{why}: the harness had started no peer yet"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=5)
    LEFT.append(left_by(proc.pid))
    pids = [pid for pid, _ in tree]
    deadline = time.monotonic() + GRACE + driver_freeze_watchdog()
    while time.monotonic() < deadline and any(running(p) for p in pids):
        time.sleep(0.02)
    left = {p: state(p) for p in pids if running(p)}
    for pid, started in tree:          # never leave a test's strays: they were started by this test
        driver.kill_if_same(pid, started)
    driver.reap(tree)
    assert not left, f"{why}: processes outlived the harness by {GRACE:g} s (pid: state): {left}"
    normal = subprocess.run([sys.executable, "-m", "harness", *NORMAL_RUN], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert normal.returncode == 0, f"{why}: the next run failed:\n{normal.stdout[-2000:]}{normal.stderr[-2000:]}"
    assert left_by(proc.pid) == [], f"{why}: the next run left what the killed harness had made"


def driver_freeze_watchdog() -> float:
    """A stopped peer is resumed by stress's watchdog at most this long after its freeze."""
    from harness.stress import FREEZE
    return FREEZE + 0.5


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("draw", range(3))
def test_a_harness_killed_at_a_random_moment_leaves_nothing_after_the_next_run(command, draw):
    moment = MOMENTS.uniform(0.5, 6.0)
    why = f"{command} killed at {moment:.2f} s (CROSSWIRE_KILL_SEED={SEED}, draw {draw})"
    proc = harness(COMMANDS[command])
    try:
        deadline = time.monotonic() + moment
        while time.monotonic() < deadline or not driver.descendants(proc.pid):
            assert proc.poll() is None, f"{why}: the harness ended first: {proc.stderr.read().decode()[-500:]}"
            assert time.monotonic() < deadline + 30, f"{why}: no peer started in 30 s"
            time.sleep(0.01)
        kill_and_check(proc, why)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="watches peers' states in /proc")
def test_a_harness_killed_while_a_peer_is_frozen_leaves_no_stopped_peer():
    """The worst moment: stress has SIGSTOPped a peer (its freeze) when the harness dies. Nobody
    sends SIGCONT; the peer still goes (PDEATHSIG's SIGKILL ends a stopped process too)."""
    why = f"stress killed while a peer was stopped (CROSSWIRE_KILL_SEED={SEED})"
    proc = harness(COMMANDS["stress"])
    try:
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            if any(state(pid) == "T" for pid, _ in driver.descendants(proc.pid)):
                kill_and_check(proc, why)
                return
            time.sleep(0.0005)
        pytest.fail(f"{why}: never saw a stopped peer in 60 s (the harness {'ended' if proc.poll() is not None else 'ran on'})")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def teardown_module() -> None:
    print(f"\nkilled harnesses left (seed {SEED}):", *[len(x) for x in LEFT])
