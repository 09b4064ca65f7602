""".github/workflows/ci.yml cannot run here, so it is checked: it parses, its matrix covers Linux
and macOS with Python 3.11, Rust and a C compiler, the cross packages are installed on Linux only
(and are the ones the peer manifests name), every `make X` it runs is a Makefile target, every
`python -m harness` command line it runs is accepted by the harness's own argument parser, the
repository paths it names exist, and the artifacts it uploads are files its steps write."""
from __future__ import annotations

import re
import shlex

import pytest

from harness.cli import _parser
from harness.project import Project

from .conftest import ROOT

yaml = pytest.importorskip("yaml", reason="pyyaml is in the `test` extra: pip install -e '.[test]'")

WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
PROJECT = Project(ROOT)


@pytest.fixture(scope="module")
def workflow():
    return yaml.safe_load(WORKFLOW.read_text())


@pytest.fixture(scope="module")
def job(workflow):
    jobs = workflow["jobs"]
    assert len(jobs) == 1, "one job, run once per OS"
    return next(iter(jobs.values()))


def steps(job):
    return job["steps"]


def commands(job):
    """(step, command) for every shell command of every `run:` step: lines joined at a
    trailing backslash, split at && and ;."""
    out = []
    for step in steps(job):
        script = re.sub(r"\\\n\s*", " ", step.get("run", ""))
        for line in script.splitlines():
            for part in re.split(r"&&|;", line):
                if part.strip() and not part.strip().startswith("#"):
                    out.append((step, shlex.split(part)))
    return out


def make_targets(makefile):
    targets = set()
    for line in makefile.read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-/ ]+):(?!=)", line)
        if m and not line.startswith("\t"):
            targets.update(t for t in m.group(1).split() if not t.startswith("."))
    return targets


def test_it_parses_and_runs_on_push(workflow):
    triggers = workflow.get("on", workflow.get(True))       # YAML 1.1 reads a bare `on` as true
    assert "push" in triggers and "pull_request" in triggers


def test_matrix_covers_linux_and_macos(job):
    oses = job["strategy"]["matrix"]["os"]
    assert "ubuntu-latest" in oses and "macos-latest" in oses
    assert job["runs-on"] == "${{ matrix.os }}"
    assert job["strategy"].get("fail-fast") is False, "one OS failing must not cancel the other"
    assert 0 < job["timeout-minutes"] <= 360


def test_toolchains_are_set_up(job):
    uses = {s["uses"].split("@")[0]: s for s in steps(job) if "uses" in s}
    assert "actions/checkout" in uses
    assert str(uses["actions/setup-python"]["with"]["python-version"]) == "3.11"
    assert "dtolnay/rust-toolchain" in uses or any(c[0] == "rustup" for _, c in commands(job))
    compilers = {w for _, c in commands(job) if c[:2] == ["sudo", "apt-get"] for w in c}
    assert {"gcc", "clang"} <= compilers, "Linux: gcc and clang (macOS has clang from Xcode)"


# Debian packages whose tool the workflow installs with a setup action instead (newer versions).
BY_ACTION = {"golang-go": "actions/setup-go"}


def test_cross_packages_on_linux_only(job):
    uses = {s["uses"].split("@")[0] for s in steps(job) if "uses" in s}
    wanted = {p for spec in PROJECT.registry.values() for p in spec.packages
              if not (p in BY_ACTION and BY_ACTION[p] in uses)}
    assert {"gcc-s390x-linux-gnu", "gcc-i686-linux-gnu", "qemu-user"} <= wanted
    installed = set()
    for step, cmd in commands(job):
        if "apt-get" in cmd:
            assert step.get("if") == "runner.os == 'Linux'", f"apt-get outside a Linux-only step: {cmd}"
            if "install" in cmd:
                installed.update(w for w in cmd if not w.startswith("-"))
    assert wanted <= installed, f"the peers' packages not installed: {sorted(wanted - installed)}"


def test_make_targets_exist(job):
    ran = [c for _, c in commands(job) if c[0] == "make"]
    assert ran, "the workflow builds with make"
    for cmd in ran:
        args, folder = cmd[1:], ROOT
        if args[:1] == ["-C"]:
            folder, args = ROOT / args[1], args[2:]
        targets = [a for a in args if not a.startswith("-") and "=" not in a]
        known = make_targets(folder / "Makefile")
        for t in targets:
            assert t in known, f"`{' '.join(cmd)}`: no target {t!r} in {folder / 'Makefile'}"
    assert ["make", "peers"] == [w for w in ran[0] if "=" not in w]


def test_commands_exist(job):
    makefile = (ROOT / "Makefile").read_text()
    for _, cmd in commands(job):
        exe = cmd[0]
        if exe == "sudo":
            continue
        if exe.startswith(".venv/bin/"):
            tool = exe.removeprefix(".venv/bin/")
            assert tool == "python" or re.search(rf"pip install .*\b{tool}\b", makefile), \
                f"{exe}: the Makefile does not install {tool} into .venv"
        elif "/" in exe:
            assert (ROOT / exe).exists(), f"{exe} is not in the repository"
        else:
            assert exe in {"make", "bash", "python", "python3", "cat"}, f"unexpected command {exe}"
        if exe.endswith("python") and cmd[1:3] == ["-m", "harness"]:
            try:
                _parser().parse_args(cmd[3:])
            except SystemExit:
                pytest.fail(f"`{' '.join(cmd)}`: the harness does not accept these arguments")
        if exe.endswith("tox"):
            assert (ROOT / "tox.ini").exists()
        for word in cmd[1:]:
            if re.match(r"^(\.ci|tests|harness|peers|protocols)/", word):
                path = word.split("::", 1)[0]       # a pytest node id names its file
                assert (ROOT / path).exists(), f"`{' '.join(cmd)}`: {path} is not in the repository"


def test_artifacts_are_the_reports_the_steps_write(job):
    upload = [s for s in steps(job) if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert len(upload) == 1
    step = upload[0]
    assert step.get("if") == "always()", "upload the reports of a failed run too"
    assert "${{ matrix.os }}" in step["with"]["name"], "artifact names must differ per OS"
    paths = [p.strip() for p in step["with"]["path"].splitlines() if p.strip()]
    written = {}
    for _, cmd in commands(job):
        for i, word in enumerate(cmd):
            if word.startswith("--junitxml="):
                written[word.split("=", 1)[1]] = "pytest --junitxml"
            elif word in ("--json", "--junit", "--html", "--markdown") and i + 1 < len(cmd):
                written[cmd[i + 1]] = f"harness {word}"
    kinds = {written.get(p, "") for p in paths}
    assert any("junit" in k for k in kinds) and any("html" in k for k in kinds), "JUnit and HTML reports"
    for p in paths:
        assert p.startswith("reports/"), f"{p}: the harness writes its reports under reports/"
        assert p in written, f"{p} is uploaded but no step writes it"


def test_the_matrix_runs_once_and_reports_to_the_job_page(job):
    """The harness's matrix command runs once and writes every report; the test suite deselects
    its own copy of the matrix; the findings reach the job summary and the failures annotations."""
    matrix_runs = [c for _, c in commands(job) if c[1:4] == ["-m", "harness", "matrix"]]
    assert len(matrix_runs) == 1 and "--markdown" in matrix_runs[0]
    tox = [c for _, c in commands(job) if c[0].endswith("tox")]
    assert tox and all("tests/test_matrix.py::test_interop" in c for c in tox), "the matrix would run twice"
    assert any("$GITHUB_STEP_SUMMARY" in w for _, c in commands(job) for w in c)
    uses = {s["uses"].split("@")[0]: s for s in steps(job) if "uses" in s}
    assert "mikepenz/action-junit-report" in uses


def test_it_caches_and_holds_least_privilege(workflow, job):
    assert workflow["concurrency"]["cancel-in-progress"] is True
    assert workflow["permissions"] == {"contents": "read", "checks": "write"}
    uses = {s["uses"].split("@")[0]: s for s in steps(job) if "uses" in s}
    assert uses["actions/setup-python"]["with"]["cache"] == "pip"
    assert uses["actions/setup-go"]["with"]["cache"] is True
    assert "Swatinem/rust-cache" in uses
    for path in (uses["actions/setup-go"]["with"]["cache-dependency-path"],
                 uses["actions/setup-python"]["with"]["cache-dependency-path"]):
        assert (ROOT / path).exists(), path
