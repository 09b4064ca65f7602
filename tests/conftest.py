"""Shared fixtures: the checkout's project, and throwaway peers that misbehave on purpose."""
from __future__ import annotations

import os
import secrets
import shutil
import sys
import textwrap
from pathlib import Path

import pytest

ROOT_DIR = Path(__file__).resolve().parent.parent
os.environ.setdefault("CROSSWIRE_CHECKOUT", str(ROOT_DIR))   # the reference peers, under tox's installed wheel

from harness.peers import PeerSpec, load_manifest  # noqa: E402
from harness.project import Project  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def running(pid: int) -> bool:
    """Whether pid is a process that has not exited (a zombie, dead and not yet reaped, has)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX"


@pytest.fixture(scope="session")
def project() -> Project:
    return Project(ROOT)


@pytest.fixture(scope="session")
def schema(project):
    return project.schema


@pytest.fixture
def make_peer(tmp_path: Path):
    """A peer folder with a manifest and a Python script body: a real process, not a mock."""
    def make(script: str, name: str = "fake", transports: str = '["uds"]') -> PeerSpec:
        d = tmp_path / name
        d.mkdir()
        (d / "peer.py").write_text(textwrap.dedent(script))
        (d / "peer.toml").write_text(textwrap.dedent(f"""\
            name = "{name}"
            language = "python"
            contract = 3
            [run]
            command = ["{sys.executable}", "peer.py"]
            [supports]
            transports = {transports}
            messages = "*"
            """))
        return load_manifest(d / "peer.toml")
    return make


@pytest.fixture
def faulty_peer(tmp_path: Path):
    """The reference peer with one classic bug injected (tests/faulty_peer/peer.py), as a peer
    folder named "faulty": make(fault, field) -> its folder."""
    def make(fault: str, field: str, transports: str = '["uds"]', schema: Path | None = None) -> Path:
        d = tmp_path / f"faulty-{fault}"
        d.mkdir()
        extra = f', "{schema}"' if schema is not None else ""
        (d / "peer.toml").write_text(
            f'name = "faulty"\nlanguage = "python"\ncontract = 3\n[run]\n'
            f'command = ["{sys.executable}", "{ROOT / "tests" / "faulty_peer" / "peer.py"}", "{fault}", "{field}"{extra}]\n'
            f'[supports]\ntransports = {transports}\n')
        return d
    return make


# ------------------------------------------------------------------ nothing left behind
# After the whole run (in the xdist controller, after every worker), no shared-memory segment
# and no socket directory that the run created may remain: the run fails otherwise.

# Every segment and socket directory of this run carries its run tag (harness/transports/tag.py),
# so that another run on the same machine (a second pytest, a benchmark) is not blamed on this one.

def _leftovers() -> set[str]:
    tag, found = os.environ.get("CW_RUN_TAG", ""), set()
    shm = Path("/dev/shm")
    if shm.is_dir():
        found |= {f"/dev/shm/{p.name}" for p in shm.iterdir() if p.name.startswith("cw" + tag)}
    found |= {str(p) for p in Path("/tmp").glob(f"cw-{tag}*")}
    return found


def pytest_configure(config):
    global _CONFIG
    _CONFIG = config
    if not hasattr(config, "workerinput"):       # the controller: its workers inherit the tag
        os.environ["CW_RUN_TAG"] = secrets.token_hex(2)


def pytest_sessionstart(session):
    if not hasattr(session.config, "workerinput"):
        session.config._cw_before = _leftovers()


def _children() -> list[str]:
    """Live (not zombie) child processes of this process, as "pid command" (Linux /proc)."""
    me, found = os.getpid(), []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        if int(fields[1]) == me and fields[0] != "Z":
            found.append(f"{stat.parent.name} {text[text.index('(') + 1:text.rindex(')')]}")
    return found


def pytest_sessionfinish(session, exitstatus):
    # Every process that ran tests (each xdist worker, or the only process) must have stopped
    # and reaped every peer it started. The xdist controller's children are the workers.
    runs_tests = hasattr(session.config, "workerinput") or not session.config.getoption("numprocesses", None)
    if runs_tests and Path("/proc/self/stat").exists():
        from harness.driver import kill_all
        left = _children()
        kill_all()
        if left:
            print(f"\ncrosswire: the run left {len(left)} child process(es) running: {', '.join(left[:10])}")
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if hasattr(session.config, "workerinput") or not hasattr(session.config, "_cw_before"):
        return
    left = sorted(_leftovers() - session.config._cw_before)
    if left:
        print(f"\ncrosswire: the run left {len(left)} segment(s) or socket dir(s) behind: {', '.join(left[:10])}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# ------------------------------------------------------------------ projects with schemas of their own

_BUILT: dict[tuple[str, tuple[str, ...]], Project] = {}


@pytest.fixture(scope="session")
def built_project(tmp_path_factory):
    """built_project("examples/modbus", ["python", "c"]): a copy of that project (tests/schemas/*,
    examples/*) in a temporary folder, with those reference peers built for its schema
    (harness/reference.py). Peers whose toolchain is missing are left out."""
    def make(rel: str, names: list[str]) -> Project:
        key = (rel, tuple(names))
        if key not in _BUILT:
            dest = tmp_path_factory.mktemp(rel.replace("/", "-")) / "project"
            shutil.copytree(ROOT / rel, dest, ignore=shutil.ignore_patterns("build", "reports"))
            proj = Project(dest)
            proj.prepare_reference()
            for name in names:
                spec = proj.registry.get(name)
                if spec is not None and not spec.missing_tools():
                    result = proj.build(spec)
                    assert result.status != "failed", f"{name} for {rel}: {result.detail}"
            _BUILT[key] = Project(dest)
        return _BUILT[key]
    return make


# ------------------------------------------------------------------ output a CI log can read
# Not in a terminal (CI, a pipe), the 90,000 passing tests printed no dots (they were 1,100
# lines of them): failures still print their F or E, and a line every minute says how far the
# run is. -v lists every test as usual.

_PROGRESS = {"done": 0, "failed": 0, "last": 0.0, "start": 0.0}


def _quiet_progress(config) -> bool:
    return config.getoption("verbose") <= 0 and not sys.stdout.isatty()


def pytest_report_teststatus(report, config):
    if report.when == "call" and report.passed and _quiet_progress(config):
        return "passed", "", "PASSED"
    return None


def pytest_runtest_logreport(report):
    import time
    if report.when != "teardown" and not report.failed:
        return
    now = time.monotonic()
    _PROGRESS["start"] = _PROGRESS["start"] or now
    _PROGRESS["done"] += report.when == "teardown"
    _PROGRESS["failed"] += report.failed
    if now - (_PROGRESS["last"] or _PROGRESS["start"]) >= float(os.environ.get("CW_PROGRESS_EVERY", "60")) and _CONFIG and _quiet_progress(_CONFIG):
        _PROGRESS["last"] = now
        reporter = _CONFIG.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"[{_PROGRESS['done']} tests done, {_PROGRESS['failed']} failed, "
                                f"{now - _PROGRESS['start']:.0f} s]")


_CONFIG = None
