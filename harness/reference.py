"""The reference peers, built against any project's schema.

crosswire's own peers (peers/ in its checkout) are generated from its example schema. A project
with a schema of its own (a folder holding protocols/schema.toml, like examples/modbus) gets
copies of them in `<project>/build/reference/`, laid out like a checkout:

    build/reference/protocols/schema.toml -> the project's schema   (links, wherever its config puts them)
    build/reference/protocols/vectors     -> the project's vectors
    build/reference/peers/<name>/                     (the peer's sources, and its generated code)

`prepare()` brings the copies up to date (only files that changed are written, so builds stay
incremental) and writes each language's generated code into them from the project's schema;
`python -m harness build` then builds them like any peer. A project's own peers (its peers/
folder) come first: a reference peer of the same name is left out.
"""
from __future__ import annotations

import filecmp
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from . import codegen
from .errors import CrosswireError
from .schema import Schema

if TYPE_CHECKING:
    from .project import Project

def _checkout() -> Path:
    """The crosswire checkout whose peers/ are the reference peers: where this package lives
    (an editable install, as `make` makes), else $CROSSWIRE_CHECKOUT (a wheel installed from a
    checkout, as tox does), else the copy the wheel carries (harness/_share, setup.py)."""
    here = Path(__file__).resolve().parent.parent
    if (here / "peers").is_dir():
        return here
    if os.environ.get("CROSSWIRE_CHECKOUT"):
        return Path(os.environ["CROSSWIRE_CHECKOUT"]).resolve()
    share = Path(__file__).resolve().parent / "_share"
    return share if (share / "peers").is_dir() else here


SKIP = {"build", "target", "__pycache__"}


def home(root: Path) -> Path:
    """Where a project's copies of the reference peers live."""
    return root / "build" / "reference"


def is_checkout(root: Path) -> bool:
    return root.resolve() == _checkout()


def checkout() -> Path:
    """The checkout (or the installed copy of it) that holds the reference peers and the kits."""
    return _checkout()


def _link(link: Path, target: Path) -> None:
    """Make `link` a relative symlink to `target` (replacing another link or a stale folder link)."""
    rel = os.path.relpath(target, link.parent)
    if link.is_symlink() and os.readlink(link) == rel:
        return
    if link.is_symlink() or link.is_file():
        link.unlink()
    elif link.is_dir():
        shutil.rmtree(link)
    link.symlink_to(rel, target_is_directory=target.is_dir())


def prepare(project: "Project", schema: Schema) -> Path:
    """Bring `<root>/build/reference` up to date with the reference peers and the schema's
    generated code; return it."""
    root = project.root
    if is_checkout(root):
        return root
    source = _checkout() / "peers"
    if not source.is_dir():
        raise CrosswireError(f"the reference peers are not at {source}: install crosswire from its checkout with "
                             "pip install -e, or set CROSSWIRE_CHECKOUT to the checkout, to build them for another schema")
    dest = home(root)
    (dest / "peers").mkdir(parents=True, exist_ok=True)
    protocols = dest / "protocols"
    if protocols.is_symlink():          # an older layout linked the whole folder
        protocols.unlink()
    protocols.mkdir(exist_ok=True)
    _link(protocols / "schema.toml", project.schema_path)
    _link(protocols / "vectors", project.vectors_dir)
    outputs: dict[str, dict[str, str]] = {}
    for name, backend in codegen.backends().items():
        try:
            outputs[name] = backend.generate(schema)
        except Exception as exc:  # one backend's failure leaves its peer unbuilt, not the others
            print(f"codegen {name}: cannot generate for {schema.path}: {type(exc).__name__}: {exc}")
    generated = {rel for files in outputs.values() for rel in files}
    for peer in sorted(source.iterdir()):
        if peer.is_dir() and (peer / "peer.toml").is_file():
            _sync(peer, dest / "peers" / peer.name, dest, generated)
    for files in outputs.values():
        for rel, text in files.items():
            path = dest / rel
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
    return dest


def _sync(src: Path, dst: Path, top: Path, generated: set[str]) -> None:
    """Make dst a copy of src (leaving build outputs and generated files alone)."""
    dst.mkdir(parents=True, exist_ok=True)
    names = {p.name for p in src.iterdir() if p.name not in SKIP}
    for old in dst.iterdir():
        rel = old.relative_to(top).as_posix()
        if old.name not in names and old.name not in SKIP and rel not in generated and not _holds(rel, generated):
            shutil.rmtree(old) if old.is_dir() and not old.is_symlink() else old.unlink()
    for name in sorted(names):
        s, d = src / name, dst / name
        rel = d.relative_to(top).as_posix()
        if rel in generated:
            continue
        if s.is_dir():
            _sync(s, d, top, generated)
        elif not d.exists() or not filecmp.cmp(s, d, shallow=False):
            shutil.copy2(s, d)


def _holds(rel: str, generated: set[str]) -> bool:
    """Whether a folder holds generated files."""
    return any(g.startswith(rel + "/") for g in generated)
