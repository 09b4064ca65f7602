"""Peers written to misbehave, against the driver and the matrix session (issue 17): every wait
is bounded, memory is bounded, nothing they start survives them, and a dead peer costs seconds."""
from __future__ import annotations

import os
import resource
import textwrap
import time

import pytest

from harness import driver, matrix
from harness.driver import PeerProcess, descendants
from harness.errors import PeerError, PeerProtocolError
from harness.project import Project

from .conftest import ROOT

HELLO = ('print("OK name=fake language=python contract=3 transports=uds messages=* ptr_bits=64 '
         'byte_order=little", flush=True)')


def started_then_hung(make_peer, prelude: str) -> PeerProcess:
    """A peer that runs `prelude` (unindented Python), answers HELLO, then hangs; started and
    greeted."""
    spec = make_peer(prelude + f"\nimport sys, time\nsys.stdin.readline()\n{HELLO}\nsys.stdin.readline()\n"
                     "time.sleep(3600)\n")
    proc = PeerProcess(spec, timeout=5)
    proc.request("HELLO 3")
    return proc


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def wait_gone(pids: list[int], within: float = 5.0) -> list[int]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        left = [p for p in pids if not gone(p)]
        if not left:
            return []
        time.sleep(0.02)
    return [p for p in pids if not gone(p)]


def test_a_flood_of_reply_lines_is_an_error_and_bounded(make_peer):
    """A peer that answers HELLO and then writes valid lines for ever: the next request fails at
    once as a protocol error, the reader stops reading (the peer blocks on its pipe), and the
    harness does not grow."""
    spec = make_peer(f"import sys\nsys.stdin.readline()\n{HELLO}\nwhile True:\n    print('OK', flush=True)\n")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    proc = PeerProcess(spec, timeout=5)
    proc.request("HELLO 3")
    time.sleep(1.0)                     # a second of flooding
    start = time.monotonic()
    with pytest.raises(PeerProtocolError) as info:
        proc.request("CLOSE")
    assert time.monotonic() - start < 1, "the error is at once"
    assert "nobody asked for" in str(info.value) and "killed" in str(info.value)
    assert proc._lines.qsize() <= 2
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 64 * 1024   # KiB: no growth


def test_a_repeated_reply_never_shifts_the_answers(make_peer):
    """A peer that answers every request twice: the extra line is a protocol error against the
    request in flight, never taken as the answer to the next request."""
    spec = make_peer(f"import sys\nfor line in sys.stdin:\n    {HELLO}\n    {HELLO}\n")
    proc = PeerProcess(spec, timeout=5)
    proc.request("HELLO 3")
    time.sleep(0.2)
    with pytest.raises(PeerProtocolError) as info:
        proc.request("HELLO 3")
    assert "nobody asked for" in str(info.value)
    assert not proc.alive


def test_a_reply_over_the_line_limit_is_an_error(make_peer):
    spec = make_peer("import sys\nsys.stdin.readline()\nsys.stdout.write('OK ' + 'x' * (9 << 20) + chr(10))\n"
                     "sys.stdout.flush()\nsys.stdin.readline()\n")
    proc = PeerProcess(spec, timeout=10)
    with pytest.raises(PeerProtocolError) as info:
        proc.request("HELLO 3")
    assert "longer than the contract's" in str(info.value)


@pytest.mark.parametrize("setsid", [False, True], ids=["same-group", "setsid"])
def test_children_that_ignore_sigterm_or_leave_the_group_are_killed(make_peer, tmp_path, setsid):
    """A peer whose children ignore SIGTERM, one of them in a session of its own (setsid): killing
    the peer kills them all, and none is left a zombie."""
    pids = tmp_path / "pids"
    proc = started_then_hung(make_peer, textwrap.dedent(f"""
        import signal, subprocess, sys
        kids = []
        for i in range(3):
            kids.append(subprocess.Popen([sys.executable, "-c",
                "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(3600)"],
                start_new_session={setsid}).pid)
        open({str(pids)!r}, "w").write(" ".join(map(str, kids)))
        """))
    kids = [int(p) for p in pids.read_text().split()]
    assert {pid for pid, _ in descendants(proc.proc.pid)} >= set(kids)
    proc.kill()
    assert wait_gone(kids) == [], "a child of the peer survived it"


@pytest.mark.skipif(not driver._SUBREAPER, reason="needs PR_SET_CHILD_SUBREAPER (Linux)")
def test_an_escapee_whose_parent_died_is_killed_with_its_peer(make_peer, tmp_path):
    """A grandchild in a session of its own whose parent exited at once (a daemon's double fork)
    is adopted by the harness, found by the peer's mark and killed with the peer, not at exit."""
    pids = tmp_path / "pids"
    proc = started_then_hung(make_peer, textwrap.dedent(f"""
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                import signal
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                open({str(pids)!r}, "w").write(str(os.getpid()))
                time.sleep(3600)
            os._exit(0)
        """))
    deadline = time.monotonic() + 5
    while not pids.exists() or not pids.read_text():
        assert time.monotonic() < deadline, "the grandchild never started"
        time.sleep(0.01)
    escapee = int(pids.read_text())
    time.sleep(0.2)                     # its parent has exited: the escapee is adopted here
    assert escapee not in {pid for pid, _ in descendants(proc.proc.pid)}
    assert driver._stat(escapee)[0] == os.getpid(), "the escapee was not adopted by the harness"
    proc.kill()
    assert wait_gone([escapee]) == [], "the escapee outlived its peer"


def test_a_peer_that_never_answers_hello_costs_three_timeouts_not_one_per_cell(make_peer):
    """The circuit breaker: after three failed starts in a row, the rest of the peer's cells fail
    at once with the first error."""
    spec = make_peer("import sys, time\nsys.stdin.readline()\ntime.sleep(3600)\n", name="mute")
    project = Project(ROOT)
    registry = {"mute": spec, "python": project.registry["python"]}
    cases = [c for c in project.cases if c.message.name == "Integers"][:8]
    cells = [matrix.Cell("send", "mute", "python", "uds", c) for c in cases]
    start = time.monotonic()
    with matrix.Session(registry, timeout=1.0, io_timeout_ms=500) as session:
        results = [session.run(c) for c in cells]
    took = time.monotonic() - start
    assert all(r.status == "fail" for r in results)
    assert "no reply within" in results[0].detail
    assert all("not started again after 3 failed starts in a row" in r.detail for r in results[3:]), results[3].detail
    assert took < 3 * 1.0 + 3, f"{took:.1f} s for {len(cells)} cells of a mute peer"


def test_a_peer_that_exits_at_once_or_closes_stdout_is_reported(make_peer):
    for script in ("import sys\nsys.exit(0)\n", "import os, sys, time\nos.close(1)\nsys.stdin.readline()\ntime.sleep(3600)\n"):
        spec = make_peer(script, name=f"p{len(script)}")
        proc = PeerProcess(spec, timeout=2)
        start = time.monotonic()
        with pytest.raises(PeerError) as info:
            proc.request("HELLO 3")
        assert time.monotonic() - start < 3
        assert "exited" in str(info.value) or "killed" in str(info.value), str(info.value)
        proc.kill()
        assert gone(proc.proc.pid)


def test_a_hung_build_is_killed_with_everything_it_started(tmp_path):
    """[build] timeout: a build that hangs (and whose child ignores SIGTERM, another in a session
    of its own, a third a daemon whose parent exited, still holding the build's output open) is
    killed at its timeout with every process it started, and says so."""
    import sys

    from harness import peers as P
    pids = tmp_path / "pids"
    script = textwrap.dedent(f"""
        import os, signal, subprocess, sys, time
        kids = [subprocess.Popen([sys.executable, '-c', 'import signal, time; '
                                  'signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(3600)'],
                                 start_new_session=s).pid for s in (False, True)]
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                with open({str(pids)!r} + ".daemon", "w") as f:
                    f.write(str(os.getpid()))
                time.sleep(3600)
            os._exit(0)
        open({str(pids)!r}, 'w').write(' '.join(map(str, kids)))
        time.sleep(3600)
        """)
    (tmp_path / "build.py").write_text(script)
    (tmp_path / "peer.toml").write_text(
        f'name = "slow"\nlanguage = "python"\ncontract = 3\n[build]\ncommand = ["{sys.executable}", "build.py"]\n'
        f'timeout = 2\n[run]\ncommand = ["true"]\n[supports]\ntransports = ["uds"]\n')
    spec = P.load_manifest(tmp_path / "peer.toml")
    start = time.monotonic()
    result = P.build(spec)
    assert result.status == "failed" and "did not finish in 2 s: killed with every process it started" in result.detail
    assert time.monotonic() - start < 5
    daemon = [int((tmp_path / "pids.daemon").read_text())]
    assert wait_gone([int(p) for p in pids.read_text().split()] + daemon) == []


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM"])
def test_a_build_does_not_outlive_its_harness(tmp_path, how):
    """`crosswire build` killed (SIGKILL: the build's death signal; SIGTERM: the harness kills its
    builds as it goes) while a build runs: the build and, for SIGTERM, its child are gone."""
    import shutil
    import signal
    import subprocess
    import sys
    root = tmp_path / "project"
    shutil.copytree(ROOT / "protocols", root / "protocols")
    peer = root / "peers" / "slow"
    peer.mkdir(parents=True)
    pids = tmp_path / "pids"
    (peer / "build.py").write_text(textwrap.dedent(f"""
        import os, subprocess, sys, time
        kid = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"]).pid
        open({str(pids)!r}, "w").write(f"{{os.getpid()}} {{kid}}")
        time.sleep(3600)
        """))
    (peer / "peer.toml").write_text(
        f'name = "slow"\nlanguage = "python"\ncontract = 3\n[build]\ncommand = ["{sys.executable}", "build.py"]\n'
        f'[run]\ncommand = ["true"]\n[supports]\ntransports = ["uds"]\n')
    harness = subprocess.Popen([sys.executable, "-m", "harness", "build", "--root", str(root), "--peers", "slow"],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not (pids.exists() and len(pids.read_text().split()) == 2):
            assert time.monotonic() < deadline and harness.poll() is None, "the build never started"
            time.sleep(0.02)
        build, kid = map(int, pids.read_text().split())
        harness.send_signal(getattr(signal, how))
        harness.wait(timeout=10)
        assert wait_gone([build] + ([kid] if how == "SIGTERM" else [])) == [], f"the build outlived a {how}"
    finally:
        if harness.poll() is None:
            harness.kill()
            harness.wait()
        for p in pids.read_text().split() if pids.exists() else []:
            try:
                os.kill(int(p), 9)
            except ProcessLookupError:
                pass
