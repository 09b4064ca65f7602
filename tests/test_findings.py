"""Root-cause grouping (harness/findings.py, issue 18): one bug in one peer is one finding
however many cells it breaks, named by peer, direction, cause and field, with one example."""
from __future__ import annotations

import io

import pytest
from rich.console import Console

from harness import findings, matrix, report
from harness.peers import load_manifest

# fault injected in the faulty peer, on which field; the finding it must give (largest first)
FAULTS = [
    ("byteswap", "Track.id", "track.*", ("faulty", "encode", "byteswap", "Track.id")),
    ("signedness", "Integers.val_i16", "integers.*", ("faulty", "encode", "signedness", "Integers.val_i16")),
    ("nul", "Text.label", "text.*", ("faulty", "encode", "nul_counted", "Text.label")),
]


def run_with(project, faulty_peer, fault: str, field: str, cases: str, **run_args) -> tuple[list, list]:
    registry = {"python": project.registry["python"], "c": project.registry["c"],
                "faulty": load_manifest(faulty_peer(fault, field) / "peer.toml")}
    chosen = matrix.select_cases(project.cases, [cases])
    cells = matrix.plan(list(registry.values()), ["uds"], chosen, list(matrix.KINDS))
    return cells, matrix.run(cells, registry, jobs=1, timeout=10, io_timeout_ms=3000, schema=project.schema,
                             **run_args)


@pytest.mark.parametrize("fault, field, cases, want", FAULTS, ids=[f[0] for f in FAULTS])
def test_one_bug_in_one_peer_is_one_finding(project, faulty_peer, fault, field, cases, want):
    _, results = run_with(project, faulty_peer, fault, field, cases)
    bad = [r for r in results if r.status == "fail"]
    assert len(bad) >= 10, "the fault breaks many cells"
    found = findings.group(results)
    top = found[0]
    assert (top.key.peer, top.key.direction, top.key.cause, top.key.field) == want, [str(f.key) for f in found]
    assert len(top.results) >= 0.8 * len(bad), [(str(f.key), len(f.results)) for f in found]
    assert all(f.key.peer == "faulty" for f in found), [str(f.key) for f in found]
    assert sum(len(f.results) for f in found) == len(bad)
    assert {r.cell.kind for r in top.results} >= {"encode", "send", "echo"}


def test_the_terminal_shows_findings_not_cells(project, faulty_peer):
    """The byte-swapped field: one headline, one example diagnosis, one rerun command; -v prints
    every failing cell."""
    _, results = run_with(project, faulty_peer, "byteswap", "Track.id", "track.*")
    bad = [r for r in results if r.status == "fail"]
    out = io.StringIO()
    report.print_report(results, Console(file=out, width=200, color_system=None))
    text = out.getvalue()
    assert f"1 root cause in {len(bad)} failing cells" in text, text[:2000]
    assert text.count("FINDING ") == 1 and text.count("rerun: ") == 1
    assert "FINDING 1 byteswap at Track.id in peer faulty (encode)" in text
    assert text.count("diagnosis of Track") == 1
    out = io.StringIO()
    report.print_report(results, Console(file=out, width=200, color_system=None), verbose=True)
    assert out.getvalue().count("rerun: ") == len(bad)


def test_maxfail_starts_no_cell_after_that_many_failures(project, faulty_peer):
    cells, results = run_with(project, faulty_peer, "byteswap", "Track.id", "track.*", maxfail=3)
    assert sum(r.status == "fail" for r in results) == 3
    assert len(results) < len(cells) and results[-1].status == "fail"
    assert [r.cell for r in results] == cells[:len(results)]


def test_a_dead_peer_is_one_runtime_finding(project, tmp_path):
    """A peer that dies at start: its cells share one finding whatever the case."""
    d = tmp_path / "dead"
    d.mkdir()
    import sys
    (d / "peer.toml").write_text(f'name = "dead"\nlanguage = "python"\ncontract = 3\n[run]\n'
                                 f'command = ["{sys.executable}", "-c", "import sys; sys.exit(3)"]\n'
                                 f'[supports]\ntransports = ["uds"]\n')
    registry = {"dead": load_manifest(d / "peer.toml")}
    cells = matrix.plan(list(registry.values()), ["uds"], matrix.select_cases(project.cases, ["integers.*"]),
                        ["encode", "decode"])
    results = matrix.run(cells, registry, jobs=1, timeout=5)
    found = findings.group(results)
    assert len(found) == 1 and found[0].key.peer == "dead", [str(f.key) for f in found]
    assert len(found[0].results) == len(cells)
