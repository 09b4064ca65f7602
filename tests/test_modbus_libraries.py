"""examples/modbus as a team would run it: three Modbus TCP implementations nobody here wrote,
each wrapped in an adapter peer (examples/modbus/peers/: pymodbus from PyPI, libmodbus from
Debian, rmodbus from crates.io), against each other and against the reference peers, over uds,
tcp and shm. What they disagree on is data beside each peer (its [quirks] and
expected_failures.txt, each naming the library's behaviour): nothing else may fail, and nothing
listed may pass."""
from __future__ import annotations

import pytest

from harness import expected, matrix

LIBRARIES = ["pymodbus", "libmodbus", "rmodbus"]
REFERENCE = ["python", "c"]


@pytest.mark.timeout(2400)
def test_the_libraries_against_each_other_and_the_reference_peers(built_project):
    proj = built_project("examples/modbus", REFERENCE + LIBRARIES)
    present = [n for n in LIBRARIES if n in proj.registry]
    assert "pymodbus" in present, "examples/modbus/peers/pymodbus is missing"
    unavailable = {n: proj.registry[n].unavailable() for n in present}
    assert not any(unavailable.values()), f"a library's adapter did not build: {unavailable}"
    names = [n for n in REFERENCE if proj.registry[n].unavailable() is None] + present
    cells = matrix.plan([proj.registry[n] for n in names], ["uds", "tcp", "shm"], proj.cases,
                        rejects=proj.reject_cases, hostile=proj.hostile_cases)  # a lenient decoder shows
    results = expected.apply(matrix.run(cells, proj.registry, jobs=2, schema=proj.schema),
                             expected.load(proj.registry), proj.registry)
    bad = [r for r in results if r.status in ("fail", "xpass")]
    assert not bad, f"{len(bad)} of {len(results)} cells: " + "\n\n".join(
        f"{r.cell.id} [{r.status}]: {r.detail[:1200]}" for r in bad[:3])
    for lib in present:      # each library carries real traffic with every reference peer, both ways
        for ref in REFERENCE:
            for t in ("uds", "tcp", "shm"):
                both = [r for r in results if r.cell.transport == t and r.status == "pass"
                        and {r.cell.sender, r.cell.receiver} == {lib, ref}]
                assert {r.cell.sender for r in both} == {lib, ref}, f"{lib} and {ref} over {t}: no pass both ways"
    assert not expected.stale(results, expected.load(proj.registry))
