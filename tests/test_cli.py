"""`python -m harness` as a user runs it: real subprocesses, exit codes, one-line errors."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from .conftest import ROOT


def cli(*args: str, cwd=ROOT, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin:" +
                                                           __import__("os").environ.get("PATH", ""), "COLUMNS": "200"})


@pytest.fixture
def checkout(tmp_path):
    """A copy of the checkout's protocols and peers, to break on purpose."""
    root = tmp_path / "checkout"
    shutil.copytree(ROOT / "protocols", root / "protocols")
    shutil.copytree(ROOT / "peers" / "python", root / "peers" / "python")
    return root


def test_matrix_json_has_one_record_per_cell(tmp_path):
    out = tmp_path / "m.json"
    r = cli("matrix", "--peers", "python", "--cases", "integers.*,floats.snan*", "--json", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(out.read_text())
    records = doc["results"]
    ids = {x["id"] for x in records}
    assert "python->python-uds-integers.max" in ids and "python-decode-floats.snan_payload" in ids
    assert all(x["status"] == "pass" for x in records)
    n_cases = len({x["case"] for x in records})
    assert len(records) == 4 * n_cases  # encode, decode, send, echo
    assert {"sender", "receiver", "transport", "case", "status", "detail"} <= records[0].keys()
    assert "sender (row) x receiver (column)" in r.stdout


def test_peers_lists_capabilities_and_platform():
    r = cli("peers")
    assert r.returncode == 0, r.stderr
    assert "python" in r.stdout and "64-bit, little-endian" in r.stdout


def test_vectors_check_passes():
    r = cli("vectors")
    assert r.returncode == 0 and "all reproduced by the codec" in r.stdout


def one_line_error(r: subprocess.CompletedProcess) -> str:
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    return r.stderr


def test_unknown_peer_name():
    assert "unknown peer 'cobol'; known peers: " in one_line_error(cli("matrix", "--peers", "cobol"))


def test_unknown_transport_and_case():
    assert "unknown transport 'pigeon'" in one_line_error(cli("matrix", "--transports", "pigeon"))
    assert "no case matches nothing.*" in one_line_error(cli("matrix", "--cases", "nothing.*"))


def test_malformed_schema_is_one_line(checkout):
    schema = checkout / "protocols/schema.toml"
    schema.write_text(schema.read_text().replace('type = "vec<Pose>"', 'type = "vec<Pos>"'))
    err = one_line_error(cli("matrix", "--root", str(checkout)))
    assert "schema.toml: message Track, field poses: unknown type 'Pos'" in err


def test_bad_manifest_is_one_line(checkout):
    (checkout / "peers/python/peer.toml").write_text('name = "python"\n')
    assert "peer.toml: missing key 'language'" in one_line_error(cli("peers", "--root", str(checkout)))


def test_missing_peer_binary_is_a_skip_with_the_fix(checkout):
    d = checkout / "peers" / "ghost"
    d.mkdir()
    (d / "peer.toml").write_text('name = "ghost"\nlanguage = "c"\ncontract = 1\n[build]\noutputs = ["build/ghost"]\n'
                                 '[run]\ncommand = ["build/ghost"]\n[supports]\ntransports = ["uds"]\n')
    r = cli("matrix", "--root", str(checkout), "--cases", "integers.max")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "skipped" in r.stdout and "run `make peers`" in r.stdout


def test_garbage_peer_fails_its_cells_and_nothing_is_left_running(checkout):
    d = checkout / "peers" / "noisy"
    d.mkdir()
    (d / "peer.toml").write_text(f'name = "noisy"\nlanguage = "python"\ncontract = 1\n[run]\n'
                                 f'command = ["{sys.executable}", "peer.py"]\n[supports]\ntransports = ["uds"]\n')
    (d / "peer.py").write_text("import sys\nfor line in sys.stdin:\n    print('lol', flush=True)\n")
    r = cli("matrix", "--root", str(checkout), "--cases", "integers.max", "--peers", "noisy")
    assert r.returncode == 1
    assert "not a contract reply: 'lol'" in r.stdout and "Traceback" not in r.stdout + r.stderr
    leftover = subprocess.run(["pgrep", "-f", str(d / "peer.py")], capture_output=True, text=True)
    assert leftover.stdout == ""
