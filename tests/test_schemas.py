"""The schema language on real and made-up protocols, in the reference codec and the Python peer.

Every schema project (crosswire's example, tests/schemas/*, examples/*) has golden and malformed
vectors the reference codec reproduces; every message of every schema round-trips, alone and in
a frame; versions, trimming, unions, counts and constants behave as WIRE.md says; and schemas
generated at random (hypothesis) are read alike by the reference codec and by the Python peer's
independent reading of the language.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness import codec, malformed, strategies, textform, vectors
from harness import schema as S
from harness.errors import DecodeError, EncodeError
from harness.values import F32, F64

from .conftest import ROOT

PROJECTS = ["", "tests/schemas/demo", "tests/schemas/zoo", "tests/schemas/fixed", "tests/schemas/payloads",
            "tests/schemas/noid",
            "examples/modbus", "examples/mavlink"]


def project(rel: str) -> Path:
    return ROOT / rel if rel else ROOT


def load(rel: str) -> S.Schema:
    return S.load(project(rel) / "protocols" / "schema.toml")


@pytest.mark.parametrize("rel", PROJECTS, ids=[p or "crosswire" for p in PROJECTS])
def test_vectors_are_reproduced(rel):
    root = project(rel)
    schema = load(rel)
    vec = root / "protocols" / "vectors"
    assert vectors.check(schema, vec / "golden.json", vec / "extra.json") == []
    cases = vectors.load(schema, vec / "golden.json")
    assert malformed.check(schema, vec / "malformed.json", cases) == []


def _all_messages() -> list[tuple[str, str]]:
    return [(rel, name) for rel in PROJECTS for name in load(rel).messages]


@pytest.mark.parametrize("rel, name", _all_messages(), ids=[f"{r or 'crosswire'}:{n}" for r, n in _all_messages()])
def test_round_trips(rel, name):
    schema = load(rel)
    msg = schema.message(name)

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(strategies.message_values(msg), st.data())
    def check(value, data):
        payload = codec.encode(msg, value)
        assert codec.decode(msg, payload) == value
        tokens = textform.format_message(msg, value).split()
        assert textform.parse_message(msg, tokens) == value
        if schema.frame is None:
            return
        seqf = schema.frame.role("seq")
        seq = data.draw(st.integers(0, seqf.type.max)) if seqf else 0
        header = {h.name: data.draw(st.integers(h.type.min, h.type.max)) for h in schema.frame.plain}
        frame = codec.encode_frame(schema, msg, seq, value, header)
        head, back = codec.decode_frame(schema, frame, msg.direction)
        assert (head.message, head.seq, head.header, head.size, back) == (msg, seq, header, len(frame), value)
    check()


# ---------------------------------------------------------------- features, one by one (zoo)


@pytest.fixture(scope="module")
def zoo() -> S.Schema:
    return load("tests/schemas/zoo")


def test_extension_groups(zoo):
    msg = zoo.message("Grown")
    value = {"base": 7, "note": "hi", "v2a": 3, "v2b": F32.from_float(2.0), "v3": "x", "v3vec": [1, 2]}
    full = codec.encode(msg, value)
    v1, v2 = codec.encode(msg, value, 1), codec.encode(msg, value, 2)
    assert full.startswith(v2) and v2.startswith(v1) and len(v1) < len(v2) < len(full)
    defaults = {"v2a": -5, "v2b": F32.from_float(1.5), "v3": "dflt", "v3vec": []}
    assert codec.decode(msg, v1) == {**value, **defaults}                      # old sender, new receiver
    assert codec.decode(msg, v2) == {**value, "v3": "dflt", "v3vec": []}
    assert codec.decode(msg, full, 1) == {**value, **defaults}                 # new sender, old receiver
    assert codec.restrict(msg, value, 2) == codec.decode(msg, full, 2)
    with pytest.raises(DecodeError) as info:                                   # cut inside a group
        codec.decode(msg, v2[:-1])
    assert info.value.code == "truncated"
    with pytest.raises(DecodeError) as info:                                   # the newest: no bytes after
        codec.decode(msg, full + b"\0")
    assert info.value.code == "trailing"
    assert codec.decode(msg, full + b"\0", 2) == codec.restrict(msg, value, 2)  # an older one ignores them


def test_counts_and_sizes(zoo):
    msg = zoo.message("Lengths")
    value = {"tiny": b"ab", "words": [1, 2], "wide": "é", "items": [{"left": -1, "right": 5}], "big": -129,
             "text": "yo"}
    payload = codec.encode(msg, value)
    # n_items (u16 LE) = 1, n_bytes (u32 BE) = 6, tiny: u8 2, words: u16 byte count 4
    assert payload[:6] == bytes([1, 0, 0, 0, 0, 6]) and payload[6:9] == b"\x02ab" and payload[9:11] == b"\x04\x00"
    assert codec.decode(msg, payload) == value
    broken = bytearray(payload)
    broken[5] = 7                           # n_bytes no longer matches n_items x 6
    with pytest.raises(DecodeError) as info:
        codec.decode(msg, bytes(broken))
    assert (info.value.code, info.value.path) == ("length", "Lengths.items")
    with pytest.raises(EncodeError) as info:
        codec.encode(msg, {**value, "items": [{"left": 0, "right": 0}] * 6})
    assert (info.value.code, info.value.path) == ("length", "Lengths.items")


def test_unions_constants_flags(zoo):
    msg = zoo.message("Unions")
    value = {"which": 200, "choice": {"tag": b"ab", "raw": b"\x01"}, "color": 2, "by": b"zz"}
    assert codec.decode(msg, codec.encode(msg, value)) == value
    with pytest.raises(EncodeError) as info:
        codec.encode(msg, {**value, "which": 3})
    assert (info.value.code, info.value.path) == ("union", "Unions.choice")
    kinds = zoo.message("Kinds")
    good = vectors.special_value(kinds, "one")
    payload = codec.encode(kinds, good)
    with pytest.raises(EncodeError) as info:
        codec.encode(kinds, {**good, "opts": 2})                               # bit 1 has no name
    assert (info.value.code, info.value.path) == ("flags", "Kinds.opts")
    assert codec.decode(kinds, codec.encode(kinds, {**good, "loose": 0xFF}))["loose"] == 0xFF   # kept
    assert codec.decode(kinds, codec.encode(kinds, {**good, "code": 12345}))["code"] == 12345   # open
    at = S.max_size(zoo.message("Kinds").fields[0].type) + 2 + 2 + 4 + 1     # color, level, code, opts, loose
    broken = bytearray(payload)
    broken[at] ^= 1                                                            # the constant 0xBEEF
    with pytest.raises(DecodeError) as info:
        codec.decode(kinds, bytes(broken))
    assert (info.value.code, info.value.path) == ("const", "Kinds.magic")


def test_c_layout_padding_is_checked(zoo):
    cell, grid = zoo.structs["Cell"], zoo.structs["Grid"]
    assert S.fixed_size(cell) == 24        # on @0, weight @8, mark @16, 6 bytes of trailing padding
    assert [(f.name, S.fixed_size(f.type)) for f in grid.fields if f.implicit] == [("cells", 7), ("", 4)]
    assert S.fixed_size(grid) == 72        # rows @0, cells @8 (2 x 24), tail @56 (3 x 4), padded to 8
    kinds = zoo.message("Kinds")
    payload = bytearray(codec.encode(kinds, vectors.special_value(kinds, "one")))
    grid_at = len(payload) - 72
    payload[grid_at + 1] = 9                # a byte of the padding before Grid.cells
    with pytest.raises(DecodeError) as info:
        codec.decode(kinds, bytes(payload))
    assert (info.value.code, info.value.path) == ("padding", "Kinds.grid.cells")


def test_frames_check_in_the_declared_order():
    fixed = load("tests/schemas/fixed")
    ping = fixed.message("Ping")
    frame = codec.encode_frame(fixed, ping, 0x01020304, {"stamp": -1, "tag": b"t"})
    assert frame[:6] == bytes([0x02, 9, 4, 3, 2, 1])            # no length: the id says how long
    assert len(frame) == 6 + 16 + 2
    head, _ = codec.decode_frame(fixed, frame)
    assert head.size == len(frame)
    bad = bytearray(frame)
    bad[-1] ^= 0xFF
    with pytest.raises(DecodeError) as info:
        codec.decode_frame(fixed, bytes(bad))
    assert (info.value.code, info.value.path) == ("checksum", "frame.crc")
    read = codec.encode_frame(fixed, fixed.message("ReadReq"), 1, {"addr": 1, "count": 2})
    with pytest.raises(DecodeError) as info:
        codec.decode_frame(fixed, read)                          # id 1 is a request and a response
    assert info.value.code == "type"
    assert codec.decode_frame(fixed, read, "request")[0].message.name == "ReadReq"
    with pytest.raises(EncodeError) as info:
        codec.encode_frame(load("tests/schemas/demo"), load("tests/schemas/demo").message("Nat"), 256,
                           vectors.special_value(load("tests/schemas/demo").message("Nat"), "zero"), {"node": 1})
    assert (info.value.code, info.value.path) == ("range", "frame.seq")


def test_trimmed_payloads():
    mav = load("examples/mavlink")
    ack = mav.message("CommandAck")
    value = {"command": 400, "result": 0, "progress": 0, "result_param2": 0, "target_system": 0, "target_component": 0}
    assert codec.encode(ack, value) == bytes.fromhex("9001")      # 10 bytes, the zeros trimmed
    assert codec.decode(ack, bytes.fromhex("9001")) == value
    assert codec.decode(ack, bytes.fromhex("9001") + bytes(8)) == value   # not trimmed: still fine
    zeros = {k: 0 for k in value}
    assert codec.encode(ack, zeros) == b"\0"                      # the first byte always stays


# ---------------------------------------------------------------- schemas made up at random

KINDS = ["u8", "u16", "u24", "u32", "u64", "i8", "i16", "i24", "i32", "i64", "f32", "f64", "bool", "char[3]",
         "u16[2]", "E", "OE", "F", "KF", "P"]


@st.composite
def schema_texts(draw) -> str:
    """A valid schema of every kind of field, in either byte order, framed or not."""
    order = draw(st.sampled_from(["little", "big"]))
    lines = ['[format]\nname = "gen"', f'byte_order = "{order}"', "version = 2", "max_payload = 60000"]
    framed = draw(st.booleans())
    if framed:
        lines += ["[frame]", "header = [",
                  '  { name = "m", type = "u16", const = 0xABCD },',
                  f'  {{ name = "id", type = "{draw(st.sampled_from(["u8", "u16", "u24", "u32"]))}", role = "id" }},',
                  f'  {{ name = "len", type = "u32", role = "length", counts = "{draw(st.sampled_from(["payload", "id..payload", "m..crc"]))}" }},',
                  f'  {{ name = "s", type = "{draw(st.sampled_from(["u8", "u16", "u64"]))}", role = "seq" }},',
                  '  { name = "h", type = "i16", byte_order = "little" },', "]",
                  "[frame.checksum]", 'name = "crc"',
                  f'algorithm = "{draw(st.sampled_from(["crc-16/mcrf4xx", "crc-16/xmodem", "crc-32", "crc-32/bzip2"]))}"',
                  f'covers = "{draw(st.sampled_from(["m..payload", "payload", "len..s"]))}"', 'seed = "after"']
    lines += ['[enums.E]\ntype = "i16"\nvalues = { a = -2, b = 0, c = 300 }',
              '[enums.OE]\ntype = "u8"\nopen = true\nvalues = { x = 1 }',
              '[flags.F]\ntype = "u16"\nbits = { a = 0, b = 9 }',
              '[flags.KF]\ntype = "u8"\nunknown = "keep"\nbits = { z = 3 }',
              '[structs.P]\nlayout = "c"\nfields = [{ name = "a", type = "u8" }, { name = "b", type = "i32" }]',
              '[unions.U]\ntype = "u8"\ncases = [{ tag = 0 }, { tag = 1, type = "P" }, { tag = 2, type = "f64" }]']
    for m in range(draw(st.integers(1, 3))):
        fields = []
        for i in range(draw(st.integers(0, 6))):
            kind = draw(st.sampled_from(KINDS + ["vec", "bytes", "string", "bigint", "count", "union", "const"]))
            bo = f', byte_order = "{draw(st.sampled_from(["little", "big"]))}"' if draw(st.booleans()) else ""
            if kind in ("vec", "bytes", "string", "bigint"):
                prefix = draw(st.sampled_from(["u8", "u16", "u24", "u32"]))
                t = {"vec": "vec<i16>", "bytes": "bytes", "string": "string", "bigint": "bigint"}[kind]
                unit = ', unit = "bytes"' if kind == "vec" and draw(st.booleans()) else ""
                fields.append(f'{{ name = "f{i}", type = "{t}", prefix = "{prefix}"{unit}, max = 9{bo} }}')
            elif kind == "count":
                fields.append(f'{{ name = "n{i}", type = "u8" }}')
                fields.append(f'{{ name = "f{i}", type = "vec<u16>", count = "n{i}", max = 5{bo} }}')
            elif kind == "union":
                fields.append(f'{{ name = "t{i}", type = "u8" }}')
                fields.append(f'{{ name = "f{i}", type = "U", on = "t{i}" }}')
            elif kind == "const":
                fields.append(f'{{ name = "f{i}", type = "u16", const = {draw(st.integers(0, 65535))}{bo} }}')
            else:
                bo = bo if kind not in ("P",) else ""
                fields.append(f'{{ name = "f{i}", type = "{kind}"{bo} }}')
        if draw(st.booleans()):
            fields.append('{ name = "later", type = "u32", since = 2, default = 9 }')
        lines.append(f"[messages.M{m}]\nid = {m}\nchecksum_seed = {m}\nfields = [{', '.join(fields)}]"
                     if framed else f"[messages.M{m}]\nid = {m}\nfields = [{', '.join(fields)}]")
    return "\n".join(lines) + "\n"


def _peer_codec():
    path = ROOT / "peers" / "python" / "kit" / "codec.py"
    spec = importlib.util.spec_from_file_location("crosswire_peer_codec_for_schemas", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


PEER = _peer_codec()


def _peer_value(t: S.Type, v):
    """The harness's value as the Python peer holds it: floats as bits, strings as bytes."""
    if isinstance(v, (F32, F64)):
        return v.bits
    if isinstance(v, str):
        return v.encode("utf-8")
    if isinstance(v, list):
        return [_peer_value(t, x) for x in v]
    if isinstance(v, dict):
        return {k: _peer_value(t, x) for k, x in v.items()}
    return v


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema_texts(), st.data())
def test_generated_schemas_read_alike_by_the_reference_and_the_python_peer(tmp_path_factory, text, data):
    path = tmp_path_factory.mktemp("gen") / "schema.toml"
    path.write_text(text)
    schema = S.load(path)
    peer = PEER.Schema(path, plans_path=None)
    for msg in schema.messages.values():
        value = data.draw(strategies.message_values(msg))
        payload = codec.encode(msg, value)
        assert codec.decode(msg, payload) == value
        tokens = textform.format_message(msg, value).split()
        assert peer.encode(msg.name, peer.parse_text(msg.name, tokens)) == payload, text
        assert peer.format_text(msg.name, peer.decode(msg.name, payload)) == tokens, text
        for v in msg.groups[:-1]:
            peer.speak(v)
            assert peer.encode(msg.name, peer.parse_text(msg.name, tokens)) == codec.encode(msg, value, v)
            assert peer.format_text(msg.name, peer.decode(msg.name, payload)) == \
                textform.format_message(msg, codec.decode(msg, payload, v)).split()
            peer.speak(schema.version)
        if schema.frame is not None:
            frame = codec.encode_frame(schema, msg, 1, value, {"h": -3})
            assert peer.encode_frame(msg.name, 1, payload, [-3]) == frame, text
            name, length, seq, header, size = peer.decode_header(frame)
            assert (name, length, seq, header, size) == (msg.name, len(payload), 1, [-3], len(frame))
            peer.check_checksum(frame, name, length)


# ---------------------------------------------------------------- a broken schema is one line

HEAD = '[format]\nname = "b"\nbyte_order = "little"\nmax_payload = 100\n'
FRAME = '[frame]\nheader = [{ name = "id", type = "u8", role = "id" }, { name = "len", type = "u16", role = "length" }]\n'
BROKEN = [
    (HEAD + '[frame]\nheader = [{ name = "len", type = "u64", role = "length" }]\n[messages.M]\nfields = []\n',
     "[frame] header, field len", "wider than the frame allows"),
    (HEAD + FRAME + '[messages.M]\nid = 1\nfields = [{ name = "v", type = "bytes", count = "n", max = 4 },'
     ' { name = "n", type = "u8" }]\n', "message M, field v: count", "a count field must come before what it counts"),
    (HEAD + FRAME + '[frame.checksum]\nname = "crc"\nalgorithm = "crc-32"\ncovers = "id..crc"\n[messages.M]\nid = 1\n'
     'fields = []\n', "[frame.checksum] covers", "covers the checksum crc itself"),
    (HEAD + FRAME + '[unions.U]\ntype = "u8"\ncases = [{ tag = 1 }]\n[messages.M]\nid = 1\n'
     'fields = [{ name = "u", type = "U" }]\n', "message M, field u", "needs `on`"),
    (HEAD + FRAME + '[frame.checksum]\nname = "crc"\nalgorithm = "adler-32"\ncovers = "payload"\n[messages.M]\nid = 1\n'
     'fields = []\n', "[frame.checksum] algorithm", "unknown algorithm 'adler-32'"),
    (HEAD + FRAME + '[structs.A]\nfields = [{ name = "b", type = "B" }]\n[structs.B]\nfields = [{ name = "a", type = "A" }]\n'
     '[messages.M]\nid = 1\nfields = []\n', "struct A", "contains itself: A -> B -> A"),
    (HEAD + FRAME + '[messages.M]\nid = 1\nfields = [{ name = "a", type = "u8' + "[1]" * 5000 + '" }]\n',
     "message M, field a", "arrays nest more than 32 deep"),
]


@pytest.mark.parametrize("text, where, words", BROKEN, ids=[b[2][:30] for b in BROKEN])
def test_a_broken_schema_is_one_line_naming_the_place(tmp_path, text, where, words):
    import subprocess
    (tmp_path / "protocols").mkdir()
    (tmp_path / "protocols" / "schema.toml").write_text(text)
    r = subprocess.run([sys.executable, "-m", "harness", "vectors", "--root", str(tmp_path)], capture_output=True,
                       text=True, timeout=60, cwd=ROOT)
    assert r.returncode == 2, r.stdout + r.stderr
    err = r.stderr.strip()
    assert "\n" not in err and "Traceback" not in err, err
    assert f"{tmp_path / 'protocols' / 'schema.toml'}: {where}: " in err and words in err, err


def test_the_python_peer_plans_every_classic_message(tmp_path):
    """The Python peer's fast codec (peers/python/kit/plans.py) covers every message of crosswire's
    schema, as before the language grew; a message of the new kinds goes to the walker only."""
    import subprocess
    peer_dir = ROOT / "peers" / "python" / "kit"
    out = tmp_path / "cw_plans.py"
    r = subprocess.run([sys.executable, "build_codec.py", str(ROOT / "protocols" / "schema.toml"), str(out)],
                       cwd=peer_dir, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    schema = PEER.Schema(ROOT / "protocols" / "schema.toml", plans_path=out)
    assert schema.plans is not None
    assert all(schema.encoders[m] is schema.plans.ENCODERS[m] for m in schema.message_ids)
    zoo = PEER.Schema(ROOT / "tests/schemas/zoo/protocols/schema.toml", plans_path=None)
    assert zoo.plannable("Scalars") is False and zoo.plannable("Nothing") is True
