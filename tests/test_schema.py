"""The schema loader: the real schema loads, and every broken rule is named with its place."""
from __future__ import annotations

import pytest

from harness import schema as S
from harness.errors import SchemaError

HEAD = """
[format]
name = "t"
version = 1
byte_order = "little"
max_payload = 1024
[frame]
magic = 0x52575843
header = [
  { name = "magic", type = "u32" }, { name = "version", type = "u16" },
  { name = "msg_type", type = "u16" }, { name = "flags", type = "u32" },
  { name = "payload_len", type = "u32" }, { name = "seq", type = "u64" },
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
    assert s.by_id[3].name == "M"
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
    ('[messages.M]\nid = 1\nfields = [{ name = "type", type = "u8" }]', "message M, field type", "keyword"),
    ('[messages.M]\nid = 1\nfields = [{ name = "a", type = "u8", size = 1 }]', "message M, field a", "unknown key(s): size"),
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
    with pytest.raises(SchemaError, match=r"\[frame\] header: must be exactly"):
        S.loads(HEAD.replace('name = "seq", type = "u64"', 'name = "seq", type = "u32"') + "[messages.M]\nid=1\nfields=[]")
    with pytest.raises(SchemaError, match='byte_order: must be "little"'):
        S.loads(HEAD.replace('"little"', '"big"') + "[messages.M]\nid=1\nfields=[]")
    with pytest.raises(SchemaError, match="not valid TOML"):
        S.loads("[format", "x.toml")


def test_missing_file(tmp_path):
    with pytest.raises(SchemaError, match="file not found"):
        S.load(tmp_path / "nope.toml")
