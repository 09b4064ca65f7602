"""A crosswire project anywhere: `crosswire init`, the config, and every command finding it."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness import starter
from harness.errors import CrosswireError
from harness.project import Project

ROOT = Path(__file__).resolve().parent.parent


def cw(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def test_init_makes_a_project_that_every_command_finds(tmp_path):
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / "README.md").write_text("# our repo\n\nWhat it is.\n")
    r = cw("init", str(repo), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    for rel in ("crosswire.toml", "protocols/schema.toml", "protocols/vectors/golden.json",
                "protocols/vectors/malformed.json", "peers", ".gitignore"):
        assert (repo / rel).exists(), rel
    readme = (repo / "README.md").read_text()
    assert readme.startswith("# our repo\n\nWhat it is.\n") and "## Interop tests (crosswire)" in readme
    assert "build/" in (repo / ".gitignore").read_text()
    # found from a folder below it, by every command
    r = cw("vectors", cwd=repo / "src")
    assert r.returncode == 0 and "all reproduced by the codec" in r.stdout, r.stdout + r.stderr
    r = cw("peers", "--no-hello", cwd=repo / "src")
    assert r.returncode == 0, r.stderr
    # a second init refuses, and writes nothing
    before = (repo / "crosswire.toml").read_text()
    r = cw("init", cwd=repo)
    assert r.returncode == 2 and "already a crosswire project" in r.stderr
    assert (repo / "crosswire.toml").read_text() == before


def test_init_into_pyproject_and_the_config_paths(tmp_path):
    repo = tmp_path / "lib"
    repo.mkdir()
    (repo / "pyproject.toml").write_text('[project]\nname = "lib"\n')
    made, _ = starter.init(repo, pyproject=True)
    assert "[tool.crosswire]" in (repo / "pyproject.toml").read_text()
    assert Project.find(repo).config_path == repo / "pyproject.toml" and made.name == "lib"
    # paths come from the config, not from crosswire's layout
    text = (repo / "pyproject.toml").read_text().replace('schema = "protocols/schema.toml"', 'schema = "wire/proto.toml"')
    (repo / "pyproject.toml").write_text(text)
    (repo / "wire").mkdir()
    (repo / "protocols" / "schema.toml").rename(repo / "wire" / "proto.toml")
    assert Project.find(repo).schema_path == repo / "wire" / "proto.toml"
    assert Project.find(repo).schema.name == "lib"


def test_config_errors_are_one_line(tmp_path):
    d = tmp_path / "p"
    d.mkdir()
    r = cw("vectors", cwd=d)
    assert r.returncode == 2 and "no crosswire project at or above" in r.stderr and "crosswire init" in r.stderr
    (d / "crosswire.toml").write_text('schema = "nowhere.toml"\n')
    r = cw("vectors", cwd=d)
    assert r.returncode == 2 and "nowhere.toml" in r.stderr and "does not exist" in r.stderr
    assert "Traceback" not in r.stderr
    (d / "crosswire.toml").write_text('peers = "not-there"\nschema = "s.toml"\n')
    (d / "s.toml").write_text((ROOT / "harness/templates/project/schema.toml.tmpl").read_text().replace("@NAME@", "x"))
    r = cw("peers", "--no-hello", cwd=d)
    assert r.returncode == 2 and "not-there" in r.stderr and "does not exist" in r.stderr
    (d / "crosswire.toml").write_text('shema = "s.toml"\n')
    with pytest.raises(CrosswireError, match="unknown key"):
        Project.find(d)
    (d / "crosswire.toml").write_text('schema = [1]\n')
    with pytest.raises(CrosswireError, match="must be a path"):
        Project.find(d)
    (d / "crosswire.toml").write_text('schema = \n')
    with pytest.raises(CrosswireError, match="not a readable TOML"):
        Project.find(d)
    (d / "crosswire.toml").write_text('variant_pairs = "some"\n')
    with pytest.raises(CrosswireError, match='variant_pairs must be "native" or "all"'):
        Project.find(d)


def test_variants_meet_the_native_peers_unless_asked_for_all_pairs():
    """c@s390x meets c, go, python, rust over each transport (both ways), not go@386 nor itself;
    variant_pairs = "all" plans every pair; variants alone still meet each other."""
    from harness import matrix
    project = Project(ROOT)
    specs = list(project.registry.values())
    variants = [s for s in specs if s.base]
    if len(variants) < 2:
        pytest.skip("needs two variants in the registry")
    case = project.cases[:1]
    pairs = lambda cells: {(c.sender, c.receiver) for c in cells if c.kind == "send"}   # noqa: E731
    some = pairs(matrix.plan(specs, ["uds"], case, ["send"]))
    every = pairs(matrix.plan(specs, ["uds"], case, ["send"], variant_pairs=True))
    assert len(every) == len(specs) ** 2
    assert every - some == {(a.name, b.name) for a in variants for b in variants}
    assert pairs(matrix.plan(variants, ["uds"], case, ["send"])) == {(a.name, b.name) for a in variants for b in variants}


def test_codegen_writes_where_the_project_says(tmp_path):
    made, _ = starter.init(tmp_path / "p")
    r = cw("codegen", "--lang", "c", "--out", "gen/c", cwd=made.root)
    assert r.returncode == 0, r.stderr
    header = (made.root / "gen/c/cw_schema.h").read_text()
    assert "DO NOT EDIT" in header.splitlines()[0] and "cw_Reading" in header
    assert not (ROOT / "gen").exists()
    r = cw("codegen", "--lang", "c", "--out", "gen/c", "--check", cwd=made.root)
    assert r.returncode == 0, r.stdout
    r = cw("codegen", cwd=made.root)
    assert r.returncode == 2 and "[codegen]" in r.stderr
    r = cw("codegen", "--lang", "c,rust", "--out", "x", cwd=made.root)
    assert r.returncode == 2 and "one language" in r.stderr


def test_cli_basics_need_no_project(tmp_path):
    r = subprocess.run([sys.executable, "-m", "harness"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "init" in r.stdout and "new-peer" in r.stdout
    r = cw("--version", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.startswith("crosswire ") and "kit 2, contract 3" in r.stdout
    r = cw("new-peer", "--list", cwd=tmp_path)
    assert r.returncode == 0 and "python" in r.stdout and "adapters (--adapter):" in r.stdout
    r = cw("kit", "--lang", "python", "--out", str(tmp_path / "k"), cwd=tmp_path)
    assert r.returncode == 0 and (tmp_path / "k" / "cwkit.py").is_file(), r.stderr
    r = cw("kit", "--lang", "cobol", "--out", str(tmp_path / "k2"), cwd=tmp_path)
    assert r.returncode == 2 and "no kit for language 'cobol'" in r.stderr


def test_the_checkout_and_the_examples_are_projects():
    for d in (ROOT, ROOT / "examples" / "modbus", ROOT / "examples" / "mavlink",
              *sorted((ROOT / "tests" / "schemas").iterdir())):
        p = Project.find(d)
        assert p.root == d and p.config_path == d / "crosswire.toml" and p.schema_path.is_file()
