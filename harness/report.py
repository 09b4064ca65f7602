"""Reports of a matrix run: a sender x receiver table per transport (rich), the failures with
their details, and a JSON file with one record per cell."""
from __future__ import annotations

import collections
import json
import platform
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .matrix import Result

STATUSES = ("pass", "fail", "xfail", "xpass", "skip")
_STYLE = {"pass": "green", "fail": "bold red", "xfail": "yellow", "xpass": "bold magenta", "skip": "dim"}


def counts(results: list[Result]) -> collections.Counter:
    return collections.Counter(r.status for r in results)


def _cell_text(c: collections.Counter) -> str:
    parts = [f"[{_STYLE[s]}]{c[s]} {s}[/]" for s in STATUSES if c[s]]
    return "\n".join(parts) or "-"


def tables(results: list[Result]) -> list[tuple[str, Table]]:
    """(title, table): one for the peers alone (encode/decode), one per transport (send/echo)."""
    out: list[tuple[str, Table]] = []
    solo = [r for r in results if r.cell.transport == "-"]
    if solo:
        peers = list(dict.fromkeys(r.cell.sender for r in solo))
        kinds = list(dict.fromkeys(r.cell.kind for r in solo))
        t = Table()
        t.add_column("peer")
        for k in kinds:
            t.add_column(k)
        for p in peers:
            t.add_row(p, *(_cell_text(counts([r for r in solo if r.cell.sender == p and r.cell.kind == k]))
                           for k in kinds))
        out.append(("each peer alone against the golden vectors", t))
    for transport in dict.fromkeys(r.cell.transport for r in results if r.cell.transport != "-"):
        rows = [r for r in results if r.cell.transport == transport]
        senders = list(dict.fromkeys(r.cell.sender for r in rows))
        receivers = list(dict.fromkeys(r.cell.receiver for r in rows))
        t = Table()
        t.add_column("sender \\ receiver")
        for r in receivers:
            t.add_column(r)
        for s in senders:
            t.add_row(s, *(_cell_text(counts([x for x in rows if x.cell.sender == s and x.cell.receiver == r]))
                           for r in receivers))
        out.append((f"{transport}: sender (row) x receiver (column), send and echo", t))
    return out


def print_report(results: list[Result], console: Console, max_failures: int = 30) -> None:
    bad = [r for r in results if r.status in ("fail", "xpass")]
    for r in bad[:max_failures]:
        console.print(f"[bold red]{r.status.upper()}[/] {r.cell.id}", highlight=False, soft_wrap=True)
        console.print("  " + r.detail.replace("\n", "\n  "), highlight=False, markup=False, soft_wrap=True)
    if len(bad) > max_failures:
        console.print(f"... and {len(bad) - max_failures} more failures (see --json)")
    for title, t in tables(results):
        console.print(f"[bold]{title}[/]", soft_wrap=True)
        console.print(t)
    skipped = collections.Counter(r.detail for r in results if r.status == "skip")
    for reason, n in skipped.items():
        console.print(f"[dim]skipped {n}: {reason}[/]", highlight=False)
    c = counts(results)
    console.print(", ".join(f"{c[s]} {s}" for s in STATUSES if c[s]) or "nothing ran", highlight=False)


def write_json(results: list[Result], path: Path) -> None:
    doc = {
        "format": "crosswire-matrix/1",
        "machine": {"system": platform.system(), "machine": platform.machine(),
                    "python": sys.version.split()[0]},
        "counts": dict(counts(results)),
        "results": [r.record() for r in results],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
