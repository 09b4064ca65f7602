"""Expected-failure lists: data beside each peer, protobuf conformance's failure_list_*.txt.

`peers/<name>/expected_failures.txt`, one cell a line:

    python->c-uds-text.multibyte    # likely cause: nul_counted
    c-encode-big_number.*           # bigint

The first word is a cell id (globs allowed); the text after `#` is optional, and when given
the failure's detail must contain it. A line can also name a field and a cause, for a library
that gets one thing wrong in many cells:

    *  field=ReadCoilsResponse.*  cause=const     # the library writes 0 there

`field=GLOB` (a field path the failure names) and `cause=WORD` (the error code or likely cause
it gives: const, byteswap, length, ...) narrow the line; a line may start with them (every cell). A listed cell that fails that way is an expected failure
(xfail) and does not fail the run; one that fails another way stays a failure; one that now
passes is an unexpected pass (xpass) and DOES fail the run, so the list never rots.
Unsupported features are not listed here: they come from the manifest and are skips.
`python -m harness expected --update` rewrites the lists from the last run.
"""
from __future__ import annotations

import fnmatch
import re
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
    field: str = ""       # a glob the failure's field paths must match
    cause: str = ""       # the error code or likely cause the failure must give

    def matches(self, result: Result) -> bool:
        if not fnmatch.fnmatchcase(result.cell.id, self.pattern):
            return False
        if not (self.field or self.cause):
            return True
        return result.status != "pass" and self.names(result.detail)   # a pass names nothing: see stale()

    def names(self, detail: str) -> bool:
        """Whether a failure's detail names the field and the cause of this line."""
        words = [w.strip(":,;()[]'\"") for w in detail.split()]
        if self.field and not any(fnmatch.fnmatchcase(w, self.field) for w in words if "." in w):
            return False
        if self.cause and not re.search(rf"(likely cause: {re.escape(self.cause)}\b|\b(decode|encode) "
                                        rf"{re.escape(self.cause)}\b)", detail):
            return False
        return True


def parse_line(text: str, path: Path, n: int) -> Entry | None:
    body, _, note = text.partition("#")
    words = body.split()
    if not words:
        return None
    pattern = "*" if "=" in words[0] else words[0]
    keys = dict(w.split("=", 1) for w in words if "=" in w)
    bad = sorted(set(keys) - {"field", "cause"})
    if bad or (pattern != "*" and len(words) - len(keys) > 1):
        from .errors import CrosswireError
        raise CrosswireError(f"{path}:{n}: expected `cell-id [field=GLOB] [cause=WORD] [# text]`, got {text.strip()!r}")
    return Entry(pattern, note.strip(), path, n, keys.get("field", ""), keys.get("cause", ""))


def load(registry: dict[str, PeerSpec]) -> list[Entry]:
    """Every entry of every peer's list (variants share their base peer's folder and list)."""
    entries: list[Entry] = []
    for d in dict.fromkeys(spec.dir for spec in registry.values()):
        path = d / FILENAME
        if not path.exists():
            continue
        for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            entry = parse_line(raw, path, n)
            if entry is not None:
                entries.append(entry)
    return entries


def apply(results: list[Result], entries: list[Entry], registry: dict[str, PeerSpec] | None = None) -> list[Result]:
    """Results with listed failures (and failures a peer's declared quirks explain, with
    `registry`) turned into xfail, and listed passes into xpass."""
    from . import quirks
    out = []
    for r in results:
        why = quirks.reason(r.cell, registry) if registry and r.status != "skip" else None
        if why:
            out.append(replace(r, status="xpass", detail=f"unexpected pass: {why}, but the cell passed; remove "
                               "the quirk from the manifest") if r.status == "pass"
                       else replace(r, status="xfail", detail=f"expected: {why}\n{r.detail}"))
            continue
        entry = next((e for e in entries if e.matches(r)), None)
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


def stale(results: list[Result], entries: list[Entry]) -> list[str]:
    """Lines with field= or cause= that explain no failure of a run in which cells they cover ran:
    the library no longer does that, so the line goes (the other lines rot as xpass cells)."""
    out = []
    for e in entries:
        if not (e.field or e.cause):
            continue
        ran = [r for r in results if r.status != "skip" and fnmatch.fnmatchcase(r.cell.id, e.pattern)]
        if ran and not any(r.status == "xfail" and e.names(r.detail) for r in ran):
            out.append(f"{e.source}:{e.line}: `{e.pattern} field={e.field or '*'} cause={e.cause or '*'}` explains "
                       f"none of the {len(ran)} cells it covers in this run: remove it")
    return out


def owner(result: Result, results: list[Result], registry: dict[str, PeerSpec] | None = None) -> str:
    """Whose list a failing cell belongs on: the peer alone for encode/decode; for an exchange,
    the sender when it encodes the case wrongly on its own, else the receiver; never a
    reference peer (crosswire's, built for the project's schema) when the other side is not one."""
    c = result.cell
    if c.kind in ("encode", "decode"):
        return c.sender
    if registry is not None:
        ref = {n: _is_reference(registry[n]) for n in (c.sender, c.receiver) if n in registry}
        if ref.get(c.sender) and ref.get(c.receiver) is False:
            return c.receiver
        if ref.get(c.receiver) and ref.get(c.sender) is False:
            return c.sender
    sender_encode = next((r for r in results if r.cell.kind == "encode" and r.cell.sender == c.sender
                          and r.cell.case.id == c.case.id), None)
    if sender_encode is not None and sender_encode.status in ("fail", "xfail"):
        return c.sender
    return c.receiver


def rewrite(results: list[Result], registry: dict[str, PeerSpec]) -> dict[Path, int]:
    """Rewrite every peer's list to the failures of this run; returns entries written per file.
    Failures a declared quirk explains are not listed; field= and cause= lines are kept, and the
    failures they explain are not listed one by one."""
    from . import quirks
    lines: dict[Path, list[str]] = {}
    for spec in registry.values():
        lines.setdefault(spec.dir / FILENAME, [])
    kept = [e for e in load(registry) if e.field or e.cause]
    for e in kept:
        raw = e.source.read_text(encoding="utf-8").splitlines()[e.line - 1]
        lines.setdefault(e.source, []).append(raw.strip())
    for r in results:
        if quirks.reason(r.cell, registry) or any(e.matches(r) for e in kept):
            continue
        if r.status in ("fail", "xfail"):
            path = registry[owner(r, results, registry)].dir / FILENAME
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


def _is_reference(spec: PeerSpec) -> bool:
    """Whether a peer is one of crosswire's reference peers copied for a project's schema."""
    return "reference" in spec.dir.parts and "build" in spec.dir.parts
