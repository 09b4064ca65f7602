"""Hypothesis-driven malformed payloads against every peer, through the contract (issue 7):
golden payloads mutated (bytes flipped, cut, extended, a length prefix made huge) and sent with
DECODE to each peer. The harness's codec is the reference: where it decodes, every peer must
give the same value; where it refuses, every peer must refuse with the same code and field
path. No peer may crash, hang or answer with anything else."""
from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness import codec
from harness.driver import PeerProcess
from harness.errors import DecodeError, PeerReplyError
from harness.project import Project
from harness.textform import format_message

from .conftest import ROOT

PROJECT = Project(ROOT)
PEERS = list(PROJECT.registry.values())
SMALL = [c for c in PROJECT.cases if len(c.payload) <= 4096]


@pytest.fixture(scope="module", params=PEERS, ids=[p.name for p in PEERS])
def peer(request):
    spec = request.param
    if spec.unavailable():
        pytest.skip(spec.unavailable())
    with PeerProcess(spec, "differential") as proc:
        proc.handshake()
        yield proc


@st.composite
def mutated(draw):
    case = draw(st.sampled_from(SMALL))
    data = bytearray(case.payload)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["flip", "set", "cut", "extend", "length"]))
        if kind == "flip" and data:
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.sampled_from([0, 1, 2, 0x7F, 0x80, 0xC0, 0xFF]))
        elif kind == "cut" and data:
            del data[draw(st.integers(0, len(data) - 1)):]
        elif kind == "extend":
            data += draw(st.binary(min_size=1, max_size=8))
        elif kind == "length" and len(data) >= 4:
            i = draw(st.integers(0, len(data) - 4))
            struct.pack_into("<I", data, i, draw(st.sampled_from([0, 1, 17, 65, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF])))
    return case.message, bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
          derandomize=True)
@given(mutated())
def test_peer_agrees_with_the_reference_on_mutated_payloads(peer, sample):
    msg, payload = sample
    try:
        value = codec.decode(msg, payload)
        want = ("OK", format_message(msg, value))
    except DecodeError as exc:
        want = ("ERR", f"decode {exc.code} {exc.path}")
    try:
        got = ("OK", " ".join(peer.request(f"DECODE {msg.name} x{payload.hex()}")))
    except PeerReplyError as exc:
        got = ("ERR", " ".join([exc.kind, *exc.detail.split(" ")[:2]]))
    assert got == want, f"{msg.name} x{payload.hex()}"
