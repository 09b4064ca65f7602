"""A deliberately faulty peer, for the harness's own mutation tests (tests/test_mutations.py).

It is the Python reference peer with ONE classic interop bug injected on ONE field:

    python peer.py <fault> <field path>

| fault       | what it does to <field> (or to the whole message / frame when the path is "-") |
|-------------|-------------------------------------------------------------------------------|
| byteswap    | writes the field's bytes big-endian                                           |
| width       | writes an integer with half its declared width (i64 as 4 bytes)               |
| signedness  | zero-extends the low byte of a negative value instead of sign-extending it    |
| float_width | writes an f64 as an f32                                                       |
| missing     | leaves the field out                                                          |
| extra       | writes 4 undeclared bytes (de ad be ef) after the field                       |
| nul         | counts and sends a NUL terminator after a string                              |
| padding     | lays the message out like a C struct: fields at their natural alignment       |
| msg_type    | puts the next message's id in the frame header                                |
| version     | puts format version 2 in the frame header                                     |
| truncate    | drops the last byte of every payload                                          |

It lives under tests/ and is never discovered as a peer: a test writes its manifest into a
temporary folder. The reference peer itself has no fault modes.
"""
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "peers" / "python"))
import codec  # noqa: E402  (the reference peer's modules)
import peer  # noqa: E402

FAULT, FIELD = sys.argv[1], sys.argv[2]


class Faulty(codec.Schema):
    def encode_value(self, t, v, path, out):
        if path != FIELD:
            return super().encode_value(t, v, path, out)
        mine = bytearray()
        super().encode_value(t, v, path, mine)
        if FAULT == "byteswap":
            out += mine[::-1]
        elif FAULT == "width":
            out += v.to_bytes(t.size // 2, "little", signed=t.signed)
        elif FAULT == "signedness":
            out += (v & 0xFF).to_bytes(t.size, "little") if v < 0 else mine
        elif FAULT == "float_width":
            out += struct.pack("<f", struct.unpack("<d", struct.pack("<Q", v))[0])
        elif FAULT == "missing":
            pass
        elif FAULT == "extra":
            out += mine + b"\xde\xad\xbe\xef"
        elif FAULT == "nul":
            raw = bytes(mine[4:]) + b"\0"
            out += struct.pack("<I", len(raw)) + raw
        else:
            out += mine

    def encode_fields(self, struct_name, value, path, out):
        if FAULT != "padding" or path != struct_name:  # only the top level, like a host struct
            return super().encode_fields(struct_name, value, path, out)
        start = len(out)
        for name, t in self.fields[struct_name]:
            align = t.size if t.kind in ("int", "float", "enum") else 1
            out += bytes((-(len(out) - start)) % align)
            self.encode_value(t, value.get(name), f"{path}.{name}", out)

    def encode(self, message, value):
        payload = super().encode(message, value)
        return payload[:-1] if FAULT == "truncate" and payload else payload

    def encode_frame(self, message, seq, payload):
        frame = bytearray(super().encode_frame(message, seq, payload))
        if FAULT == "msg_type":
            struct.pack_into("<H", frame, 6, self.message_ids[message] + 1)
        elif FAULT == "version":
            struct.pack_into("<H", frame, 4, 2)
        return bytes(frame)


class FaultyPeer(peer.Peer):
    def __init__(self):
        super().__init__()
        self.schema = Faulty()
        self.manifest = {**self.manifest, "name": "faulty"}


if __name__ == "__main__":
    peer.Peer = FaultyPeer
    sys.exit(peer.main())
