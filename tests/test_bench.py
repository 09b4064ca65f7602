"""The bench (harness/bench): the baseline programs, the peers' bench requests between every
pair over every transport, the Python codec timing, the matrix timing, the targets, and the
files a run writes. These check that the figures are produced and consistent, never how fast
anything is: speed is for `make bench`, not for tests."""
from __future__ import annotations

import itertools
import json
import os
import struct
import subprocess
import sys

import pytest

from harness.bench import codec, output, scaling, suite
from harness.bench.baseline import Baselines
from harness.bench.measure import Pair, Summary, bench_capacity, figures, pin
from harness.errors import CrosswireError, PeerReplyError
from harness.project import Project

from .conftest import ROOT

PROJECT = Project(ROOT)
PEERS = [p for p in PROJECT.registry.values() if p.unavailable() is None]
STREAM = PROJECT.stream.request
CPUS = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


@pytest.fixture(scope="module")
def baselines():
    b = Baselines(ROOT)
    b.build()
    return b


# ------------------------------------------------------------------ baselines

@pytest.mark.parametrize("mode, size", [("shm-pingpong", 0), ("futex-pingpong", 0), ("socketpair", 88),
                                        ("socketpair", 1 << 20)])
def test_baseline_round_trips_are_consistent(baselines, mode, size):
    if mode == "futex-pingpong" and sys.platform != "linux":
        pytest.skip("futex is Linux only")
    lat = baselines.round_trips(mode, 200, (-1, -1), size)
    assert lat.rounds == 200
    assert 0 < lat.min <= lat.p50 <= lat.p90 <= lat.p99 <= lat.p999 <= lat.max
    assert lat.min <= lat.mean <= lat.max


def test_baseline_memcpy(baselines):
    assert baselines.memcpy_gbps(1 << 16, 1 << 22, -1) > 0


@pytest.mark.parametrize("args", [[], ["memcpy"], ["shm-pingpong", "0", "0", "-1", "-1"],
                                  ["socketpair", "10", "1", "x", "-1", "-1"], ["warp", "1"]])
def test_baseline_refuses_bad_arguments(baselines, args):
    r = subprocess.run([str(baselines.program), *args], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and r.stdout.startswith("ERR "), r.stdout


# ------------------------------------------------------------------ the peers' bench requests

PAIRS = [(a, b, t) for a, b in itertools.product(PEERS, PEERS) for t in ("uds", "shm", "tcp")
         if t in a.transports and t in b.transports]


@pytest.mark.parametrize("a, b, transport", PAIRS, ids=[f"{a.name}->{b.name}-{t}" for a, b, t in PAIRS])
def test_ping_pong_and_flood_sink_between_peers(a, b, transport):
    """Every size class, including a frame larger than the ring, both requests, exact counts."""
    with Pair(a, b, transport, timeout_s=60, stream=STREAM) as pair:
        for size in (8, 64, 4096 + 3, 300_000):
            pair.connect(4096 if size == 300_000 else bench_capacity(size))   # 300 kB through a 4 KiB ring
            lat = pair.ping(30, size)
            assert lat.rounds == 30 and 0 < lat.min <= lat.p50 <= lat.p99 <= lat.max
            rate, _ = pair.stream(40, size)
            assert rate > 0
            pair.disconnect()


def _linked(a_spec, b_spec, transport):
    """Two peers connected over `transport`; use it with `with`, which closes both."""
    pair = Pair(a_spec, b_spec, transport, timeout_s=20, stream=STREAM)
    try:
        pair.connect(65536)
    except BaseException:
        pair.close()
        raise
    return pair


@pytest.mark.parametrize("spec", PEERS, ids=[p.name for p in PEERS])
def test_pong_writes_any_frame_back_unchanged(spec):
    python = PROJECT.registry["python"]
    with _linked(python, spec, "uds") as pair:
        pair.b.send("PONG 2 5000")
        pair.a.request("SEND Integers 7 1 2 3 4 -5 -6 -7 -8")
        assert pair.a.request("RECV 5000") == ["Integers", "7", "1", "2", "3", "4", "-5", "-6", "-7", "-8"]
        pair.a.request("SEND Empty 18446744073709551615")
        assert pair.a.request("RECV 5000") == ["Empty", "18446744073709551615"]
        assert figures(pair.b.reply(10))["rounds"] == 2


@pytest.mark.parametrize("spec", PEERS, ids=[p.name for p in PEERS])
def test_sink_refuses_a_frame_that_is_not_the_bench_frame(spec):
    python = PROJECT.registry["python"]
    with _linked(python, spec, "uds") as pair:
        pair.b.send("SINK 3 64 5000")
        pair.a.request("FLOOD 1 64")                       # frame 1 is right
        pair.a.request("SEND Integers 2 1 2 3 4 5 6 7 8")  # frame 2 is not the stream message
        with pytest.raises(PeerReplyError) as info:
            pair.b.reply(10)
        assert info.value.kind == "runtime" and "2" in info.value.detail


@pytest.mark.parametrize("spec", PEERS, ids=[p.name for p in PEERS])
def test_ping_refuses_a_wrong_reply(spec):
    """The other side answers with the wrong seq: PING says which round and what differed."""
    python = PROJECT.registry["python"]
    with _linked(spec, python, "uds") as pair:
        pair.a.send("PING 1 0 64 5000")
        assert pair.b.request("RECV 5000")[:2] == ["Blob", "1"]
        pair.b.request("SEND Blob 9 0 x00")
        with pytest.raises(PeerReplyError) as info:
            pair.a.reply(10)
        assert info.value.kind == "runtime" and "round 1" in info.value.detail


@pytest.mark.parametrize("spec", PEERS, ids=[p.name for p in PEERS])
def test_sink_times_out(spec):
    python = PROJECT.registry["python"]
    with _linked(python, spec, "uds") as pair:
        with pytest.raises(PeerReplyError) as info:
            pair.b.request("SINK 2 64 200", 10)
        assert info.value.kind == "timeout"


@pytest.mark.skipif(len(CPUS) < 1 or not hasattr(os, "sched_setaffinity"), reason="needs CPU affinity (Linux)")
@pytest.mark.parametrize("spec", [p for p in PEERS if "shm" in p.transports], ids=lambda p: p.name)
def test_spin_futex_sleeps_at_once_when_both_sides_share_one_cpu(spec):
    """SHM.md "Wait strategies": on one shared CPU the default must not spin (the other side
    cannot run meanwhile), so nearly every wait is a sleep; the figure that shows it is `waits`."""
    with Pair(spec, spec, "shm", (CPUS[0], CPUS[0]), wait="spin-futex", timeout_s=60, stream=STREAM) as pair:
        pair.connect(65536)
        pair.b.send("PONG 220 20000")
        ping = figures(pair.a.request("PING 200 20 64 20000", 30))
        pong = figures(pair.b.reply(10))
    # every round one side or the other finds its ring empty and, not spinning, sleeps
    assert ping["waits"] + pong["waits"] >= 200, (ping, pong)


# ------------------------------------------------------------------ codec, scaling, output

@pytest.mark.skipif(not os.path.isdir("/proc/self/task") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs Linux's /proc and two CPUs")
def test_pin_moves_every_thread_of_a_process():
    """A runtime with threads of its own (Go's) must not go on running on the other CPU."""
    code = "import threading, time\nfor _ in range(3): threading.Thread(target=time.sleep, args=(30,)).start()\n" \
           "print('up', flush=True)\ntime.sleep(30)\n"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "up\n"
        cpu = sorted(os.sched_getaffinity(0))[-1]
        pin(proc.pid, cpu)
        tids = [int(t) for t in os.listdir(f"/proc/{proc.pid}/task")]
        assert len(tids) >= 4
        assert all(os.sched_getaffinity(tid) == {cpu} for tid in tids)
    finally:
        proc.kill()
        proc.wait()


def test_bare_format_matches_the_fixed_size(schema):
    from harness import schema as S
    fixed = [m for m in schema.messages.values() if m.value_fields and S.fixed_size(m) is not None]
    assert fixed, "the schema has fixed-layout messages"
    for m in fixed:
        assert struct.calcsize("<" + codec.bare_format(m)) == S.fixed_size(m), m.name
    with pytest.raises(CrosswireError):
        codec.bare_format(schema.message("Blob"))


def test_codec_figures_are_produced(project):
    figs = codec.measure(project.root, project.schema, project.cases, repeat=1)
    assert {f.message for f in figs} >= {"Integers", "Floats"}
    for f in figs:
        assert f.encode_ns > 0 and f.bare_pack_ns > 0 and f.encode_ratio > 0 and f.decode_ratio > 0


def test_matrix_timing_counts_cells():
    m = scaling.run(ROOT, ["python", "c"], "integers.max", jobs="0")
    assert m.cells > 0 and m.seconds > 0
    with pytest.raises(CrosswireError):
        scaling.run(ROOT, ["python", "no-such-peer"], "integers.max")


def _fake_run() -> suite.Run:
    def lat(p50):
        s = Summary.of([p50, p50 * 1.1, p50 * 0.9])
        return {k: suite.summary(s) for k in ("p50", "p90", "p99", "p999", "mean", "min")}
    r = suite.Run(suite.Settings(quick=True, sizes=(64,)), {"cpu": "x", "cpus": 2, "virtualised": "no", "os": "o",
                                                             "machine": "m", "python": "3", "cc": "cc", "rustc": "r"},
                  (0, 1), 0)
    r.baselines = {"shm_pingpong": lat(100), "futex_pingpong": lat(5000), "futex_pingpong_one_core": lat(4000),
                   "socketpair": {"64": lat(10000)}, "memcpy_gbps": {"64": suite.summary(Summary.of([10.0]))}}
    for t, p50, rate in (("shm", 120, 2e7), ("uds", 11000, 1e6)):
        r.pairs.append({"a": "c", "b": "c", "transport": t, "size": 64, "latency": lat(p50),
                        "msgs_per_s": suite.summary(Summary.of([rate])),
                        "gb_per_s": suite.summary(Summary.of([rate * 88 / 1e9])), "latency_ratio": p50 / 100,
                        "gb_per_s_of_memcpy": rate * 88 / 1e10, "latency_count": 10, "stream_count": 10,
                        "stream_waits": 0, "latency_floor_ns": 100 if t == "shm" else 10000,
                        "bare_floor_ns": 100 if t == "shm" else 10000})
    r.waits.append({"peer": "c", "placement": "one core", "strategy": "spin-futex", "latency": lat(20000), "count": 1})
    r.targets = suite.targets(r)
    return r


def test_targets_are_judged_from_ratios():
    t = {x["name"]: x for x in _fake_run().targets}
    assert t["C<->C shm round trip / bare cache-line ping-pong"]["ok"] is True            # 1.2 <= 1.3
    assert t["C<->C uds round trip / bare socketpair ping-pong"]["ok"] is True            # 1.1 <= 1.2
    assert t["C->C shm / uds streaming, 64 B messages"]["ok"] is True                     # 20 >= 10
    assert t["one core: C<->C shm (spin-futex) / bare futex ping-pong"]["ok"] is False    # 5 > 3
    assert t["rust<->rust shm round trip / C<->C"]["ok"] is None                          # not measured


def test_outputs(tmp_path):
    run = _fake_run()
    output.write_json(run, tmp_path / "bench.json")
    assert json.loads((tmp_path / "bench.json").read_text())["targets"]
    md = output.markdown(run)
    assert "## Targets" in md and "| c↔c | shm | 64 B |" in md and "**missed**" in md
    for png in output.plots(run, tmp_path):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{output.README_BEGIN}\nold\n{output.README_END}\nrest\n")
    assert output.update_readme(run, readme)
    text = readme.read_text()
    assert "old" not in text and "| Round trip, 64 B, C↔C (p50) |" in text and text.endswith("rest\n")
    (tmp_path / "plain.md").write_text("no markers\n")
    assert not output.update_readme(run, tmp_path / "plain.md")


def test_plots_tell_sixteen_pairs_apart_and_answer_sockets_or_shared_memory(tmp_path):
    """16 pairs get 16 distinct styles (the default cycle has 10 colours); besides latency and
    throughput a third plot gives shm's speed-up over uds per pair and size."""
    run = _fake_run()
    template = run.pairs[:]
    run.pairs = []
    peers = ["c", "rust", "go", "python"]
    for a in peers:
        for b in peers:
            for p in template:
                for size in (64, 4096, 1 << 20):
                    run.pairs.append({**p, "a": a, "b": b, "size": size})
    run.baselines["socketpair"] = {str(s): run.baselines["socketpair"]["64"] for s in (64, 4096, 1 << 20)}
    styles = output._style(sorted({(p["a"], p["b"]) for p in run.pairs}))
    assert len(styles) == 16 and len({(s["color"], s["marker"]) for s in styles.values()}) == 16
    made = output.plots(run, tmp_path)
    assert [m.name for m in made] == ["bench-summary.png", "bench-latency.png", "bench-throughput.png",
                                      "bench-shm-vs-uds.png"]
    assert output.size_name(1 << 20) == "1 MiB" and output.size_name(4096) == "4 KiB"


def test_a_busy_machine_is_said():
    from harness.bench import machine
    assert "the machine is busy (load average 3.0" in machine.busy({"load_average": [3.0, 1, 1], "cpus": 2})
    assert machine.busy({"load_average": [0.5, 1, 1], "cpus": 2}) is None
    assert "25% of CPU time stolen" in machine.busy({"load_average": [0.1, 1, 1], "cpus": 2, "steal_percent": 25.0})
    assert 0 <= (machine.steal_percent(0.1) or 0) <= 100


def test_quick_bench_end_to_end(tmp_path):
    """`python -m harness bench --quick` on one peer and one size writes every output."""
    r = subprocess.run([sys.executable, "-m", "harness", "bench", "--quick", "--peers", "c", "--sizes", "64",
                        "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads((tmp_path / "bench.json").read_text())
    assert {(p["transport"], p["size"]) for p in data["pairs"]} == {("uds", 64), ("shm", 64), ("tcp", 64)}
    assert all(p["latency"]["p50"]["value"] > 0 and p["msgs_per_s"]["value"] > 0 for p in data["pairs"])
    assert {w["strategy"] for w in data["wait_strategies"]} == set(suite.STRATEGIES)
    assert (tmp_path / "bench.md").exists() and (tmp_path / "bench-latency.png").exists()
    assert "target: C<->C shm round trip" in r.stdout


@pytest.mark.timeout(900)
def test_bench_runs_on_another_protocol(built_project, tmp_path):
    """`crosswire bench` in a project that is not this checkout (Modbus TCP: big-endian, a u16 seq,
    no Blob): the baseline program builds in the project's build/ folder, the stream message and
    its sizes come from the schema, and no pair fails for a count its seq cannot hold."""
    proj = built_project("examples/modbus", ["python", "c"])
    out = tmp_path / "bench"
    r = subprocess.run([sys.executable, "-m", "harness", "bench", "--project", str(proj.root), "--quick",
                        "--peers", "python,c", "--transports", "uds,shm", "--no-scaling", "--out", str(out)],
                       capture_output=True, text=True, timeout=800, cwd=ROOT)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    run = json.loads((out / "bench.json").read_text())
    assert not [m for m in run["missing"] if "FAILED" in m], run["missing"]
    sizes = {p["size"] for p in run["pairs"]}
    assert sizes and max(sizes) <= proj.schema.max_payload, sizes
    assert {(p["a"], p["b"]) for p in run["pairs"]} == {("python", "python"), ("python", "c"), ("c", "python"), ("c", "c")}
    assert (proj.root / "build" / "bench" / "build" / "cw-baseline").is_file()
