"""Shared fixtures: the checkout's project, and throwaway peers that misbehave on purpose."""
from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from harness.peers import PeerSpec, load_manifest
from harness.project import Project

ROOT = Path(__file__).resolve().parent.parent


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
            contract = 1
            [run]
            command = ["{sys.executable}", "peer.py"]
            [supports]
            transports = {transports}
            messages = "*"
            """))
        return load_manifest(d / "peer.toml")
    return make
