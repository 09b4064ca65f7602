"""`python -m harness` as a user runs it: real subprocesses, exit codes, one-line errors."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from .conftest import ROOT


def cli(*args: str, cwd=ROOT, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin:" +
                                                           os.environ.get("PATH", ""), "COLUMNS": "200"})


@pytest.fixture
def checkout(tmp_path):
    """A copy of the checkout's protocols and peers, to break on purpose."""
    root = tmp_path / "checkout"
    shutil.copytree(ROOT / "protocols", root / "protocols")
    shutil.copytree(ROOT / "peers" / "python", root / "peers" / "python")
    return root


def python_peer(checkout, name: str, script: str):
    """peers/<name> in the checkout copy: a manifest and a Python script, speaking uds."""
    d = checkout / "peers" / name
    d.mkdir()
    (d / "peer.toml").write_text(f'name = "{name}"\nlanguage = "python"\ncontract = 3\n[run]\n'
                                 f'command = ["{sys.executable}", "peer.py"]\n[supports]\ntransports = ["uds"]\n')
    (d / "peer.py").write_text(script)
    return d


def test_matrix_json_has_one_record_per_cell(tmp_path):
    out = tmp_path / "m.json"
    r = cli("matrix", "--peers", "python", "--cases", "integers.*,floats.snan*", "--json", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(out.read_text())
    records = doc["results"]
    ids = {x["id"] for x in records}
    assert "python->python-uds-integers.max" in ids and "python-decode-floats.snan_payload" in ids
    assert all(x["status"] == "pass" for x in records)
    n_cases = len({x["case"] for x in records})
    assert len(records) == 8 * n_cases  # encode, decode, then send and echo over uds, shm and tcp
    assert "python->python-shm-integers.max" in ids and "python<->python-tcp-integers.max" in ids
    assert {"sender", "receiver", "transport", "case", "status", "detail"} <= records[0].keys()
    assert "sender (row) x receiver (column)" in r.stdout


def test_peers_lists_capabilities_and_platform():
    r = cli("peers")
    assert r.returncode == 0, r.stderr
    assert "python" in r.stdout and "64-bit, little-endian" in r.stdout


def test_vectors_check_passes():
    r = cli("vectors")
    assert r.returncode == 0 and "all reproduced by the codec" in r.stdout


def one_line_error(r: subprocess.CompletedProcess) -> str:
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    return r.stderr


def test_unknown_peer_name():
    assert "unknown peer 'cobol'; known peers: " in one_line_error(cli("matrix", "--peers", "cobol"))


def test_unknown_transport_and_case():
    assert "unknown transport 'pigeon'" in one_line_error(cli("matrix", "--transports", "pigeon"))
    assert "no case matches nothing.*" in one_line_error(cli("matrix", "--cases", "nothing.*"))


def test_malformed_schema_is_one_line(checkout):
    schema = checkout / "protocols/schema.toml"
    schema.write_text(schema.read_text().replace('type = "vec<Pose>"', 'type = "vec<Pos>"'))
    err = one_line_error(cli("matrix", "--root", str(checkout)))
    assert "schema.toml: message Track, field poses: unknown type 'Pos'" in err


def test_bad_manifest_is_one_line(checkout):
    (checkout / "peers/python/peer.toml").write_text('name = "python"\n')
    assert "peer.toml: missing key 'language'" in one_line_error(cli("peers", "--root", str(checkout)))


def test_missing_peer_binary_is_a_skip_with_the_fix(checkout):
    d = checkout / "peers" / "ghost"
    d.mkdir()
    (d / "peer.toml").write_text('name = "ghost"\nlanguage = "c"\ncontract = 3\n[build]\noutputs = ["build/ghost"]\n'
                                 '[run]\ncommand = ["build/ghost"]\n[supports]\ntransports = ["uds"]\n')
    r = cli("matrix", "--root", str(checkout), "--cases", "integers.max")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "skipped" in r.stdout and "run `crosswire build`" in r.stdout


def test_garbage_peer_fails_its_cells_and_nothing_is_left_running(checkout):
    d = python_peer(checkout, "noisy", "import sys\nfor line in sys.stdin:\n    print('lol', flush=True)\n")
    r = cli("matrix", "--root", str(checkout), "--cases", "integers.max", "--peers", "noisy")
    assert r.returncode == 1
    assert "not a contract reply: 'lol'" in r.stdout and "Traceback" not in r.stdout + r.stderr
    leftover = subprocess.run(["pgrep", "-f", str(d / "peer.py")], capture_output=True, text=True)
    assert leftover.stdout == ""


def test_peers_says_why_a_peer_died_at_hello(checkout):
    python_peer(checkout, "crashy", "import sys\nsys.stdin.readline()\nsys.exit('fatal: bad g in signal handler')\n")
    r = cli("peers", "--root", str(checkout))
    assert r.returncode == 0, r.stderr
    assert "HELLO failed" in r.stdout and "fatal: bad g in signal handler" in r.stdout, r.stdout


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_interrupt_leaves_nothing_behind(checkout, tmp_path, signame):
    """Ctrl-C (or SIGTERM) while a peer hangs: exit 130, the peers killed, the socket dir gone."""
    import os
    import signal
    import time
    note = tmp_path / "note"
    python_peer(checkout, "stuck", f"""
import os, socket, sys, time
for line in sys.stdin:
    words = line.split()
    if words[0] == "HELLO":
        print("OK name=stuck language=python contract=3 transports=uds messages=* ptr_bits=64 byte_order=little")
    elif words[0] == "LISTEN":
        s = socket.socket(socket.AF_UNIX); s.bind(words[2]); s.listen()
        print("OK")
    elif words[0] == "ACCEPT":
        with open({str(note)!r}, "a") as f: f.write(f"{{os.getpid()}} {{s.getsockname()}}\\n")
        time.sleep(3600)
    else:
        print("OK")
    sys.stdout.flush()
""")
    proc = subprocess.Popen([sys.executable, "-m", "harness", "matrix", "--root", str(checkout), "--peers", "stuck",
                             "--kinds", "send", "--cases", "integers.max", "--timeout", "60"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while not note.exists():
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    pid, sock = note.read_text().split()
    assert os.path.exists(sock)
    proc.send_signal(getattr(signal, signame))
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, out + err
    assert "interrupted" in err and "Traceback" not in err
    assert not os.path.exists(os.path.dirname(sock)), "the private socket directory was left behind"
    deadline = time.monotonic() + 5
    while True:
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            break
        assert time.monotonic() < deadline, "a peer survived the interrupt"
        time.sleep(0.05)


@pytest.mark.parametrize("transport", ["uds", "tcp", "shm"])
def test_replay_writes_frames_to_a_peer_over_each_transport(project, tmp_path, transport):
    """`replay --frame`: the reference peer writes the bytes as they are (RAW) and the peer
    RECVs them; a 1 MiB frame passes through a 64 KiB ring because the peer reads meanwhile."""
    from harness import codec
    spec = project.registry["c"]
    if spec.unavailable():
        pytest.skip(spec.unavailable())
    big = next(c for c in project.cases if c.message.name == "Blob" and len(c.payload) > 1 << 19)
    frame = codec.encode_frame(project.schema, big.message, 7, big.value)
    path = tmp_path / "frame.bin"
    path.write_bytes(frame)
    r = cli("replay", "--peer", "c", "--frame", "--transport", transport, "--bytes", f"@{path}", timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("c accepted the bytes: OK Blob 7 ")
    bad = bytearray(frame)
    bad[4] = 2                                             # format version 2
    r = cli("replay", "--peer", "c", "--frame", "--transport", transport, "--bytes", bad[:64].hex(), timeout=120)
    assert r.returncode == 1 and "c refused the bytes: ERR decode const frame.version" in r.stdout, r.stdout


def test_replay_refuses_a_transport_the_peer_lacks(checkout):
    python_peer(checkout, "udsonly", "import sys\nfor line in sys.stdin:\n    print('OK name=udsonly contract=3', flush=True)\n")
    r = cli("replay", "--root", str(checkout), "--peer", "udsonly", "--frame", "--transport", "shm", "--bytes", "00")
    assert r.returncode == 2 and "does not support transport shm" in r.stderr, r.stderr


# ------------------------------------------------------------------ bad input, before any work (issue 17)

@pytest.mark.parametrize("value", ["-1", "0", "inf", "nan", "1e308", "abc"])
def test_a_timeout_that_is_not_a_sane_number_is_a_usage_error(value):
    r = cli("matrix", "--peers", "python", "--kinds", "encode", f"--timeout={value}")
    assert r.returncode == 2 and "argument --timeout" in r.stderr and "Traceback" not in r.stderr, r.stderr


@pytest.mark.parametrize("args, said", [(["matrix", "--cases", ","], "names nothing"),
                                        (["stress", "--capacity", "1000"], "not a power of two"),
                                        (["stress", "--count", "0"], "out of range"),
                                        (["matrix", "--jobs", "-3"], "out of range")])
def test_numbers_and_lists_are_checked_before_anything_starts(args, said):
    r = cli(*args, timeout=60)
    assert r.returncode == 2 and said in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert said in r.stderr.strip().splitlines()[-1], r.stderr     # the usage, then the one line


def test_an_unwritable_report_path_fails_before_the_run(tmp_path):
    (tmp_path / "dir.json").mkdir()
    for path, said in ((tmp_path / "dir.json", "is a folder"), (tmp_path / "file" / "x.json", "cannot write there")):
        if said == "cannot write there":
            (tmp_path / "file").write_text("a file, not a folder")
        r = cli("matrix", "--peers", "python", "--kinds", "encode", "--json", str(path))
        assert r.returncode == 2 and said in r.stderr and "Traceback" not in r.stderr, r.stderr
        assert "pass" not in r.stdout, "nothing ran"


def test_a_report_replaces_a_planted_symlink_instead_of_following_it(tmp_path):
    target, link = tmp_path / "victim.txt", tmp_path / "out.json"
    target.write_text("not yours")
    link.symlink_to(target)
    r = cli("matrix", "--peers", "python", "--kinds", "encode", "--cases", "integers.zero", "--json", str(link))
    assert r.returncode == 0, r.stderr
    assert target.read_text() == "not yours" and not link.is_symlink()
    assert json.loads(link.read_text())["results"]


def test_deeply_nested_vectors_are_one_line(checkout):
    (checkout / "protocols" / "vectors" / "golden.json").write_text("[" * 100000 + "]" * 100000)
    r = cli("vectors", "--root", str(checkout))
    assert r.returncode == 2 and "nested too deeply" in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_a_manifest_naming_an_unknown_message_is_refused(checkout):
    d = python_peer(checkout, "typo", "import sys\n")
    (d / "peer.toml").write_text((d / "peer.toml").read_text().replace(
        'transports = ["uds"]', 'transports = ["uds"]\nmessages = ["Integers", "Integer"]'))
    r = cli("peers", "--no-hello", "--root", str(checkout))
    assert r.returncode == 2 and "'Integer'" in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_clean_removes_what_a_dead_harness_left_and_nothing_else(tmp_path):
    """Leftovers name their owner's pid: a dead owner's are removed (by `clean`, and at the start
    of every command); a live owner's stay."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale_dir = f"/tmp/cw-.{dead.pid}.test{os.getpid()}"
    live_dir = f"/tmp/cw-.{os.getpid()}.test{os.getpid()}"
    from harness.transports.sweep import base36
    stale_seg = f"/dev/shm/cw.{base36(dead.pid)}.test{os.getpid()}"
    os.mkdir(live_dir)
    has_shm = os.path.isdir("/dev/shm")
    def swept(command: list[str], said: str) -> bool:
        """Whether `command` removed the stale leftovers and said so. Any harness that starts
        meanwhile (another test worker) sweeps them too, so a miss is retried twice."""
        for _ in range(3):
            os.makedirs(stale_dir, exist_ok=True)
            if has_shm:
                open(stale_seg, "w").close()
            r = cli(*command)
            assert r.returncode == 0, r.stderr
            assert not os.path.exists(stale_dir) and not (has_shm and os.path.exists(stale_seg))
            if said in r.stdout + r.stderr:
                return True
        return False
    try:
        assert swept(["clean"], f"removed {stale_dir}")
        assert os.path.exists(live_dir)
        assert swept(["peers", "--no-hello"], "killed runs left")
    finally:
        shutil.rmtree(live_dir, ignore_errors=True)
        shutil.rmtree(stale_dir, ignore_errors=True)
        if has_shm and os.path.exists(stale_seg):
            os.unlink(stale_seg)
