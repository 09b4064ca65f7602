"""WIRE.md's byte-by-byte examples of the schema language, checked against the reference codec:
the worked frame with every part (tests/schemas/demo), C layout, Modbus TCP, MAVLink 2, and
the checksums' catalogue check values."""
from __future__ import annotations

import re

import pytest

from harness import codec, crc
from harness import schema as S

from .conftest import ROOT

WIRE = (ROOT / "protocols" / "WIRE.md").read_text()


def block_after(title: str) -> bytes:
    """The hex bytes of the first code block after a line containing `title` (labels after the
    bytes of a line, and lines of labels, are skipped; `|` separators too)."""
    at = WIRE.index(title)
    block = re.search(r"```\n(.*?)```", WIRE[at:], re.S).group(1)
    out = bytearray()
    for line in block.splitlines():
        for token in line.replace("|", " ").split():
            if not re.fullmatch(r"[0-9a-f]{2}", token):
                break
            out.append(int(token, 16))
    return bytes(out)


def load(name: str) -> S.Schema:
    return S.load(ROOT / name / "protocols" / "schema.toml")


def test_the_frame_with_every_part():
    s = load("tests/schemas/demo")
    msg = s.message("Demo")
    value = {"type": 1, "body": {"x": -2, "y": -2}, "perm": 0x8001, "regs": [0x1234, 0xABCD], "name": "hi", "level": 9}
    frame = codec.encode_frame(s, msg, 7, value, {"node": 0x11})
    assert frame == block_after("{type: run, body: {x: -2, y: -2}")
    assert len(frame) == 29
    head, back = codec.decode_frame(s, frame)
    assert (head.message, head.seq, head.header, back) == (msg, 7, {"node": 0x11}, value)
    old = codec.encode(msg, value, version=1)
    assert len(old) == 16 and codec.decode(msg, old)["level"] == 7
    assert codec.decode(msg, codec.encode(msg, value), version=1)["level"] == 7


def test_c_layout_example():
    s = load("tests/schemas/demo")
    nat = codec.codec_for(s.structs["Natural"])
    out = bytearray()
    nat.encode({"tag": 1, "count": 2, "value": 3, "flag": 4}, out, "Natural")
    assert bytes(out) == block_after("in C layout, big-endian, {1, 2, 3, 4}")


def test_modbus_example():
    s = load("examples/modbus")
    frame = codec.encode_frame(s, s.message("ReadHoldingRegistersResponse"), 1,
                               {"registers": [0x022B, 0x0000, 0x0064]}, {"unit_id": 1})
    assert frame == block_after("Read Holding Registers response, registers 108-110")


def test_mavlink_example():
    s = load("examples/mavlink")
    value = {"custom_mode": 5, "type": 2, "autopilot": 3, "base_mode": 0x59, "system_status": 3, "mavlink_version": 3}
    frame = codec.encode_frame(s, s.message("Heartbeat"), 239, value, {"compat_flags": 0, "sysid": 1, "compid": 1})
    assert frame == block_after("HEARTBEAT (id 0, CRC_EXTRA 50)")


def test_trimmed_zeros_example():
    s = load("examples/mavlink")
    ack = s.message("CommandAck")
    value = {"command": 400, "result": 0, "progress": 0, "result_param2": 0, "target_system": 0, "target_component": 0}
    assert codec.encode(ack, value) == block_after("MAVLink's COMMAND_ACK {command 400")
    assert S.fixed_size(ack) == 10


def test_crosswire_frame_example():
    s = S.load(ROOT / "protocols" / "schema.toml")
    frame = codec.frame_bytes(s, s.message("Integers"), 7, bytes(30))
    assert frame[:24] == block_after("Example: message `Integers` (id 1)")


@pytest.mark.parametrize("name", sorted(crc.ALGORITHMS))
def test_checksums_match_the_catalogue(name):
    algo = crc.ALGORITHMS[name]
    assert algo(b"123456789") == algo.check
    row = next(line for line in WIRE.splitlines() if line.startswith(f"| `{name}` |"))
    assert f"0x{algo.check:04X}" in row or f"0x{algo.check:08X}" in row


def test_modbus_rtu_crc_is_little_endian_on_the_wire():
    """The spec's RTU example (01 03 00 6B 00 03 | 74 17): CRC-16/MODBUS 0x1774, low byte first."""
    assert crc.ALGORITHMS["crc-16/modbus"](bytes.fromhex("0103006b0003")) == 0x1774
