"""Peers never outlive the harness (PEER_CONTRACT.md, "When the harness goes"): every reference
peer, started by a middle process that stands for the harness, is blocked in a long wait; the
middle is SIGKILLed (or only closes the peer's stdin); the peer must be gone within 2 s, and the
next command's sweep leaves no socket directory or segment of the dead middle behind."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from harness.project import Project
from harness.transports import sweep

from .conftest import ROOT, running as alive

PROJECT = Project(ROOT)
NATIVE = [p for p in PROJECT.registry.values() if not p.run[0].startswith("qemu-") and not p.base]

# The middle: starts the peer(s) with pipes, puts them in the wait, prints their pids, then sleeps.
MIDDLE = textwrap.dedent("""
    import json, os, subprocess, sys, time
    spec = json.loads(sys.argv[1])
    procs = []
    def start():
        p = subprocess.Popen(spec["argv"], cwd=spec["dir"], env={**os.environ, **spec["env"]},
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        procs.append(p)
        return p
    def ask(p, line):
        p.stdin.write((line + "\\n").encode()); p.stdin.flush()
        return p.stdout.readline().decode().strip()
    a = start()
    assert ask(a, "HELLO 3").startswith("OK"), "hello"
    where = spec["where"]
    if spec["wait"] == "accept":
        assert ask(a, f"LISTEN {spec['transport']} {where}") .startswith("OK")
        a.stdin.write(b"ACCEPT 60000\\n"); a.stdin.flush()
    else:                                   # a DRAIN on a shm link with a second peer that sends nothing
        b = start()
        assert ask(b, "HELLO 3").startswith("OK")
        assert ask(a, f"LISTEN shm {where} 4096").startswith("OK")
        b.stdin.write(f"CONNECT shm {where} 5000\\n".encode()); b.stdin.flush()
        assert ask(a, "ACCEPT 5000") == "OK"
        assert b.stdout.readline().decode().strip() == "OK"
        assert ask(a, spec["stream"]) == "OK"
        a.stdin.write(b"DRAIN 10 1 0 4 60000\\n"); a.stdin.flush()
    print(" ".join(str(p.pid) for p in procs), flush=True)
    sys.stdin.readline()                    # the test says when
    if spec["how"] == "hangup":
        for p in procs:
            p.stdin.close()
    time.sleep(3600)
""")




@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
@pytest.mark.parametrize("how", ["sigkill", "hangup"])
@pytest.mark.parametrize("wait", ["accept-uds", "accept-tcp", "drain-shm"])
@pytest.mark.parametrize("spec", NATIVE, ids=[p.name for p in NATIVE])
def test_a_peer_ends_when_its_harness_goes(spec, wait, how, tmp_path):
    reason = spec.unavailable()
    if reason:
        pytest.skip(reason)
    kind, transport = wait.split("-")
    if transport not in spec.transports:
        pytest.skip(f"{spec.name} has no {transport}")
    where = {"uds": str(tmp_path / "p.sock"), "tcp": "127.0.0.1:0",
             "shm": f"/cw.{sweep.base36(os.getpid())}.orphan{os.getpid() % 10000}"}[transport]
    doc = {"argv": list(spec.argv()), "dir": str(spec.dir), "env": spec.env(), "where": where, "how": how,
           "wait": kind, "transport": transport, "stream": PROJECT.stream.request}
    middle = subprocess.Popen([sys.executable, "-c", MIDDLE, json.dumps(doc)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        line = middle.stdout.readline()
        assert line.strip(), f"the middle did not get its peers waiting (exit {middle.poll()})"
        pids = [int(p) for p in line.split()]
        time.sleep(0.3)                                     # well inside the wait
        assert all(alive(p) for p in pids), "a peer ended before its harness went"
        start = time.monotonic()
        if how == "sigkill":
            middle.send_signal(signal.SIGKILL)
            middle.wait()
        else:
            middle.stdin.write("go\n")
            middle.stdin.flush()
        while any(alive(p) for p in pids) and time.monotonic() - start < 5:
            time.sleep(0.01)
        left = [p for p in pids if alive(p)]
        for p in left:
            os.kill(p, signal.SIGKILL)
        assert not left, f"{spec.name} outlived its harness ({how} during {wait})"
        assert time.monotonic() - start < 2, f"{spec.name} took {time.monotonic() - start:.1f} s"
        if how == "hangup" and transport == "uds":
            assert not os.path.exists(where), "the socket file the peer made was left behind"
    finally:
        if middle.poll() is None:
            middle.kill()
            middle.wait()
        if transport == "shm" and os.path.exists("/dev/shm" + where):
            os.unlink("/dev/shm" + where)
