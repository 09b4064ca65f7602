"""What a bench run leaves behind: reports/bench.json (every figure with its baseline and
ratio), reports/bench.md (the tables), PNG plots, and the README's comparison table."""
from __future__ import annotations

import json
import re
from pathlib import Path

from . import machine
from .suite import Run

README_BEGIN = "<!-- bench:begin (python -m harness bench --readme rewrites this part) -->"
README_END = "<!-- bench:end -->"


def size_name(size: int) -> str:
    return f"{size >> 20} MiB" if size >= 1 << 20 else f"{size >> 10} KiB" if size >= 1024 else f"{size} B"


def us(ns: float | None) -> str:
    if ns is None:
        return "–"
    return f"{ns / 1000:.2f} µs" if ns < 100_000 else f"{ns / 1000:,.0f} µs"


def rate(x: float) -> str:
    return f"{x / 1e6:.2f} M/s" if x >= 1e6 else f"{x / 1e3:.1f} k/s"


def write_json(run: Run, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(run.record(), indent=1) + "\n")


def _targets_table(run: Run) -> list[str]:
    lines = ["| target | measured | limit | |", "|---|---:|---:|---|"]
    for t in run.targets:
        v = "–" if t["value"] is None else f"{t['value']:.2f}"
        mark = "not measured" if t["ok"] is None else "met" if t["ok"] else "**missed**"
        lines.append(f"| {t['name']} ({t['how']}) | {v} | {'≤' if t['at_most'] else '≥'} {t['limit']:g} | {mark} |")
    return lines


def markdown(run: Run) -> str:
    b = run.baselines
    out = ["# crosswire bench", "",
           f"Machine: {machine.one_line(run.machine)}. "
           f"Peers pinned to CPUs {list(run.cpus) if run.cpus else 'none (one CPU)'}; "
           f"{'quick mode, ' if run.settings.quick else ''}{run.settings.reps} repetitions per figure "
           f"(the median, with min–max); the run took {run.seconds:.0f} s.", "",
           "Ratios are to the machine's own floor measured in the same run (bench/baseline.c): shm round "
           "trips to a bare cache-line ping-pong plus the four copies of the frame any ring makes (into and out "
           "of the ring, each way, at memcpy speed; the shm round-trip target is against the bare ping-pong "
           "alone), uds and tcp round trips to a bare socketpair ping-pong of the "
           "same frame (a Unix socket pair: tcp's ratio includes what loopback TCP costs over it), streaming "
           "to single-core memcpy of the same frame size.", "",
           "## Targets", "", *_targets_table(run), "",
           "## Baselines", "",
           "| floor | p50 | p99 | min–max of p50 |", "|---|---:|---:|---:|"]
    for name, label in (("shm_pingpong", "cache-line ping-pong (shm, spinning)"),
                        ("futex_pingpong", "futex ping-pong, two cores"),
                        ("futex_pingpong_one_core", "futex ping-pong, one core")):
        f = b[name]
        out.append(f"| {label} | {us(f['p50']['value'])} | {us(f['p99']['value'])} | "
                   f"{us(f['p50']['low'])}–{us(f['p50']['high'])} |")
    for size, f in b["socketpair"].items():
        out.append(f"| socketpair ping-pong, {size_name(int(size))} + 24 B | {us(f['p50']['value'])} | "
                   f"{us(f['p99']['value'])} | {us(f['p50']['low'])}–{us(f['p50']['high'])} |")
    for size, f in b["memcpy_gbps"].items():
        out.append(f"| memcpy, {size_name(int(size))} + 24 B | {f['value']:.1f} GB/s | | "
                   f"{f['low']:.1f}–{f['high']:.1f} GB/s |")
    out += ["", "## Round trips (PING/PONG)", "",
            "| pair | transport | size | p50 | p99 | p99.9 | p50 min–max | × floor |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for p in run.pairs:
        lat = p["latency"]
        out.append(f"| {p['a']}↔{p['b']} | {p['transport']} | {size_name(p['size'])} | {us(lat['p50']['value'])} | "
                   f"{us(lat['p99']['value'])} | {us(lat['p999']['value'])} | {us(lat['p50']['low'])}–"
                   f"{us(lat['p50']['high'])} | {p['latency_ratio']:.2f} |")
    out += ["", "## Streaming (FLOOD → SINK)", "",
            "| sender → receiver | transport | size | msgs/s | GB/s | min–max msgs/s | of memcpy |",
            "|---|---|---:|---:|---:|---:|---:|"]
    for p in run.pairs:
        m, g = p["msgs_per_s"], p["gb_per_s"]
        out.append(f"| {p['a']}→{p['b']} | {p['transport']} | {size_name(p['size'])} | {rate(m['value'])} | "
                   f"{g['value']:.2f} | {rate(m['low'])}–{rate(m['high'])} | {p['gb_per_s_of_memcpy']:.0%} |")
    if run.waits:
        out += ["", "## Wait strategies (shm, 64 B, each peer with itself)", "",
                "| peer | placement | strategy | p50 | p99 | p99.9 |", "|---|---|---|---:|---:|---:|"]
        for w in run.waits:
            lat = w["latency"]
            out.append(f"| {w['peer']} | {w['placement']} | {w['strategy']} | {us(lat['p50']['value'])} | "
                       f"{us(lat['p99']['value'])} | {us(lat['p999']['value'])} |")
    if run.codec:
        out += ["", "## Python peer codec against a bare struct.Struct", "",
                "| message | bytes | encode | struct pack | × | decode | struct unpack | × |",
                "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for c in run.codec:
            out.append(f"| {c['message']} | {c['payload_bytes']} | {c['encode_ns']:.0f} ns | {c['bare_pack_ns']:.0f} ns | "
                       f"{c['encode_ratio']:.2f} | {c['decode_ns']:.0f} ns | {c['bare_unpack_ns']:.0f} ns | "
                       f"{c['decode_ratio']:.2f} |")
    if run.matrix:
        out += ["", "## Test matrix wall time (pytest -n auto, tests/test_matrix.py)", "",
                "| peers | cases | cells | seconds | ms per cell |", "|---|---|---:|---:|---:|"]
        for m in run.matrix:
            out.append(f"| {', '.join(m['peers'])} | {m['cases']} | {m['cells']} | {m['seconds']:.1f} | "
                       f"{m['ms_per_cell']:.1f} |")
    if run.missing:
        out += ["", "## Missing", ""] + [f"- {m}" for m in run.missing]
    return "\n".join(out) + "\n"


def comparison_table(run: Run) -> str:
    """The seed's sockets-vs-shared-memory table, with this run's figures (C peers, 64 B unless said)."""
    def cell(transport: str, key: str, size: int, a: str = "c", b: str = "c") -> str:
        p = run.pair(a, b, transport, size)
        if p is None:
            return "not measured"
        if key == "latency":
            return f"{us(p['latency']['p50']['value'])} ({p['latency_ratio']:.1f}× its floor, {us(p['latency_floor_ns'])})"
        if key == "rate":
            return rate(p["msgs_per_s"]["value"])
        return f"{p['gb_per_s']['value']:.1f} GB/s ({p['gb_per_s_of_memcpy']:.0%} of memcpy)"

    rows = [("Round trip, 64 B, C↔C (p50)", "latency", 64), ("Round trip, 4 KiB, C↔C (p50)", "latency", 4096),
            ("Round trip, 1 MiB, C↔C (p50)", "latency", 1 << 20), ("Streaming 64 B messages, C→C", "rate", 64),
            ("Streaming 1 MiB messages, C→C", "gbps", 1 << 20)]
    lines = ["| | Unix socket | TCP (loopback) | Shared memory (crosswire ring) |", "| - | - | - | - |"]
    for label, key, size in rows:
        lines.append(f"| {label} | {cell('uds', key, size)} | {cell('tcp', key, size)} | {cell('shm', key, size)} |")
    py = [run.pair("python", "python", t, 64) for t in ("uds", "tcp", "shm")]
    if py[0] and py[2]:
        lines.append("| Round trip, 64 B, Python↔Python (p50) | " +
                     " | ".join(us(p["latency"]["p50"]["value"]) if p else "not measured" for p in py) + " |")
    one = next((w for w in run.waits if w["peer"] == "c" and w["placement"] == "one core"
                and w["strategy"] == "spin-futex"), None)
    spin1 = next((w for w in run.waits if w["peer"] == "c" and w["placement"] == "one core"
                  and w["strategy"] == "spin"), None)
    lines += [
        "| Synchronisation | the kernel: a blocking read sleeps until data arrives | the same, through the TCP stack "
        "(`TCP_NODELAY`) | ring indexes with release/acquire, "
        "then a futex sleep (spin briefly, then sleep)" + (f"; on one shared core {us(one['latency']['p50']['value'])} "
        f"per round trip, where a pure spinner takes {us(spin1['latency']['p50']['value'])}" if one and spin1 else "")
        + " |",
        "| Framing | a byte stream: frames back to back | the same byte stream | the same byte stream through a ring; "
        "frames may wrap |",
        "| Portability | every POSIX system | every system | POSIX shm; futex on Linux, polling elsewhere (macOS: no "
        "/dev/shm, names ≤ 31) |",
        "| Network | one machine | any two hosts (the harness binds loopback only) | one machine only |",
        "| Who may connect | the socket directory's owner (0700), checked with `uid=` | anyone who can reach the port; "
        "no credentials | the segment's owner (0600) |",
    ]
    return "\n".join(lines)


def update_readme(run: Run, path: Path) -> bool:
    """Rewrites the part of README between the bench markers; False if the markers are missing."""
    text = path.read_text()
    pattern = re.compile(re.escape(README_BEGIN) + r".*?" + re.escape(README_END), re.S)
    if not pattern.search(text):
        return False
    body = (f"{README_BEGIN}\n\nMeasured by `make bench` on {machine.one_line(run.machine)}; "
            f"{'quick mode; ' if run.settings.quick else ''}the medians of {run.settings.reps} runs, each peer "
            f"pinned to its own CPU. Floors are this machine's, measured in the same run (see reports/bench.md).\n\n"
            f"{comparison_table(run)}\n\n{README_END}")
    path.write_text(pattern.sub(lambda _: body, text))
    return True


def _style(pairs: list[tuple[str, str]]) -> dict[tuple[str, str], dict]:
    """One colour and marker per pair, the same in every plot (20 colours, then markers vary)."""
    import matplotlib
    colours = matplotlib.colormaps["tab20"].colors
    markers = "osD^vP*Xh<>"
    return {pair: {"color": colours[i % len(colours)], "marker": markers[(i // len(colours)) % len(markers)]}
            for i, pair in enumerate(pairs)}


def _size_axis(ax, sizes: list[int]) -> None:
    """Log-2 x axis with ticks at the measured sizes, labelled 64 B, 4 KiB, 1 MiB."""
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes)
    ax.set_xticklabels([size_name(s) for s in sizes])
    ax.minorticks_off()
    ax.set_xlabel("message size")


def _save(fig, handles, labels, path: Path) -> Path:
    """The legend outside the axes, right of the plots, never over the data."""
    import matplotlib.pyplot as plt
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


TRANSPORT_COLOURS = {"shm": "tab:green", "uds": "tab:blue", "tcp": "tab:orange"}


def _summary_chart(run: Run, sizes: list[int], path: Path) -> Path | None:
    """Sockets or shared memory, at a glance: one colour per transport, its median over every
    pair as a line and the spread over the pairs (fastest to slowest) as a band, for round trips
    and for streaming, by message size."""
    import matplotlib.pyplot as plt
    transports = [t for t in run.settings.transports if any(p["transport"] == t for p in run.pairs)]
    if not transports:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), squeeze=False)
    legend: dict[str, object] = {}
    for ax, title, ylabel, fn in (
            (axes[0][0], "round trip (lower is better)", "p50 (µs)", lambda p: p["latency"]["p50"]["value"] / 1000),
            (axes[0][1], "streaming (higher is better)", "GB/s", lambda p: p["gb_per_s"]["value"])):
        for t in transports:
            colour = TRANSPORT_COLOURS.get(t, "tab:gray")
            rows = [(s, sorted(fn(p) for p in run.pairs if p["transport"] == t and p["size"] == s)) for s in sizes]
            rows = [(s, v) for s, v in rows if v]
            xs = [s for s, _ in rows]
            line, = ax.plot(xs, [v[len(v) // 2] for _, v in rows], color=colour, marker="o", label=t)
            ax.fill_between(xs, [v[0] for _, v in rows], [v[-1] for _, v in rows], color=colour, alpha=0.2)
            legend.setdefault(t, line)
        _size_axis(ax, sizes)
        ax.set_yscale("log")
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        ax.grid(True, which="major", alpha=0.3)
    pairs = len({(p["a"], p["b"]) for p in run.pairs})
    fig.suptitle(f"sockets or shared memory? median of {pairs} pair{'s' if pairs > 1 else ''}, band: fastest to slowest")
    return _save(fig, list(legend.values()), list(legend), path)


def plots(run: Run, out_dir: Path) -> list[Path]:
    """Latency and throughput by message size (one line per pair, a panel per transport, the
    floor measured in the same run as a dashed line), and the answer to "sockets or shared
    memory?": how many times faster shm is than a Unix socket, per pair and size."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = []
    style = _style(sorted({(p["a"], p["b"]) for p in run.pairs}))
    sizes = sorted({p["size"] for p in run.pairs})
    for key, ylabel, name, fn in (
            ("latency", "round trip p50 (µs)", "bench-latency.png", lambda p: p["latency"]["p50"]["value"] / 1000),
            ("throughput", "streaming (GB/s)", "bench-throughput.png", lambda p: p["gb_per_s"]["value"])):
        transports = [t for t in run.settings.transports if any(p["transport"] == t for p in run.pairs)]
        if not transports:
            continue
        fig, axes = plt.subplots(1, len(transports), figsize=(5 * len(transports), 4.2), sharey=True, squeeze=False)
        legend: dict[str, object] = {}
        for ax, t in zip(axes[0], transports):
            for pair in sorted({(p["a"], p["b"]) for p in run.pairs if p["transport"] == t}):
                pts = sorted((p["size"], fn(p)) for p in run.pairs if (p["a"], p["b"], p["transport"]) == (*pair, t))
                line, = ax.plot([s for s, _ in pts], [v for _, v in pts], label=f"{pair[0]}→{pair[1]}", **style[pair])
                legend.setdefault(line.get_label(), line)
            if key == "latency":    # the floor of each size: a bare ping-pong plus what the frame's copies cost
                floor = sorted({(p["size"], p["latency_floor_ns"] / 1000) for p in run.pairs
                                if p["transport"] == t and p.get("latency_floor_ns")})
                label = "floor (bare ping-pong + copies)"
            else:
                floor = sorted((int(s), f["value"]) for s, f in run.baselines["memcpy_gbps"].items())
                label = "memcpy (one core)"
            if floor:
                line, = ax.plot([s for s, _ in floor], [v for _, v in floor], "k--", label=label)
                legend.setdefault(label, line)
            _size_axis(ax, sizes)
            ax.set_yscale("log")
            ax.set_title(t)
            ax.grid(True, which="major", alpha=0.3)
        axes[0][0].set_ylabel(ylabel)
        fig.suptitle(f"crosswire bench: {ylabel}")
        made.append(_save(fig, list(legend.values()), list(legend), out_dir / name))
    summary = _summary_chart(run, sizes, out_dir / "bench-summary.png")
    if summary:
        made.insert(0, summary)
    both = [(a, b) for a, b in sorted({(p["a"], p["b"]) for p in run.pairs})
            if run.pair(a, b, "uds", run.small) and run.pair(a, b, "shm", run.small)]
    if both:
        fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), squeeze=False)
        legend = {}
        for ax, title, fn in (
                (axes[0][0], "round trip: uds p50 / shm p50", lambda u, m: u["latency"]["p50"]["value"] / m["latency"]["p50"]["value"]),
                (axes[0][1], "streaming: shm GB/s / uds GB/s", lambda u, m: m["gb_per_s"]["value"] / u["gb_per_s"]["value"])):
            for a, b in both:
                pts = [(s, fn(u, m)) for s in sizes
                       if (u := run.pair(a, b, "uds", s)) and (m := run.pair(a, b, "shm", s))]
                line, = ax.plot([s for s, _ in pts], [v for _, v in pts], label=f"{a}→{b}", **style[(a, b)])
                legend.setdefault(line.get_label(), line)
            ax.axhline(1.0, color="k", linewidth=1)
            ax.text(0.98, 0.03, "above 1: shared memory is faster", transform=ax.transAxes, ha="right", fontsize=8)
            _size_axis(ax, sizes)
            ax.set_yscale("log")
            ax.set_title(title)
            ax.set_ylabel("× (shared memory over Unix socket)")
            ax.grid(True, which="major", alpha=0.3)
        fig.suptitle("sockets or shared memory? how many times faster shm is, per pair and size")
        made.append(_save(fig, list(legend.values()), list(legend), out_dir / "bench-shm-vs-uds.png"))
    return made
