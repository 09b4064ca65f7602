"""Hostile frames (harness/hostile.py) through every transport to every peer: each malformed
frame gets its documented typed error, split and coalesced frames arrive whole, a header error
closes the connection and a payload error does not, and the receiver stays alive throughout."""
from __future__ import annotations

import pytest

from harness import hostile
from harness.project import Project

from .conftest import ROOT

PROJECT = Project(ROOT)
ENTRIES = hostile.catalogue(PROJECT.schema, PROJECT.malformed_path, PROJECT.cases)
RECEIVERS = [(p, t) for p in PROJECT.registry.values() for t in ("uds", "shm", "tcp") if t in p.transports]


def test_the_catalogue_covers_every_class_of_the_issue():
    classes = {e.klass for e in ENTRIES}
    for wanted in ("constant magic changed", "constant version changed", "constant flags changed",
                   "unknown message id", "length over the limit",
                   "length over the data (truncated)", "payload: trailing", "payload: bool", "payload: enum",
                   "payload: utf8", "payload: length", "payload: padding", "frame split into 1-byte writes",
                   "frames coalesced back to back"):
        assert wanted in classes, wanted


@pytest.mark.parametrize("rel, classes", [
    ("examples/modbus", {"constant protocol_id changed", "length less than the header bytes it counts",
                         "unknown message id", "payload: length"}),
    ("examples/mavlink", {"constant magic changed", "constant incompat_flags changed", "checksum wrong",
                          "unknown message id"}),     # no length over the limit: a u8 len cannot say more than 255
    ("tests/schemas/zoo", {"constant magic changed", "checksum wrong", "payload: union", "payload: flags",
                           "payload: const"}),
    ("tests/schemas/fixed", {"constant stx changed", "checksum wrong", "unknown message id"}),
])
def test_the_catalogue_follows_the_declared_frame(built_project, rel, classes):
    """Each protocol's own hostile frames, through the Python reference peer over every transport."""
    proj = built_project(rel, ["python"])
    entries = hostile.catalogue(proj.schema, proj.malformed_path, proj.cases)
    assert classes <= {e.klass for e in entries}
    ref = proj.registry["python"]
    outcomes = hostile.run(ref, [ref], ["uds", "shm", "tcp"], entries)
    assert len(outcomes) == 3 * len(entries)
    failed = [f"{o.transport} {o.entry.id}: {'; '.join(o.problems)}" for o in outcomes if not o.ok]
    assert not failed, "\n".join(failed)


def test_a_schema_without_a_frame_has_no_hostile_frames(built_project):
    proj = built_project("tests/schemas/payloads", [])
    assert hostile.catalogue(proj.schema, proj.malformed_path, proj.cases) == []


@pytest.mark.parametrize("receiver, transport", RECEIVERS, ids=[f"{p.name}-{t}" for p, t in RECEIVERS])
def test_every_hostile_frame(receiver, transport):
    if receiver.unavailable():
        pytest.skip(receiver.unavailable())
    outcomes = hostile.run(PROJECT.registry["python"], [receiver], [transport], ENTRIES)
    assert len(outcomes) == len(ENTRIES)
    failed = [f"{o.entry.id}: {'; '.join(o.problems)}" for o in outcomes if not o.ok]
    assert not failed, "\n".join(failed)


FAKE_RECEIVER = r"""
import socket, sys
sock = conn = None
for line in sys.stdin:
    words = line.split()
    if words[0] == "HELLO":
        print("OK name=fake language=python contract=3 transports=uds messages=* ptr_bits=64 byte_order=little")
    elif words[0] == "LISTEN":
        sock = socket.socket(socket.AF_UNIX); sock.bind(words[2]); sock.listen(1); print("OK")
    elif words[0] == "ACCEPT":
        conn, _ = sock.accept(); print("OK")
    elif words[0] == "RECV":   # claims success whatever arrived: the catalogue must catch that
        print("OK Integers 6 1 2 3 4 -5 -6 -7 -8")
    elif words[0] in ("CLOSE", "QUIT"):
        for s in (conn, sock):
            if s is not None:
                s.close()
        conn = sock = None
        print("OK")
        if words[0] == "QUIT":
            break
    else:
        print("ERR request what")
    sys.stdout.flush()
"""


def test_a_receiver_that_reports_garbage_as_success_is_caught(make_peer):
    fake = make_peer(FAKE_RECEIVER)
    outcomes = hostile.run(PROJECT.registry["python"], [fake], ["uds"], ENTRIES)
    failed = {o.entry.id for o in outcomes if not o.ok}
    assert "header.magic" in failed and "payload.bool_2" in failed
    assert any("reported as success" in p for o in outcomes for p in o.problems)
