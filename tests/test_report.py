"""Reports and expected failures, as a user meets them: a faulty peer fails the run; its list,
written by `expected --update`, turns those failures into expected ones; when the peer is fixed
the listed cells are unexpected passes and fail the run. JUnit and HTML (checked in a real
headless Chromium), the comparison with the previous run, rerun and replay commands."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from harness import matrix, report

from .conftest import ROOT

FAULTY = ROOT / "tests" / "faulty_peer" / "peer.py"


@pytest.fixture
def checkout(tmp_path):
    root = tmp_path / "checkout"
    shutil.copytree(ROOT / "protocols", root / "protocols")
    shutil.copytree(ROOT / "peers" / "python", root / "peers" / "python",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return root


def set_fault(root, field):
    d = root / "peers" / "faulty"
    d.mkdir(exist_ok=True)
    (d / "peer.toml").write_text(f'name = "faulty"\nlanguage = "python"\ncontract = 3\n[run]\n'
                                 f'command = ["{sys.executable}", "{FAULTY}", "byteswap", "{field}"]\n'
                                 f'[supports]\ntransports = ["uds"]\n')


def cli(root, *args):
    return subprocess.run([sys.executable, "-m", "harness", *args, "--root", str(root)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "COLUMNS": "200",
                                                                             "PYTHONPATH": str(ROOT)})


def test_expected_failure_list_lifecycle(checkout):
    args = ("matrix", "--peers", "python,faulty", "--transports", "uds", "--cases", "track.contract_example,integers.max")
    set_fault(checkout, "Track.id")
    first = cli(checkout, *args)
    assert first.returncode == 1 and "likely cause: byteswap at Track.id" in first.stdout
    assert "rerun: python -m harness matrix --only faulty-encode-track.contract_example" in first.stdout

    upd = cli(checkout, "expected", "--update")
    assert upd.returncode == 0, upd.stderr
    listed = (checkout / "peers/faulty/expected_failures.txt").read_text()
    assert "faulty-encode-track.contract_example  # likely cause: byteswap at Track.id" in listed
    assert not (checkout / "peers/python/expected_failures.txt").exists()

    second = cli(checkout, *args)
    assert second.returncode == 0, second.stdout
    assert "xfail" in second.stdout and "against the previous run: 0 fixed, 0 broken" in second.stdout

    set_fault(checkout, "Nothing.here")  # the peer is fixed
    third = cli(checkout, *args)
    assert third.returncode == 1
    assert "example: faulty-encode-track.contract_example" in third.stdout or "XPASS faulty-encode-track" in third.stdout
    assert "FINDING 1 unexpected pass: remove line" in third.stdout and "expected_failures.txt" in third.stdout


def test_listed_failure_with_another_cause_still_fails(checkout):
    set_fault(checkout, "Track.id")
    (checkout / "peers/faulty/expected_failures.txt").write_text("faulty-encode-*  # likely cause: padding\n")
    r = cli(checkout, "matrix", "--peers", "faulty", "--kinds", "encode", "--cases", "track.contract_example")
    assert r.returncode == 1 and "failed, but not as expected_failures.txt line 1 expects" in r.stdout


def failing_results(project):
    case = next(c for c in project.cases if c.id == "integers.max")
    return [matrix.Result(matrix.Cell("send", "python", "c", "uds", case), "fail", "likely cause: byteswap at X: y\nmore"),
            matrix.Result(matrix.Cell("encode", "python", "python", "-", case), "pass"),
            matrix.Result(matrix.Cell("echo", "python", "rust", "shm", case), "skip", "no shm")]


def test_junit(project, tmp_path):
    report.write_junit(failing_results(project), tmp_path / "j.xml")
    suite = ET.parse(tmp_path / "j.xml").getroot()
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["python->c-uds-integers.max", "python-encode-integers.max",
                                              "python<->rust-shm-integers.max"]
    failure = cases[0].find("failure")
    assert failure.get("message") == "likely cause: byteswap at X: y"
    assert "rerun: python -m harness matrix --only 'python->c-uds-integers.max'" in failure.text
    assert cases[2].find("skipped") is not None and suite.get("failures") == "1"


def test_comparison_with_previous_run(project):
    results = failing_results(project)
    previous = [{"id": "python->c-uds-integers.max", "status": "pass"},
                {"id": "python-encode-integers.max", "status": "fail"},
                {"id": "gone", "status": "pass"}]
    assert report.compare(previous, results) == {
        "fixed": ["python-encode-integers.max"], "broken": ["python->c-uds-integers.max"],
        "added": ["python<->rust-shm-integers.max"], "removed": ["gone"]}


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.skip("no chromium (Debian: apt-get install chromium; .ci/run installs it)")


def test_html_report_in_a_real_browser(project, tmp_path):
    browser = chromium()
    page = tmp_path / "report.html"
    report.write_html(failing_results(project), page)
    target = "python->c-uds-integers.max"
    r = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync", "--no-first-run",
                        f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", f"{page.as_uri()}#{target}"],
                       capture_output=True, text=True, timeout=120)
    dom = r.stdout
    assert "<table class=\"grid\">" in dom, r.stderr[-2000:]
    assert '<p id="summary">1 pass, 1 fail, 1 skip</p>' in dom
    # the link target's <details> was opened by the page's script: click-through works in a browser
    assert f'<details id="{target.replace(">", "&gt;")}" class="fail" data-pair="pair-uds-python-c" open="">' in dom
    assert 'class="bad" id="pair-uds-python-c"' in dom and "likely cause: byteswap" in dom
    # the findings come first: the cause once, its cells linked; the diff's rows coloured
    assert '<h2 id="findings">1 root cause in 1 failing cell</h2>' in dom
    assert "1. byteswap at X in peer python-&gt;c (send)" in dom
    # a click on a grid cell follows its link (#pair-...): the pair's failures open
    r = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync", "--no-first-run",
                        f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", f"{page.as_uri()}#pair-uds-python-c"],
                       capture_output=True, text=True, timeout=120)
    assert f'<details id="{target.replace(">", "&gt;")}" class="fail" data-pair="pair-uds-python-c" open="">' in r.stdout


def test_html_marks_a_pair_with_any_failure_red(project, tmp_path):
    """A pair with many passes and one failure is red, not amber: a broken pair looks broken."""
    results = failing_results(project)
    fail = next(r for r in results if r.status == "fail")
    fail = matrix.Result(fail.cell, "fail", "likely cause: byteswap at X: y\n>> X  @0  2B u16  01 00 | 00 01\n"
                         "hex dump, actual (differences marked ^):\n0000  00 01\n      ^^ ^^")
    many = [matrix.Result(fail.cell, "pass")] * 299 + [fail]
    page = tmp_path / "r.html"
    report.write_html(many, page, meta={"command": "python -m harness matrix", "commit": "abc123"})
    text = page.read_text()
    assert 'class=bad id="pair-uds-python-c"' in text and "299 pass<br>1 fail" in text
    assert "<dt>commit</dt><dd>abc123</dd>" in text
    assert "<span class=diff>&gt;&gt; X  @0" in text and "<span class=mark>      ^^ ^^</span>" in text


def test_replay_payload_and_frame(project):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "harness", "replay", "--peer", "python", *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=60)
    r = run("--message", "Choices", "--bytes", "02000000")
    assert r.returncode == 1 and "ERR decode bool Choices.flag" in r.stdout
    frame = "43585752" "0100" "0300" "00000000" "04000000" "0700000000000000" "0102ffff"
    r = run("--bytes", frame)
    assert r.returncode == 0 and "OK Choices 7 true 2 -1" in r.stdout
    r = run("--bytes", frame.replace("43585752", "52575843", 1), "--frame")
    assert r.returncode == 1 and "ERR decode const frame.magic" in r.stdout


def test_last_run_is_recorded(tmp_path, checkout):
    r = cli(checkout, "matrix", "--peers", "python", "--cases", "integers.max", "--kinds", "encode")
    assert r.returncode == 0
    records = json.loads((checkout / "reports/last-run.json").read_text())["results"]
    assert [x["id"] for x in records] == ["python-encode-integers.max"]


def test_markdown_summary_names_the_findings(project, tmp_path):
    out = tmp_path / "summary.md"
    report.write_markdown(failing_results(project), out)
    text = out.read_text()
    assert "1 pass, 1 fail, 1 skip" in text and "### 1 root cause" in text
    assert "| 1 | byteswap at X in peer python->c (send) | 1 | `python->c-uds-integers.max` |" in text
