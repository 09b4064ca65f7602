"""Reports of a matrix run: a sender x receiver table per transport (rich), the failures with
their details, and a JSON file with one record per cell."""
from __future__ import annotations

import collections
import html
import io
import json
import os
import platform
import shlex
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .errors import CrosswireError
from .matrix import Result

STATUSES = ("pass", "fail", "xfail", "xpass", "skip")
_STYLE = {"pass": "green", "fail": "bold red", "xfail": "yellow", "xpass": "bold magenta", "skip": "dim"}


def counts(results: list[Result]) -> collections.Counter:
    return collections.Counter(r.status for r in results)


def _cell_text(c: collections.Counter) -> str:
    parts = [f"[{_STYLE[s]}]{c[s]} {s}[/]" for s in STATUSES if c[s]]
    return "\n".join(parts) or "-"


def tables(results: list[Result]) -> list[tuple[str, Table]]:
    """(title, table): one for the peers alone (encode/decode/reject), one per transport
    (send/echo), one for the hostile frames."""
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
    linked = [r for r in results if r.cell.transport != "-" and r.cell.kind != "hostile"]
    for transport in dict.fromkeys(r.cell.transport for r in linked):
        rows = [r for r in linked if r.cell.transport == transport]
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
    hostile = [r for r in results if r.cell.kind == "hostile"]
    if hostile:
        transports = list(dict.fromkeys(r.cell.transport for r in hostile))
        t = Table()
        t.add_column("receiver \\ transport")
        for name in transports:
            t.add_column(name)
        for p in dict.fromkeys(r.cell.receiver for r in hostile):
            t.add_row(p, *(_cell_text(counts([r for r in hostile if r.cell.receiver == p and r.cell.transport == name]))
                           for name in transports))
        out.append(("hostile frames written by the reference peer: receiver (row) x transport (column)", t))
    return out


def rerun(result: Result) -> str:
    """The one-line command that reruns only this cell."""
    return f"python -m harness matrix --only {shlex.quote(result.cell.id)}"


def print_report(results: list[Result], console: Console, verbose: bool = False, max_examples: int = 10) -> None:
    """The findings (failing cells grouped by root cause: one example each), or with `verbose`
    every failing cell; then the tables, the skip reasons and the counts."""
    from .findings import group
    bad = [r for r in results if r.status in ("fail", "xpass")]
    if verbose:
        for r in bad:
            _print_cell(r, console)
    found = group(results)
    if found:
        console.print(f"[bold]{len(found)} root cause{'s' if len(found) > 1 else ''} in {len(bad)} failing "
                      f"cell{'s' if len(bad) > 1 else ''}[/]", highlight=False)
    for i, f in enumerate(found, 1):
        console.print(f"[bold red]FINDING {i}[/] {f.key}: {len(f.results)} cell{'s' if len(f.results) > 1 else ''} "
                      f"({f.spread()})", highlight=False, soft_wrap=True)
        if i <= max_examples and not verbose:
            console.print(f"  example: {f.example.cell.id}", highlight=False, markup=False, soft_wrap=True)
            console.print("  " + f.example.detail.replace("\n", "\n  "), highlight=False, markup=False, soft_wrap=True)
            console.print(f"  rerun: {rerun(f.example)}", highlight=False, markup=False, soft_wrap=True)
    if len(found) > max_examples and not verbose:
        console.print(f"(examples of the first {max_examples} findings shown; -v prints every failing cell)")
    print_tables(results, console)


def _print_cell(r: Result, console: Console) -> None:
    console.print(f"[bold red]{r.status.upper()}[/] {r.cell.id}", highlight=False, soft_wrap=True)
    console.print("  " + r.detail.replace("\n", "\n  "), highlight=False, markup=False, soft_wrap=True)
    console.print(f"  rerun: {rerun(r)}", highlight=False, markup=False, soft_wrap=True)


def print_tables(results: list[Result], console: Console) -> None:
    """The summary: a table per transport, the skip reasons and the counts."""
    for title, t in tables(results):
        console.print(f"[bold]{title}[/]", soft_wrap=True)
        console.print(t)
    skipped = collections.Counter(r.detail for r in results if r.status == "skip")
    for reason, n in skipped.items():
        console.print(f"[dim]skipped {n}: {reason}[/]", highlight=False)
    c = counts(results)
    console.print(", ".join(f"{c[s]} {s}" for s in STATUSES if c[s]) or "nothing ran", highlight=False)


def check_writable(path: Path, what: str) -> None:
    """Before a run: the report's folder exists (or can be made) and takes a new file, and the
    path is not a folder. A one-line CrosswireError otherwise, so no run ends in a traceback."""
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise CrosswireError(f"{what} {path}: is a folder")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=".crosswire-check-")
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise CrosswireError(f"{what} {path}: cannot write there: {exc.strerror or exc}") from None


def write_atomically(path: Path, data: bytes) -> None:
    """Write a temporary file beside path, then rename it over path: a reader never sees half a
    report, a full disk leaves the old one, and a symlink at path is replaced, not followed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise CrosswireError(f"cannot write {path}: {exc.strerror or exc}") from None


def write_json(results: list[Result], path: Path, keep: list[dict] = ()) -> None:
    """One record per cell; with `keep` (the previous run's records), those of cells this run
    did not select stay, so a subset run updates the last run rather than replacing it."""
    records = [r.record() for r in results]
    ran = {r["id"] for r in records}
    records = [r for r in keep if r.get("id") not in ran] + records
    doc = {
        "format": "crosswire-matrix/1",
        "machine": {"system": platform.system(), "machine": platform.machine(),
                    "python": sys.version.split()[0]},
        "counts": dict(collections.Counter(r["status"] for r in records)),
        "results": records,
    }
    write_atomically(path, (json.dumps(doc, indent=1) + "\n").encode("utf-8"))


# ------------------------------------------------------------------ the previous run


def compare(previous: list[dict], results: list[Result], selected: set[str] | None = None) -> dict[str, list[str]]:
    """fixed / broken / added / removed against the records of the previous run, only among the
    `selected` cell ids when the run selected some (a subset run removes nothing). A cell works
    (pass, xpass) or fails (fail, xfail): being listed as expected changes neither."""
    works, fails = ("pass", "xpass"), ("fail", "xfail")
    before = {r["id"]: r["status"] for r in previous if selected is None or r.get("id") in selected}
    now = {r.cell.id: r.status for r in results}
    both = now.keys() & before.keys()
    return {
        "fixed": sorted(i for i in both if before[i] in fails and now[i] in works),
        "broken": sorted(i for i in both if before[i] in works and now[i] in fails),
        "added": sorted(now.keys() - before.keys()),
        "removed": sorted(before.keys() - now.keys()),
    }


def print_comparison(changes: dict[str, list[str]], console: Console) -> None:
    console.print("against the previous run: " + ", ".join(f"{len(v)} {k}" for k, v in changes.items()),
                  highlight=False)
    for kind in ("broken", "fixed"):
        for cid in changes[kind][:10]:
            console.print(f"  {kind}: {cid}", highlight=False, markup=False)


def read_records(path: Path) -> list[dict]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))["results"]
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return []


# ------------------------------------------------------------------ JUnit XML


def write_junit(results: list[Result], path: Path) -> None:
    """One testcase per cell, classname = transport (or 'codec'), name = the cell id."""
    c = counts(results)
    suite = ET.Element("testsuite", name="crosswire", tests=str(len(results)),
                       failures=str(c["fail"] + c["xpass"]), skipped=str(c["skip"] + c["xfail"]))
    for r in results:
        case = ET.SubElement(suite, "testcase", classname=f"crosswire.{r.cell.transport.replace('-', 'codec')}",
                             name=r.cell.id, time=f"{r.seconds:.6f}")
        if r.status in ("fail", "xpass"):
            ET.SubElement(case, "failure", message=r.detail.splitlines()[0][:200] if r.detail else r.status).text = \
                r.detail + "\nrerun: " + rerun(r)
        elif r.status in ("skip", "xfail"):
            ET.SubElement(case, "skipped", message=("expected failure: " if r.status == "xfail" else "") + r.detail[:200])
    out = io.BytesIO()
    ET.ElementTree(suite).write(out, encoding="utf-8", xml_declaration=True)
    write_atomically(path, out.getvalue())


# ------------------------------------------------------------------ HTML


_CSS = """
body{font:14px system-ui,sans-serif;margin:2em;color:#222}
table.grid{border-collapse:collapse;margin:1em 0}
.grid td,.grid th{border:1px solid #bbb;padding:.5em .8em;text-align:center}
.grid a{text-decoration:none;color:inherit;display:block}
td.ok{background:#d8f5d0} td.bad{background:#f8c8c8} td.mixed{background:#fbe8b0} td.none{background:#eee}
details{margin:.3em 0;border-left:4px solid #c33;padding-left:.6em} details.xfail{border-color:#c90}
pre{background:#f6f6f6;padding:.6em;overflow:auto;font-size:12px}
pre .diff{background:#fde2e2} pre .mark{color:#c00;font-weight:bold} pre .cause{font-weight:bold}
dl.meta{display:grid;grid-template-columns:max-content auto;gap:.2em 1em} dl.meta dt{font-weight:bold}
.finding{border:1px solid #c33;border-radius:4px;padding:.4em .8em;margin:.6em 0}
"""
_JS = """
function openTarget(){var id=decodeURIComponent(location.hash.slice(1));var el=id&&document.getElementById(id);
 if(el&&el.tagName==='DETAILS'){el.open=true;el.scrollIntoView();}
 if(el&&el.dataset.cells){var first=null;document.querySelectorAll('details[data-pair="'+id+'"]').forEach(function(d){
  d.open=true;first=first||d;});if(first){requestAnimationFrame(function(){first.scrollIntoView();});}}}
window.addEventListener('hashchange',openTarget);window.addEventListener('DOMContentLoaded',openTarget);
"""


def _pre(detail: str) -> str:
    """A diagnosis as <pre>, its differing rows, their values and the ^ marks under a hex dump
    coloured, the likely cause in bold."""
    out = []
    for line in detail.split("\n"):
        text = html.escape(line)
        stripped = line.strip()
        if line.startswith((">>", " *")) or stripped.startswith("values:"):
            text = f"<span class=diff>{text}</span>"
        elif stripped and set(stripped) <= {"^", " "}:
            text = f"<span class=mark>{text}</span>"
        elif line.startswith("likely cause:"):
            text = f"<span class=cause>{text}</span>"
        out.append(text)
    return "<pre>" + "\n".join(out) + "</pre>"


def write_html(results: list[Result], path: Path, title: str = "crosswire interop matrix",
               meta: dict | None = None) -> None:
    """A self-contained page: the run's facts, the findings (failing cells grouped by root cause,
    one example each), a grid per transport whose cells link to their failures (a pair with any
    failure is red), and each failure's diagnosis in a <details> that opens when linked to."""
    from .findings import group, key
    e = html.escape
    c = counts(results)
    parts = [f"<!doctype html><meta charset=utf-8><title>{e(title)}</title><style>{_CSS}</style>",
             f"<script>{_JS}</script><h1>{e(title)}</h1>",
             f"<p id=summary>{e(', '.join(f'{c[s]} {s}' for s in STATUSES if c[s]))}</p>"]
    facts = {k: v for k, v in (meta or {}).items() if v not in (None, "", [], {})}
    if facts:
        parts.append("<dl class=meta>" + "".join(
            f"<dt>{e(str(k))}</dt><dd>{e(v if isinstance(v, str) else json.dumps(v))}</dd>" for k, v in facts.items())
            + "</dl>")
    found = group(results)
    if found:
        bad = sum(len(f.results) for f in found)
        parts.append(f"<h2 id=findings>{len(found)} root cause{'s' if len(found) > 1 else ''} in {bad} failing "
                     f"cell{'s' if bad > 1 else ''}</h2>")
        for i, f in enumerate(found, 1):
            ex = f.example
            parts.append(f'<div class=finding id="finding-{i}"><p><b>{i}. {e(str(f.key))}</b>: {len(f.results)} '
                         f"cell{'s' if len(f.results) > 1 else ''} ({e(f.spread())})</p>"
                         f'<p>example: <a href="#{e(ex.cell.id)}">{e(ex.cell.id)}</a>; rerun: '
                         f"<code>{e(rerun(ex))}</code></p>{_pre(ex.detail)}"
                         f"<details class=cells><summary>the {len(f.results)} cells</summary>" +
                         " ".join(f'<a href="#{e(r.cell.id)}">{e(r.cell.id)}</a>' for r in f.results) +
                         "</details></div>")
    groups = collections.OrderedDict()
    for r in results:
        name = r.cell.transport if r.cell.transport != "-" else "codec"
        groups.setdefault(name, []).append(r)
    for transport, rows in groups.items():
        senders = list(dict.fromkeys(r.cell.sender for r in rows))
        receivers = list(dict.fromkeys(r.cell.receiver for r in rows)) if transport != "codec" else ["alone"]
        heading = ("each peer alone (encode, decode)" if transport == "codec"
                   else f"{transport}: sender (row) x receiver (column)")
        parts.append(f"<h2>{e(heading)}</h2><table class=grid><tr><th></th>" +
                     "".join(f"<th>{e(x)}</th>" for x in receivers) + "</tr>")
        for s in senders:
            parts.append(f"<tr><th>{e(s)}</th>")
            for rcv in receivers:
                cell_rows = [r for r in rows if r.cell.sender == s and (transport == "codec" or r.cell.receiver == rcv)]
                k = counts(cell_rows)
                cls = ("none" if not cell_rows else "bad" if k["fail"] + k["xpass"] else "mixed" if k["xfail"]
                       else "ok")
                pair = f"pair-{transport}-{s}-{rcv}"
                text = "<br>".join(f"{k[x]} {x}" for x in STATUSES if k[x]) or "-"
                parts.append(f'<td class={cls} id="{e(pair)}" data-cells={len(cell_rows)}>'
                             f'<a href="#{e(pair)}">{text}</a></td>')
            parts.append("</tr>")
        parts.append("</table>")
        for r in rows:
            if r.status not in ("fail", "xpass", "xfail"):
                continue
            rcv = "alone" if transport == "codec" else r.cell.receiver
            pair = f"pair-{transport}-{r.cell.sender}-{rcv}"
            cause = f" — {key(r)}" if r.status != "xfail" else ""
            parts.append(f'<details id="{e(r.cell.id)}" class={r.status} data-pair="{e(pair)}">'
                         f"<summary>{e(r.status.upper())} {e(r.cell.id)}{e(cause)}</summary>"
                         f"{_pre(r.detail)}<p>rerun: <code>{e(rerun(r))}</code></p></details>")
    write_atomically(path, ("\n".join(parts) + "\n").encode("utf-8"))


# ------------------------------------------------------------------ Markdown (a CI job's summary)


def write_markdown(results: list[Result], path: Path, max_findings: int = 20) -> None:
    """A short summary for a CI page (GitHub's $GITHUB_STEP_SUMMARY): the counts, then the
    findings (root causes) with their size, an example cell and the command that reruns it."""
    from .findings import group
    c = counts(results)
    found = group(results)
    lines = ["## crosswire interop matrix", "",
             ", ".join(f"{c[s]} {s}" for s in STATUSES if c[s]) or "nothing ran", ""]
    if found:
        lines += [f"### {len(found)} root cause{'s' if len(found) > 1 else ''}", "",
                  "| # | finding | cells | example | rerun |", "|---:|---|---:|---|---|"]
        cell = lambda text: text.replace("|", "\\|").replace("\n", " ")    # noqa: E731 - a table cell
        for i, f in enumerate(found[:max_findings], 1):
            lines.append(f"| {i} | {cell(str(f.key))} | {len(f.results)} | `{cell(f.example.cell.id)}` | "
                         f"`{cell(rerun(f.example))}` |")
        if len(found) > max_findings:
            lines.append(f"\n... and {len(found) - max_findings} more findings (see the HTML report)")
    write_atomically(path, ("\n".join(lines) + "\n").encode("utf-8"))
