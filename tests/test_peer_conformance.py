"""Every discovered peer against the contract beyond the happy path: malformed payloads are
refused with the documented code and field path, bad values with an encode error, bad request
lines with `ERR request`, and the peer stays usable after each."""
from __future__ import annotations

import json

import pytest

from harness.conformance import BAD_VALUES
from harness.driver import PeerProcess
from harness.errors import PeerReplyError
from harness.project import Project

from .conftest import ROOT

PROJECT = Project(ROOT)
PEERS = list(PROJECT.registry.values())
MALFORMED = json.loads((ROOT / "protocols/vectors/malformed.json").read_text())


@pytest.fixture(scope="module", params=PEERS, ids=[p.name for p in PEERS])
def peer(request):
    spec = request.param
    reason = spec.unavailable()
    if reason:
        pytest.skip(reason)
    with PeerProcess(spec, "conformance") as proc:
        proc.handshake()
        yield proc


def refused(peer, line: str) -> PeerReplyError:
    with pytest.raises(PeerReplyError) as info:
        peer.request(line)
    assert peer.request("HELLO 3")[0].startswith("name="), "the peer must stay usable after an error"
    return info.value


def test_hello_reports_the_real_platform(peer):
    import struct
    import sys
    assert peer.hello["contract"] == "3"
    assert peer.hello["ptr_bits"] in ("32", "64") and peer.hello["byte_order"] in ("little", "big")
    if peer.spec.language == "python":  # same host, same interpreter family
        assert peer.hello["ptr_bits"] == str(8 * struct.calcsize("P")) and peer.hello["byte_order"] == sys.byteorder
    assert set(peer.hello["transports"].split(",")) == set(peer.spec.transports)


@pytest.mark.parametrize("case", MALFORMED, ids=[c["id"] for c in MALFORMED])
def test_malformed_payload(peer, case):
    err = refused(peer, f"DECODE {case['message']} x{case['payload']}")
    code, path = (err.detail.split(" ") + ["", ""])[:2]
    assert (err.kind, code, path) == ("decode", case["code"], case["path"]), err.detail


@pytest.mark.parametrize("line, code, path", BAD_VALUES)
def test_bad_value(peer, line, code, path):
    err = refused(peer, line)
    assert (err.kind, *err.detail.split(" ")[:2]) == ("encode", code, path), err.detail


@pytest.mark.parametrize("line", [
    "FROB", "ENCODE", "ENCODE NoSuchMessage 1", "ENCODE Integers 1 2", "ENCODE Integers 1 2 3 4 5 6 7 8 9",
    "ENCODE Floats 1.5 0x0000000000000000", "ENCODE Floats 0x0000000 0x0000000000000000",
    "ENCODE Choices yes 0 0", "ENCODE Integers a 0 0 0 0 0 0 0", "DECODE Integers 00ff", "DECODE Integers xabc",
    "RECV", "RECV soon", "SEND Integers", "LISTEN carrier-pigeon /tmp/x",
])
def test_bad_request_line(peer, line):
    err = refused(peer, line)
    assert err.kind in ("request", "unsupported", "runtime"), err


def test_requests_without_a_connection(peer):
    assert refused(peer, "RECV 100").kind == "runtime"
    assert refused(peer, "SEND Empty 1").kind == "runtime"


def test_overlong_line_is_refused_and_skipped(peer, schema):
    limit = 8 * schema.max_payload + 65536
    err = refused(peer, "DECODE Empty x" + "00" * ((limit // 2) + 10))
    assert (err.kind, err.detail) == ("request", "line too long")


STREAM = PROJECT.stream.request     # STREAM Blob x0000000000000000 8 1 le 1048568 1 4 4 le 1 0


def test_streams_and_bench_need_a_stream_first():
    """Before any STREAM, the requests that carry the stream message are `ERR request`."""
    ready = [s for s in PEERS if s.unavailable() is None]
    assert ready, "no peer is built"
    for s in ready:
        with PeerProcess(s, "nostream") as proc:
            proc.handshake()
            for line in ("BLAST 1 1 0 10", "DRAIN 1 1 0 10 10", "PING 1 0 64 100", "FLOOD 1 64", "SINK 1 64 100"):
                assert refused(proc, line).kind == "request", (s.name, line)


@pytest.mark.parametrize("line", [
    "STREAM", "STREAM Nope x00 0 1 le 1 0", "STREAM Blob x0000000000000000 9 1 le 10 0",
    "STREAM Blob x0000000000000000 8 0 le 10 0", "STREAM Blob x0000000000000000 8 9 le 10 0",
    "STREAM Blob x0000000000000000 8 1 middle 10 0", "STREAM Blob x0000000000000000 8 1 le 1048569 0",
    "STREAM Blob x0000000000000000 8 1 le 10 1 6 4 le 1 0", "STREAM Blob x0000000000000000 8 1 le 10 1 4 4 le 1",
    "STREAM Blob x0000000000000000 8 1 le 10 2 0 4 le 1 0 2 4 le 1 0", "STREAM Blob x0000000000000000 8 1 le 10 9",
    "STREAM Blob x00zz 0 1 le 10 0", "STREAM Blob x0000000000000000 8 1 le 10 1 4 4 le 18446744073709551616 0",
])
def test_bad_stream_request(peer, line):
    """PEER_CONTRACT.md "Streams": a STREAM out of range is refused before it is used."""
    assert refused(peer, line).kind == "request"


def test_huge_counts_are_bounded(peer):
    """A count the peer could never serve must not become an allocation of that size."""
    peer.request(STREAM)
    for line in ("DRAIN 99999999999999999999999 1 0 10 10", "BLAST 18446744073709551616 1 0 10"):
        err = refused(peer, line)
        assert err.kind in ("request", "runtime", "unsupported"), err


@pytest.mark.parametrize("line", [
    "WAIT", "WAIT sometimes", "WAIT spin futex",
    "PING 10 1 7 100", "PING 10 1 1048577 100", "PING 10000001 0 64 100", "PING 10 10000001 64 100",
    "PING x 1 64 100", "PING 10 1 64", "PONG 10000001 100", "PONG 1", "FLOOD 10 7", "FLOOD 99999999999999999999 64",
    "SINK 10 1048577 100", "SINK 10 64",
])
def test_bad_bench_request(peer, line):
    """PEER_CONTRACT.md "Benchmarks": counts at most 10^7, sizes 8..max_payload, bounded before use."""
    peer.request(STREAM)
    assert refused(peer, line).kind == "request"


def test_wait_strategies_are_accepted(peer):
    for strategy in ("spin", "futex", "spin-futex"):
        assert peer.request(f"WAIT {strategy}") == []


def test_bench_requests_need_a_connection(peer):
    peer.request(STREAM)
    for line in ("PING 1 0 64 100", "PONG 1 100", "FLOOD 1 64", "SINK 1 64 100"):
        assert refused(peer, line).kind == "runtime"
