"""`python -m harness new-peer NAME --lang LANG`: a new folder under peers/ with a manifest and a
skeleton program that already speaks the start of the contract (HELLO, QUIT, `ERR request` for
what it cannot parse, the line-length limit) and declares nothing else, so it joins the matrix
at once with every cell reported as skipped, and `check-peer` prints what to build next.

A skeleton is a folder under harness/templates/<lang>/ with an `about` line and its files, each
named with a `.tmpl` suffix (they are not the harness's own sources: `@NAME@`, `@LANGUAGE@` and
`@MAX_LINE@` in them are replaced, and the suffix dropped). The files are the user's to edit from then
on: they say they were scaffolded, not that they are generated.
"""
from __future__ import annotations

import re
from pathlib import Path

from .errors import CrosswireError
from .project import Project

TEMPLATES = Path(__file__).parent / "templates"
NAME = re.compile(r"[a-z][a-z0-9_]{0,30}\Z")


def languages() -> dict[str, str]:
    """Each skeleton's language and its one-line description."""
    return {d.name: (d / "about").read_text(encoding="utf-8").strip()
            for d in sorted(TEMPLATES.iterdir()) if (d / "about").is_file()}


def adapter_languages() -> list[str]:
    from . import adapters
    return adapters.languages()


def create_adapter(project: Project, name: str, lang: str, frames: bool) -> list[Path]:
    from . import adapters
    return adapters.create(project, name, lang, frames)


def check_name(project: Project, name: str) -> Path:
    """The folder of a new peer called `name`, after checking the name is usable and free."""
    if not NAME.match(name):
        raise CrosswireError(f"peer name {name!r}: use lower-case letters, digits and '_', starting with a letter "
                             "(it is a folder name and the peer's id in cell ids)")
    if name in project.registry:
        raise CrosswireError(f"there is already a peer called {name!r}: {project.registry[name].manifest}")
    target = project.peers_dir / name
    if target.exists():
        raise CrosswireError(f"{target} already exists; new-peer never writes over files")
    return target


def create(project: Project, name: str, lang: str) -> list[Path]:
    """Write peers/<name>/ from the skeleton of `lang`; the paths written."""
    known = languages()
    if lang not in known:
        raise CrosswireError(f"no skeleton for language {lang!r}; there are: {', '.join(known)} "
                             f"(choose one with --lang, or start from the guide, docs/adding-a-peer.md)")
    target = check_name(project, name)
    values = {"@NAME@": name, "@LANGUAGE@": lang, "@MAX_LINE@": str(8 * project.schema.max_payload + 65536)}
    written = []
    source = TEMPLATES / lang
    for path in sorted(source.rglob("*")):
        if path.is_dir() or path.suffix != ".tmpl":
            continue
        text = path.read_text(encoding="utf-8")
        for key, value in values.items():
            text = text.replace(key, value)
        out = target / path.relative_to(source).with_suffix("")     # peer.py.tmpl -> peer.py
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        out.chmod(path.stat().st_mode & 0o777)
        written.append(out)
    return written
