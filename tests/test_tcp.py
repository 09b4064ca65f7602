"""The tcp transport (PEER_CONTRACT.md, transport `tcp`) in every peer that claims it: LISTEN
names the address really bound (port 0: the kernel's choice) and the harness connects to that;
a refused CONNECT fails at once; addresses are `<IPv4>:<port>` or `[<IPv6>]:<port>`, never names;
streams and bench requests run over it. The interop cells themselves are in the matrix
(`pytest tests/test_matrix.py -k tcp`); credentials are in test_security.py."""
from __future__ import annotations

import re
import socket
import time

import pytest

from harness import stress, transports
from harness.driver import PeerProcess
from harness.errors import PeerProtocolError, PeerReplyError
from harness.project import Project

from .conftest import ROOT

PROJECT = Project(ROOT)
TCP_PEERS = [p for p in PROJECT.registry.values() if "tcp" in p.transports]
IDS = [p.name for p in TCP_PEERS]


def _running(spec, label):
    if spec.unavailable():
        pytest.skip(spec.unavailable())
    proc = PeerProcess(spec, label)
    proc.handshake()
    return proc


def _ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.parametrize("spec", TCP_PEERS, ids=IDS)
def test_listen_replies_the_address_really_bound(spec):
    with _running(spec, "tcp") as proc:
        assert "tcp" in proc.hello["transports"].split(",")
        tokens = proc.request("LISTEN tcp 127.0.0.1:0")
        assert len(tokens) == 1 and re.fullmatch(r"127\.0\.0\.1:\d+", tokens[0]), tokens
        port = int(tokens[0].split(":")[1])
        assert 0 < port < 65536
        with socket.create_connection(("127.0.0.1", port), timeout=5):   # it really listens there
            proc.request("ACCEPT 5000")
        proc.request("CLOSE")
        with pytest.raises(OSError):                                      # and CLOSE really closed it
            socket.create_connection(("127.0.0.1", port), timeout=5).close()


@pytest.mark.parametrize("spec", TCP_PEERS, ids=IDS)
def test_connect_refused_fails_at_once(spec):
    with socket.socket() as held:       # a port bound here and never listened on: connections are refused
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
        with _running(spec, "tcp") as proc:
            start = time.monotonic()
            with pytest.raises(PeerReplyError) as info:
                proc.request(f"CONNECT tcp 127.0.0.1:{port} 10000", 20)
            assert info.value.kind == "runtime", info.value.detail
            assert time.monotonic() - start < 3, "a refused connection must fail at once, not retry"
            assert proc.request("HELLO 3")[0].startswith("name=")


@pytest.mark.parametrize("spec", TCP_PEERS, ids=IDS)
@pytest.mark.parametrize("address", ["localhost:0", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:x",
                                     "::1:0", "[::1]", "[127.0.0.1]:0", "1.2.3:0"])
def test_bad_tcp_addresses_are_refused(spec, address):
    with _running(spec, "tcp") as proc:
        for line in (f"LISTEN tcp {address}", f"CONNECT tcp {address} 1000"):
            with pytest.raises(PeerReplyError) as info:
                proc.request(line, 10)
            assert info.value.kind == "runtime", f"{line}: ERR {info.value.kind} {info.value.detail}"
        assert proc.request("HELLO 3")[0].startswith("name=")


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback here")
@pytest.mark.parametrize("spec", TCP_PEERS, ids=IDS)
def test_ipv6_in_brackets(spec):
    python = PROJECT.registry["python"]
    with _running(spec, "rx") as rx, _running(python, "tx") as tx:
        address = transports.listen(rx, "tcp", "[::1]:0")
        assert re.fullmatch(r"\[::1\]:\d+", address), address
        tx.request(f"CONNECT tcp {address} 5000")
        rx.request("ACCEPT 5000")
        tx.request("SEND Integers 7 1 2 3 4 -5 -6 -7 -8")
        assert rx.request("RECV 5000") == ["Integers", "7", "1", "2", "3", "4", "-5", "-6", "-7", "-8"]


@pytest.mark.parametrize("spec", TCP_PEERS, ids=IDS)
def test_blast_drain_over_tcp(spec):
    """BLAST/DRAIN both ways with the reference peer, each side frozen once (full and empty waits)."""
    if spec.unavailable():
        pytest.skip(spec.unavailable())
    python = PROJECT.registry["python"]
    for a, b in ((spec, python), (python, spec)):
        r = stress.run_pair(a, b, "tcp", 20_000, PROJECT.stream, max_len=200, timeout_s=120)
        assert r.ok, r.line()


# ------------------------------------------------------------------ the harness's side

FAKE = r"""
import sys
for line in sys.stdin:
    words = line.split()
    if words[0] == "HELLO":
        print("OK name=fake language=python contract=3 transports=uds,tcp messages=* ptr_bits=64 byte_order=little")
    elif words[0] == "LISTEN" and words[1] == "uds":
        print("OK")
    elif words[0] == "LISTEN":
        print("OK 127.0.0.1:1 and-more")
    elif words[0] == "QUIT":
        print("OK")
        break
    else:
        print("ERR request what")
    sys.stdout.flush()
"""


def test_listen_helper_uses_the_replys_address_or_the_one_given(make_peer):
    fake = make_peer(FAKE, transports='["uds", "tcp"]')
    with PeerProcess(fake, "fake") as proc:
        proc.handshake()
        assert transports.listen(proc, "uds", "/tmp/nowhere.sock", capacity=4096) == "/tmp/nowhere.sock"
        with pytest.raises(PeerProtocolError, match="at most one"):
            transports.listen(proc, "tcp", "127.0.0.1:0")
