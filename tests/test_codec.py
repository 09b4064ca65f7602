"""The reference codec: round trips on generated values, exact bytes, and every decode and
encode error with its code, field path and offset."""
from __future__ import annotations

import json
import struct

import pytest
from hypothesis import HealthCheck, given, settings

from harness import codec, strategies, vectors
from harness.errors import DecodeError, EncodeError
from harness.values import F32, F64

from .conftest import ROOT

MALFORMED = json.loads((ROOT / "protocols/vectors/malformed.json").read_text())
MESSAGES = ["Empty", "Integers", "Floats", "Choices", "Text", "Arrays", "BigNumber", "Sample10f", "Track", "Padded", "Blob"]


@pytest.mark.parametrize("name", MESSAGES)
def test_round_trip_generated_values(schema, name):
    msg = schema.message(name)

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(strategies.message_values(msg))
    def check(value):
        payload = codec.encode(msg, value)
        assert codec.decode(msg, payload) == value
        frame = codec.encode_frame(schema, msg, 42, value)
        head, back = codec.decode_frame(schema, frame)
        assert (head.message, head.seq, head.size, back) == (msg, 42, len(frame), value)

    check()


def test_every_message_is_tested(schema):
    assert sorted(MESSAGES) == sorted(schema.messages)


def test_f32_signalling_nan_keeps_its_bits(schema):
    msg = schema.message("Floats")
    value = {"val_f32": F32(0x7FA00001), "val_f64": F64(0xFFF0000000000001)}
    payload = codec.encode(msg, value)
    assert payload == bytes.fromhex("0100a07f") + bytes.fromhex("010000000000f0ff")
    assert codec.decode(msg, payload)["val_f32"].bits == 0x7FA00001
    assert F32(0x80000000) != F32(0x00000000)  # -0.0 and +0.0 are different values here


def test_seed_example_bytes(schema):
    sample = [0.9, 120000, 0.85, 12.8, 0.1, 28, 16, 124565, 0.72, 3.9]
    value = {"values": [F32.from_float(x) for x in sample]}
    assert codec.encode(schema.message("Sample10f"), value) == struct.pack("<10f", *sample)


@pytest.mark.parametrize("n, hexbytes", [
    (0, ""), (1, "01"), (-1, "ff"), (127, "7f"), (128, "8000"), (-128, "80"), (-129, "7fff"),
    (2**63, "000000000000008000"), (-2**63, "0000000000000080"), (2**64, "000000000000000001"),
])
def test_bigint_minimal_form(n, hexbytes):
    assert codec.bigint_bytes(n).hex() == hexbytes


@pytest.mark.parametrize("case", MALFORMED, ids=[c["id"] for c in MALFORMED])
def test_malformed_payload_rejected_with_code_and_path(schema, case):
    with pytest.raises(DecodeError) as info:
        codec.decode(schema.message(case["message"]), bytes.fromhex(case["payload"]))
    assert (info.value.code, info.value.path) == (case["code"], case["path"])
    assert info.value.offset is not None and 0 <= info.value.offset <= len(case["payload"]) // 2


@pytest.mark.parametrize("message, value, code, path", [
    ("Integers", {"val_u8": 256}, "range", "Integers.val_u8"),
    ("Integers", {"val_i8": -129}, "range", "Integers.val_i8"),
    ("Integers", {"val_u64": -1}, "range", "Integers.val_u64"),
    ("Integers", {"val_i64": 2**63}, "range", "Integers.val_i64"),
    ("Integers", {"val_u16": True}, "range", "Integers.val_u16"),
    ("Choices", {"color": 9}, "enum", "Choices.color"),
    ("Text", {"name": b"a\0b"}, "char", "Text.name"),
    ("Text", {"name": b"x" * 17}, "length", "Text.name"),
    ("Text", {"label": "é" * 33}, "length", "Text.label"),
    ("Text", {"label": "\ud800"}, "utf8", "Text.label"),
    ("Arrays", {"samples": [0] * 17}, "length", "Arrays.samples"),
    ("Arrays", {"fixed": [1, 2, 3]}, "length", "Arrays.fixed"),
    ("BigNumber", {"value": 2**511}, "length", "BigNumber.value"),
    ("Track", {"poses": [None]}, "range", "Track.poses[0]"),
])
def test_encode_errors(schema, message, value, code, path):
    msg = schema.message(message)
    base = next(c.value for c in vectors.load(schema, ROOT / "protocols/vectors/golden.json") if c.message is msg)
    with pytest.raises(EncodeError) as info:
        codec.encode(msg, {**base, **value})
    assert (info.value.code, info.value.path) == (code, path)


def test_encode_refuses_missing_and_unknown_fields(schema):
    with pytest.raises(EncodeError, match="field missing"):
        codec.encode(schema.message("Floats"), {"val_f32": F32(0)})
    with pytest.raises(EncodeError, match="no field"):
        codec.encode(schema.message("Empty"), {"x": 1})
    with pytest.raises(EncodeError, match="F32 bit pattern"):
        codec.encode(schema.message("Floats"), {"val_f32": 1.0, "val_f64": F64(0)})


FRAME_OK = struct.pack("<IHHIIQ", 0x52575843, 1, 1, 0, 30, 9) + bytes(30)


@pytest.mark.parametrize("mutate, code, path", [
    (lambda b: b"XXXX" + b[4:], "const", "frame.magic"),
    (lambda b: b[:4] + b"\x02\x00" + b[6:], "const", "frame.version"),
    (lambda b: b[:8] + b"\x01\x00\x00\x00" + b[12:], "const", "frame.flags"),
    (lambda b: b[:6] + b"\x63\x00" + b[8:], "type", "frame.msg_type"),
    (lambda b: b[:12] + (2**20 + 1).to_bytes(4, "little") + b[16:], "length", "frame.payload_len"),
    (lambda b: b[:-1], "truncated", "frame"),
    (lambda b: b + b"\0", "trailing", "frame"),
    (lambda b: b[:10], "truncated", "frame"),
])
def test_frame_errors(schema, mutate, code, path):
    assert codec.decode_frame(schema, FRAME_OK)[0].seq == 9
    with pytest.raises(DecodeError) as info:
        codec.decode_frame(schema, mutate(FRAME_OK))
    assert (info.value.code, info.value.path) == (code, path)


def test_arrays_of_char_arrays_and_nested_arrays():
    """Found by the Rust peer's author: char[2][2] once broke the struct run of the codec."""
    from harness import schema as S
    head = (ROOT / "protocols/schema.toml").read_text().split("# ---------------------------------------------------------------- enums")[0]
    s = S.loads(head + '[messages.M]\nid = 1\nfields = [{ name = "v", type = "char[2][2]" }, '
                '{ name = "w", type = "u8[2][3]" }, { name = "x", type = "vec<i16[2]>", max = 2 }]\n')
    msg = s.message("M")
    value = {"v": [b"ab", b"c"], "w": [[1, 2], [3, 4], [5, 6]], "x": [[-1, 2]]}
    payload = codec.encode(msg, value)
    assert payload == b"abc\0" + bytes([1, 2, 3, 4, 5, 6]) + b"\x01\0\0\0\xff\xff\x02\0"
    assert codec.decode(msg, payload) == value
    with pytest.raises(DecodeError) as info:
        codec.decode(msg, b"ab\0c" + payload[4:])
    assert (info.value.code, info.value.path) == ("char", "M.v[1]")
