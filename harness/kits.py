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

KIT_VERSION = 2
SKIP = {"build", "target", "__pycache__", ".git"}


def source(lang: str) -> Path:
    """The kit of `lang` in crosswire's checkout (or its installed copy)."""
    root = reference.checkout() / "peers"
    kit = root / lang / "kit"
    if not kit.is_dir():
        known = sorted(d.parent.name for d in root.glob("*/kit") if d.is_dir())
        raise CrosswireError(f"no kit for language {lang!r}; there are kits for: {', '.join(known) or 'none'}")
    return kit


MANIFEST = ".crosswire-kit"   # in a vendored kit: its language, version and files, for the next vendoring


def vendor(lang: str, out: Path) -> list[Path]:
    """Bring `out` in line with the kit of `lang`: files that differ are written, files an earlier
    vendoring wrote that the kit no longer has are removed (a Go or C build would compile them);
    the files written."""
    src = source(lang)
    if out.exists() and not out.is_dir():
        raise CrosswireError(f"--out {out}: not a folder")
    mark = out / MANIFEST
    if out.is_dir() and any(out.iterdir()) and not mark.is_file():
        raise CrosswireError(f"{out} is not empty and holds no vendored kit ({MANIFEST}): choose another folder")
    files = sorted(p.relative_to(src) for p in src.rglob("*")
                   if p.is_file() and not set(p.relative_to(src).parts) & SKIP)
    before = set(mark.read_text(encoding="utf-8").splitlines()[1:]) if mark.is_file() else set()
    written = []
    for rel in files:
        path, dest = src / rel, out / rel
        if dest.is_file() and dest.read_bytes() == path.read_bytes():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest)
        written.append(dest)
    for gone in sorted(before - {r.as_posix() for r in files}):
        (out / gone).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    text = "\n".join([f"{lang} kit {KIT_VERSION} (crosswire kit --lang {lang}); do not edit these files",
                      *(r.as_posix() for r in files)]) + "\n"
    if not mark.is_file() or mark.read_text(encoding="utf-8") != text:
        mark.write_text(text, encoding="utf-8")
    return written


def ensure(kits_dir: Path, lang: str) -> Path:
    """The vendored kit of `lang` under `kits_dir`, brought up to date with this crosswire's (a
    kit changed since it was vendored would not build against the generated code of today)."""
    out = kits_dir / lang
    vendor(lang, out)
    return out


def hello_problem(facts: dict[str, str], lang: str) -> str | None:
    """Why a peer's HELLO shows a kit the harness cannot work with, else None."""
    said = facts.get("kit")
    if said is None or said == str(KIT_VERSION):
        return None
    return (f"built on kit {said}, but this crosswire speaks kit {KIT_VERSION}: vendor the kit again "
            f"(`crosswire kit --lang {lang}`) and rebuild (`crosswire build`)")
