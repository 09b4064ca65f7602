"""Peer kits: the protocol-free part of a peer, per language, that ships with crosswire.

A kit is the folder `peers/<lang>/kit/` of crosswire's checkout (docs/kits.md). The reference
peers build against it where it is; a project's own peers (adapters) build against a vendored
copy in the project's kits folder (`crosswire kit`, or `crosswire build` on first use). A peer
built on a kit says `kit=<n>` in HELLO; a peer whose kit is not KIT_VERSION is refused, with the
command that re-vendors it (driver.py).
"""
from __future__ import annotations

import shutil
from pathlib import Path

from . import reference
from .errors import CrosswireError

KIT_VERSION = 1
SKIP = {"build", "target", "__pycache__", ".git"}


def source(lang: str) -> Path:
    """The kit of `lang` in crosswire's checkout (or its installed copy)."""
    root = reference.checkout() / "peers"
    kit = root / lang / "kit"
    if not kit.is_dir():
        known = sorted(d.parent.name for d in root.glob("*/kit") if d.is_dir())
        raise CrosswireError(f"no kit for language {lang!r}; there are kits for: {', '.join(known) or 'none'}")
    return kit


def vendor(lang: str, out: Path) -> list[Path]:
    """Copy the kit of `lang` into `out` (files that differ only); the files written."""
    src = source(lang)
    if out.exists() and not out.is_dir():
        raise CrosswireError(f"--out {out}: not a folder")
    written = []
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if set(rel.parts) & SKIP or path.is_dir():
            continue
        dest = out / rel
        if dest.is_file() and dest.read_bytes() == path.read_bytes():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest)
        written.append(dest)
    return written


def ensure(kits_dir: Path, lang: str) -> Path:
    """The vendored kit of `lang` under `kits_dir`, vendored first when it is not there."""
    out = kits_dir / lang
    if not out.is_dir() or not any(out.iterdir()):
        vendor(lang, out)
    return out


def hello_problem(facts: dict[str, str], lang: str) -> str | None:
    """Why a peer's HELLO shows a kit the harness cannot work with, else None."""
    said = facts.get("kit")
    if said is None or said == str(KIT_VERSION):
        return None
    return (f"built on kit {said}, but this crosswire speaks kit {KIT_VERSION}: vendor the kit again "
            f"(`crosswire kit --lang {lang}`) and rebuild (`crosswire build`)")
