"""The peer driver against real misbehaving processes: every wait ends within its timeout,
and the peer is killed, reaped and reported against the request in flight."""
from __future__ import annotations

import os
import time

import pytest

from harness.driver import PeerProcess
from harness.errors import PeerDied, PeerProtocolError, PeerReplyError, PeerTimeout, PeerUnavailable

HELLO = 'print("OK name=fake language=python contract=3 transports=uds messages=* ptr_bits=64 byte_order=little", flush=True)'


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_hung_peer_is_killed_within_the_timeout(make_peer):
    spec = make_peer("import sys, time\nsys.stdin.readline()\nprint('hung', file=sys.stderr, flush=True)\ntime.sleep(3600)\n")
    proc = PeerProcess(spec, timeout=0.5)
    start = time.monotonic()
    with pytest.raises(PeerTimeout) as info:
        proc.request("HELLO 3")
    assert time.monotonic() - start < 3
    assert info.value.request == "HELLO 3" and "no reply within 0.5 s" in str(info.value)
    assert "hung" in info.value.stderr_tail
    assert gone(proc.proc.pid)


def test_peer_dying_mid_request_is_reported_with_stderr(make_peer):
    spec = make_peer(f"""
        import sys
        sys.stdin.readline(); {HELLO}
        sys.stdin.readline()
        print("Traceback: boom in decode", file=sys.stderr, flush=True)
        sys.exit(3)
        """)
    with PeerProcess(spec) as proc:
        proc.handshake()
        with pytest.raises(PeerDied) as info:
            proc.request("DECODE Empty x")
    assert info.value.request == "DECODE Empty x"
    assert "exited with status 3" in str(info.value) and "boom in decode" in info.value.stderr_tail


def test_peer_killed_by_signal(make_peer):
    spec = make_peer("import os, signal, sys\nsys.stdin.readline()\nos.kill(os.getpid(), signal.SIGKILL)\n")
    with PeerProcess(spec) as proc, pytest.raises(PeerDied, match="killed by signal 9"):
        proc.request("HELLO 3")


def test_garbage_on_the_control_channel(make_peer):
    spec = make_peer("import sys, time\nsys.stdin.readline()\nprint('hello there, I am not a peer', flush=True)\ntime.sleep(3600)\n")
    proc = PeerProcess(spec)
    with pytest.raises(PeerProtocolError, match="not a contract reply: 'hello there"):
        proc.request("HELLO 3")
    assert gone(proc.proc.pid)


def test_err_reply_keeps_the_peer_usable(make_peer):
    spec = make_peer(f"""
        import sys
        sys.stdin.readline(); print("ERR decode bool Choices.flag byte 0x02", flush=True)
        sys.stdin.readline(); {HELLO}
        sys.stdin.readline(); print("OK", flush=True)
        """)
    with PeerProcess(spec) as proc:
        with pytest.raises(PeerReplyError) as info:
            proc.request("DECODE Choices x02000000")
        assert (info.value.kind, info.value.detail) == ("decode", "bool Choices.flag byte 0x02")
        assert proc.handshake()["ptr_bits"] == "64"
        assert proc.request("QUIT") == []


def test_hello_name_must_match_manifest(make_peer):
    spec = make_peer(f"import sys\nsys.stdin.readline()\n{HELLO.replace('name=fake', 'name=other')}\n")
    with PeerProcess(spec) as proc, pytest.raises(PeerProtocolError, match="HELLO says name='other'"):
        proc.handshake()


def test_pipelined_replies_come_back_in_order(make_peer):
    spec = make_peer("import sys\nfor i, line in enumerate(sys.stdin):\n    print(f'OK {i} {line.split()[0]}', flush=True)\n")
    with PeerProcess(spec) as proc:
        for word in ("A", "B", "C"):
            proc.send(word)
        assert [proc.reply() for _ in range(3)] == [["0", "A"], ["1", "B"], ["2", "C"]]


def test_missing_binary_says_run_make_peers(make_peer, tmp_path):
    spec = make_peer("")
    broken = spec.__class__(**{**spec.__dict__, "run": ("build/cw-peer",)})
    with pytest.raises(PeerUnavailable, match="run `crosswire build`"):
        PeerProcess(broken)
    missing_tool = spec.__class__(**{**spec.__dict__, "requires": ("no-such-compiler-xyz",)})
    assert "no-such-compiler-xyz not found on PATH" in missing_tool.unavailable()


def test_close_reaps_a_peer_that_ignores_quit(make_peer):
    spec = make_peer("import signal, sys, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nsys.stdin.readline()\ntime.sleep(3600)\n")
    proc = PeerProcess(spec)
    start = time.monotonic()
    proc.close(timeout=0.3)
    assert time.monotonic() - start < 3 and gone(proc.proc.pid)


def test_children_of_a_peer_are_killed_too(make_peer, tmp_path):
    pidfile = tmp_path / "child.pid"
    spec = make_peer(f"""
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
        open({str(pidfile)!r}, "w").write(str(child.pid))
        sys.stdin.readline(); time.sleep(3600)
        """)
    proc = PeerProcess(spec, timeout=0.5)
    deadline = time.monotonic() + 5
    while not pidfile.exists() or not pidfile.read_text():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    with pytest.raises(PeerTimeout):
        proc.request("HELLO 3")
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while not gone(child):  # the child is reaped by init once its group is killed
        assert time.monotonic() < deadline, "a grandchild of the peer survived"
        time.sleep(0.02)
