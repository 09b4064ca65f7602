"""The schema loader: the real schema loads, and every broken rule is named with its place."""
from __future__ import annotations

import pytest

from harness import schema as S
from harness.errors import SchemaError

HEAD = """
[format]
name = "t"
version = 2
byte_order = "little"
max_payload = 1024
[frame]
header = [
  { name = "magic", type = "u32", const = 0x52575843 }, { name = "version", type = "u16", const = 1 },
  { name = "msg_type", type = "u16", role = "id" }, { name = "flags", type = "u32", const = 0 },
  { name = "payload_len", type = "u32", role = "length" }, { name = "seq", type = "u64", role = "seq" },
]
"""


def load(body: str) -> S.Schema:
    return S.loads(HEAD + body, "bad.toml")


def test_real_schema_covers_every_type(schema):
    kinds = set()
    for msg in schema.messages.values():
        for f in msg.fields:
            kinds.add(type(f.type).__name__)
            if isinstance(f.type, S.Prim):
                kinds.add(f.type.name)
    assert {"u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64", "f32", "f64", "bool"} <= kinds
    assert {"Enum", "CharArray", "Bytes", "Array", "Vec", "Struct", "BigInt", "Pad"} <= kinds
    assert schema.message("Sample10f").fields[0].type == S.Array(S.PRIMS["f32"], 10)
    assert S.max_size(schema.message("Integers")) == 30


def test_valid_small_schema():
    s = load('[messages.M]\nid = 3\nfields = [{ name = "a", type = "vec<u8>", max = 4 }]\n')
    assert [m.name for m in s.lookup(3)] == ["M"]
    assert S.max_size(s.message("M")) == 8


@pytest.mark.parametrize("body, where, words", [
    ('[messages.M]\nid = 1\nfields = [{ name = "a", type = "u9" }]', "message M, field a", "unknown type 'u9'"),
    ('[messages.M]\nid = 1\nfields = []\n[messages.N]\nid = 1\nfields = []', "message N", "duplicate id 1"),
    ('[messages.M]\nid = 1\nfields = [{ name = "a", type = "bytes" }]', "message M, field a", "needs a max"),
    ('[messages.M]\nid = 1\nfields = [{ name = "a", type = "u8", max = 3 }]', "message M, field a", "max does not apply"),
    ('[messages.M]\nid = 1\nfields = [{ name = "a", type = "string", max = 0 }]', "message M, field a: max", "out of range"),
    ('[messages.M]\nid = 1\nfields = [{ name = "a", type = "string", max = 1000 }, { name = "b", type = "u64[10]" }]',
     "message M", "largest encoding is 1084 bytes, more than format.max_payload (1024)"),
    ('[messages.M]\nid = 1\nfields = [{ name = "a", type = "u8" }, { name = "a", type = "u8" }]', "message M, field a", "duplicate field"),
    ('[messages.M]\nid = 1\nfields = [{ name = "Bad", type = "u8" }]', "message M, field Bad", "lower_snake_case"),
    ('[messages.M]\nid = 1\nfields = [{ name = "a", type = "u8", size = "b" }]', "message M, field a",
     "size does not apply to u8"),
    ('[messages.M]\nid = 1\nfields = [{ name = "a", type = "u8", frob = 1 }]', "message M, field a", "unknown key(s): frob"),
    ('[messages.M]\nid = 70000\nfields = []', "message M: id", "out of range"),
    ('[messages.M]\nid = 1\nfields = [{ name = "a", type = "char[0]" }]', "message M, field a", "N must be"),
    ('[messages.M]\nid = 1\nfields = [{ name = "a", type = "vec<pad[2]>", max = 2 }]', "message M, field a", "pad cannot"),
    ('[messages.M]\nid = 1\nfields = [{ name = "a", type = "vec<string>", max = 2 }]', "message M, field a", "needs its own max"),
    ('[enums.E]\ntype = "u8"\nvalues = { a = 256 }\n[messages.M]\nid = 1\nfields = []', "enum E, value a", "out of range"),
    ('[enums.E]\ntype = "f32"\nvalues = { a = 1 }\n[messages.M]\nid = 1\nfields = []', "enum E", "integer type"),
    ('[enums.E]\ntype = "u8"\nvalues = { a = 1, b = 1 }\n[messages.M]\nid = 1\nfields = []', "enum E, value b", "duplicate value"),
    ('[structs.A]\nfields = [{ name = "b", type = "B" }]\n[structs.B]\nfields = [{ name = "a", type = "A" }]\n'
     '[messages.M]\nid = 1\nfields = []', "struct A", "contains itself: A -> B -> A"),
    ('[structs.A]\nfields = [{ name = "x", type = "u8" }]\n[messages.A]\nid = 1\nfields = []', "message A", "already used"),
    ('[messages.M]\nid = 1\nfields = [{ name = "a", type = "N" }]\n[messages.N]\nid = 2\nfields = []', "message M, field a", "only structs nest"),
    ('', "[messages]", "declares no message"),
    ('[messages.M]\nid = 1\nfields = [{ name = "a_b", type = "u8" }, { name = "ab", type = "u8" }]', "message M, field ab",
     "differs from field a_b only in underscores"),
    ('[structs.P]\nfields = [{ name = "_p", type = "pad[2]" }]\n[messages.M]\nid = 1\n'
     'fields = [{ name = "a", type = "vec<P>", max = 2 }]', "message M, field a", "struct of padding only"),
])
def test_bad_schema_names_the_place(body, where, words):
    with pytest.raises(SchemaError) as info:
        load(body)
    assert info.value.file == "bad.toml"
    assert info.value.where == where
    assert words in info.value.message


def test_bad_header_and_format():
    with pytest.raises(SchemaError, match=r"\[frame\] header, field seq: role: must be"):
        S.loads(HEAD.replace('role = "seq"', 'role = "sequence"') + "[messages.M]\nid=1\nfields=[]")
    with pytest.raises(SchemaError, match='byte_order: must be "little" or "big"'):
        S.loads(HEAD.replace('"little"', '"middle"') + "[messages.M]\nid=1\nfields=[]")
    with pytest.raises(SchemaError, match="not valid TOML"):
        S.loads("[format", "x.toml")
    assert S.loads(HEAD.replace('"little"', '"big"') + "[messages.M]\nid=1\nfields=[]").byte_order == "big"


def test_missing_file(tmp_path):
    with pytest.raises(SchemaError, match="file not found"):
        S.load(tmp_path / "nope.toml")


# ---------------------------------------------------------------- the language of real protocols


FEATURES = """
[enums.Kind]
type = "u8"
values = { circle = 1, rect = 2, none = 3 }
open = true

[flags.Perm]
type = "u16"
bits = { read = 0, write = 1, exec = 9 }

[structs.Circle]
fields = [{ name = "r", type = "f32" }]

[structs.Rect]
byte_order = "big"
fields = [{ name = "w", type = "u16" }, { name = "h", type = "u16" }]

[structs.Natural]
layout = "c"
fields = [{ name = "tag", type = "u8" }, { name = "value", type = "u64" }, { name = "tail", type = "u16" }]

[unions.Shape]
type = "Kind"
cases = [{ tag = "circle", type = "Circle" }, { tag = "rect", type = "Rect" }, { tag = "none" }]

[messages.M]
id = 1
fields = [
  { name = "type", type = "u8" },
  { name = "proto", type = "u8", const = 3 },
  { name = "n", type = "u8" },
  { name = "kind", type = "Kind" },
  { name = "shape", type = "Shape", on = "kind" },
  { name = "perm", type = "Perm", byte_order = "big" },
  { name = "regs", type = "vec<u16>", size = "n", max = 100 },
  { name = "short", type = "bytes", prefix = "u8", max = 200 },
  { name = "words", type = "vec<u32>", prefix = "u16", unit = "bytes", max = 10 },
  { name = "id24", type = "u24" },
  { name = "natural", type = "Natural" },
  { name = "added", type = "u16", since = 2, default = 7 },
  { name = "note", type = "string", max = 8, since = 2 },
]
"""


def test_every_feature_loads_and_is_resolved():
    s = load(FEATURES)
    m = s.message("M")
    f = {x.name: x for x in m.fields if not x.implicit}
    assert f["type"].has_value                           # a keyword of a generated language is a fine name
    assert f["proto"].const == 3 and not f["proto"].has_value
    assert f["n"].count_of == "regs" and not f["n"].has_value
    assert f["regs"].type.count == S.Count(None, "elements", (("n", "bytes"),))
    assert f["short"].type.count.prefix.name == "u8"
    assert f["words"].type.count.unit == "bytes" and f["words"].type.count.prefix.name == "u16"
    assert f["perm"].type.base.order == "big" and f["perm"].type.mask == 0x203
    assert s.structs["Rect"].fields[0].type.order == "big"
    assert isinstance(f["shape"].type, S.Union) and f["shape"].type.on == "kind"
    assert [c.tag for c in f["shape"].type.cases] == [1, 2, 3]
    assert f["added"].since == 2 and f["added"].default == 7 and f["note"].default == ""
    assert m.groups == (1, 2) and m.newest == 2
    natural = s.structs["Natural"]
    assert [(x.name, x.implicit, S.max_size(x.type)) for x in natural.fields] == [
        ("tag", False, 1), ("value", True, 7), ("value", False, 8), ("tail", False, 2), ("", True, 6)]
    assert S.fixed_size(natural) == 24


def frame_schema(header: str, extra: str = "", body: str = "") -> str:
    return ('[format]\nname = "t"\nbyte_order = "big"\nmax_payload = 200\n[frame]\nheader = [' + header + ']\n'
            + extra + (body or '[messages.M]\nid = 1\nfields = [{ name = "a", type = "u8" }]\n'))


def test_a_declared_frame():
    s = S.loads(frame_schema(
        '{ name = "sync", type = "u8", const = 0xFD }, { name = "len", type = "u8", role = "length" },'
        '{ name = "seq", type = "u8", role = "seq" }, { name = "sysid", type = "u8" },'
        '{ name = "msgid", type = "u24", byte_order = "little", role = "id" }',
        '[frame.checksum]\nname = "crc"\nalgorithm = "crc-16/mcrf4xx"\ncovers = "len..payload"\nseed = "after"\n'
        'byte_order = "little"\n', '[messages.M]\nid = 70000\nchecksum_seed = 50\nfields = [{ name = "a", type = "u8" }]\n'))
    fr = s.frame
    assert fr.header_size == 7 and fr.trailer_size == 2 and fr.length_adjust == 0
    assert [h.name for h in fr.plain] == ["sysid"]
    assert fr.checksum.covers == ("len", "seq", "sysid", "msgid", "payload")
    assert s.message("M").seed == 50 and s.message("M").id == 70000


@pytest.mark.parametrize("header, extra, body, where, words", [
    ('{ name = "len", type = "u64", role = "length" }', "", "", "[frame] header, field len",
     "wider than the frame allows"),
    ('{ name = "len", type = "u8", role = "length" }', "", "", "[frame] header, field len",
     "max_payload (300) does not fit"),
    ('{ name = "len", type = "u8", role = "length", counts = "x..payload" }', "", "",
     "[frame] header, field len: counts", "'x' is not a part of the frame"),
    ('{ name = "a", type = "u8", role = "id" }, { name = "b", type = "u8", role = "id" }', "", "",
     "[frame] header, field b", "two fields have role id"),
    ('{ name = "len", type = "u16", role = "length" }', '[frame.checksum]\nname = "crc"\nalgorithm = "crc-32"\n'
     'covers = "len..crc"\n', "", "[frame.checksum] covers", "covers the checksum crc itself"),
    ('{ name = "len", type = "u16", role = "length" }', '[frame.checksum]\nname = "crc"\nalgorithm = "crc-7"\n'
     'covers = "payload"\n', "", "[frame.checksum] algorithm", "unknown algorithm 'crc-7'"),
    ('{ name = "len", type = "u16", role = "length" }', '[frame.checksum]\nname = "crc"\nalgorithm = "crc-32"\n'
     'covers = "payload"\nseed = "after"\n', "", "message M", "missing key(s): checksum_seed"),
    ('{ name = "id", type = "u8", role = "id" }', "", "", "message M",
     "the frame has no length field, so every message must have one fixed size"),
    ('{ name = "id", type = "u16", role = "id" }, { name = "len", type = "u16", role = "length" }', "",
     '[messages.M]\nid = 70000\nfields = []', "message M: id", "70000 is out of range 0..65535"),
])
def test_bad_frames(header, extra, body, where, words):
    if "fixed size" in words:
        body = '[messages.M]\nid = 1\nfields = [{ name = "a", type = "bytes", max = 3 }]\n'
    text = frame_schema(header, extra, body)
    if "(300)" in words:
        text = text.replace("max_payload = 200", "max_payload = 300")
    with pytest.raises(SchemaError) as info:
        S.loads(text, "bad.toml")
    assert (info.value.where, words in info.value.message) == (where, True), info.value.message


@pytest.mark.parametrize("body, where, words", [
    ('[messages.M]\nid = 1\nfields = [{ name = "v", type = "vec<u8>", count = "n", max = 4 }, { name = "n", type = "u8" }]',
     "message M, field v: count", "comes after: a count field must come before what it counts"),
    ('[messages.M]\nid = 1\nfields = [{ name = "n", type = "u8" }, { name = "v", type = "vec<u8>", count = "n", max = 300 }]',
     "message M, field v", "max 300 (300 elements) does not fit n, a u8"),
    ('[messages.M]\nid = 1\nfields = [{ name = "v", type = "vec<u16>", prefix = "u8", unit = "bytes", max = 200 }]',
     "message M, field v", "does not fit its u8 prefix"),
    ('[messages.M]\nid = 1\nfields = [{ name = "v", type = "bytes", prefix = "u64", max = 2 }]',
     "message M, field v: prefix", "must be u8, u16, u24 or u32"),
    ('[unions.U]\ntype = "u8"\ncases = [{ tag = 1, type = "u8" }]\n[messages.M]\nid = 1\n'
     'fields = [{ name = "k", type = "u8" }, { name = "u", type = "U" }]', "message M, field u", "needs `on`"),
    ('[unions.U]\ntype = "u8"\ncases = [{ tag = 1, type = "u8" }]\n[messages.M]\nid = 1\n'
     'fields = [{ name = "k", type = "u16" }, { name = "u", type = "U", on = "k" }]', "message M, field u: on",
     "k is a u16; union U is chosen by a u8"),
    ('[unions.U]\ntype = "u8"\ncases = [{ tag = 1, type = "u8" }, { tag = 1 }]\n[messages.M]\nid = 1\nfields = []',
     "union U, case 1", "tag 1 has two cases"),
    ('[messages.M]\nid = 1\nfields = [{ name = "a", type = "u8", const = 300 }]', "message M, field a: const",
     "300 is out of range 0..255"),
    ('[messages.M]\nid = 1\nfields = [{ name = "a", type = "u8", since = 2 }, { name = "b", type = "u8" }]',
     "message M, field b", "extension fields come last"),
    ('[messages.M]\nid = 1\nfields = [{ name = "a", type = "u8", since = 3 }]', "message M, field a: since",
     "3 is out of range 1..2"),
    ('[enums.E]\ntype = "u8"\nvalues = { a = 1 }\n[messages.M]\nid = 1\nfields = [{ name = "e", type = "E", since = 2 }]',
     "message M, field e", "has no value 0: give the extension field a default"),
    ('[structs.S]\nfields = [{ name = "a", type = "u8", since = 2 }]\n[messages.M]\nid = 1\nfields = []',
     "struct S, field a", "since applies to the fields of a message"),
    ('[structs.S]\nlayout = "c"\nfields = [{ name = "a", type = "string", max = 2 }]\n[messages.M]\nid = 1\nfields = []',
     "struct S, field a", "layout = \"c\" needs fields of a fixed size"),
    ('[flags.F]\ntype = "i8"\nbits = { a = 0 }\n[messages.M]\nid = 1\nfields = []', "flags F", "must be unsigned"),
    ('[flags.F]\ntype = "u8"\nbits = { a = 8 }\n[messages.M]\nid = 1\nfields = []', "flags F, bit a",
     "8 is out of range 0..7"),
    ('[messages.M]\nid = 1\ndirection = "up"\nfields = []', "message M: direction", 'must be "request" or "response"'),
    ('[messages.M]\nid = 1\ndirection = "request"\nfields = []\n[messages.N]\nid = 1\nfields = []', "message N",
     "duplicate id 1 (already message M)"),
    ('[enums.Color]\ntype = ["u8"]\nvalues = { a = 1 }\n[messages.M]\nid = 1\nfields = []', "enum Color",
     "type must be an integer type"),
])
def test_bad_language(body, where, words):
    with pytest.raises(SchemaError) as info:
        load(body)
    assert info.value.where == where, info.value
    assert words in info.value.message, info.value.message


def test_directions_share_ids():
    s = load('[messages.Req]\nid = 3\ndirection = "request"\nfields = []\n'
             '[messages.Resp]\nid = 3\ndirection = "response"\nfields = [{ name = "n", type = "u8" }]\n')
    assert [m.name for m in s.lookup(3, "request")] == ["Req"]
    assert [m.name for m in s.lookup(3, "response")] == ["Resp"]
    assert len(s.lookup(3)) == 2


def test_a_schema_without_a_frame():
    s = S.loads('[format]\nname = "p"\nbyte_order = "little"\nmax_payload = 64\n'
                '[messages.A]\nfields = [{ name = "x", type = "u8" }]\n')
    assert s.frame is None and s.message("A").id == 0


@pytest.mark.parametrize("body, words", [
    ('[messages.M]\nid = 1\nfields = [{ name = "a", type = "u8' + "[1]" * 5000 + '" }]', "arrays nest more than 32 deep"),
    ("".join(f'[structs.S{i}]\nfields = [{{ name = "a", type = "S{i + 1}" }}]\n' for i in range(3000))
     + '[structs.S3000]\nfields = [{ name = "a", type = "u8" }]\n[messages.M]\nid = 1\nfields = []',
     "structs nest more than 32 deep"),
    ("x = " + "[" * 5000 + "]" * 5000, "nested too deeply"),
])
def test_deep_nesting_is_one_line(body, words):
    with pytest.raises(SchemaError) as info:
        load(body)
    assert words in str(info.value) and "\n" not in str(info.value)
