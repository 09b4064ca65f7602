"""The harness's own mutation test: a peer with one classic interop bug must be caught, and
the diagnosis must name the right cause and field. A harness that lets a byte-swapped field
through is broken; one that catches it but blames the wrong field is not much better."""
from __future__ import annotations

import re

import pytest

from harness import matrix
from harness.peers import load_manifest



# fault, field it is injected on, a golden case where it shows, the cause and field the diagnosis must name
FAULTS = [
    ("byteswap", "Track.id", "track.contract_example", "byteswap", "Track.id"),
    ("width", "Integers.val_u64", "integers.one", "width", "Integers.val_u64"),
    ("signedness", "Integers.val_i16", "integers.minus_one", "signedness", "Integers.val_i16"),
    ("float_width", "Floats.val_f64", "floats.pi", "float_width", "Floats.val_f64"),
    ("missing", "Integers.val_u16", "integers.max", "missing_field", "Integers.val_u16"),
    ("extra", "Text.name", "text.one", "extra_bytes", "Text.name"),
    ("nul", "Text.label", "text.one", "nul_counted", "Text.label"),
    ("padding", "-", "integers.max", "padding", "Integers.val_u16"),
    ("truncate", "-", "integers.max", "truncated", "Integers.val_i64"),
    ("msg_type", "-", "integers.max", "msg_type", "frame.msg_type"),
    ("version", "-", "integers.max", "version", "frame.version"),
]
FRAME_FAULTS = {"msg_type", "version"}


@pytest.fixture
def registry(project, faulty_peer):
    def make(fault: str, field: str) -> dict:
        return {"python": project.registry["python"], "faulty": load_manifest(faulty_peer(fault, field) / "peer.toml")}
    return make


def likely(detail: str) -> tuple[str, str] | None:
    m = re.search(r"likely cause: (\w+) at (\S+?):", detail)
    return (m.group(1), m.group(2)) if m else None


@pytest.mark.parametrize("fault, field, case_id, cause, where", FAULTS, ids=[f[0] for f in FAULTS])
def test_fault_is_caught_and_named(project, registry, fault, field, case_id, cause, where):
    case = next(c for c in project.cases if c.id == case_id)
    cells = [matrix.Cell("send", "faulty", "python", "uds", case)]
    if fault not in FRAME_FAULTS:
        cells.insert(0, matrix.Cell("encode", "faulty", "faulty", "-", case))
    with matrix.Session(registry(fault, field), timeout=10, io_timeout_ms=3000) as session:
        for cell in cells:
            result = session.run(cell)
            assert result.status == "fail", f"{cell.id}: the {fault} fault went through unnoticed"
            assert likely(result.detail) == (cause, where), f"{cell.id}:\n{result.detail}"


def test_there_are_at_least_eight_classic_bugs():
    assert len({f[3] for f in FAULTS}) >= 8


def test_the_reference_peer_passes_the_same_cells(project):
    """The same cells with the reference peer as sender pass: the faults, not the cases, fail."""
    with matrix.Session(project.registry) as session:
        for _, _, case_id, _, _ in FAULTS:
            case = next(c for c in project.cases if c.id == case_id)
            assert session.run(matrix.Cell("send", "python", "python", "uds", case)).status == "pass"
