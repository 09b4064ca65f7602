"""The pymodbus peer: crosswire's Python kit around pymodbus (PyPI, pinned in crosswire's `test`
extra), the Modbus TCP implementation nobody at crosswire wrote.

Made by `crosswire new-peer pymodbus --lang python --adapter --frames`, then filled in: pymodbus
writes and reads whole Modbus TCP frames (the MBAP header and the PDU), so every encode_<M>
builds the library's PDU object and lets its socket framer write the frame, and every decode_<M>
lets the framer parse the frame and reads the PDU object's attributes back into crosswire's
value (the shapes are in cw_messages.py). Nothing here touches a byte itself: the kit hands over
every frame it finds on the stream as it came (found by the MBAP length, the decode chosen by the
function code), and pymodbus alone judges the rest, the protocol id included; a frame it will not
read is refused with what pymodbus logged about it.
"""
import logging
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "../../build/kits/python"))
import cwkit  # noqa: E402  (the Python kit: `crosswire kit --lang python`)

from pymodbus.framer import FramerSocket  # noqa: E402
from pymodbus.pdu import DecodePDU, ExceptionResponse  # noqa: E402
from pymodbus.pdu import bit_message as bm  # noqa: E402
from pymodbus.pdu import register_message as rm  # noqa: E402

FRAMES = True   # the library writes and reads whole frames


def coils(data):
    """Coil status bytes as pymodbus's list of bits: 8 a byte, the first coil in bit 0."""
    return [bool(byte >> i & 1) for byte in data for i in range(8)]


def packed(bits):
    return bytes(sum(1 << i for i, bit in enumerate(bits[at:at + 8]) if bit) for at in range(0, len(bits), 8))


# message -> (pymodbus class, is a request, value -> constructor arguments, PDU -> value)
PDUS = {
    "ReadCoilsRequest": (bm.ReadCoilsRequest, True,
                         lambda v: {"address": v["starting_address"], "count": v["quantity"]},
                         lambda p: {"starting_address": p.address, "quantity": p.count}),
    "ReadCoilsResponse": (bm.ReadCoilsResponse, False,
                          lambda v: {"bits": coils(v["coil_status"])},
                          lambda p: {"coil_status": packed(p.bits)}),
    "ReadHoldingRegistersRequest": (rm.ReadHoldingRegistersRequest, True,
                                    lambda v: {"address": v["starting_address"], "count": v["quantity"]},
                                    lambda p: {"starting_address": p.address, "quantity": p.count}),
    "ReadHoldingRegistersResponse": (rm.ReadHoldingRegistersResponse, False,
                                     lambda v: {"registers": v["registers"]},
                                     lambda p: {"registers": list(p.registers)}),
    "WriteSingleRegisterRequest": (rm.WriteSingleRegisterRequest, True,
                                   lambda v: {"address": v["address"], "registers": [v["value"]]},
                                   lambda p: {"address": p.address, "value": p.registers[0]}),
    "WriteSingleRegisterResponse": (rm.WriteSingleRegisterResponse, False,
                                    lambda v: {"address": v["address"], "registers": [v["value"]]},
                                    lambda p: {"address": p.address, "value": p.registers[0]}),
    "WriteMultipleRegistersRequest": (rm.WriteMultipleRegistersRequest, True,
                                      lambda v: {"address": v["starting_address"], "registers": v["values"]},
                                      lambda p: {"starting_address": p.address, "values": list(p.registers)}),
    "WriteMultipleRegistersResponse": (rm.WriteMultipleRegistersResponse, False,
                                       lambda v: {"address": v["starting_address"], "count": v["quantity"]},
                                       lambda p: {"starting_address": p.address, "quantity": p.count}),
}
EXCEPTIONS = {"ReadCoilsException": 0x01, "ReadHoldingRegistersException": 0x03,
              "WriteSingleRegisterException": 0x06, "WriteMultipleRegistersException": 0x10}


class Said(logging.Handler):
    """What pymodbus logs as an error while it reads a frame (its reason for refusing one)."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.texts = []

    def emit(self, record):
        self.texts.append(record.getMessage())


SAID = Said()
logging.getLogger("pymodbus.logging").addHandler(SAID)


def parse(frame, request, want):
    """pymodbus's reading of one whole frame: the PDU object, which must be a `want`."""
    SAID.texts.clear()
    used, pdu = FramerSocket(DecodePDU(request)).handleFrame(frame, 0, 0)
    if pdu is None or used != len(frame):
        why = "; ".join(SAID.texts) or "nothing logged"
        raise ValueError(f"pymodbus did not read a frame from {frame.hex()} (used {used} bytes; it said: {why})")
    if not isinstance(pdu, want):
        raise ValueError(f"pymodbus read a {type(pdu).__name__}, not a {want.__name__}")
    return pdu


def _pdu_adapter(name, cls, request, to_args, to_value):
    def encode(value, seq, header):
        pdu = cls(**to_args(value), dev_id=header[0], transaction_id=seq)
        return FramerSocket(DecodePDU(not request)).buildFrame(pdu)

    def decode(frame):
        return to_value(parse(frame, request, cls))
    return encode, decode


def _exception_adapter(name, function):
    def encode(value, seq, header):
        pdu = ExceptionResponse(function, value["exception_code"], device_id=header[0], transaction=seq)
        return FramerSocket(DecodePDU(True)).buildFrame(pdu)

    def decode(frame):
        pdu = parse(frame, False, ExceptionResponse)
        if pdu.function_code != function | 0x80:
            raise ValueError(f"function code {pdu.function_code:#x}, expected {function | 0x80:#x}")
        return {"exception_code": pdu.exception_code}
    return encode, decode


for _name, (_cls, _request, _to_args, _to_value) in PDUS.items():
    globals()[f"encode_{_name}"], globals()[f"decode_{_name}"] = _pdu_adapter(_name, _cls, _request, _to_args, _to_value)
for _name, _function in EXCEPTIONS.items():
    globals()[f"encode_{_name}"], globals()[f"decode_{_name}"] = _exception_adapter(_name, _function)


if __name__ == "__main__":
    sys.exit(cwkit.run(HERE, adapter=sys.modules[__name__]))
