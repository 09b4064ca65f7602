"""`crosswire` (or `python -m harness`): init, peers, build, matrix, check-peer, new-peer, kit, ...

Exit status: 0 all good, 1 an unexpected failure in the run, 2 the run could not start
(bad schema, unknown peer, ...), 130 interrupted. Errors are one line, never a traceback.
"""
from __future__ import annotations

import argparse
import functools
import math
import signal
import sys
from pathlib import Path
from typing import Any

from . import __version__
from .errors import CrosswireError
from .kits import KIT_VERSION
from .peers import CONTRACT_VERSION
from .project import Project


def _csv(text: str) -> list[str]:
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts:
        raise argparse.ArgumentTypeError(f"{text!r} names nothing: give comma-separated names or patterns")
    return parts


def _number(kind: type, low: float, high: float) -> Any:
    """An argparse type: a finite number of `kind` in low..high, else a one-line usage error."""
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
        if not math.isfinite(value) or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text!r} is out of range: {low:g} to {high:g}")
        return value
    return parse


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="crosswire", description="crosswire: cross-language IPC interop harness")
    p.add_argument("--version", action="version", version=f"crosswire {__version__} (kit {KIT_VERSION}, contract {CONTRACT_VERSION})")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--project", "--root", dest="root", type=Path, metavar="DIR",
                        help="the crosswire project (default: the nearest folder at or above the current one "
                             "with a crosswire.toml or a [tool.crosswire] in its pyproject.toml)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser = functools.partial(sub.add_parser, parents=[common])  # type: ignore[method-assign]

    s = sub.add_parser("init", help="make a crosswire project here (or in DIR): a config, a starter schema, "
                       "its vectors and a README section saying what to do next")
    s.add_argument("dir", nargs="?", type=Path, default=Path("."), help="the folder (default: the current one)")
    s.add_argument("--pyproject", action="store_true",
                   help="put the config in [tool.crosswire] of DIR/pyproject.toml instead of crosswire.toml")

    s = sub.add_parser("kit", help="vendor a language's peer kit (the protocol-free part of a peer) into a folder")
    s.add_argument("--lang", required=True, help="c, rust, go or python")
    s.add_argument("--out", type=Path, help="the folder (default: the project's kits folder / LANG)")

    s = sub.add_parser("peers", help="list the discovered peers, what they support and whether they can run")
    s.add_argument("--no-hello", action="store_true", help="do not start the peers to ask who they are")

    s = sub.add_parser("build", help="build the peers (what `make peers` runs)")
    s.add_argument("--peers", type=_csv, help="comma-separated peer names (default: all)")
    s.add_argument("--timeout", type=_number(float, 1, 86400), default=None,
                   help="seconds each build may take before it is killed with all it started "
                        "(default: the manifest's build.timeout, else 900)")

    s = sub.add_parser("matrix", help="run the interop matrix and print a sender x receiver table per transport")
    s.add_argument("--peers", type=_csv, help="comma-separated peer names (default: all)")
    s.add_argument("--transports", type=_csv, help="comma-separated transports (default: every known one)")
    s.add_argument("--cases", type=_csv, help="comma-separated glob patterns of case ids, e.g. 'integers.*,floats.snan*'")
    s.add_argument("--kinds", type=_csv, default=None, help="encode,decode,send,echo,reject (default: all)")
    s.add_argument("--only", type=_csv, help="comma-separated cell ids (globs) to run, e.g. 'python->c-uds-text.max'")
    s.add_argument("--json", type=Path, help="write one record per sender, receiver, transport and case here")
    s.add_argument("--junit", type=Path, help="write JUnit XML here (one testcase per cell)")
    s.add_argument("--html", type=Path, help="write a self-contained HTML report here")
    s.add_argument("--markdown", type=Path, help="write a Markdown summary (counts, findings) here, e.g. for a CI job page")
    s.add_argument("--jobs", type=_number(int, 1, 64), default=2, help="connection groups run in parallel (default: 2)")
    s.add_argument("--timeout", type=_number(float, 0.01, 3600), default=10.0,
                   help="seconds a peer may take to answer a request (default: 10; 0.01 to 3600)")
    s.add_argument("--maxfail", type=_number(int, 1, 1 << 40), default=0, metavar="N",
                   help="start no new cell after N failures (listed expected failures do not count)")
    s.add_argument("-x", "--exitfirst", dest="maxfail", action="store_const", const=1, help="--maxfail 1")
    s.add_argument("-v", "--verbose", action="store_true",
                   help="print every failing cell, not one example per root cause")

    s = sub.add_parser("stress", help="stream sequenced frames of the stream message through every pair and count what arrives")
    s.add_argument("--peers", type=_csv, help="comma-separated peer names (default: all)")
    s.add_argument("--transports", type=_csv, default=["shm"], help="default: shm")
    s.add_argument("--count", type=_number(int, 1, 1 << 40), default=1_000_000, help="frames per pair (default: 1,000,000)")
    s.add_argument("--capacity", type=_number(int, 64, 1 << 30), default=4096,
                   help="shm ring capacity in bytes, a power of two (default: 4096)")
    s.add_argument("--max-len", type=_number(int, 0, 1 << 32), default=200, help="most data elements a frame of the stream message carries (default: 200, at most its max)")
    s.add_argument("--json", type=Path, help="write the figures here")

    s = sub.add_parser("bench", help="measure sockets against shared memory for every pair, next to the machine's floors")
    s.add_argument("--quick", action="store_true", help="fewer and shorter repetitions: the same tables in under a minute")
    s.add_argument("--peers", type=_csv, help="comma-separated peer names (default: every built peer but variants)")
    s.add_argument("--transports", type=_csv, default=["uds", "shm", "tcp"], help="default: uds,shm,tcp")
    s.add_argument("--sizes", type=_csv, help="message sizes in bytes (default: 64,4096,1048576)")
    s.add_argument("--no-scaling", action="store_true", help="skip timing the test matrix")
    s.add_argument("--out", type=Path, default=Path("reports"), help="where bench.json, bench.md and the plots go")
    s.add_argument("--readme", type=Path, help="rewrite the comparison table between the bench markers of this file")

    s = sub.add_parser("hostile", help="send the catalogue of malformed and split frames to every peer over every transport")
    s.add_argument("--peers", type=_csv, help="receivers (default: all)")
    s.add_argument("--transports", type=_csv, default=["uds", "shm", "tcp"], help="default: uds,shm,tcp")
    s.add_argument("--sender", default="python", help="the peer that writes the raw bytes (RAW request; default: python)")

    s = sub.add_parser("check-peer", help="check one peer against the contract, on its own: a checklist with the next step")
    s.add_argument("peer", metavar="PATH", help="the peer's folder (or its peer.toml), or a discovered peer's name")
    s.add_argument("--quick", action="store_true", help="a few cases per message and transport instead of all")
    s.add_argument("--no-build", action="store_true", help="do not run the manifest's build step first")
    s.add_argument("--json", type=Path, help="write the checklist here as JSON")

    s = sub.add_parser("new-peer", help="scaffold peers/NAME: a skeleton that answers HELLO and QUIT, or (--adapter) "
                       "a peer around an existing library: kit, generated types and one stub per message")
    s.add_argument("name", nargs="?", help="the peer's name (a folder under the project's peers folder)")
    s.add_argument("--lang", help="the skeleton's language (default: NAME); see --list")
    s.add_argument("--list", action="store_true", help="list the languages that have a skeleton or an adapter")
    s.add_argument("--adapter", action="store_true", help="a peer that wraps a library: encode/decode stubs per message")
    s.add_argument("--frames", action="store_true", help="with --adapter: the library writes and reads whole frames "
                   "(header and checksum), not only payloads")

    s = sub.add_parser("expected", help="show or rewrite the peers' expected-failure lists")
    s.add_argument("--update", action="store_true", help="rewrite every list from the last run (reports/last-run.json)")

    s = sub.add_parser("replay", help="feed captured bytes straight into one peer")
    s.add_argument("--peer", required=True, help="the peer to feed")
    s.add_argument("--message", help="the message the bytes encode (payloads); frames name their own")
    s.add_argument("--bytes", required=True, help="hex, or @FILE for raw bytes")
    s.add_argument("--frame", action="store_true", help="the bytes are frames: written to the peer over a transport")
    s.add_argument("--transport", default="uds", help="for frames: uds, tcp or shm (default: uds); the reference "
                   "peer writes the bytes as they are (its RAW request)")
    s.add_argument("--direction", choices=["request", "response"], help="for frames of a schema whose messages say "
                   "who sends them: what the peer reads them as")

    s = sub.add_parser("codegen", help="write each language's generated types and codec from the schema")
    s.add_argument("--check", action="store_true", help="only report generated files that are missing or stale")
    s.add_argument("--lang", type=_csv, help="comma-separated backends (default: all)")
    s.add_argument("--out", type=Path, help="write into this folder (one --lang only; default: the project's [codegen] "
                   "folder for the language, else where crosswire's reference peer keeps it)")

    s = sub.add_parser("diagnose", help="say where two encodings of a message differ and most likely why")
    s.add_argument("--message", help="the message name (optional for whole frames: read from the header)")
    s.add_argument("--expected", help="the expected bytes in hex (spaces allowed), or @FILE for raw bytes")
    s.add_argument("--actual", help="the actual bytes in hex, or @FILE for raw bytes")
    s.add_argument("--frame", action="store_true",
                   help="the bytes are whole frames (default: guessed from the magic at their start)")

    s = sub.add_parser("import-c", help="write a schema from the structs, enums and fixed arrays of a C header")
    s.add_argument("header", type=Path, help="the C header")
    layout = s.add_mutually_exclusive_group()
    layout.add_argument("--natural", action="store_true", help="fields where the C compiler puts them "
                        "(layout = \"c\": natural alignment, implicit padding); the default")
    layout.add_argument("--packed", action="store_true", help="fields back to back, no padding "
                        "(a __attribute__((packed)) struct, or field-by-field serialisation)")
    s.add_argument("--messages", type=_csv, help="the structs that are messages, in id order (default: the "
                   "structs no other struct contains)")
    s.add_argument("--byte-order", choices=["little", "big"], default="little", help="default: little")
    s.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME[=VALUE]",
                   help="a preprocessor definition, as for cc")
    s.add_argument("-o", "--output", type=Path, help="write the schema here (default: standard output)")

    sub.add_parser("clean", help="remove the socket directories and segments that killed harness runs left "
                                 "(every command also does it first)")

    s = sub.add_parser("vectors", help="check the golden vectors against the codec and the schema")
    s.add_argument("--regenerate", action="store_true",
                   help="rewrite protocols/vectors/golden.json (only when the encoding changes on purpose)")
    return p


STANDALONE = {"import-c", "init", "clean"}   # commands that need no crosswire project


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        parser.print_help()
        return 0
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    if args.command != "clean":
        from .transports import sweep
        swept = sweep.sweep()           # what a killed run left: its owner is gone
        if swept:
            print(f"crosswire: removed {len(swept)} socket dir(s) and segment(s) that killed runs left "
                  f"({', '.join(swept[:3])}{', ...' if len(swept) > 3 else ''})", file=sys.stderr)
    try:
        if args.command in STANDALONE or (args.command == "new-peer" and args.list) or \
                (args.command == "kit" and args.out is not None and args.root is None):
            project = None
        else:
            project = Project.at(args.root) if args.root else Project.find()
        return int(globals()[f"cmd_{args.command.replace('-', '_')}"](project, args) or 0)
    except CrosswireError as exc:
        print(f"crosswire: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        from .driver import interrupt
        interrupt()
        print("crosswire: interrupted; peers stopped and endpoints removed", file=sys.stderr)
        return 130
    finally:
        from .driver import kill_all
        kill_all()


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _console() -> Any:
    from rich.console import Console
    return Console(stderr=False, highlight=False)


def cmd_peers(project: Project, args: argparse.Namespace) -> int:
    from rich.table import Table

    from .driver import PeerProcess
    from .errors import PeerError

    table = Table(title=f"peers in {project.root / 'peers'}")
    for col in ("peer", "language", "transports", "messages", "platform", "status"):
        table.add_column(col)
    for spec in project.registry.values():
        reason, platform = spec.unavailable(), ""
        if reason is None and not args.no_hello:
            try:
                with PeerProcess(spec, "hello") as proc:
                    facts = proc.handshake()
                platform = f"{facts.get('ptr_bits', '?')}-bit, {facts.get('byte_order', '?')}-endian"
            except PeerError as exc:
                last = exc.stderr_tail.strip().splitlines()[-1:] if exc.stderr_tail else []
                reason = f"HELLO failed: {exc.message}" + (f" (its stderr: {last[0][:160]})" if last else "")
        messages = "all" if spec.messages is None else ", ".join(spec.messages)
        table.add_row(spec.name, spec.language, ", ".join(spec.transports), messages, platform,
                      "[green]ready[/]" if reason is None else f"[yellow]{reason}[/]")
    _console().print(table)
    return 0


def cmd_build(project: Project, args: argparse.Namespace) -> int:
    from . import peers as P

    project.prepare_reference()
    failed = False
    for spec in P.select(project.registry, args.peers):
        result = project.build(spec, args.timeout)
        if result.status == "failed":
            failed = True
            print(f"FAILED   {spec.name}: {result.detail}")
        elif result.status == "skipped":
            print(f"skipped  {spec.name}: {result.detail} (install it to include this peer)")
        else:
            print(f"{'built' if result.status == 'built' else 'ready':8} {spec.name}")
    return 1 if failed else 0


def cmd_matrix(project: Project, args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from . import matrix, report, transports
    from . import peers as P

    specs = P.select(project.registry, args.peers)
    names = args.transports or list(transports.KNOWN)
    for t in names:
        transports.get(t)  # unknown transport: a clear error before anything starts
    kinds = args.kinds or list(matrix.KINDS)
    bad = [k for k in kinds if k not in matrix.KINDS]
    if bad:
        raise CrosswireError(f"unknown kind {bad[0]!r}; kinds: {', '.join(matrix.KINDS)}")
    for path, what in ((args.json, "--json"), (args.junit, "--junit"), (args.html, "--html"), (args.markdown, "--markdown"),
                       (project.reports_dir / "last-run.json", "the reports folder")):
        if path:
            report.check_writable(path, what)      # before the run, not after it
    cases = matrix.select_cases(project.cases, args.cases)
    rejects = matrix.select_rejects(project.reject_cases, args.cases)
    hostile = matrix.select_rejects(project.hostile_cases, args.cases)
    cells = matrix.plan(specs, names, cases, kinds, rejects, hostile, project.variant_pairs)
    if args.only:
        import fnmatch
        if args.peers is None:  # a cell id names its peers: plan them all, keep the ones asked for
            cells = matrix.plan(list(project.registry.values()), names, cases, kinds, rejects, hostile,
                                project.variant_pairs)
        cells = [c for c in cells if any(fnmatch.fnmatchcase(c.id, pat) for pat in args.only)]
        if not cells:
            raise CrosswireError(f"no cell matches {', '.join(args.only)}")
    from . import expected
    entries = expected.load(project.registry)
    console = _console()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task("interop matrix", total=len(cells))
        results = matrix.run(cells, project.registry, jobs=args.jobs, timeout=args.timeout,
                             schema=project.schema, on_result=lambda r: progress.advance(task),
                             maxfail=args.maxfail, failing=lambda r: expected.apply([r], entries, project.registry)[0]
                             .status in ("fail", "xpass"))
    results = expected.apply(results, entries, project.registry)
    report.print_report(results, console, verbose=args.verbose)
    stopped = len(results) < len(cells)
    if stopped:
        console.print(f"stopped after {args.maxfail} failure{'s' if args.maxfail > 1 else ''} (--maxfail): "
                      f"{len(results)} of {len(cells)} cells ran", highlight=False)
    stale = [] if stopped else expected.stale(results, entries)
    for line in stale:
        console.print(f"[red]stale[/] {line}", highlight=False)
    last = project.reports_dir / "last-run.json"
    if not stopped:     # the last run: replaced by a full run, updated cell by cell by a selection
        full = not any((args.peers, args.transports, args.cases, args.kinds, args.only))
        previous = report.read_records(last)
        report.print_comparison(report.compare(previous, results, None if full else {c.id for c in cells}), console)
        report.write_json(results, last, keep=[] if full else previous)
    for path, write in ((args.json, report.write_json), (args.junit, report.write_junit), (args.html, report.write_html),
                        (args.markdown, report.write_markdown)):
        if path:
            write(results, path)
            console.print(f"wrote {path}")
    return 1 if stale or any(r.status in ("fail", "xpass") for r in results) else 0


def cmd_import_c(project: None, args: argparse.Namespace) -> int:
    from . import cimport
    from . import schema as S

    text = cimport.convert(args.header, natural=not args.packed, messages=args.messages, order=args.byte_order,
                           defines=args.defines)
    S.loads(text, f"the schema imported from {args.header}")   # what it wrote must load: else say why
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        print(text, end="")
    return 0


def cmd_vectors(project: Project, args: argparse.Namespace) -> int:
    from . import vectors

    from . import malformed

    if args.regenerate:
        cases = vectors.generate(project.schema, project.extra_path)
        project.golden_path.parent.mkdir(parents=True, exist_ok=True)
        project.golden_path.write_text(vectors.dump(cases, project.schema), encoding="utf-8")
        rows = malformed.merged(project.malformed_path, project.schema, cases)
        project.malformed_path.write_text(malformed.dump(rows), encoding="utf-8")
        print(f"wrote {len(cases)} cases to {project.golden_path} and {len(rows)} malformed payloads to "
              f"{project.malformed_path}")
        return 0
    problems = vectors.check(project.schema, project.golden_path, project.extra_path)
    if not problems:
        problems = malformed.check(project.schema, project.malformed_path, project.cases)
    for line in problems:
        print(line)
    if problems:
        print(f"{len(problems)} problem(s) with {project.golden_path}; if the encoding changed on purpose, "
              "run `python -m harness vectors --regenerate` and review the diff")
        return 1
    print(f"{project.golden_path}: {len(project.cases)} cases, all reproduced by the codec")
    return 0


def cmd_codegen(project: Project, args: argparse.Namespace) -> int:
    from . import codegen

    known = codegen.backends()
    bad = [n for n in args.lang or [] if n not in known]
    if bad:
        raise CrosswireError(f"unknown codegen backend {bad[0]!r}; known: {', '.join(known) or 'none'}")
    langs = args.lang or [n for n in known if args.out or project.codegen_dir(n) or _laid_out(project, known[n])]
    if args.out and len(langs) != 1:
        raise CrosswireError("--out takes one language: add --lang L")
    if not langs:
        raise CrosswireError("nothing to generate: name a language (--lang L --out DIR), or say where each goes "
                             "in the [codegen] table of the project's config")
    places = {n: args.out.resolve() if args.out else project.codegen_dir(n) for n in langs}
    if args.check:
        problems = [p for n in langs for p in codegen.check(project.schema, places[n] or project.root, [n],
                                                            flat=places[n] is not None)]
        for line in problems:
            print(line)
        return 1 if problems else 0
    written = [p for n in langs for p in codegen.write(project.schema, places[n] or project.root, [n],
                                                       flat=places[n] is not None)]
    for path in written:
        print(f"wrote {path}")
    if not written:
        print("generated files are up to date")
    return 0


def _laid_out(project: Project, backend: Any) -> bool:
    """Whether a project keeps a language's reference peer where the backend writes it (crosswire's
    checkout, or a copy of it): then `codegen` with no [codegen] table regenerates it in place."""
    files = backend.generate(project.schema)
    return bool(files) and all((project.root / rel).parent.is_dir() for rel in files)


def cmd_init(project: None, args: argparse.Namespace) -> int:
    from . import starter

    made, written = starter.init(args.dir, pyproject=args.pyproject)
    for path in written:
        print(f"wrote {path}")
    print(f"{made.root} is a crosswire project ({len(made.cases)} test cases for its schema). "
          "Next: the README section just written, or `crosswire new-peer NAME --lang python --adapter`")
    return 0


def cmd_kit(project: Project | None, args: argparse.Namespace) -> int:
    from . import kits

    out = args.out.resolve() if args.out else project.kits_dir / args.lang
    written = kits.vendor(args.lang, out)
    print(f"kit {args.lang} (version {kits.KIT_VERSION}) in {out}: {len(written)} file(s) written")
    return 0


def _read_bytes(spec: str | None, what: str) -> bytes:
    if not spec:
        raise CrosswireError(f"--{what} is required: hex digits, or @FILE for a file of raw bytes")
    if spec.startswith("@"):
        try:
            return Path(spec[1:]).read_bytes()
        except OSError as exc:
            raise CrosswireError(f"--{what}: cannot read {spec[1:]}: {exc.strerror}") from None
    text = "".join(spec.split()).removeprefix("0x")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise CrosswireError(f"--{what}: not hex: {spec[:40]!r}") from None


def _looks_like_frame(schema: Any, data: bytes) -> bool:
    """Whether bytes start with the frame's leading constants (its magic, say)."""
    frame = schema.frame
    if frame is None or len(data) < frame.header_size:
        return False
    lead = [h for h in frame.header if h.role == "const"]
    return bool(lead) and all(int.from_bytes(data[h.offset:h.offset + h.type.size], h.type.order) == h.const
                              for h in lead)


def cmd_diagnose(project: Project, args: argparse.Namespace) -> int:
    from .codec import decode_head
    from .diagnose import diagnose
    from .errors import DecodeError

    schema = project.schema
    expected, actual = _read_bytes(args.expected, "expected"), _read_bytes(args.actual, "actual")
    frame = args.frame or _looks_like_frame(schema, expected)
    if frame and schema.frame is None:
        raise CrosswireError(f"schema {schema.name} declares no frame: give --message and payload bytes")
    if args.message:
        msg = schema.message(args.message)
    elif frame:
        try:
            msg = decode_head(schema, expected).message
        except DecodeError as exc:
            raise CrosswireError(f"the expected bytes are not a frame of this schema: {exc}") from None
    else:
        raise CrosswireError("--message is required unless the bytes are whole frames")
    try:
        result = diagnose(schema, msg, expected, actual, frame=frame)
    except ValueError as exc:
        raise CrosswireError(str(exc)) from None
    print(result.render())
    return 0 if expected == actual else 1


def cmd_expected(project: Project, args: argparse.Namespace) -> int:
    from . import expected, matrix, report
    if not args.update:
        for e in expected.load(project.registry):
            print(f"{e.source.relative_to(project.root)}:{e.line}: {e.pattern}" + (f"  # {e.message}" if e.message else ""))
        return 0
    records = report.read_records(project.reports_dir / "last-run.json")
    if not records:
        raise CrosswireError("no last run: run `python -m harness matrix` first (it writes reports/last-run.json)")
    cases = {c.id: c for c in project.cases}
    results = [matrix.Result(matrix.Cell(r["kind"], r["sender"], r["receiver"], r["transport"], cases[r["case"]]),
                             r["status"], r["detail"]) for r in records
               if r["case"] in cases and r["sender"] in project.registry and r["receiver"] in project.registry]
    for path, n in expected.rewrite(results, project.registry).items():
        if n:
            print(f"wrote {n} entries to {path.relative_to(project.root)}")
    return 0


def cmd_replay(project: Project, args: argparse.Namespace) -> int:
    """DECODE a payload in the peer, or have the reference peer write frames to it over a
    transport, byte for byte (RAW), and RECV the first."""
    from . import peers as P
    from .driver import PeerProcess
    from .errors import PeerReplyError

    spec = P.select(project.registry, [args.peer])[0]
    data = _read_bytes(args.bytes, "bytes")
    frame = args.frame or _looks_like_frame(project.schema, data)
    if not frame and not args.message:
        raise CrosswireError("--message is required for a payload (frames name their message)")
    with PeerProcess(spec, "replay") as proc:
        proc.handshake()
        try:
            if frame:
                reply = _replay_frames(project, proc, data, args.transport, args.direction or "")
            else:
                reply = proc.request(f"DECODE {project.schema.message(args.message).name} x{data.hex()}")
        except PeerReplyError as exc:
            print(f"{spec.name} refused the bytes: ERR {exc.kind} {exc.detail}")
            return 1
    print(f"{spec.name} accepted the bytes: OK {' '.join(reply)}")
    return 0


def _replay_frames(project: Project, proc: Any, data: bytes, transport: str, direction: str = "") -> list[str]:
    from . import peers as P
    from . import transports
    from .driver import PeerProcess

    if transport not in proc.spec.transports:
        raise CrosswireError(f"peer {proc.spec.name} does not support transport {transport} (its manifest)")
    writer = P.select(project.registry, ["python"])[0]      # the reference peer has RAW
    writer.require_available()
    t = transports.get(transport)
    try:
        address = t.address()
        with PeerProcess(writer, "replay-writer") as tx:
            tx.handshake()
            transports.connect(tx, proc, transport, address, 1 << 16)
            proc.send(f"RECV 5000 {direction}".rstrip())   # reading already: frames larger than a ring go through
            tx.request(f"RAW 0 x{data.hex()}", 60)
            return proc.reply(15)
    finally:
        t.cleanup()


def _need_streams(project: Project, bench: bool = False) -> None:
    why = project.streams_unsupported(bench)
    if why:
        raise CrosswireError(why)


def cmd_bench(project: Project, args: argparse.Namespace) -> int:
    from .bench import output, suite

    _need_streams(project, bench=True)
    sizes = tuple(int(x) for x in args.sizes) if args.sizes else suite.SIZES
    settings = suite.Settings(quick=args.quick, peers=args.peers, transports=tuple(args.transports), sizes=sizes,
                              scaling=not args.no_scaling)
    run = suite.run(project, settings, say=lambda line: print(line, flush=True))
    out = args.out if args.out.is_absolute() else Path.cwd() / args.out
    output.write_json(run, out / "bench.json")
    (out / "bench.md").write_text(output.markdown(run))
    made = output.plots(run, out)
    print(f"wrote {out / 'bench.json'}, {out / 'bench.md'}, {', '.join(str(m) for m in made)}")
    if args.readme:
        if not output.update_readme(run, args.readme):
            raise CrosswireError(f"{args.readme} has no bench markers ({output.README_BEGIN} ... {output.README_END})")
        print(f"rewrote the comparison table in {args.readme}")
    for t in run.targets:
        value = "-" if t["value"] is None else f"{t['value']:.2f}"
        mark = ("not measured" if t["ok"] is None else "met" if t["ok"] else
                f"not met: {t['value'] / t['limit']:.2f}x the limit" if t["at_most"] else
                f"not met: {t['limit'] / t['value']:.2f}x short" if t["value"] else "not met")
        print(f"target: {t['name']}: {value} (want {'<=' if t['at_most'] else '>='} {t['limit']:g}; {t['how']}): {mark}")
    failed = [m for m in run.missing if "FAILED" in m]
    return 1 if failed else 0


def cmd_hostile(project: Project, args: argparse.Namespace) -> int:
    from . import hostile
    from . import peers as P

    receivers = [s for s in P.select(project.registry, args.peers) if s.unavailable() is None]
    sender = P.select(project.registry, [args.sender])[0]
    sender.require_available()
    entries = hostile.catalogue(project.schema, project.malformed_path, project.cases)
    outcomes = hostile.run(sender, receivers, args.transports, entries)
    for o in outcomes:
        if not o.ok:
            print(f"FAIL {o.receiver} over {o.transport}: {o.entry.id} ({o.entry.klass}): {'; '.join(o.problems)}")
    classes = sorted({e.klass for e in entries})
    pairs = sorted({(o.receiver, o.transport) for o in outcomes})
    bad = [o for o in outcomes if not o.ok]
    print(f"{len(entries)} hostile frames in {len(classes)} classes x {len(pairs)} receiver/transport pairs "
          f"({', '.join(f'{r}/{t}' for r, t in pairs)}): {len(outcomes) - len(bad)} passed, {len(bad)} failed")
    return 1 if bad or not outcomes else 0


def cmd_clean(project: Project | None, args: argparse.Namespace) -> int:
    from .transports import sweep
    removed = sweep.sweep()
    for path in removed:
        print(f"removed {path}")
    left = sweep.stale()
    for path in left:
        print(f"cannot remove {path} (another user's)")
    print(f"{len(removed)} stale socket dir(s) and segment(s) removed" + (f", {len(left)} left" if left else ""))
    return 0


def cmd_stress(project: Project, args: argparse.Namespace) -> int:
    import itertools
    import json

    _need_streams(project)
    if args.capacity & (args.capacity - 1):
        raise CrosswireError(f"--capacity {args.capacity} is not a power of two (SHM.md: rings are)")
    seqf = project.schema.frame.role("seq")
    if args.count > seqf.type.max:
        raise CrosswireError(f"--count {args.count} is more than the frame's seq ({seqf.name}, a {seqf.type.name}) "
                             f"holds: at most {seqf.type.max}")
    from . import peers as P
    from . import report, stress, sync

    if args.json:
        report.check_writable(args.json, "--json")
    specs = [s for s in P.select(project.registry, args.peers) if s.unavailable() is None]
    layout = project.stream
    print(f"stream message {layout.message.name} ({layout.field}: up to {min(args.max_len, layout.max)} of at most "
          f"{layout.max} elements of {layout.width} byte(s))", flush=True)
    results = []
    for t in args.transports:
        able = [s for s in specs if t in s.transports]
        for a, b in itertools.product(able, able):
            r = stress.run_pair(a, b, t, args.count, layout, args.capacity, max_len=args.max_len)
            print(r.line(), flush=True)
            results.append(r)
    floors = []     # a shm pair with no socket run to compare with: a short uds stream of the same pair
    for r in results:
        spec = {s.name: s for s in specs}
        if r.transport == "shm" and not r.error and "uds" in spec[r.sender].transports and \
                "uds" in spec[r.receiver].transports and not any(
                    x.transport != "shm" and (x.sender, x.receiver) == (r.sender, r.receiver) for x in results):
            floors.append(stress.run_pair(spec[r.sender], spec[r.receiver], "uds", min(args.count, 20000), layout,
                                          args.capacity, max_len=args.max_len, freeze=0))
    for i, note in sync.slow_pairs(results, stress.FREEZE, floors).items():
        results[i].named.append(note)
        print(f"{results[i].sender}->{results[i].receiver} over shm: {note}", flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        report.write_atomically(args.json, (json.dumps([r.record() for r in results], indent=1) + "\n").encode())
    bad = [r for r in results if not r.ok]
    print(f"{len(results) - len(bad)} pairs clean, {len(bad)} with losses or errors")
    return 1 if bad or not results else 0


def cmd_check_peer(project: Project, args: argparse.Namespace) -> int:
    from . import conformance

    console = _console()
    colour = {"pass": "green", "fail": "red", "missing": "yellow", "skip": "dim"}
    area = [""]

    def say(item: "conformance.Item") -> None:
        if item.area != area[0]:
            area[0] = item.area
            console.print(f"[bold]{item.area}[/]")
        for i, line in enumerate(conformance.lines(item)):
            console.print(line, style=colour[item.status] if i == 0 else None, markup=False, highlight=False,
                          soft_wrap=True)

    report = conformance.check(project, args.peer, say, quick=args.quick, build=not args.no_build)
    n = report.counts()
    console.print(f"[bold]{report.peer}[/]: {n['pass']} passed, {n['fail']} failed, {n['missing']} to do, "
                  f"{n['skip']} skipped")
    if args.json:
        report.write_json(args.json)
    return 1 if report.failed else 0


def cmd_new_peer(project: Project | None, args: argparse.Namespace) -> int:
    from . import scaffold

    if args.list:
        for lang, about in scaffold.languages().items():
            print(f"{lang:10} {about}")
        adapters = scaffold.adapter_languages()
        print(f"adapters (--adapter): {', '.join(adapters) or 'none'}")
        return 0
    if not args.name:
        raise CrosswireError("new-peer needs the peer's NAME (or --list)")
    if args.frames and not args.adapter:
        raise CrosswireError("--frames goes with --adapter (a library that writes whole frames)")
    lang = args.lang or args.name
    if args.adapter:
        made = scaffold.create_adapter(project, args.name, lang, frames=args.frames)
    else:
        made = scaffold.create(project, args.name, lang)
    for path in made:
        print(f"wrote {path.relative_to(project.root) if path.is_relative_to(project.root) else path}")
    folder = (project.peers_dir / args.name).relative_to(project.root)
    if args.adapter:
        print(f"next: fill in the stubs in {folder} (one encode and one decode per message, calling your library), "
              f"then `crosswire build --peers {args.name}` and `crosswire matrix --peers {args.name},python`")
    else:
        print(f"next: `crosswire check-peer {folder}` (it builds the peer and prints what to do next); "
              f"the guide is docs/adding-a-peer.md")
    return 0
