"""Expected-failure lists: data beside each peer, protobuf conformance's failure_list_*.txt.

`peers/<name>/expected_failures.txt`, one cell a line:

    python->c-uds-text.multibyte    # likely cause: nul_counted
    c-encode-big_number.*           # bigint

The first word is a cell id (globs allowed); the text after `#` is optional, and when given
the failure's detail must contain it. A listed cell that fails that way is an expected failure
(xfail) and does not fail the run; one that fails another way stays a failure; one that now
passes is an unexpected pass (xpass) and DOES fail the run, so the list never rots.
Unsupported features are not listed here: they come from the manifest and are skips.
`python -m harness expected --update` rewrites the lists from the last run.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, replace
from pathlib import Path

from .matrix import Result
from .peers import PeerSpec

FILENAME = "expected_failures.txt"


@dataclass(frozen=True)
class Entry:
    pattern: str
    message: str
    source: Path
    line: int


def load(registry: dict[str, PeerSpec]) -> list[Entry]:
    """Every entry of every peer's list (variants share their base peer's folder and list)."""
    entries: list[Entry] = []
    for d in dict.fromkeys(spec.dir for spec in registry.values()):
        path = d / FILENAME
        if not path.exists():
            continue
        for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            text, _, note = raw.partition("#")
            if text.strip():
                entries.append(Entry(text.split()[0], note.strip(), path, n))
    return entries


def apply(results: list[Result], entries: list[Entry]) -> list[Result]:
    """Results with listed failures turned into xfail and listed passes into xpass."""
    out = []
    for r in results:
        entry = next((e for e in entries if fnmatch.fnmatchcase(r.cell.id, e.pattern)), None)
        if entry is None or r.status == "skip":
            out.append(r)
        elif r.status == "pass":
            out.append(replace(r, status="xpass", detail=f"unexpected pass: remove line {entry.line} "
                               f"({entry.pattern}) from {entry.source}"))
        elif entry.message and entry.message not in r.detail:
            out.append(replace(r, detail=f"failed, but not as {entry.source.name} line {entry.line} expects "
                               f"({entry.message!r}):\n{r.detail}"))
        else:
            out.append(replace(r, status="xfail"))
    return out


def owner(result: Result, results: list[Result]) -> str:
    """Whose list a failing cell belongs on: the peer alone for encode/decode; for an exchange,
    the sender when it encodes the case wrongly on its own, else the receiver."""
    c = result.cell
    if c.kind in ("encode", "decode"):
        return c.sender
    sender_encode = next((r for r in results if r.cell.kind == "encode" and r.cell.sender == c.sender
                          and r.cell.case.id == c.case.id), None)
    if sender_encode is not None and sender_encode.status in ("fail", "xfail"):
        return c.sender
    return c.receiver


def rewrite(results: list[Result], registry: dict[str, PeerSpec]) -> dict[Path, int]:
    """Rewrite every peer's list to the failures of this run; returns entries written per file."""
    lines: dict[Path, list[str]] = {}
    for spec in registry.values():
        lines.setdefault(spec.dir / FILENAME, [])
    for r in results:
        if r.status in ("fail", "xfail"):
            path = registry[owner(r, results)].dir / FILENAME
            first = next((ln for ln in r.detail.splitlines() if ln.startswith("likely cause:")), r.detail.splitlines()[0])
            lines[path].append(f"{r.cell.id}  # {first[:100].replace('#', '')}")
    written = {}
    for path, entries in lines.items():
        if entries:
            head = ["# Expected failures of this peer: `cell-id  # text the failure must contain`.",
                    "# Written by `python -m harness expected --update`; a listed cell that passes fails the run."]
            path.write_text("\n".join(head + sorted(entries)) + "\n", encoding="utf-8")
        elif path.exists():
            path.unlink()
        written[path] = len(entries)
    return written
