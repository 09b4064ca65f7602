"""`crosswire init [DIR]`: make a crosswire project inside any repository.

It writes the config (crosswire.toml, or [tool.crosswire] in DIR/pyproject.toml), a starter
schema and its vectors, an empty peers folder, ignores for what crosswire builds and reports,
and a README section that says what to do next. It never writes over a file it did not make:
an existing schema is kept (and its vectors made), an existing README gets the section appended,
and a folder that is already a project is refused.
"""
from __future__ import annotations

import re
from pathlib import Path

from .errors import CrosswireError
from .project import CONFIG, Project, read_config

TEMPLATES = Path(__file__).parent / "templates" / "project"
IGNORES = ("build/", "reports/")


def _template(name: str, values: dict[str, str]) -> str:
    text = (TEMPLATES / f"{name}.tmpl").read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace(key, value)
    return text


def _write_new(path: Path, text: str, written: list[Path]) -> None:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)


def init(target: Path, pyproject: bool = False) -> tuple[Project, list[Path]]:
    """Make `target` a crosswire project; the project and the paths written or changed."""
    target = target.resolve()
    if target.exists() and not target.is_dir():
        raise CrosswireError(f"{target} is not a folder")
    _, existing = read_config(target) if target.is_dir() else ({}, None)
    if existing is not None:
        raise CrosswireError(f"{target} is already a crosswire project ({existing}); nothing written")
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", target.name).strip("-") or "protocol"
    values = {"@NAME@": name}
    written: list[Path] = []
    target.mkdir(parents=True, exist_ok=True)
    config = _template("crosswire.toml", values)
    if pyproject:
        path = target / "pyproject.toml"
        body = "\n".join(line for line in config.splitlines() if not line.startswith("# crosswire project"))
        old = path.read_text(encoding="utf-8") if path.exists() else ""
        path.write_text(old + ("\n" if old and not old.endswith("\n") else "") +
                        "\n[tool.crosswire]   # crosswire project (written by `crosswire init`)\n" + body.lstrip() + "\n",
                        encoding="utf-8")
        written.append(path)
        where = "pyproject.toml [tool.crosswire]"
    else:
        _write_new(target / CONFIG, config, written)
        where = CONFIG
    project = Project(target)
    _write_new(project.schema_path, _template("schema.toml", values), written)
    project.peers_dir.mkdir(parents=True, exist_ok=True)
    keep = project.peers_dir / ".gitkeep"
    if not any(project.peers_dir.iterdir()):
        _write_new(keep, "", written)
    ignore = target / ".gitignore"
    lines = ignore.read_text(encoding="utf-8").splitlines() if ignore.exists() else []
    missing = [i for i in IGNORES if i not in lines and f"/{i}" not in lines]
    if missing:
        ignore.write_text("\n".join([*lines, "# crosswire's builds and reports", *missing]) + "\n", encoding="utf-8")
        written.append(ignore)
    _write_new(target / "tests" / "test_interop.py", _template("test_interop.py", values), written)
    written += write_vectors(project)
    readme = target / "README.md"
    section = _template("README.section", {"@CONFIG@": where})
    old = readme.read_text(encoding="utf-8") if readme.exists() else f"# {name}\n"
    if "## Interop tests (crosswire)" not in old:
        readme.write_text(old.rstrip("\n") + "\n" + section, encoding="utf-8")
        written.append(readme)
    return project, written


def write_vectors(project: Project) -> list[Path]:
    """The golden and malformed vectors of the project's schema (crosswire vectors --regenerate)."""
    from . import malformed, vectors
    cases = vectors.generate(project.schema, project.extra_path)
    project.golden_path.parent.mkdir(parents=True, exist_ok=True)
    project.golden_path.write_text(vectors.dump(cases, project.schema), encoding="utf-8")
    rows = malformed.merged(project.malformed_path, project.schema, cases)
    project.malformed_path.write_text(malformed.dump(rows), encoding="utf-8")
    return [project.golden_path, project.malformed_path]
