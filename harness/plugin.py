"""pytest plugin (entry point `crosswire`): the interop matrix as parametrized tests.

A test that asks for the `crosswire_cell` fixture is run once per matrix cell, with ids such
as `python->python-uds-integers.max`; `crosswire_run(cell)` runs it and turns the result into
a pass, a failure (with the field-level detail) or a skip (with the manifest's reason):

    def test_interop(crosswire_cell, crosswire_run):
        crosswire_run(crosswire_cell)

Peers are started once per test process (the session fixture) and reused across cells, so
the matrix stays fast under `pytest -n auto`; each xdist worker has its own peers and its own
private endpoint directory.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from . import matrix, transports
from .errors import CrosswireError
from .project import Project


@dataclass(frozen=True)
class Options:
    root: Path | None
    peers: list[str] | None
    transports: list[str] | None
    cases: list[str] | None
    kinds: list[str]
    timeout: float


def _csv(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("crosswire", "crosswire interop matrix")
    group.addoption("--cw-project", "--cw-root", dest="cw_root", default=None,
                    help="the crosswire project (default: the nearest crosswire.toml at or above rootdir)")
    group.addoption("--cw-peers", default=None, help="comma-separated peers (default: all discovered)")
    group.addoption("--cw-transports", default=None, help="comma-separated transports (default: all)")
    group.addoption("--cw-cases", default=None, help="comma-separated globs of case ids")
    group.addoption("--cw-kinds", default=None, help="comma-separated kinds: encode,decode,send,echo,reject")
    group.addoption("--cw-timeout", default=10.0, type=float, help="seconds a peer may take per reply")


_OPTIONS = pytest.StashKey[Options]()


def pytest_configure(config: pytest.Config) -> None:
    _kill_peers_on_ctrl_c()
    root = config.getoption("cw_root")
    config.stash[_OPTIONS] = Options(
        root=Path(root) if root else None,
        peers=_csv(config.getoption("--cw-peers")),
        transports=_csv(config.getoption("--cw-transports")),
        cases=_csv(config.getoption("--cw-cases")),
        kinds=_csv(config.getoption("--cw-kinds")) or list(matrix.KINDS),
        timeout=config.getoption("--cw-timeout"),
    )


def pytest_sessionstart(session: pytest.Session) -> None:
    """What killed runs left (socket directories, segments of dead owners) is removed first, once
    (in the xdist controller)."""
    if not hasattr(session.config, "workerinput"):
        from .transports import sweep
        sweep.sweep()


def _kill_peers_on_ctrl_c() -> None:
    """In each process that runs cells (every xdist worker too): SIGINT kills the peers first,
    then does what it did before (pytest's KeyboardInterrupt)."""
    import signal
    import threading
    if threading.current_thread() is not threading.main_thread():
        return
    before = signal.getsignal(signal.SIGINT)

    def on_sigint(signum: int, frame: Any) -> None:
        from .driver import interrupt
        interrupt()
        if callable(before):
            before(signum, frame)
        else:
            raise KeyboardInterrupt
    signal.signal(signal.SIGINT, on_sigint)


def pytest_keyboard_interrupt(excinfo: pytest.ExceptionInfo) -> None:
    """Ctrl-C: every peer is killed at once, before the session's teardown (which would otherwise
    wait for the replies they owe), so an interrupted run exits in a moment."""
    from .driver import interrupt
    interrupt()


def pytest_collection(session: pytest.Session) -> None:
    """Check --cw-* choices once, before collection, so a typo is a usage error, not a crash."""
    opts = session.config.stash[_OPTIONS]
    if not (opts.peers or opts.transports or opts.cases):
        return
    try:
        _cells(session.config)
    except CrosswireError as exc:
        raise pytest.UsageError(f"crosswire: {exc}") from None


def _cells(config: pytest.Config) -> list[matrix.Cell]:
    from . import peers
    opts = config.stash[_OPTIONS]
    project = _project(config)
    specs = peers.select(project.registry, opts.peers)
    names = opts.transports or list(transports.KNOWN)
    for t in names:
        transports.get(t)
    bad = [k for k in opts.kinds if k not in matrix.KINDS]
    if bad:
        raise CrosswireError(f"unknown kind {bad[0]!r}; kinds: {', '.join(matrix.KINDS)}")
    return matrix.plan(specs, names, matrix.select_cases(project.cases, opts.cases), opts.kinds,
                       matrix.select_rejects(project.reject_cases, opts.cases),
                       matrix.select_rejects(project.hostile_cases, opts.cases))


def _project(config: pytest.Config) -> Project:
    opts = config.stash[_OPTIONS]
    return Project(opts.root.resolve()) if opts.root else Project.find(Path(str(config.rootpath)))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "crosswire_cell" not in metafunc.fixturenames:
        return
    try:
        cells = _cells(metafunc.config)
    except CrosswireError as exc:
        raise pytest.UsageError(f"crosswire: {exc}") from None
    metafunc.parametrize("crosswire_cell", cells, ids=[c.id for c in cells])


@pytest.fixture(scope="session")
def crosswire_project(pytestconfig: pytest.Config) -> Project:
    return _project(pytestconfig)


@pytest.fixture(scope="session")
def crosswire_session(crosswire_project: Project, pytestconfig: pytest.Config) -> Iterator[matrix.Session]:
    with matrix.Session(crosswire_project.registry, timeout=pytestconfig.stash[_OPTIONS].timeout,
                        schema=crosswire_project.schema) as session:
        yield session


@pytest.fixture(scope="session")
def crosswire_expected(crosswire_project: Project) -> list:
    from . import expected
    return expected.load(crosswire_project.registry)


@pytest.fixture
def crosswire_run(crosswire_session: matrix.Session, crosswire_expected: list) -> Callable[[matrix.Cell], matrix.Result]:
    """Run a cell: returns on pass; skips with the manifest's reason; xfails when the peer's
    expected-failure list names it; fails with the diagnosis and a rerun command otherwise
    (an unexpected pass of a listed cell fails too)."""
    from . import expected, report

    def run(cell: matrix.Cell) -> matrix.Result:
        result = expected.apply([crosswire_session.run(cell)], crosswire_expected, crosswire_session.registry)[0]
        if result.status == "skip":
            pytest.skip(result.detail)
        if result.status == "xfail":
            pytest.xfail(result.detail.splitlines()[0] if result.detail else "listed")
        if result.status in ("fail", "xpass"):
            pytest.fail(f"{cell.id}: {result.detail}\nrerun: {report.rerun(result)}", pytrace=False)
        return result
    return run
