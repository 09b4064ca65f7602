"""`python -m harness check-peer`: the checklist for one peer (harness/conformance.py)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from harness import conformance

from .conftest import ROOT



def run_cli(*args: str, root=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *args, "--root", str(root)], capture_output=True,
                          text=True, timeout=600, cwd=ROOT)


def by_name(report: conformance.Report) -> dict[tuple[str, str], conformance.Item]:
    return {(i.area, i.name): i for i in report.items}


@pytest.mark.parametrize("peer", ["python", "c", "rust"])
def test_a_complete_peer_passes_every_item(project, peer, tmp_path):
    spec = project.registry[peer]
    if spec.unavailable():
        pytest.skip(spec.unavailable())
    out = tmp_path / "check.json"
    r = run_cli("check-peer", str(spec.dir), "--no-build", "--json", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(out.read_text())
    assert doc["counts"]["fail"] == doc["counts"]["missing"] == doc["counts"]["skip"] == 0, doc["counts"]
    areas = {i["area"] for i in doc["items"]}
    assert areas == {"manifest", "contract", "codec", "uds", "tcp", "shm", "streams", "bench"}
    # every golden case of every message went through ENCODE and DECODE, and over each transport
    codec = [i for i in doc["items"] if i["area"] == "codec" and i["name"] in project.schema.messages]
    assert len(codec) == len(project.schema.messages)
    sends = [i for i in doc["items"] if i["area"] == "uds" and "receives" in i["name"]]
    assert [i["detail"] for i in sends] == [f"{len(project.cases)} cases"] * 2
    assert f"{peer}: " in r.stdout and "0 failed" in r.stdout


def test_a_codec_bug_fails_its_message_and_names_the_field(project, faulty_peer):
    """The reference peer with Integers.val_u32 written big-endian: Integers fails with the field,
    the offset and the likely cause, the other messages pass, and so does the transport row for
    the messages it does not touch."""
    report = conformance.check(project, str(faulty_peer("byteswap", "Integers.val_u32")), quick=True)
    items = by_name(report)
    bad = items[("codec", "Integers")]
    assert bad.status == "fail"
    assert "likely cause: byteswap at Integers.val_u32" in bad.detail, bad.detail
    assert "matrix --peers faulty --kinds encode,decode" in bad.next
    assert items[("codec", "Floats")].status == "pass"
    assert items[("uds", "faulty sends, python receives")].status == "fail"
    assert items[("tcp", "declared")].status == "missing" and "step 5" in items[("tcp", "declared")].next
    # HELLO fails too: the reference peer under it reports uds,shm,tcp and this manifest only uds
    assert [(i.area, i.name) for i in report.failed] == [
        ("contract", "HELLO 3"), ("codec", "Integers"), ("uds", "faulty sends, python receives"),
        ("uds", "faulty echoes what python sends")]


def test_a_frame_bug_fails_the_transport_not_the_codec(project, faulty_peer):
    report = conformance.check(project, str(faulty_peer("version", "-")), quick=True)
    items = by_name(report)
    assert all(i.status == "pass" for i in report.items if i.area == "codec")
    sent = items[("uds", "faulty sends, python receives")]
    assert sent.status == "fail" and "frame.version" in sent.detail, sent.detail


LIAR = """
import sys
for line in sys.stdin:
    words = line.split()
    if words == ["QUIT"]:
        print("OK", flush=True)
        break
    if words[:1] == ["HELLO"]:
        print("OK name=liar language=python contract=3 transports=uds,tcp messages=* ptr_bits=64 "
              "byte_order=little", flush=True)
    else:
        print("ERR unsupported not yet", flush=True)
"""


def test_a_hello_that_disagrees_with_the_manifest_fails(project, make_peer):
    """The peer's HELLO reports tcp, which its manifest does not declare."""
    spec = make_peer(LIAR, name="liar")
    report = conformance.check(project, str(spec.dir), quick=True)
    hello = by_name(report)[("contract", "HELLO 3")]
    assert hello.status == "fail" and "keep them the same" in hello.detail, hello
    assert report.failed[0] is hello


def test_an_unknown_path_is_a_clear_error():
    r = run_cli("check-peer", "/nonexistent/peer")
    assert r.returncode == 2
    assert "neither a peer name" in r.stderr and "new-peer" in r.stderr and "Traceback" not in r.stderr


def test_a_build_failure_is_the_first_and_only_failure(project, tmp_path):
    d = tmp_path / "broken"
    d.mkdir()
    (d / "peer.toml").write_text(
        'name = "broken"\nlanguage = "c"\ncontract = 3\n[build]\nrequires = ["cc"]\n'
        'command = ["cc", "-o", "build/cw-peer", "peer.c"]\noutputs = ["build/cw-peer"]\n'
        '[run]\ncommand = ["build/cw-peer"]\n[supports]\ntransports = []\n')
    (d / "peer.c").write_text("int main(void) { return syntax error; }\n")
    report = conformance.check(project, str(d))
    assert [(i.area, i.name, i.status) for i in report.items] == [
        ("manifest", "found", "pass"), ("manifest", "build", "fail")]
    assert "syntax error" in report.items[1].detail or "error" in report.items[1].detail
    assert "make `cc -o build/cw-peer peer.c` succeed" in report.items[1].next


def test_a_peer_without_streams_or_bench_is_todo_at_once(project, make_peer):
    """A peer that answers the contract through the Python reference peer but replies
    `ERR unsupported` to BLAST, DRAIN, PING, PONG, FLOOD and SINK: those items are todo, and
    its partner (waiting for a stream that never comes) is stopped at once, not at its time-out."""
    import time
    ref = project.registry["python"]
    spec = make_peer(f"""
        import subprocess, sys
        ref = subprocess.Popen({ref.argv()!r}, cwd={str(ref.dir)!r}, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
        for line in sys.stdin:
            verb = (line.split() or [""])[0]
            if verb in ("BLAST", "DRAIN", "PING", "PONG", "FLOOD", "SINK"):
                print("ERR unsupported not in this peer", flush=True)
                continue
            ref.stdin.write(line)
            ref.stdin.flush()
            print(ref.stdout.readline().replace("name=python", "name=proxy"), end="", flush=True)
            if verb == "QUIT":
                break
        """, name="proxy")
    start = time.monotonic()
    report = conformance.check(project, str(spec.dir), quick=True)
    took = time.monotonic() - start
    optional = [i for i in report.items if i.area in ("streams", "bench")]
    assert optional and all(i.status == "missing" for i in optional), [(i.name, i.status, i.detail) for i in optional]
    assert took < 60, f"check-peer took {took:.0f} s"
