"""Adapter peers (docs/kits.md): a library wrapped by the Python kit joins the matrix; a stub
left unfilled skips its message; an adapter that raises or returns the wrong thing fails with its
own error while the matrix goes on; quirks and field/cause entries make expected failures."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness import expected, quirks, starter
from harness.driver import PeerProcess
from harness.errors import CrosswireError, PeerProtocolError
from harness.matrix import Cell, Result
from harness.peers import load_manifest
from harness.project import Project
from harness.values import F32

ROOT = Path(__file__).resolve().parent.parent


def cw(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def matrix(root: Path, peers: str, *extra: str) -> tuple[int, list[dict]]:
    r = cw("matrix", "--peers", peers, "--json", str(root / "m.json"), *extra, cwd=root)
    assert "Traceback" not in r.stderr, r.stderr
    return r.returncode, json.loads((root / "m.json").read_text())["results"]


HELLO = '''
import struct


def encode_Hello(value):
    return struct.pack(">HB", value["node"], len(value["name"])) + value["name"]


def decode_Hello(payload):
    node, n = struct.unpack_from(">HB", payload)
    if len(payload) != 3 + n:
        raise ValueError(f"{len(payload)} bytes, expected {3 + n}")
    return {"node": node, "name": payload[3:]}
'''


def fill(peer: Path, code: str, drop: tuple[str, ...]) -> None:
    """Replace the stubs named in `drop` by `code` (a user filling in the adapter)."""
    text = (peer / "peer.py").read_text()
    for name in drop:
        start = text.index(f"def {name}(")
        end = text.index("\n\n\ndef ", start) if "\n\n\ndef " in text[start:] else text.index("\n\n\nif __name__", start)
        text = text[:start] + text[end + 3:]
    text = text.replace('\n\nif __name__ == "__main__":', textwrap.dedent(code) + '\n\nif __name__ == "__main__":')
    (peer / "peer.py").write_text(text)


@pytest.fixture(scope="module")
def proj(tmp_path_factory) -> Path:
    made, _ = starter.init(tmp_path_factory.mktemp("adapters") / "proj")
    r = cw("new-peer", "mylib", "--lang", "python", "--adapter", cwd=made.root)
    assert r.returncode == 0, r.stderr
    fill(made.root / "peers" / "mylib", HELLO + '''

def encode_Reading(value):
    raise RuntimeError("the library crashed inside encode")


def decode_Reading(payload):
    return "not a value"
''', ("encode_Hello", "decode_Hello", "encode_Reading", "decode_Reading"))
    r = cw("new-peer", "blank", "--lang", "python", "--adapter", cwd=made.root)
    assert r.returncode == 0, r.stderr
    r = cw("build", "--peers", "mylib,blank,python", cwd=made.root)
    assert r.returncode == 0, r.stdout + r.stderr
    return made.root


def test_new_peer_adapter_writes_stubs_kit_and_generated_code(proj):
    peer = proj / "peers" / "blank"
    assert (proj / "kits" / "python" / "cwkit.py").is_file()
    spec = load_manifest(peer / "peer.toml")
    assert spec.adapter == "python" and spec.frames is False and spec.transports == ("uds", "tcp", "shm")
    generated = (peer / "cw_messages.py").read_text()
    assert "DO NOT EDIT" in generated.splitlines()[0] and "samples: list of at most 16: i16 (int)" in generated
    stubs = (peer / "peer.py").read_text()
    assert stubs.count("raise cwkit.Unimplemented") == 4     # two messages, encode and decode each
    r = cw("new-peer", "blank", "--lang", "python", "--adapter", cwd=proj)
    assert r.returncode == 2 and "already a peer called 'blank'" in r.stderr
    r = cw("new-peer", "x", "--lang", "cobol", "--adapter", cwd=proj)
    assert r.returncode == 2 and "no adapter generator for language 'cobol'" in r.stderr


def test_an_adapter_passes_what_it_implements_and_its_errors_are_its_own(proj):
    code, results = matrix(proj, "mylib,python", "--cases", "hello.zero,hello.max,hello.multibyte,reading.zero,reading.max")
    assert code == 1
    by = {}
    for r in results:
        by.setdefault((r["message"], r["status"]), []).append(r)
    hello = [r for r in results if r["message"] == "Hello"]
    assert hello and all(r["status"] == "pass" for r in hello)
    assert {r["transport"] for r in hello} >= {"uds", "tcp", "shm"}
    reading = [r for r in results if r["message"] == "Reading" and "mylib" in (r["sender"], r["receiver"])]
    assert reading and all(r["status"] == "fail" for r in reading)
    encodes = [r for r in reading if r["kind"] == "encode"]
    assert all("adapter encode Reading: RuntimeError: the library crashed inside encode" in r["detail"] for r in encodes)
    decodes = [r for r in reading if r["kind"] == "decode"]
    assert all("adapter decode Reading returned str, not a Reading value" in r["detail"] for r in decodes)
    # the reference peer against itself is untouched by its neighbour's failures
    ref = [r for r in results if r["sender"] == r["receiver"] == "python"]
    assert ref and all(r["status"] == "pass" for r in ref)


def test_unfilled_stubs_skip_their_messages_quickly(proj):
    code, results = matrix(proj, "blank,python", "--transports", "uds", "--cases", "hello.*")
    mine = [r for r in results if "blank" in (r["sender"], r["receiver"])]
    assert code == 0 and mine and all(r["status"] == "skip" for r in mine)
    assert all("adapter: Hello is not implemented" in r["detail"] for r in mine)
    assert max(r["seconds"] for r in mine) < 4      # the other side is not waited on until its timeout


def test_a_framing_adapter_writes_and_reads_whole_frames(proj):
    r = cw("new-peer", "framer", "--lang", "python", "--adapter", "--frames", cwd=proj)
    assert r.returncode == 0, r.stderr
    fill(proj / "peers" / "framer", '''
from harness import codec, project

SCHEMA = project.Project.find().schema      # a "library" that frames: crosswire's reference codec


def encode_Hello(value, seq, header):        # crosswire's value model has str for a string, the kit bytes
    m = SCHEMA.messages["Hello"]
    return codec.frame_bytes(SCHEMA, m, seq, codec.encode(m, {**value, "name": value["name"].decode()}), {})


def decode_Hello(frame):
    value = codec.decode_frame(SCHEMA, frame)[-1]
    return {**value, "name": value["name"].encode()}
''', ("encode_Hello", "decode_Hello"))
    assert cw("build", "--peers", "framer", cwd=proj).returncode == 0
    code, results = matrix(proj, "framer,python", "--cases", "hello.*")
    mine = [r for r in results if "framer" in (r["sender"], r["receiver"])]
    assert code == 0 and mine and all(r["status"] == "pass" for r in mine), \
        [r["detail"] for r in mine if r["status"] != "pass"][:2]


def test_a_kit_of_another_version_is_refused_by_name(make_peer):
    spec = make_peer("""\
        import sys
        for line in sys.stdin:
            print("OK name=fake language=python contract=3 transports=uds messages=* ptr_bits=64 "
                  "byte_order=little kit=0" if line.startswith("HELLO") else "OK", flush=True)
        """)
    with PeerProcess(spec) as p:
        with pytest.raises(PeerProtocolError, match=r"built on kit 0, but this crosswire speaks kit 2.*crosswire kit --lang python"):
            p.handshake()


def _cell(kind: str, sender: str, receiver: str, case) -> Cell:
    return Cell(kind, sender, receiver, "-" if kind in ("encode", "decode") else "uds", case)


def test_quirks_turn_the_cells_they_explain_into_expected_failures(tmp_path, make_peer):
    modbus = Project(ROOT / "examples" / "modbus")
    spec = make_peer("", name="lib")
    (spec.dir / "peer.toml").write_text((spec.dir / "peer.toml").read_text() + textwrap.dedent("""\
        [quirks]
        ranges = { "ReadCoilsRequest.quantity" = [1, 2000] }
        quiets-snan = "decode"
        """))
    spec = load_manifest(spec.dir / "peer.toml")
    registry = {"lib": spec, "python": spec}
    cases = {c.id: c for c in modbus.cases}
    zero = cases["read_coils_request.zero"]
    assert zero.value["quantity"] == 0
    ok = next(c for c in modbus.cases if c.message.name == "ReadCoilsRequest" and 1 <= c.value["quantity"] <= 2000)
    assert "ReadCoilsRequest.quantity = 0, outside 1..2000" in quirks.reason(_cell("encode", "lib", "lib", zero), registry)
    assert quirks.reason(_cell("encode", "lib", "lib", ok), registry) is None
    results = [Result(_cell("encode", "lib", "lib", zero), "fail", "ERR runtime ValueError"),
               Result(_cell("decode", "lib", "lib", zero), "pass", "")]
    out = expected.apply(results, [], registry)
    assert out[0].status == "xfail" and out[1].status == "xpass" and "remove the quirk" in out[1].detail
    # quiets-snan: only where the peer decodes, only for a signalling NaN
    checkout = Project(ROOT)
    floats = checkout.schema.messages["Floats"]
    case = next(c for c in checkout.cases if c.message.name == "Floats")
    snan = type(case)("x", floats, {**case.value, "val_f32": F32(0x7FA00001)}, b"")
    assert quirks.reason(_cell("decode", "lib", "lib", snan), registry)
    assert quirks.reason(_cell("encode", "lib", "lib", snan), registry) is None
    assert quirks.reason(_cell("send", "lib", "other", snan), {**registry, "other": spec}) is not None   # other decodes
    bad = spec.dir / "peer.toml"
    bad.write_text(bad.read_text().replace('quiets-snan = "decode"', 'quiets-snan = "sometimes"'))
    with pytest.raises(CrosswireError, match="quirks.quiets-snan must be one of encode, decode, both"):
        load_manifest(bad)


def test_expected_lines_can_name_a_field_and_a_cause(tmp_path):
    modbus = Project(ROOT / "examples" / "modbus")
    case = modbus.cases[0]
    path = tmp_path / "expected_failures.txt"
    path.write_text("field=ReadCoilsRequest.* cause=const  # the library writes 1 there\n"
                    "python->lib-uds-*  cause=byteswap\n")
    entries = [expected.parse_line(line, path, n) for n, line in enumerate(path.read_text().splitlines(), 1)]
    assert entries[0].pattern == "*" and entries[0].field == "ReadCoilsRequest.*" and entries[0].cause == "const"
    named = "lib/rx RECV: ERR decode const ReadCoilsRequest.unit at byte 3: the library writes 1 there"
    other = "lib/rx RECV: ERR decode length ReadCoilsRequest.quantity at byte 3"
    results = [Result(_cell("send", "python", "lib", case), "fail", named),
               Result(_cell("send", "python", "lib", case), "fail", other),
               Result(_cell("send", "lib", "python", case), "pass", "")]
    out = expected.apply(results, entries[:1])
    assert [r.status for r in out] == ["xfail", "fail", "pass"]
    assert expected.stale(out, entries[:1]) == []
    assert expected.stale([results[2]], entries[:1])            # nothing it explains any more: stale
    with pytest.raises(CrosswireError, match="expected `cell-id"):
        expected.parse_line("a b c", path, 3)
