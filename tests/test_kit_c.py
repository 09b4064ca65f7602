"""The C kit (peers/c/kit, docs/kits.md) under an adapter peer: a project in a temporary folder
with a two-message schema, its C adapter written by harness/codegen/c.py (adapter_files and
adapter_generated) with one message implemented (through the generated reference codec, as a
library would be called) and one left as the stub, the kit vendored, built and run by the
harness against the Python reference peer. The implemented message passes over uds, tcp and shm;
the other is skipped with the kit's reason. Both forms: a payload adapter, and a framing adapter
(--frames) that writes and reads whole frames itself."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from harness import kits
from harness import schema as S
from harness.codegen import c as cgen

from .conftest import ROOT

SCHEMA = """
[format]
name = "pair"
byte_order = "little"
max_payload = 64

[frame]
header = [
  { name = "magic", type = "u16", const = 0xC0DE },
  { name = "kind",  type = "u8",  role = "id" },
  { name = "len",   type = "u16", role = "length", counts = "payload" },
  { name = "seq",   type = "u32", role = "seq" },
  { name = "node",  type = "u8" },
]

[messages.Ping]
id = 1
fields = [{ name = "n", type = "u32" }, { name = "note", type = "string", prefix = "u8", max = 16 }]

[messages.Pong]
id = 2
fields = [{ name = "n", type = "u32" }]
"""

CONFIG = 'name = "pair"\nkits = "build/kits"\n'

# Ping, implemented as a library would be called: here the generated reference codec (and, for a
# framing adapter, the generated frame functions). n = 0xdeadbeef is refused, to show an error.
PAYLOAD_PING = """
int adapter_encode_Ping(const cw_Ping *v, uint8_t *out, size_t cap, size_t *out_len, cw_ctx *c)
{
    if (v->n == 0xdeadbeefu) return cw_adapter_fail(c, "the library refuses 0xdeadbeef");
    return cw_encode_Ping(v, out, cap, out_len, c);
}

int adapter_decode_Ping(const uint8_t *buf, size_t len, cw_Ping *v, cw_ctx *c)
{
    return cw_decode_Ping(buf, len, v, c);
}
"""

FRAME_PING = """
int adapter_encode_Ping(const cw_Ping *v, uint64_t seq, const uint64_t *header, uint8_t *out, size_t cap,
                        size_t *out_len, cw_ctx *c)
{
    size_t len = 0;
    if (v->n == 0xdeadbeefu) return cw_adapter_fail(c, "the library refuses 0xdeadbeef");
    if (cw_encode_Ping(v, out + CW_HEADER_SIZE, cap - CW_HEADER_SIZE - CW_TRAILER_SIZE, &len, c)) return -1;
    *out_len = cw_frame_write(out, &cw_messages[0], len, seq, header);
    return 0;
}

int adapter_decode_Ping(const uint8_t *frame, size_t len, cw_Ping *v, cw_ctx *c)
{
    cw_head h;
    if (cw_frame_head(frame, CW_EITHER, &h, c) || h.size != len) return cw_adapter_fail(c, "not a whole frame");
    return cw_decode_Ping(frame + CW_HEADER_SIZE, h.payload_len, v, c);
}
"""


def fill(adapter_c: str, name: str, body: str) -> str:
    """adapter.c with the two stubs of `name` replaced by `body`."""
    start = adapter_c.index(f"int adapter_encode_{name}(")
    end = adapter_c.index("}\n", adapter_c.index(f"int adapter_decode_{name}(")) + 2
    return adapter_c[:start] + body.strip() + "\n" + adapter_c[end:]


def harness(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module", params=[False, True], ids=["payload", "frames"])
def project(request, tmp_path_factory):
    """A built project whose peer `cpair` is a C adapter with Ping implemented, Pong not."""
    if shutil.which("cc") is None or shutil.which("make") is None:
        pytest.skip("no C compiler or make")
    frames = request.param
    root = tmp_path_factory.mktemp("frames" if frames else "payload")
    (root / "protocols").mkdir()
    (root / "protocols" / "schema.toml").write_text(SCHEMA)
    (root / "crosswire.toml").write_text(CONFIG)
    schema = S.load(root / "protocols" / "schema.toml")
    peer = root / "peers" / "cpair"
    kits.vendor("c", root / "build" / "kits" / "c")
    files = {**cgen.adapter_files(schema, "cpair", "../../build/kits/c", frames),
             **cgen.adapter_generated(schema, frames)}
    for rel, text in files.items():
        (peer / rel).parent.mkdir(parents=True, exist_ok=True)
        (peer / rel).write_text(text)
    (peer / "adapter.c").write_text(fill(files["adapter.c"], "Ping", FRAME_PING if frames else PAYLOAD_PING))
    r = harness("vectors", "--root", str(root), "--regenerate")
    assert r.returncode == 0, r.stdout + r.stderr
    r = harness("build", "--root", str(root), "--peers", "cpair,python")
    assert r.returncode == 0 and (peer / "build" / "cw-peer").exists(), r.stdout + r.stderr
    return root, peer, frames


def test_generated_files_say_so_and_stubs_are_the_users(project):
    root, peer, frames = project
    for rel in ("gen/cw_schema.h", "gen/cw_schema.c", "gen/cw_adapter.h", "gen/cw_adapter.c"):
        assert "DO NOT EDIT" in (peer / rel).read_text().splitlines()[0], rel
    manifest = (peer / "peer.toml").read_text()
    assert f'[adapter]\nlang = "c"\nframes = {str(frames).lower()}' in manifest and "contract = 2" in manifest
    assert "KIT = ../../build/kits/c" in (peer / "Makefile").read_text()
    adapter = (peer / "adapter.c").read_text()
    assert "return cw_unimplemented(c);" in adapter and "n: u32  (v->n: uint32_t)" in adapter


def test_the_contract_answers_of_an_adapter(project):
    root, peer, frames = project
    requests = ["HELLO 2", "ENCODE Pong 7", "DECODE Pong x07000000", "ENCODE Ping 3735928559 x", "ENCODE Ping 1 x61",
                "DECODE Ping x0100000001 61", "DECODE Ping x010000000161", "ENCODE Ping 1 x" + "61" * 17, "QUIT"]
    out = subprocess.run([peer / "build" / "cw-peer"], input="\n".join(requests) + "\n", capture_output=True,
                         text=True, timeout=30, cwd=peer).stdout.splitlines()
    assert out[0].startswith("OK name=cpair language=c contract=2 ") and out[0].endswith(" kit=1")
    assert out[1] == "ERR unsupported adapter: Pong is not implemented"
    assert out[2] == "ERR unsupported adapter: Pong is not implemented"
    assert out[3] == "ERR runtime adapter encode Ping: the library refuses 0xdeadbeef"
    assert out[4] == "OK x010000000161"
    assert out[5].startswith("ERR request")
    assert out[6] == "OK 1 x61"
    assert out[7].startswith("ERR encode length Ping.note")     # the text form's limits come first
    assert out[8] == "OK"


def test_matrix_implemented_passes_unimplemented_skips(project):
    root, peer, frames = project
    report = root / "matrix.json"
    r = harness("matrix", "--root", str(root), "--peers", "cpair,python", "--json", str(report))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    results = json.loads(report.read_text())["results"]
    mine = [x for x in results if "cpair" in (x["sender"], x["receiver"])]
    by = Counter((x["message"], x["transport"], x["status"]) for x in mine)
    for transport in ("uds", "tcp", "shm"):
        assert by[("Ping", transport, "pass")] > 0, by
        assert not [x for x in mine if x["message"] == "Ping" and x["transport"] == transport
                    and x["status"] != "pass"]
        assert by[("Pong", transport, "skip")] > 0, by
    pong = [x for x in mine if x["message"] == "Pong"]
    assert pong and all(x["status"] == "skip" and "Pong is not implemented" in x["detail"] for x in pong)
