"""Diagnosis as a library and from the CLI: every heuristic on hand-made faults, a property
over generated values (any one byte-swapped field is named exactly), and the report's parts."""
from __future__ import annotations

import struct
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness import codec, strategies
from harness.diagnose import diagnose, walk

from .conftest import ROOT

INTS = dict(val_u8=1, val_u16=0x1234, val_u32=0x12345678, val_u64=5, val_i8=-1, val_i16=-2, val_i32=-3, val_i64=-4)


@pytest.fixture(scope="module")
def ints(schema):
    msg = schema.message("Integers")
    return msg, codec.encode(msg, INTS)


def cause(schema, msg, exp, act, frame=False):
    f = diagnose(schema, msg, exp, act, frame).likely
    return (f.cause, f.field) if f else None


def test_byteswap(schema, ints):
    msg, e = ints
    a = bytearray(e)
    a[3:7] = a[3:7][::-1]
    assert cause(schema, msg, e, bytes(a)) == ("byteswap", "Integers.val_u32")


def test_width_shifts_everything_after(schema, ints):
    msg, e = ints
    a = e[:7] + struct.pack("<I", 5) + e[15:]  # u64 written as 4 bytes
    assert cause(schema, msg, e, a) == ("width", "Integers.val_u64")


def test_signedness(schema, ints):
    msg, e = ints
    a = bytearray(e)
    a[16:18] = b"\xfe\x00"  # -2 zero-extended from 8 bits
    assert cause(schema, msg, e, bytes(a)) == ("signedness", "Integers.val_i16")


def test_missing_and_extra(schema, ints):
    msg, e = ints
    assert cause(schema, msg, e, e[:1] + e[3:]) == ("missing_field", "Integers.val_u16")
    assert cause(schema, msg, e, e[:7] + b"\xde\xad" + e[7:]) == ("extra_bytes", "Integers.val_u32")


def test_c_struct_padding(schema, ints):
    msg, e = ints
    raw = struct.pack("<BxHIQbxhiq", 1, 0x1234, 0x12345678, 5, -1, -2, -3, -4)  # C's natural layout
    d = diagnose(schema, msg, e, raw)
    assert (d.likely.cause, d.likely.field) == ("padding", "Integers.val_u16")
    assert "write(fd, &s, sizeof s)" in d.likely.evidence


def test_float_width(schema):
    msg = schema.message("Floats")
    value = {"val_f32": codec.F32.from_float(1.5), "val_f64": codec.F64.from_float(0.1)}
    e = codec.encode(msg, value)
    assert cause(schema, msg, e, e[:4] + struct.pack("<f", 0.1)) == ("float_width", "Floats.val_f64")


def test_nul_counted_and_off_by_one(schema):
    msg = schema.message("Text")
    e = codec.encode(msg, {"name": b"ab", "label": "hello", "data": b""})
    plus = e[:16] + struct.pack("<I", 6) + b"hello\0" + e[25:]
    minus = e[:16] + struct.pack("<I", 4) + b"hell" + e[25:]
    assert cause(schema, msg, e, plus) == ("nul_counted", "Text.label")
    assert cause(schema, msg, e, minus) == ("nul_counted", "Text.label")


def test_truncated(schema, ints):
    msg, e = ints
    assert cause(schema, msg, e, e[:20]) == ("truncated", "Integers.val_i32")


def test_frame_header_faults(schema):
    msg = schema.message("Choices")
    e = codec.encode_frame(schema, msg, 7, {"flag": True, "color": 2, "status": -1})
    wrong_type = e[:6] + struct.pack("<H", 4) + e[8:]
    wrong_version = e[:4] + struct.pack("<H", 2) + e[6:]
    big_endian = e[3::-1] + e[4:]
    assert cause(schema, msg, e, wrong_type, frame=True) == ("msg_type", "frame.msg_type")
    assert cause(schema, msg, e, wrong_version, frame=True) == ("const", "frame.version")
    assert cause(schema, msg, e, big_endian, frame=True) == ("byteswap", "frame.magic")


def test_report_has_fields_first_divergence_and_hexdump(schema, ints):
    msg, e = ints
    a = bytearray(e)
    a[3:7] = a[3:7][::-1]
    d = diagnose(schema, msg, e, bytes(a))
    assert d.first.path == "Integers.val_u32" and d.first.offset == 3 and d.first.size == 4
    text = d.render()
    assert ">> Integers.val_u32" in text and "hex dump, actual" in text and "^^" in text
    assert d.rows[0].same and not d.rows[2].same
    assert diagnose(schema, msg, e, e).render().count("likely cause: none") == 0


def test_spans_cover_every_byte(project):
    for case in project.cases:
        spans, stop = walk(project.schema, case.message, case.payload)
        assert stop is None, case.id
        assert sum(s.size for s in spans) == len(case.payload), case.id


@pytest.mark.parametrize("name", ["Integers", "Track", "Arrays", "Floats"])
def test_any_single_byteswap_is_named(schema, name):
    msg = schema.message(name)

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(strategies.message_values(msg), st.data())
    def check(value, data):
        e = codec.encode(msg, value)
        spans, _ = walk(schema, msg, e)
        swappable = [s for s in spans if s.size in (2, 4, 8) and s.type not in ("string", "bytes")
                     and e[s.offset:s.offset + s.size] != e[s.offset:s.offset + s.size][::-1]]
        if not swappable:
            return
        s = data.draw(st.sampled_from(swappable))
        a = bytearray(e)
        a[s.offset:s.offset + s.size] = a[s.offset:s.offset + s.size][::-1]
        d = diagnose(schema, msg, e, bytes(a))
        assert (d.likely.cause, d.likely.field) == ("byteswap", s.path), d.render()

    check()


def cli(*args):
    return subprocess.run([sys.executable, "-m", "harness", "diagnose", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


def test_cli_hex_and_files(tmp_path, ints):
    msg, e = ints
    a = bytearray(e)
    a[3:7] = a[3:7][::-1]
    r = cli("--message", "Integers", "--expected", e.hex(" "), "--actual", bytes(a).hex())
    assert r.returncode == 1 and "likely cause: byteswap at Integers.val_u32" in r.stdout
    (tmp_path / "e.bin").write_bytes(e)
    (tmp_path / "a.bin").write_bytes(e)
    r = cli("--message", "Integers", "--expected", f"@{tmp_path / 'e.bin'}", "--actual", f"@{tmp_path / 'a.bin'}")
    assert r.returncode == 0


def test_cli_frame_without_message(schema):
    msg = schema.message("Choices")
    e = codec.encode_frame(schema, msg, 7, {"flag": True, "color": 2, "status": -1})
    r = cli("--expected", e.hex(), "--actual", (e[:6] + b"\x04\x00" + e[8:]).hex())
    assert "diagnosis of Choices" in r.stdout and "likely cause: msg_type at frame.msg_type" in r.stdout


def test_cli_bad_input_is_one_line():
    r = cli("--message", "Integers", "--expected", "zz", "--actual", "00")
    assert r.returncode == 2 and r.stderr.strip() == "crosswire: error: --expected: not hex: 'zz'"
    r = cli("--message", "Integers", "--expected", "00", "--actual", "00")
    assert r.returncode == 2 and "not a valid Integers" in r.stderr and "Traceback" not in r.stderr
