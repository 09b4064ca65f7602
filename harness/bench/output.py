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
           "of the ring, each way, at memcpy speed; the shm target of issue 6 is against the bare ping-pong "
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


def plots(run: Run, out_dir: Path) -> list[Path]:
    """Latency and throughput by message size, one line per pair, uds and shm side by side."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = []
    for key, ylabel, name, fn in (
            ("latency", "round trip p50 (µs)", "bench-latency.png", lambda p: p["latency"]["p50"]["value"] / 1000),
            ("throughput", "streaming (GB/s)", "bench-throughput.png", lambda p: p["gb_per_s"]["value"])):
        transports = [t for t in run.settings.transports if any(p["transport"] == t for p in run.pairs)]
        if not transports:
            continue
        fig, axes = plt.subplots(1, len(transports), figsize=(6 * len(transports), 4.5), sharey=True, squeeze=False)
        for ax, t in zip(axes[0], transports):
            pairs = sorted({(p["a"], p["b"]) for p in run.pairs if p["transport"] == t})
            for a, b in pairs:
                pts = sorted((p["size"], fn(p)) for p in run.pairs if (p["a"], p["b"], p["transport"]) == (a, b, t))
                ax.plot([s for s, _ in pts], [v for _, v in pts], marker="o", label=f"{a}→{b}")
            if key == "latency":
                floor = [(int(s), f["p50"]["value"] / 1000) for s, f in run.baselines["socketpair"].items()] \
                    if t != "shm" else [(s, run.baselines["shm_pingpong"]["p50"]["value"] / 1000) for s in run.settings.sizes]
                ax.plot([s for s, _ in floor], [v for _, v in floor], "k--", label="floor")
            else:
                mem = sorted((int(s), f["value"]) for s, f in run.baselines["memcpy_gbps"].items())
                ax.plot([s for s, _ in mem], [v for _, v in mem], "k--", label="memcpy")
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_title(t)
            ax.set_xlabel("message size (bytes)")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=7)
        axes[0][0].set_ylabel(ylabel)
        fig.suptitle(f"crosswire bench: {ylabel}")
        fig.tight_layout()
        path = out_dir / name
        fig.savefig(path, dpi=110)
        plt.close(fig)
        made.append(path)
    return made
