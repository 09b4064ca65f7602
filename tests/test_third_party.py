"""The examples against implementations nobody here wrote, from the package registries:
pymavlink (the MAVLink project's own Python implementation) and pymodbus. Every golden frame of
examples/mavlink is parsed by pymavlink, and pymavlink writes the same bytes for every case it
can carry; the Modbus specification's examples, written by pymodbus, are the golden frames.

Where they differ from crosswire's reading, that is a finding about the library (or about the
schema), kept here as data: pymavlink turns floats into Python floats, so a signalling NaN comes
back quiet; it writes compat_flags 0 whatever the caller wants; it decodes char[N] as ASCII, so
every byte above 0x7f (UTF-8 text included: STATUSTEXT "é") comes back as U+FFFD.
"""
from __future__ import annotations

import math
import re

import pytest

from harness import codec
from harness.values import F32, F64

from .conftest import ROOT

mavlink2 = pytest.importorskip("pymavlink.dialects.v20.common", reason="pip install -e '.[test]' installs pymavlink")
pymodbus = pytest.importorskip("pymodbus", reason="pip install -e '.[test]' installs pymodbus")


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def mav_cases():
    from harness.project import Project
    p = Project(ROOT / "examples" / "mavlink")
    return p.schema, p.cases


MAV_SCHEMA, MAV_CASES = mav_cases()


def has_nan(value) -> bool:
    if isinstance(value, (F32, F64)):
        return value.is_nan
    if isinstance(value, dict):
        return any(has_nan(v) for v in value.values())
    if isinstance(value, list):
        return any(has_nan(v) for v in value)
    return False


def as_python(v):
    if isinstance(v, (F32, F64)):
        return float(v)
    if isinstance(v, list):
        return [as_python(x) for x in v]
    return v


@pytest.mark.parametrize("case", MAV_CASES, ids=[c.id for c in MAV_CASES])
def test_pymavlink_parses_every_golden_frame(case):
    mav = mavlink2.MAVLink(None)
    mav.robust_parsing = False
    msg = mav.parse_buffer(case.frame)
    assert msg and len(msg) == 1, f"pymavlink did not parse {case.frame.hex()}"
    got = msg[0]
    assert got.get_msgId() == case.message.id and got.get_seq() == case.seq
    assert (got.get_srcSystem(), got.get_srcComponent()) == (case.header["sysid"], case.header["compid"])
    for f in case.message.value_fields:
        want, have = case.value[f.name], getattr(got, f.name)
        if isinstance(want, (F32, F64)):
            if want.is_nan:
                assert math.isnan(have)      # pymavlink quiets signalling NaNs: bits are not compared
            else:
                assert type(want).from_float(have) == want, f.name
        elif isinstance(want, bytes):       # char[N]: pymavlink gives str, decoded as ASCII
            if want.isascii():
                assert have == want.decode("ascii"), f.name
            else:                           # a finding: every byte above 0x7f comes back as U+FFFD
                assert have.count("\ufffd") == sum(b > 0x7F for b in want), f.name
        elif isinstance(want, list):
            assert [type(w).from_float(h) if isinstance(w, (F32, F64)) else h
                    for w, h in zip(want, have)] == want or has_nan(want), f.name
        else:
            assert have == want, f.name


@pytest.mark.parametrize("case", [c for c in MAV_CASES if not has_nan(c.value)],
                         ids=[c.id for c in MAV_CASES if not has_nan(c.value)])
def test_pymavlink_writes_the_same_frames(case):
    mav = mavlink2.MAVLink(None, srcSystem=case.header["sysid"], srcComponent=case.header["compid"])
    mav.seq = case.seq
    cls = getattr(mavlink2, f"MAVLink_{snake(case.message.name)}_message")
    fields = {f.name: as_python(case.value[f.name]) for f in case.message.value_fields}
    frame = cls(**fields).pack(mav)
    ours = codec.frame_bytes(MAV_SCHEMA, case.message, case.seq, case.payload, {**case.header, "compat_flags": 0})
    assert frame == ours


MODBUS = [
    ("spec.read_holding_registers_request", "ReadHoldingRegistersRequest", True,
     lambda v: {"address": v["starting_address"], "count": v["quantity"]}),
    ("spec.read_holding_registers_response", "ReadHoldingRegistersResponse", False,
     lambda v: {"registers": v["registers"]}),
    ("spec.write_single_register_request", "WriteSingleRegisterRequest", True,
     lambda v: {"address": v["address"], "registers": [v["value"]]}),
    ("spec.write_multiple_registers_request", "WriteMultipleRegistersRequest", True,
     lambda v: {"address": v["starting_address"], "registers": v["values"]}),
    ("spec.write_multiple_registers_response", "WriteMultipleRegistersResponse", False,
     lambda v: {"address": v["starting_address"], "count": v["quantity"]}),
]


@pytest.mark.parametrize("case_id, cls, request_side, args", MODBUS, ids=[m[0] for m in MODBUS])
def test_pymodbus_writes_the_specification_frames(case_id, cls, request_side, args):
    from pymodbus.framer import FramerSocket
    from pymodbus.pdu import DecodePDU
    from pymodbus.pdu import register_message as rm
    from harness.project import Project
    case = next(c for c in Project(ROOT / "examples" / "modbus").cases if c.id == case_id)
    pdu = getattr(rm, cls)(**args(case.value), dev_id=case.header["unit_id"], transaction_id=case.seq)
    assert FramerSocket(DecodePDU(not request_side)).buildFrame(pdu) == case.frame
    used, back = FramerSocket(DecodePDU(request_side)).handleFrame(case.frame, 0, 0)
    assert used == len(case.frame) and type(back).__name__ == cls
