"""A deliberately faulty peer, for the harness's own mutation tests (tests/test_mutations.py).

It is the Python reference peer with ONE classic interop bug injected on ONE field:

    python peer.py <fault> <field path> [<schema.toml>]

| fault       | what it does to <field> (or to the whole message / frame when the path is "-") |
|-------------|-------------------------------------------------------------------------------|
| byteswap    | writes the field's bytes in the other byte order (big-endian for a little-endian field, and the reverse) |
| width       | writes an integer with half its declared width (i64 as 4 bytes)               |
| signedness  | zero-extends the low byte of a negative value instead of sign-extending it    |
| float_width | writes an f64 as an f32                                                       |
| missing     | leaves the field out                                                          |
| extra       | writes 4 undeclared bytes (de ad be ef) after the field                       |
| nul         | counts and sends a NUL terminator after a string                              |
| units       | writes a length prefix that counts elements where the schema counts bytes (or the reverse) |
| padding     | lays the message out like a C struct: fields at their natural alignment       |
| packed      | leaves out the implicit padding of a `layout = "c"` struct (a packed sender)  |
| msg_type    | puts the next message's id in the frame header                                |
| version     | puts another value in the frame's constant `version` field                    |
| crc_seed    | computes the frame's checksum without the message's seed byte                 |
| truncate    | drops the last byte of every payload                                          |
| f64_as_f32  | writes EVERY f64 of the message as an f32, nested ones too (a shared helper's bug; path "-") |
| wide_elems  | writes each integer element of the array or vec <field> one width too wide (u16 as u32) |
| prefix_u16  | writes <field>'s u32 length prefix as a u16                                    |
| swap_order  | writes <field> and the field after it in swapped order                          |
| through_double | passes the 64-bit integer <field> through a double                          |
| bigint_fixed | writes the bigint <field> in a fixed 8 bytes (sign-extended), not minimal      |
| char_garbage | sends the bytes after the NUL of char[N] <field> as 0xcc, not zero            |
| seq_swap    | writes the frame's seq byte-swapped                                            |
| lenient     | decodes a payload with trailing bytes as if they were not there (path "-")     |
| read_byteswap | decodes <field> in the other byte order (a reader's bug: its writer is right) |
| read_unsigned | decodes the signed integer <field> as unsigned (i16 read as u16)             |
| no_wake     | shared memory: never wakes the other side when it sleeps (no bump, no futex wake), and reads slowly (5 ms a read) so that a sender fills the ring (path "-") |
| early_publish | shared memory: from the ring's second lap on, publishes its head before it copies the bytes in, lingering 200 us between (path "-") |

The two shared-memory faults are written into a copy of the kit's cffi helper (build_shm.py's C
source, patched as text and compiled once into a folder under the temporary directory); the
rest are in the codec.

The schema is crosswire's example unless a third argument names another. It lives under tests/
and is never discovered as a peer: a test writes its manifest into a temporary folder. The
reference peer itself has no fault modes.
"""
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "peers" / "python" / "kit"))
import codec  # noqa: E402  (the reference peer's modules)
import cwkit as peer  # noqa: E402  (the reference peer's kit)

FAULT, FIELD = sys.argv[1], sys.argv[2]
SCHEMA = Path(sys.argv[3]) if len(sys.argv) > 3 else codec.SCHEMA_PATH


class Faulty(codec.Schema):
    def encode_value(self, t, v, path, out):
        if FAULT == "f64_as_f32" and t.kind == "float" and t.size == 8:
            x = struct.unpack("<d", struct.pack("<Q", v))[0]
            try:
                out += struct.pack("<f" if t.order == "little" else ">f", x)
            except OverflowError:   # beyond the f32 range: a C cast gives infinity
                out += struct.pack("<f" if t.order == "little" else ">f", float("inf") if x > 0 else float("-inf"))
            return
        if FAULT == "wide_elems" and path.startswith(FIELD + "[") and t.kind == "int" and "]." not in path[len(FIELD):]:
            out += v.to_bytes(t.size * 2, t.order, signed=t.signed)
            return
        if path != FIELD:
            return super().encode_value(t, v, path, out)
        mine = bytearray()
        super().encode_value(t, v, path, mine)
        if FAULT == "byteswap":
            out += mine[::-1]
        elif FAULT == "width":
            out += v.to_bytes(t.size // 2, t.order, signed=t.signed)
        elif FAULT == "signedness":
            out += (v & 0xFF).to_bytes(t.size, t.order) if v < 0 else mine
        elif FAULT == "float_width":
            out += struct.pack("<f", struct.unpack("<d", struct.pack("<Q", v))[0])
        elif FAULT == "missing":
            pass
        elif FAULT == "extra":
            out += mine + b"\xde\xad\xbe\xef"
        elif FAULT == "nul":
            raw = bytes(mine[t.prefix:]) + b"\0"
            out += (len(raw)).to_bytes(t.prefix, t.order) + raw
        elif FAULT == "prefix_u16":
            out += bytes(mine[:t.prefix])[:2] if t.order == "little" else bytes(mine[:t.prefix])[-2:]
            out += mine[t.prefix:]
        elif FAULT == "through_double":
            out += int(float(v)).to_bytes(t.size, t.order, signed=t.signed)
        elif FAULT == "bigint_fixed":
            raw = v.to_bytes(8, t.order, signed=True)
            out += (8).to_bytes(t.prefix, t.order) + raw
        elif FAULT == "char_garbage":
            out += v + b"\0" + b"\xcc" * (t.size - len(v) - 1) if len(v) < t.size - 1 else mine
        elif FAULT == "units":
            n = int.from_bytes(mine[:t.prefix], t.order)
            width = self.size_of(t.elem)
            wrong = n // width if t.unit == "bytes" else n * width
            out += wrong.to_bytes(t.prefix, t.order) + mine[t.prefix:]
        else:
            out += mine

    def encode_fields(self, fields, value, path, out):
        if FAULT == "packed" and path == FIELD:
            fields = [f for f in fields if not f.implicit]
        if FAULT == "swap_order" and FIELD.startswith(path + ".") and "." not in FIELD[len(path) + 1:]:
            fields = list(fields)
            i = next((i for i, f in enumerate(fields) if f.name == FIELD[len(path) + 1:]), None)
            if i is not None and i + 1 < len(fields):
                fields[i], fields[i + 1] = fields[i + 1], fields[i]
        if FAULT != "padding" or "." in path or "[" in path:  # only the top level, like a host struct
            return super().encode_fields(fields, value, path, out)
        start = len(out)
        for f in fields:
            t = f.type
            align = t.size if t.kind in ("int", "float", "enum") else 1
            out += bytes((-(len(out) - start)) % align)
            super().encode_fields([f], value, path, out)

    def decode_value(self, t, reader, path, check=True):
        if path == FIELD and FAULT in ("read_byteswap", "read_unsigned") and t.kind in ("int", "float"):
            raw = reader.take(t.size, path)
            if FAULT == "read_byteswap":
                return int.from_bytes(raw, "big" if t.order == "little" else "little", signed=t.kind == "int" and t.signed)
            return int.from_bytes(raw, t.order)
        return super().decode_value(t, reader, path, check)

    def decode(self, message, payload):
        try:
            return super().decode(message, payload)
        except codec.DecodeError as exc:
            if FAULT != "lenient" or exc.code != "trailing":
                raise
            for n in range(len(payload) - 1, -1, -1):      # the longest prefix that decodes wins
                try:
                    return super().decode(message, payload[:n])
                except codec.DecodeError:
                    continue
            raise

    def encode(self, message, value):
        payload = super().encode(message, value)
        return payload[:-1] if FAULT == "truncate" and payload else payload

    def crc_of(self, frame, payload_len, seed):
        if FAULT == "crc_seed":
            c = dict(self.checksum, seed="")
            saved, self.checksum = self.checksum, c
            try:
                return super().crc_of(frame, payload_len, seed)
            finally:
                self.checksum = saved
        return super().crc_of(frame, payload_len, seed)

    def encode_frame(self, message, seq, payload, header=()):
        frame = bytearray(super().encode_frame(message, seq, payload, header))
        if FAULT == "msg_type":
            idf = self.roles["id"]
            frame[idf.offset:idf.offset + idf.type.size] = (self.message_ids[message] + 1).to_bytes(
                idf.type.size, idf.type.order)
        elif FAULT == "seq_swap":
            h = self.roles["seq"]
            frame[h.offset:h.offset + h.type.size] = frame[h.offset:h.offset + h.type.size][::-1]
        elif FAULT == "version":
            h = next(h for h in self.header if h.name == "version")
            frame[h.offset:h.offset + h.type.size] = (h.const + 1).to_bytes(h.type.size, h.type.order)
        return bytes(frame)


# The shared-memory faults: (the kit's C text, what the faulty copy has instead).
SHM_FAULTS = {
    "no_wake": [("notify(c->out_ctl, CTL_CONSUMER_WAITING, CTL_DATA_SEQ);", ";"),
                ("notify(c->in_ctl, CTL_PRODUCER_WAITING, CTL_SPACE_SEQ);", ";"),
                # and a slow reader (5 ms a read), so that any sender fills the ring and sleeps
                ("    copy_out(c, c->tail, dst, k);\n    consume(c, k);",
                 "    copy_out(c, c->tail, dst, k);\n    consume(c, k);\n"
                 "    { struct timespec slow = { 0, 5000000 }; nanosleep(&slow, NULL); }")],
    "early_publish": [("""        copy_in(c, c->head, src, k);""", """        if (c->head >= c->cap) {      /* from the second lap on: publish, linger, then copy */
            struct timespec linger = { 0, 200000 };
            st_rel64(c->out_ctl + CTL_HEAD, c->head + k);
            notify(c->out_ctl, CTL_CONSUMER_WAITING, CTL_DATA_SEQ);
            nanosleep(&linger, NULL);
        }
        copy_in(c, c->head, src, k);""")],
}


def faulty_shm_helper(fault):
    """Import the kit's shm helper with `fault` written into it (built once per fault and source)."""
    import hashlib
    import os
    import shutil
    import tempfile

    import build_shm
    source = build_shm.SOURCE
    for old, new in SHM_FAULTS[fault]:
        if old not in source:
            raise SystemExit(f"faulty peer: the kit's build_shm.py no longer has the text {fault} patches")
        source = source.replace(old, new)
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    home = Path(tempfile.gettempdir()) / f"crosswire-faulty-shm-{fault}-{digest}"
    if not home.is_dir():
        work = Path(tempfile.mkdtemp(prefix="crosswire-faulty-build-"))
        build_shm.SOURCE = source
        build_shm.main(work)
        try:
            os.rename(work, home)
        except OSError:         # another process built it first
            shutil.rmtree(work, ignore_errors=True)
    sys.path.insert(0, str(home))
    import _cwshm  # noqa: F401  (shm.py imports it by this name: this copy wins)
    sys.path.remove(str(home))


class FaultyPeer(peer.Peer):
    def __init__(self, *args):
        super().__init__(*args)
        self.schema = Faulty(SCHEMA, plans_path=None)
        self.manifest = {**self.manifest, "name": "faulty"}


if __name__ == "__main__":
    if FAULT in SHM_FAULTS:
        faulty_shm_helper(FAULT)
    peer.Peer = FaultyPeer
    sys.exit(peer.main())
