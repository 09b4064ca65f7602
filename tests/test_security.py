"""Security (issue 7): nothing unpickles or evals what crosses a process boundary, socket
directories are private, shared-memory segments are 0600, made with O_EXCL under unguessable
names. What a hostile peer can and cannot do is in README.md ("Threat model")."""
from __future__ import annotations

import ast
import os
import re
import stat
import subprocess
from pathlib import Path

import pytest

from harness import transports
from harness.driver import PeerProcess
from harness.errors import PeerReplyError
from harness.project import Project
from harness.transports.shm import ShmTransport
from harness.transports.tcp import TcpTransport
from harness.transports.uds import UdsTransport

from .conftest import ROOT

PROJECT = Project(ROOT)
SHM_PEERS = [p for p in PROJECT.registry.values() if "shm" in p.transports]
BANNED_MODULES = {"pickle", "cPickle", "marshal", "shelve", "dill", "cloudpickle"}
BANNED_CALLS = {"eval", "exec", "compile", "__import__"}


def python_sources():
    for folder in ("harness", "peers", "tests", "bench", "fuzz"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "build" not in path.parts and ".venv" not in path.parts:
                yield path


@pytest.mark.parametrize("path", list(python_sources()), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_pickle_and_no_eval(path):
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert not {a.name.split(".")[0] for a in node.names} & BANNED_MODULES, f"{path}:{node.lineno}"
        elif isinstance(node, ast.ImportFrom):
            assert (node.module or "").split(".")[0] not in BANNED_MODULES, f"{path}:{node.lineno}"
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in BANNED_CALLS, f"{path}:{node.lineno}: {node.func.id}()"


def test_socket_directory_is_private():
    t = UdsTransport()
    try:
        mode = stat.S_IMODE(os.stat(t.dir).st_mode)
        assert mode == 0o700, oct(mode)
    finally:
        t.cleanup()


def test_shm_names_are_unguessable():
    t = ShmTransport()
    names = {t.address() for _ in range(1000)}
    assert len(names) == 1000
    # the run tag, the owner's pid (base 36: a killed owner's leftovers are swept), then at least 64 random bits
    assert all(re.fullmatch(r"/cw[0-9a-f]{0,4}\.[0-9a-z]{1,6}\.[0-9a-f]{16,}", n) and len(n) <= 31 for n in names)


@pytest.mark.skipif(not Path("/dev/shm").is_dir(), reason="segments are listed in /dev/shm on Linux only")
@pytest.mark.parametrize("spec", SHM_PEERS, ids=lambda p: p.name)
def test_segments_are_0600_and_created_exclusively(spec):
    if spec.unavailable():
        pytest.skip(spec.unavailable())
    t = ShmTransport()
    name = t.address()
    try:
        with PeerProcess(spec, "security") as proc:
            proc.handshake()
            proc.request(f"LISTEN shm {name} 4096")
            mode = stat.S_IMODE(os.stat(f"/dev/shm{name}").st_mode)
            assert mode == 0o600, oct(mode)
            proc.request("CLOSE")
            # a name that exists already is refused (O_EXCL), and the segment there is left alone
            fd = os.open(f"/dev/shm{name}", os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
            os.write(fd, b"not yours")
            os.close(fd)
            with pytest.raises(PeerReplyError) as info:
                proc.request(f"LISTEN shm {name} 4096")
            assert info.value.kind == "runtime"
            assert Path(f"/dev/shm{name}").read_bytes() == b"not yours"
    finally:
        t.release(name)
        t.cleanup()


UDS_PEERS = [p for p in PROJECT.registry.values() if "uds" in p.transports]


@pytest.mark.parametrize("spec", UDS_PEERS, ids=lambda p: p.name)
def test_accept_checks_the_clients_uid(spec):
    """ACCEPT <timeout_ms> uid=<n>: the kernel's word on who connected (SO_PEERCRED/getpeereid)."""
    if spec.unavailable():
        pytest.skip(spec.unavailable())
    t = UdsTransport()
    client = PROJECT.registry["python"]
    try:
        with PeerProcess(spec, "listener") as rx, PeerProcess(client, "client") as tx:
            rx.handshake()
            tx.handshake()
            for want, accepted in ((os.getuid(), True), (os.getuid() + 1, False)):
                address = t.address()
                rx.request(f"LISTEN uds {address}")
                tx.request(f"CONNECT uds {address} 5000")
                if accepted:
                    rx.request(f"ACCEPT 5000 uid={want}")
                    tx.request("SEND Empty 1")
                    assert rx.request("RECV 5000") == ["Empty", "1"]
                else:
                    with pytest.raises(PeerReplyError) as info:
                        rx.request(f"ACCEPT 5000 uid={want}")
                    assert info.value.kind == "runtime" and "credentials" in info.value.detail
                    assert f"uid {os.getuid()}" in info.value.detail
                    with pytest.raises(PeerReplyError):      # refused means closed: nothing to read
                        rx.request("RECV 0")
                for proc in (rx, tx):
                    proc.request("CLOSE")
            with pytest.raises(PeerReplyError) as info:
                rx.request("ACCEPT 5000 uid=x")
            assert info.value.kind == "request"
    finally:
        t.cleanup()


TCP_PEERS = [p for p in PROJECT.registry.values() if "tcp" in p.transports]


def test_the_harness_binds_loopback_only():
    assert TcpTransport().address() == "127.0.0.1:0"


@pytest.mark.parametrize("spec", TCP_PEERS, ids=lambda p: p.name)
def test_accept_over_tcp_has_no_credentials_to_check(spec):
    """TCP carries no peer credentials: ACCEPT ... uid=<n> is ERR unsupported, and the client it
    took is closed, never served unchecked; a plain ACCEPT still works."""
    if spec.unavailable():
        pytest.skip(spec.unavailable())
    client = PROJECT.registry["python"]
    with PeerProcess(spec, "listener") as rx, PeerProcess(client, "client") as tx:
        rx.handshake()
        tx.handshake()
        address = transports.listen(rx, "tcp", TcpTransport().address())
        tx.request(f"CONNECT tcp {address} 5000")
        with pytest.raises(PeerReplyError) as info:
            rx.request(f"ACCEPT 5000 uid={os.getuid()}")
        assert info.value.kind == "unsupported" and info.value.detail.startswith("peer credentials over tcp"), \
            info.value.detail
        with pytest.raises(PeerReplyError):      # refused means closed: nothing to read
            rx.request("RECV 0")
        with pytest.raises(PeerReplyError) as info:   # and the client sees the close
            tx.request("RECV 2000", 10)
        assert info.value.kind == "runtime" and "closed" in info.value.detail, info.value.detail
        tx.request("CLOSE")
        tx.request(f"CONNECT tcp {address} 5000")
        rx.request("ACCEPT 5000")
        tx.request("SEND Empty 1")
        assert rx.request("RECV 5000") == ["Empty", "1"]
        for proc in (rx, tx):
            proc.request("CLOSE")


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="needs root to run a client as another user")
@pytest.mark.parametrize("spec", UDS_PEERS, ids=lambda p: p.name)
def test_accept_refuses_another_user(spec):
    """A real client running as `nobody` (uid 65534) is refused by ACCEPT uid=0."""
    if spec.unavailable():
        pytest.skip(spec.unavailable())
    import shutil
    import tempfile
    folder = Path(tempfile.mkdtemp(prefix="cw-", dir="/tmp"))   # pytest's tmp_path is 0700 all the way
    folder.chmod(0o755)
    path = folder / "s.sock"
    try:
        _refuse_nobody(spec, path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _refuse_nobody(spec, path):
    script = ("import socket, sys, time\ns = socket.socket(socket.AF_UNIX)\ns.connect(sys.argv[1])\n"
              "print('connected', flush=True)\ntime.sleep(5)\n")
    python = next((p for p in ("/usr/bin/python3", "/usr/local/bin/python3") if os.access(p, os.X_OK)), None)
    if python is None:
        pytest.skip("no system python3 that another user may run")
    with PeerProcess(spec, "listener") as rx:
        rx.handshake()
        rx.request(f"LISTEN uds {path}")
        path.chmod(0o777)
        client = subprocess.Popen([python, "-c", script, str(path)], user=65534, group=65534, cwd="/",
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert client.stdout.readline().strip() == "connected"
            with pytest.raises(PeerReplyError) as info:
                rx.request("ACCEPT 5000 uid=0")
            assert info.value.kind == "runtime" and "uid 65534" in info.value.detail, info.value.detail
        finally:
            client.kill()
            client.wait()
        rx.request("CLOSE")
