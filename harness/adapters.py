"""Adapter peers: a peer around an existing library (docs/kits.md, "Adapters").

`crosswire new-peer NAME --lang L --adapter [--frames]` writes, from the codegen backend of L,
the files that are the user's (the manifest, the build file, the main, one pair of stubs per
message), vendors the kit of L into the project's kits folder, and writes the generated files.
`crosswire build` (and check-peer) calls `prepare()` for every peer whose manifest has an
[adapter] table before its build command: the generated files follow the schema, the stubs
stay as the user wrote them.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from . import codegen, kits
from .errors import CrosswireError
from .peers import PeerSpec


def languages() -> list[str]:
    """The codegen backends that can make an adapter peer."""
    return [n for n, b in codegen.backends().items() if hasattr(_module(b), "adapter_files")]


def _module(backend: Any) -> Any:
    import importlib
    return importlib.import_module(type(backend).__module__)


def _backend(lang: str) -> Any:
    if lang not in languages():
        raise CrosswireError(f"no adapter generator for language {lang!r}; there are: {', '.join(languages()) or 'none'}")
    return _module(codegen.backends()[lang])


def _write(folder: Path, files: dict[str, str], only_new: bool) -> list[Path]:
    written = []
    for rel, text in files.items():
        path = folder / rel
        if path.exists() and (only_new or path.read_text(encoding="utf-8") == text):
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def create(project: Any, name: str, lang: str, frames: bool) -> list[Path]:
    """Write peers/<name>/ as an adapter peer of language `lang`; the paths written."""
    from .scaffold import check_name
    module = _backend(lang)
    target = check_name(project, name)
    if frames and project.schema.frame is None:
        raise CrosswireError("--frames: the schema declares no frame, so there are no whole frames to write")
    kit_dir = kits.ensure(project.kits_dir, lang)
    kit_rel = os.path.relpath(kit_dir, target)
    written = _write(target, module.adapter_files(project.schema, name, kit_rel, frames), only_new=True)
    written += _write(target, module.adapter_generated(project.schema, frames), only_new=False)
    return written


def prepare(project: Any, spec: PeerSpec) -> list[Path]:
    """Before an adapter peer builds: its kit vendored, its generated files up to date."""
    if not spec.adapter or spec.base:
        return []
    module = _backend(spec.adapter)
    kits.ensure(project.kits_dir, spec.adapter)
    return _write(spec.dir, module.adapter_generated(project.schema, spec.frames), only_new=False)
