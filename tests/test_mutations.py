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
    ("version", "-", "integers.max", "const", "frame.version"),
    # a shared helper's bug shows on every field it writes, several at once: re-enacted (harness/reenact.py)
    ("f64_as_f32", "-", "arrays.pi", "float_width", "Arrays.weights[]"),
    ("f64_as_f32", "-", "track.distinct", "float_width", "Track.origin.heading"),   # in a vec of structs too
    ("wide_elems", "Arrays.samples", "arrays.max", "width", "Arrays.samples[]"),
    ("prefix_u16", "Text.label", "text.one", "prefix_width", "Text.label"),
    ("swap_order", "Integers.val_u16", "integers.random1", "field_order", "Integers.val_u16"),
    ("through_double", "Integers.val_u64", "integers.random1", "through_double", "Integers.val_u64"),
    ("bigint_fixed", "BigNumber.value", "big_number.one", "bigint_form", "BigNumber.value"),
    ("char_garbage", "Text.name", "text.one", "char_garbage", "Text.name"),
    ("seq_swap", "-", "integers.max", "byteswap", "frame.seq"),
]
FRAME_FAULTS = {"msg_type", "version", "crc_seed", "seq_swap"}

# The same, in protocols of their own (examples/, tests/schemas/): the schema language's own bugs.
# project, fault, field, case, cause, field named, words the evidence must hold
SCHEMA_FAULTS = [
    ("examples/modbus", "byteswap", "ReadHoldingRegistersRequest.starting_address", "spec.read_holding_registers_request",
     "byteswap", "ReadHoldingRegistersRequest.starting_address", "written little-endian where big-endian is declared"),
    ("examples/modbus", "units", "ReadHoldingRegistersResponse.registers", "spec.read_holding_registers_response",
     "length_unit", "ReadHoldingRegistersResponse.registers", "a count of elements where a byte count is declared"),
    ("examples/mavlink", "crc_seed", "-", "impl.rust_mavlink_heartbeat",
     "checksum", "frame.checksum", "without the message's seed byte (checksum_seed 50"),
    ("tests/schemas/demo", "packed", "Nat.s", "nat.one", "padding", "Nat.s.count", "the sender packed the struct"),
]


@pytest.fixture
def registry(project, faulty_peer):
    def make(fault: str, field: str) -> dict:
        return {"python": project.registry["python"], "faulty": load_manifest(faulty_peer(fault, field) / "peer.toml")}
    return make


def likely(detail: str) -> tuple[str, str] | None:
    m = re.search(r"likely cause: (\w+) at (\S+?):", detail)
    return (m.group(1), m.group(2)) if m else None


@pytest.mark.parametrize("fault, field, case_id, cause, where", FAULTS, ids=[f"{f[0]}-{f[2]}" for f in FAULTS])
def test_fault_is_caught_and_named(project, registry, fault, field, case_id, cause, where):
    case = next(c for c in project.cases if c.id == case_id)
    cells = [matrix.Cell("send", "faulty", "python", "uds", case)]
    if fault not in FRAME_FAULTS:
        cells.insert(0, matrix.Cell("encode", "faulty", "faulty", "-", case))
    with matrix.Session(registry(fault, field), timeout=10, io_timeout_ms=3000, schema=project.schema) as session:
        for cell in cells:
            result = session.run(cell)
            assert result.status == "fail", f"{cell.id}: the {fault} fault went through unnoticed"
            assert likely(result.detail) == (cause, where), f"{cell.id}:\n{result.detail}"


@pytest.mark.parametrize("rel, fault, field, case_id, cause, where, words", SCHEMA_FAULTS,
                         ids=[f"{f[0].rsplit('/', 1)[1]}-{f[1]}" for f in SCHEMA_FAULTS])
def test_schema_language_faults_are_caught_and_named(built_project, faulty_peer, rel, fault, field, case_id, cause,
                                                      where, words):
    proj = built_project(rel, ["python"])
    case = next(c for c in proj.cases if c.id == case_id)
    faulty = load_manifest(faulty_peer(fault, field, schema=proj.schema_path) / "peer.toml")
    cells = [matrix.Cell("send", "faulty", "python", "uds", case)]
    if fault not in FRAME_FAULTS:
        cells.insert(0, matrix.Cell("encode", "faulty", "faulty", "-", case))
    registry = {"python": proj.registry["python"], "faulty": faulty}
    with matrix.Session(registry, timeout=10, io_timeout_ms=3000, schema=proj.schema) as session:
        for cell in cells:
            result = session.run(cell)
            assert result.status == "fail", f"{cell.id}: the {fault} fault went through unnoticed"
            assert likely(result.detail) == (cause, where), f"{cell.id}:\n{result.detail}"
            assert words in result.detail, f"{cell.id}:\n{result.detail}"
        good = session.run(matrix.Cell("send", "python", "python", "uds", case))
        assert good.status == "pass", good.detail


def test_there_are_at_least_eight_classic_bugs():
    assert len({f[3] for f in FAULTS}) >= 8


def test_the_reference_peer_passes_the_same_cells(project):
    """The same cells with the reference peer as sender pass: the faults, not the cases, fail."""
    with matrix.Session(project.registry) as session:
        for _, _, case_id, _, _ in FAULTS:
            case = next(c for c in project.cases if c.id == case_id)
            assert session.run(matrix.Cell("send", "python", "python", "uds", case)).status == "pass"


def test_a_lenient_decoder_fails_its_reject_cells(project, registry):
    """A decoder that ignores trailing bytes passes every golden cell but fails the reject cells
    of the trailing-bytes payloads, named as lenient; the reference peer passes them all."""
    rejects = [c for c in project.reject_cases if c.refuse[0] == "trailing"]
    assert rejects, "malformed.json has trailing-bytes payloads"
    reg = registry("lenient", "-")
    with matrix.Session(reg, timeout=10, io_timeout_ms=3000, schema=project.schema) as session:
        for case in rejects:
            bad = session.run(matrix.Cell("reject", "faulty", "faulty", "-", case))
            assert bad.status == "fail" and likely(bad.detail)[0] == "lenient", bad.detail
            good = session.run(matrix.Cell("reject", "python", "python", "-", case))
            assert good.status == "pass", good.detail
        golden = next(c for c in project.cases if c.id == "integers.distinct")
        assert session.run(matrix.Cell("decode", "faulty", "faulty", "-", golden)).status == "pass"


def test_a_lenient_decoder_fails_its_hostile_cells_over_a_transport(project, registry):
    """The same payloads framed and written by the reference peer (hostile cells): the lenient
    receiver reports a malformed frame as success; the reference receiver refuses it and stays
    in step (the good frame behind it arrives)."""
    cases = [c for c in project.hostile_cases if c.id.startswith("payload.") and c.id.endswith(".trailing.msg")]
    assert cases, "the hostile catalogue frames the trailing-bytes payloads"
    cells = matrix.plan([project.registry["python"]], ["uds"], [], ["hostile"], hostile=cases)
    assert [c.id for c in cells] == [f"python-hostile-uds-{c.id}" for c in cases]
    reg = registry("lenient", "-")
    with matrix.Session(reg, timeout=10, io_timeout_ms=3000, schema=project.schema) as session:
        for case in cases:
            bad = session.run(matrix.Cell("hostile", "python", "faulty", "uds", case))
            assert bad.status == "fail", bad.detail
            assert likely(bad.detail) == ("hostile", case.id) and "reported as success" in bad.detail, bad.detail
            good = session.run(matrix.Cell("hostile", "python", "python", "uds", case))
            assert good.status == "pass", good.detail


@pytest.mark.timeout(600)
@pytest.mark.parametrize("fault, field", [("truncate", "-"), ("version", "-"), ("width", "Integers.val_u64")])
def test_a_broken_peers_matrix_takes_at_most_twice_a_clean_ones(project, faulty_peer, monkeypatch, fault, field):
    """Every case, encode, decode, send and echo over uds, the faulty peer against the reference
    peer: no cell waits out a timeout, no peer process is restarted (a refusing side closes its
    end and the other side's read ends at once), and the whole matrix takes at most twice the time
    of the same matrix with a clean copy of the peer (its `none` fault), best of three interleaved runs each."""
    import time

    from harness import driver

    started = []
    real = driver.PeerProcess.__init__

    def counted(self, spec, slot, *args, **kwargs):
        started.append((spec.name, slot))
        real(self, spec, slot, *args, **kwargs)
    monkeypatch.setattr(driver.PeerProcess, "__init__", counted)

    manifests = {"none": faulty_peer("none", "-"), fault: faulty_peer(fault, field)}

    def run(which: str) -> float:
        reg = {"python": project.registry["python"], "faulty": load_manifest(manifests[which] / "peer.toml")}
        cells = matrix.plan(list(reg.values()), ["uds"], project.cases, ["encode", "decode", "send", "echo"])
        started.clear()
        t0 = time.perf_counter()
        results = matrix.run(cells, reg, jobs=1, schema=project.schema)
        took = time.perf_counter() - t0
        assert len(started) == len(set(started)), f"{which}: peers restarted: {started}"
        failed = [r for r in results if r.status == "fail"]
        assert bool(failed) == (which != "none"), f"{which}: {len(failed)} failing cells"
        assert all(r.seconds < 5 for r in results), max(results, key=lambda r: r.seconds).cell.id
        return took

    times: dict[str, list[float]] = {"none": [], fault: []}
    for _ in range(3):      # interleaved, best of three each: a burst of load elsewhere hits both alike
        for which in times:
            times[which].append(run(which))
    clean, broken = min(times["none"]), min(times[fault])
    assert broken <= 2 * clean, f"{fault}: {broken:.2f} s broken against {clean:.2f} s clean"


# a reader's bug: the faulty peer decodes the golden bytes wrong; the value it reports is replayed
# through the same bug classes (diagnose.explain_reading)
READ_FAULTS = [
    ("read_byteswap", "Track.id", "track.distinct", "byteswap", "Track.id"),
    ("read_byteswap", "Floats.val_f64", "floats.pi", "byteswap", "Floats.val_f64"),
    ("read_unsigned", "Integers.val_i16", "integers.minus_one", "signedness", "Integers.val_i16"),
]


@pytest.mark.parametrize("fault, field, case_id, cause, where", READ_FAULTS, ids=[f"{f[0]}-{f[2]}" for f in READ_FAULTS])
def test_a_readers_bug_is_named_from_the_value_it_reports(project, registry, fault, field, case_id, cause, where):
    case = next(c for c in project.cases if c.id == case_id)
    with matrix.Session(registry(fault, field), timeout=10, io_timeout_ms=3000, schema=project.schema) as session:
        for cell in (matrix.Cell("decode", "faulty", "faulty", "-", case),
                     matrix.Cell("send", "python", "faulty", "uds", case)):
            result = session.run(cell)
            assert result.status == "fail", f"{cell.id}: the {fault} fault went through unnoticed"
            assert likely(result.detail) == (cause, where), f"{cell.id}:\n{result.detail}"
            assert "the value reported, re-encoded with" in result.detail, result.detail
