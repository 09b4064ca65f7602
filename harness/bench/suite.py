"""What the bench measures, in which order, and the targets it checks (each a ratio to a floor
measured in the same run).

Every figure is the median of `reps` repetitions with their min and max, and is also given as a
ratio to the machine's own floor measured in the same run: this machine's speed drifts between
runs (a virtual machine whose vCPUs move), so ratios from one run are what count.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Callable

from ..codec import frame_bytes
from ..errors import CrosswireError, PeerError
from ..peers import PeerSpec
from ..project import Project
from . import codec, machine, measure, scaling
from .baseline import Baselines
from .measure import HEADER, Pair, Summary, Unsupported, bench_capacity

SIZES = (64, 4096, 1 << 20)
STRATEGIES = ("spin", "futex", "spin-futex")


@dataclass
class Settings:
    quick: bool = False
    peers: list[str] | None = None
    transports: tuple[str, ...] = ("uds", "shm", "tcp")
    sizes: tuple[int, ...] = SIZES
    scaling: bool = True

    @property
    def reps(self) -> int:
        return 3 if self.quick else 5

    @property
    def latency_s(self) -> float:
        """Seconds one PING repetition should take."""
        return 0.02 if self.quick else 0.25

    @property
    def stream_s(self) -> float:
        return 0.03 if self.quick else 0.4


def bench_peers(project: Project, names: list[str] | None) -> list[PeerSpec]:
    """The peers to measure: named ones, or every built peer that is not a variant (c@asan is
    a checking build, not a speed one)."""
    registry = project.registry
    if names:
        missing = [n for n in names if n not in registry]
        if missing:
            raise CrosswireError(f"unknown peer {missing[0]!r}; known: {', '.join(registry)}")
        specs = [registry[n] for n in names]
    else:
        specs = [s for s in registry.values() if not s.base]
    out = []
    for s in specs:
        if s.unavailable() is None:
            out.append(s)
    return out


@dataclass
class Run:
    settings: Settings
    machine: dict
    cpus: tuple[int, int] | None
    one_core: int
    baselines: dict = field(default_factory=dict)
    pairs: list[dict] = field(default_factory=list)
    waits: list[dict] = field(default_factory=list)
    codec: list[dict] = field(default_factory=list)
    matrix: list[dict] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    targets: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    stream: str = ""            # the STREAM request of the project's stream message
    overhead: int = HEADER      # a frame's bytes beyond its payload (header, checksum)
    small: int = 64             # the payload size of the wait strategies and the targets
    seq_max: int = (1 << 64) - 1    # the most the frame's seq holds: a request's rounds at most

    def record(self) -> dict:
        return {"machine": self.machine, "settings": {"quick": self.settings.quick, "reps": self.settings.reps,
                "sizes": list(self.settings.sizes), "transports": list(self.settings.transports),
                "cpus": list(self.cpus) if self.cpus else None, "one_core": self.one_core},
                "baselines": self.baselines, "pairs": self.pairs, "wait_strategies": self.waits, "codec": self.codec,
                "matrix": self.matrix, "missing": self.missing, "targets": self.targets, "seconds": self.seconds}

    def pair(self, a: str, b: str, transport: str, size: int) -> dict | None:
        return next((p for p in self.pairs if (p["a"], p["b"], p["transport"], p["size"]) == (a, b, transport, size)), None)


def summary(s: Summary) -> dict:
    return {"value": s.value, "low": s.low, "high": s.high, "spread": s.spread, "reps": list(s.reps)}


def run(project: Project, settings: Settings, say: Callable[[str], None] = print) -> Run:
    start = time.perf_counter()
    cpus_free = machine.usable_cpus()
    cpus = (cpus_free[0], cpus_free[1]) if len(cpus_free) >= 2 else None
    layout = project.stream
    plain = {h.name: 0 for h in project.schema.frame.plain} if project.schema.frame is not None else {}
    overhead = len(frame_bytes(project.schema, layout.message, 0, layout.payload(0, 0), plain)) - len(layout.template)
    # the payload sizes the stream message can have, nearest the asked ones from below
    settings = replace(settings, sizes=tuple(dict.fromkeys(layout.fit(size) for size in settings.sizes)))
    r = Run(settings, machine.describe(), cpus, cpus_free[0], stream=layout.request, overhead=overhead,
            small=layout.fit(64), seq_max=project.schema.frame.role("seq").type.max)
    pin = cpus or (-1, -1)
    peers = bench_peers(project, settings.peers)
    if not peers:
        raise CrosswireError("no peer to measure: run `make peers` first")

    say(f"machine: {machine.one_line(r.machine)}")
    warning = machine.busy(r.machine)
    if warning:
        say(warning)
        r.missing.append(warning)
    say(f"peers: {', '.join(p.name for p in peers)}; pinned to CPUs {cpus if cpus else '(not pinned)'}")
    base = Baselines(project.root)
    base.build()
    raw: dict = {}
    _baselines(raw, r, base, pin, say)

    for transport in settings.transports:
        able = []
        for a in peers:
            for b in peers:
                if transport in a.transports and transport in b.transports:
                    able.append((a, b))
                else:
                    r.missing.append(f"{a.name}->{b.name} over {transport}: not supported by both")
        for size in settings.sizes:
            _side_by_side(r, able, transport, size, say, base, pin)
    _strategies(r, peers, say)
    # the floors again at the end: the machine drifts during a run, and a floor measured in
    # one moment only would skew every ratio; each floor is the median over both passes
    _baselines(raw, r, base, pin, say)
    _floors(r, raw)
    _ratios(r)
    if any(p.name == "python" for p in peers):
        say("codec: the Python peer against struct.Struct")
        try:
            r.codec = [f.record() for f in codec.measure(project.root, project.schema, project.cases,
                                                             repeat=1 if settings.quick else 5)]
        except (CrosswireError, OSError) as exc:     # a schema struct.Struct cannot mirror, say
            r.missing.append(f"codec: not measured: {str(exc).splitlines()[0]}")
            say(f"codec: not measured ({str(exc).splitlines()[0]})")
    if settings.scaling and not settings.quick:
        names = [p.name for p in project.registry.values() if p.unavailable() is None]
        say(f"matrix wall time with {', '.join(names)}")
        try:
            r.matrix = [m.record() for m in scaling.measure(project.root, names)]
        except CrosswireError as exc:          # the figures measured so far still count
            r.missing.append(f"matrix wall time: FAILED {str(exc).splitlines()[0]}")
            say(f"  matrix wall time: FAILED {str(exc).splitlines()[0]}")
    r.targets = targets(r)
    r.seconds = time.perf_counter() - start
    return r


def _baselines(raw: dict, r: Run, base: Baselines, pin: tuple[int, int], say: Callable[[str], None]) -> None:
    """One pass over the floors, appending each repetition to raw[name]."""
    s = r.settings
    say("baselines: cache-line ping-pong, futex ping-pong (two cores, one core), socketpair, memcpy")
    one = (r.one_core, r.one_core)
    for _ in range(s.reps):
        raw.setdefault("shm_pingpong", []).append(
            base.round_trips("shm-pingpong", 20_000 if s.quick else 200_000, pin))
        n = 2_000 if s.quick else 20_000
        raw.setdefault("futex_pingpong", []).append(base.round_trips("futex-pingpong", n, pin))
        raw.setdefault("futex_pingpong_one_core", []).append(base.round_trips("futex-pingpong", n, one))
        for size in s.sizes:
            frame = size + r.overhead
            count = (2_000 if size < 65536 else 100) * (1 if s.quick else 5)
            raw.setdefault(f"socketpair/{size}", []).append(base.round_trips("socketpair", count, pin, frame))
            raw.setdefault(f"memcpy/{size}", []).append(
                base.memcpy_gbps(frame, (1 << 28) if s.quick else (1 << 30), pin[0]))


def _floors(r: Run, raw: dict) -> None:
    r.baselines = {name: _lat_summary(raw[name]) for name in ("shm_pingpong", "futex_pingpong",
                                                                "futex_pingpong_one_core")}
    r.baselines["socketpair"] = {str(size): _lat_summary(raw[f"socketpair/{size}"]) for size in r.settings.sizes}
    r.baselines["memcpy_gbps"] = {str(size): summary(Summary.of(raw[f"memcpy/{size}"])) for size in r.settings.sizes}


def _ratios(r: Run) -> None:
    """Each figure over the floor measured in the same turns as it (see _side_by_side)."""
    for rec in r.pairs:
        size, floor = rec["size"], rec["floor_in_turn"]["p50"]["value"]
        gbps = rec["memcpy_gbps_in_turn"]["value"]                  # GB/s = bytes per ns
        if rec["transport"] == "shm":
            rec["latency_baseline"] = "shm_pingpong + 4 memcpy"
            rec["latency_floor_ns"] = floor + 4 * (size + r.overhead) / gbps
            rec["bare_floor_ns"] = floor
        else:                                   # uds, tcp: a bare socketpair ping-pong of the same frame
            rec["latency_baseline"] = f"socketpair/{size}"
            rec["latency_floor_ns"] = rec["bare_floor_ns"] = floor
        rec["latency_ratio"] = rec["latency"]["p50"]["value"] / rec["latency_floor_ns"]
        rec["gb_per_s_of_memcpy"] = rec["gb_per_s"]["value"] / gbps


def _lat_summary(runs: list) -> dict:
    return {k: summary(v) for k, v in measure.summarize_latency(runs).items()}


def _side_by_side(r: Run, pairs: list[tuple[PeerSpec, PeerSpec]], transport: str, size: int,
                  say: Callable[[str], None], base: Baselines, pin: tuple[int, int]) -> None:
    """Every pair at one transport and size, connected at once and measured in turns, with this
    transport's floor and memcpy measured in the same turns: repetition k of every pair and of
    the floor runs before repetition k + 1 of any, so drift in the machine's speed during the run
    (several times, on this VM) falls on the figures and their floors alike."""
    s = r.settings
    live: dict[tuple[str, str], tuple[Pair, int, int]] = {}
    try:
        for a, b in pairs:
            key = (a.name, b.name)
            pair = None
            try:
                pair = Pair(a, b, transport, r.cpus, stream=r.stream, seq_max=r.seq_max)
                pair.connect(bench_capacity(size, r.overhead))
                lat_count = measure.adaptive_count(pair.ping(20, size).mean, s.latency_s)
                rate, _ = pair.stream(64 if size > 65536 else 1000, size)
                stream_count = measure.adaptive_count(1e9 / rate if rate else 0, s.stream_s, floor=20)
                live[key] = (pair, lat_count, stream_count)
            except (PeerError, CrosswireError) as exc:
                what = "missing" if isinstance(exc, Unsupported) else "FAILED"
                r.missing.append(f"{a.name}->{b.name} over {transport} at {size} B: {what} {exc}")
                say(f"  {a.name}->{b.name} {transport} {size} B: {what} ({exc})")
                if pair is not None:
                    pair.close()
        lat: dict = {k: [] for k in live}
        rates: dict = {k: [] for k in live}
        waits: dict = {k: 0 for k in live}
        floors: list = []
        copies: list = []
        for _ in range(s.reps):
            if transport == "shm":
                floors.append(base.round_trips("shm-pingpong", 20_000 if s.quick else 100_000, pin))
            else:
                floors.append(base.round_trips("socketpair", (2_000 if size < 65536 else 100) * (1 if s.quick else 3),
                                               pin, size + r.overhead))
            copies.append(base.memcpy_gbps(size + r.overhead, (1 << 26) if s.quick else (1 << 28), pin[0]))
            for key, (pair, lat_count, stream_count) in list(live.items()):
                try:
                    lat[key].append(pair.ping(lat_count, size))
                    rate, w = pair.stream(stream_count, size)
                    rates[key].append(rate)
                    waits[key] += w
                except (PeerError, CrosswireError) as exc:
                    r.missing.append(f"{key[0]}->{key[1]} over {transport} at {size} B: FAILED {exc}")
                    say(f"  {key[0]}->{key[1]} {transport} {size} B: FAILED ({exc})")
                    live.pop(key)[0].close()
        for key, (pair, lat_count, stream_count) in live.items():
            rate = Summary.of(rates[key])
            gbps = Summary.of([x * (size + r.overhead) / 1e9 for x in rates[key]])
            rec = {"a": key[0], "b": key[1], "transport": transport, "size": size,
                   "latency": _lat_summary(lat[key]), "latency_count": lat_count,
                   "msgs_per_s": summary(rate), "gb_per_s": summary(gbps), "stream_count": stream_count,
                   "stream_waits": waits[key], "floor_in_turn": _lat_summary(floors),
                   "memcpy_gbps_in_turn": summary(Summary.of(copies))}
            r.pairs.append(rec)
            say(f"  {key[0]}->{key[1]} {transport} {size:>7} B: round trip p50 "
                f"{rec['latency']['p50']['value'] / 1000:9.2f} us, p99 {rec['latency']['p99']['value'] / 1000:9.2f} us; "
                f"{rate.value:12,.0f} msgs/s {gbps.value:6.2f} GB/s")
    finally:
        for pair, _, _ in live.values():
            pair.close()


def _strategies(r: Run, peers: list[PeerSpec], say: Callable[[str], None]) -> None:
    """Each peer with itself over shm at 64 B, under each wait strategy, on two cores and on one;
    the strategies of one peer and placement measured in turns, like the pairs."""
    s = r.settings
    if "shm" not in s.transports:
        return
    say("wait strategies, shm, 64 B, each peer with itself")
    for p in peers:
        if "shm" not in p.transports:
            continue
        for placement, cpus in (("two cores", r.cpus), ("one core", (r.one_core, r.one_core))):
            live: dict[str, tuple[Pair, int]] = {}
            runs: dict[str, list] = {}
            try:
                for strategy in STRATEGIES:
                    pair = None
                    try:
                        pair = Pair(p, p, "shm", cpus, wait=strategy, stream=r.stream, seq_max=r.seq_max)
                        pair.connect(bench_capacity(r.small, r.overhead))
                        # a spinner sharing one core measures timeslices: keep its runs short
                        target = s.latency_s / (10 if strategy == "spin" and placement == "one core" else 1)
                        live[strategy] = (pair, measure.adaptive_count(pair.ping(20, r.small).mean, target))
                        runs[strategy] = []
                    except (PeerError, CrosswireError) as exc:
                        r.missing.append(f"{p.name} wait {strategy} on {placement}: {exc}")
                        if pair is not None:
                            pair.close()
                for _ in range(s.reps):
                    for strategy, (pair, count) in live.items():
                        runs[strategy].append(pair.ping(count, r.small))
            except (PeerError, CrosswireError) as exc:
                r.missing.append(f"{p.name} wait strategies on {placement}: FAILED {exc}")
                continue
            finally:
                for pair, _ in live.values():
                    pair.close()
            for strategy, (_, count) in live.items():
                rec = {"peer": p.name, "placement": placement, "strategy": strategy,
                       "latency": _lat_summary(runs[strategy]), "count": count}
                r.waits.append(rec)
                say(f"  {p.name} {placement:9} {strategy:10}: p50 {rec['latency']['p50']['value'] / 1000:9.2f} us, "
                    f"p99 {rec['latency']['p99']['value'] / 1000:9.2f} us")


# ------------------------------------------------------------------ targets

def _p50(r: Run, a: str, b: str, transport: str, size: int | None = None) -> float | None:
    p = r.pair(a, b, transport, r.small if size is None else size)
    return p["latency"]["p50"]["value"] if p else None


def _target(name: str, value: float | None, limit: float, at_most: bool, how: str) -> dict:
    ok = None if value is None else (value <= limit if at_most else value >= limit)
    return {"name": name, "value": value, "limit": limit, "at_most": at_most, "ok": ok, "how": how}


def targets(r: Run) -> list[dict]:
    out = []
    cc = _p50(r, "c", "c", "shm")
    cc_rec = r.pair("c", "c", "shm", r.small)
    floor = cc_rec.get("bare_floor_ns") if cc_rec else None
    out.append(_target("C<->C shm round trip / bare cache-line ping-pong", cc and floor and cc / floor, 1.3, True,
                       "p50 at 64 B over p50 of cw-baseline shm-pingpong, measured in turns with it"))
    for a, b in (("rust", "rust"), ("c", "rust"), ("rust", "c")):
        v = _p50(r, a, b, "shm")
        out.append(_target(f"{a}<->{b} shm round trip / C<->C", v and cc and v / cc, 1.15, True, "p50 at 64 B"))
    uds = _p50(r, "c", "c", "uds")
    uds_rec = r.pair("c", "c", "uds", r.small)
    sp = uds_rec.get("bare_floor_ns") if uds_rec else None
    out.append(_target("C<->C uds round trip / bare socketpair ping-pong", uds and sp and uds / sp, 1.2, True,
                       "p50 at 64 B (a frame of 88 bytes both ways)"))
    shm64, uds64 = r.pair("c", "c", "shm", r.small), r.pair("c", "c", "uds", r.small)
    out.append(_target("C->C shm / uds streaming, 64 B messages", shm64 and uds64 and
                       shm64["msgs_per_s"]["value"] / uds64["msgs_per_s"]["value"], 10, False, "msgs/s ratio"))
    big = r.pair("c", "c", "shm", 1 << 20)
    out.append(_target("C->C shm streaming of 1 MiB / memcpy bandwidth", big and big["gb_per_s_of_memcpy"], 0.6,
                       False, "GB/s over single-core memcpy of the same frame size"))
    one = next((w for w in r.waits if w["peer"] == "c" and w["placement"] == "one core"
                and w["strategy"] == "spin-futex"), None)
    fut = r.baselines["futex_pingpong_one_core"]["p50"]["value"]
    out.append(_target("one core: C<->C shm (spin-futex) / bare futex ping-pong", one and
                       one["latency"]["p50"]["value"] / fut, 3.0, True, "p50 at 64 B, both pinned to one CPU"))
    py_uds, py_shm = _p50(r, "python", "python", "uds"), _p50(r, "python", "python", "shm")
    out.append(_target("Python<->Python: uds round trip / shm round trip", py_uds and py_shm and py_uds / py_shm,
                       10, False, "p50 at 64 B"))
    if r.codec:
        worst = max(max(c["encode_ratio"], c["decode_ratio"]) for c in r.codec)
        out.append(_target("Python peer codec / bare struct.Struct (worst message, encode or decode)", worst, 2.0,
                           True, "per call, fixed-layout messages"))
    whole = next((m for m in r.matrix if m["cases"] == "all" and len(m["peers"]) == max(len(x["peers"]) for x in r.matrix)), None)
    if whole:
        out.append(_target("whole test matrix wall time, seconds (pytest -n auto)", whole["seconds"], 120, True,
                           f"{whole['cells']} cells, {len(whole['peers'])} peers"))
    return out
