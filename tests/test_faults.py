"""Process faults in the middle of the matrix (issue 7): a peer killed, stopped, exiting early or
writing garbage on its control channel while it sends or receives, on every transport; a peer
that never starts; a build that fails. Each is reported against the case in flight, with the
peer's stderr tail, and the cells after it still run."""
from __future__ import annotations

import sys

import pytest

from harness import matrix
from harness.peers import load_manifest
from harness.project import Project

from .conftest import ROOT

PROJECT = Project(ROOT)
SABOTEUR = ROOT / "tests" / "faulty_peer" / "saboteur.py"
CASES = [c for c in PROJECT.cases if c.id in ("integers.max", "floats.zero", "choices.min", "text.max")]


def saboteur(tmp_path, fault: str, command: str, n: int):
    d = tmp_path / f"sab-{fault}-{command}"
    d.mkdir()
    once = d / "fired"
    (d / "peer.toml").write_text(
        f'name = "python"\nlanguage = "python"\ncontract = 3\n[run]\n'
        f'command = ["{sys.executable}", "{SABOTEUR}", "{fault}", "{command}", "{n}", "{once}"]\n'
        f'[supports]\ntransports = ["uds", "shm", "tcp"]\n')
    spec = load_manifest(d / "peer.toml")
    object.__setattr__(spec, "name", "saboteur")
    object.__setattr__(spec, "base", "python")   # HELLO says python: it is the reference program
    return spec


EXPECT = {"kill": "killed by signal 9", "stop": "no reply within", "exit": "exited with status 3",
          "garbage": "not a contract reply"}


@pytest.mark.parametrize("transport", ["uds", "shm", "tcp"])
@pytest.mark.parametrize("role, command", [("sender", "SEND"), ("receiver", "RECV")])
@pytest.mark.parametrize("fault", sorted(EXPECT))
def test_fault_mid_matrix_is_reported_and_the_matrix_goes_on(tmp_path, fault, role, command, transport):
    if len(CASES) < 4:
        pytest.skip("golden cases missing")
    bad = saboteur(tmp_path, fault, command, 2)              # the second cell is hit
    registry = {"saboteur": bad, "c": PROJECT.registry["c"]}
    if registry["c"].unavailable():
        pytest.skip(registry["c"].unavailable())
    pair = ("saboteur", "c") if role == "sender" else ("c", "saboteur")
    cells = [matrix.Cell("send", *pair, transport, case) for case in CASES]
    with matrix.Session(registry, timeout=2.0, io_timeout_ms=1500) as session:
        results = [session.run(cell) for cell in cells]
    assert results[0].status == "pass", results[0].detail
    hit = results[1]
    assert hit.status == "fail" and EXPECT[fault] in hit.detail, hit.detail
    assert f"saboteur: {fault} at {command} number 2" in hit.detail, "the stderr tail names what happened"
    assert [r.status for r in results[2:]] == ["pass", "pass"], [r.detail for r in results[2:]]


def test_a_peer_that_never_starts_fails_its_cells_not_the_run(tmp_path):
    d = tmp_path / "ghost"
    d.mkdir()
    (d / "peer.toml").write_text('name = "ghost"\nlanguage = "c"\ncontract = 3\n[run]\n'
                                 'command = ["/nonexistent/ghost-peer"]\n[supports]\ntransports = ["uds"]\n')
    registry = {"ghost": load_manifest(d / "peer.toml"), "python": PROJECT.registry["python"]}
    cells = [matrix.Cell("send", "ghost", "python", "uds", CASES[0]),
             matrix.Cell("send", "python", "python", "uds", CASES[0])]
    with matrix.Session(registry, timeout=5.0) as session:
        results = [session.run(c) for c in cells]
    assert results[0].status in ("fail", "skip") and "ghost-peer" in results[0].detail
    assert results[1].status == "pass"


def test_a_failed_build_is_reported_with_its_output(tmp_path):
    from harness import peers as P
    d = tmp_path / "broken"
    d.mkdir()
    (d / "peer.toml").write_text(
        f'name = "broken"\nlanguage = "c"\ncontract = 3\n[build]\n'
        f'command = ["{sys.executable}", "-c", "import sys; print(\'cc: error: nope.c: no such file\'); sys.exit(1)"]\n'
        f'outputs = ["build/broken"]\n[run]\ncommand = ["build/broken"]\n[supports]\ntransports = ["uds"]\n')
    spec = load_manifest(d / "peer.toml")
    result = P.build(spec)
    assert result.status == "failed" and "nope.c" in result.detail and "exited 1" in result.detail
    assert "run `crosswire build`" in (spec.unavailable() or "")       # and the peer is not run half-built
