"""Diagnosis by re-enactment (harness/reenact.py): a sender with a bug is played by the reference
codec on a schema that has the bug written into it (the sender's idea of the protocol), and the
diagnosis must name the bug class and the fields it touches from the bytes alone. Also: the
diagnosis never raises, whatever bytes it is given."""
from __future__ import annotations

import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness import codec, diagnose as D, reenact
from harness import schema as S
from harness.values import F32, F64

SCHEMA = """
[format]
name = "bugs"
byte_order = "little"
max_payload = 4096

[structs.Pose]
fields = [
  { name = "x", type = "f32" },
  { name = "heading", type = "f64" },
  { name = "tag", type = "char[8]" },
]

[messages.Report]
id = 1
fields = [
  { name = "id",      type = "u32" },
  { name = "count",   type = "u16" },
  { name = "total",   type = "u64" },
  { name = "origin",  type = "Pose" },
  { name = "speed",   type = "f64" },
  { name = "samples", type = "vec<u16>", max = 8 },
  { name = "label",   type = "string", max = 32 },
  { name = "big",     type = "bigint", max = 16 },
]
"""
VALUE = {"id": 0x01020304, "count": 0x0506, "total": (1 << 60) + 12345, "origin":
         {"x": F32.from_float(1.5), "heading": F64.from_float(0.1), "tag": b"ab"},
         "speed": F64.from_float(3.3), "samples": [1, 2, 300, 40000], "label": "hello", "big": 12345}


def sender(text: str, value: dict | None = None) -> bytes:
    """The bytes a sender writes whose schema says `text` (a bug written into the schema)."""
    schema = S.loads(text)
    return codec.encode(schema.message("Report"), value or VALUE)


def named(actual: bytes, value: dict | None = None) -> list[D.Finding]:
    schema = S.loads(SCHEMA)
    msg = schema.message("Report")
    expected = codec.encode(msg, value or VALUE)
    d = D.diagnose(schema, msg, expected, actual)
    assert d.findings, d.render()
    return d.findings


def best(actual: bytes, value: dict | None = None) -> tuple[str, tuple[str, ...]]:
    f = named(actual, value)[0]
    return f.cause, f.fields or (f.field,)


def rounded(value: dict) -> dict:
    """The value as a sender writing every f64 as an f32 holds it."""
    v = dict(value, speed=F32.from_float(float(value["speed"])))
    v["origin"] = dict(value["origin"], heading=F32.from_float(float(value["origin"]["heading"])))
    return v


def test_every_f64_written_as_f32_in_a_nested_struct_too():
    actual = sender(SCHEMA.replace('"f64"', '"f32"'), rounded(VALUE))
    assert best(actual) == ("float_width", ("Report.origin.heading", "Report.speed"))


def test_array_elements_one_width_too_wide():
    actual = sender(SCHEMA.replace("vec<u16>", "vec<u32>"))
    assert best(actual) == ("width", ("Report.samples[]",))


def test_a_u16_length_prefix_where_u32_is_declared():
    actual = sender(SCHEMA.replace('type = "string", max = 32', 'type = "string", max = 32, prefix = "u16"'))
    assert best(actual) == ("prefix_width", ("Report.label",))


def test_every_u32_byte_swapped_with_the_prefixes():
    actual = sender(SCHEMA.replace('byte_order = "little"', 'byte_order = "big"'))
    cause, fields = best(actual)
    assert cause == "byteswap" and "Report.id" in fields and "Report.speed" in fields


def test_adjacent_fields_in_swapped_order():
    text = SCHEMA.replace('  { name = "id",      type = "u32" },\n  { name = "count",   type = "u16" },',
                          '  { name = "count",   type = "u16" },\n  { name = "id",      type = "u32" },')
    assert text != SCHEMA
    assert best(sender(text)) == ("field_order", ("Report.id", "Report.count"))


def test_a_u64_through_a_double():
    value = dict(VALUE, total=int(float(VALUE["total"])))
    assert value["total"] != VALUE["total"]
    assert best(sender(SCHEMA, value)) == ("through_double", ("Report.total",))


def test_a_bigint_in_a_fixed_eight_bytes():
    msg = S.loads(SCHEMA).message("Report")
    good = codec.encode(msg, VALUE)
    raw = codec.bigint_bytes(12345)                    # 39 30: minimal
    cut = good.rindex(len(raw).to_bytes(4, "little") + raw)
    actual = good[:cut] + (8).to_bytes(4, "little") + raw + bytes(8 - len(raw))
    assert best(actual) == ("bigint_form", ("Report.big",))


def test_garbage_after_the_nul_of_a_char_array():
    msg = S.loads(SCHEMA).message("Report")
    good = bytearray(codec.encode(msg, VALUE))
    at = good.index(b"ab\0\0\0\0\0\0")
    good[at + 3:at + 8] = b"\xcc\xcc\x7f\x01\x02"
    assert best(bytes(good)) == ("char_garbage", ("Report.origin.tag",))


def test_a_case_that_cannot_tell_two_causes_apart_says_so():
    """All zero but one u32 of 0x01000001: byteswap and 'nothing' look alike except there; a
    width bug and a byteswap of a palindrome both reproduce an all-zero u16 count."""
    value = dict(VALUE, count=0x0101)
    actual = sender(SCHEMA.replace('{ name = "count",   type = "u16" }', '{ name = "count",   type = "u16", byte_order = "big" }')
                    .replace('{ name = "id",      type = "u32" }', '{ name = "id",      type = "u32", byte_order = "big" }'), value)
    findings = named(actual, value)
    assert findings[0].cause == "byteswap" and findings[0].fields == ("Report.id",)


def test_the_marker_sits_on_the_field_the_cause_names():
    schema = S.loads(SCHEMA)
    msg = schema.message("Report")
    actual = sender(SCHEMA.replace('"f64"', '"f32"'), rounded(VALUE))
    d = D.diagnose(schema, msg, codec.encode(msg, VALUE), actual)
    marked = [line for line in d.render().splitlines() if line.startswith(">>")]
    assert len(marked) == 1 and "Report.origin.heading" in marked[0], d.render()


def test_the_f64_beyond_f32_range_hint_does_not_crash():
    """Regression: a wrong f64 far beyond the f32 range made the value hint raise OverflowError."""
    t = S.PRIMS["f64"]
    assert D.diff_values(t, F64.from_float(1e300), F64.from_float(2e300), "x")
    assert D._value_hint(t, F64.from_float(1e300), F64.from_float(float("inf"))) == "  <- rounded through f32"


def test_a_u64_through_a_double_hint_on_values():
    t = S.PRIMS["u64"]
    assert "double" in D._value_hint(t, (1 << 60) + 1, 1 << 60)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=120), st.integers(0, 2))
def test_diagnosis_never_raises_on_any_bytes(actual, frame_kind):
    """Any byte string against a valid encoding (framed or not): a diagnosis, never a traceback."""
    schema = S.loads(SCHEMA)
    msg = schema.message("Report")
    expected = codec.encode(msg, VALUE)
    d = D.diagnose(schema, msg, expected, actual)
    assert d.render() and d.summary()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_diagnosis_never_raises_on_mutated_encodings(data):
    from harness.project import Project
    from .conftest import ROOT
    project = Project.at(ROOT)
    case = data.draw(st.sampled_from([c for c in project.cases if len(c.payload) < 4096]))
    raw = bytearray(case.payload)
    for _ in range(data.draw(st.integers(1, 4))):
        if raw and data.draw(st.booleans()):
            raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
        else:
            at = data.draw(st.integers(0, len(raw)))
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=4))
    d = D.diagnose(None, case.message, case.payload, bytes(raw))
    assert d.render() and d.summary()
    assert all(f.cause and f.field for f in d.findings)


def test_explain_stays_within_its_budget():
    import time
    schema = S.loads(SCHEMA)
    msg = schema.message("Report")
    start = time.monotonic()
    reenact.explain(msg, VALUE, b"\x00" * 64)
    assert time.monotonic() - start < reenact.BUDGET_S + 1.0


def test_struct_packing_of_the_sender_is_independent_of_the_codec():
    """The bytes the tests above compare with are the reference codec's: check one against struct."""
    msg = S.loads(SCHEMA).message("Report")
    good = codec.encode(msg, VALUE)
    assert good[:14] == struct.pack("<IHQ", 0x01020304, 0x0506, (1 << 60) + 12345)
