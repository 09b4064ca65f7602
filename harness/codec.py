"""The reference codec: values <-> bytes, built from the schema, independent of every peer.

Each struct is compiled once into a plan: runs of consecutive fixed-size fields become one
precompiled `struct.Struct`, the variable-size fields (bytes, string, bigint, vec) and nested
structs get a codec of their own. Every rule of WIRE.md is checked on decode and on encode;
a failure is a DecodeError/EncodeError with the code, the field path and the offset.
"""
from __future__ import annotations

import struct
from functools import lru_cache
from typing import Any, Callable

from . import schema as S
from .errors import DecodeError, EncodeError
from .values import F32, F64

_U32 = struct.Struct("<I")
HEADER = struct.Struct("<IHHIIQ")
assert HEADER.size == S.HEADER_SIZE


# ------------------------------------------------------------------ fixed-size leaves


class _Flat:
    """One fixed-size field inside a run: its struct format and its conversions."""

    def __init__(self, name: str, t: S.Type) -> None:
        self.name, self.type = name, t
        if isinstance(t, S.Array):
            self.count, leaf = t.n, t.elem
        else:
            self.count, leaf = 1, t
        self.leaf = leaf
        if isinstance(leaf, S.CharArray):
            self.fmt, self.items = f"{leaf.n}s" * self.count, self.count
        elif isinstance(leaf, S.Pad):
            self.fmt, self.items = f"{leaf.n}s", 1
        else:
            base = leaf.base if isinstance(leaf, S.Enum) else leaf
            self.fmt = f"{self.count}{base.fmt}" if self.count > 1 else base.fmt
            self.items = self.count
        self.size = struct.calcsize("<" + self.fmt)
        self.offset = 0  # within its run; set by the run

    def cut_path(self, path: str, left: int) -> str:
        """The field path of a cut with `left` bytes of this field present: an array names the
        element that is cut short, as every peer's element-by-element decoder does."""
        if isinstance(self.type, S.Array):
            return f"{path}[{min(left // (self.size // self.count), self.count - 1)}]"
        return path

    # encode: value -> list of struct items
    def to_items(self, value: Any, path: str) -> list:
        if isinstance(self.leaf, S.Pad):
            return [b""]
        if self.count == 1 and not isinstance(self.type, S.Array):
            return [_leaf_in(self.leaf, value, path)]
        if not isinstance(value, (list, tuple)) or len(value) != self.count:
            raise EncodeError("length", path, f"{S.type_name(self.type)} needs exactly {self.count} "
                              f"values, got {_count(value)}", expected=self.count, actual=_count(value))
        return [_leaf_in(self.leaf, v, f"{path}[{i}]") for i, v in enumerate(value)]

    # decode: struct items -> value
    def from_items(self, items: tuple, path: str, offset: int) -> Any:
        if isinstance(self.leaf, S.Pad):
            raw = items[0]
            if raw.count(0) != len(raw):
                at = next(i for i, b in enumerate(raw) if b)
                raise DecodeError("padding", path, f"padding byte {at} is {raw[at]:#04x}, must be 0",
                                  offset=offset + at, expected=0, actual=raw[at])
            return None
        if self.count == 1 and not isinstance(self.type, S.Array):
            return _leaf_out(self.leaf, items[0], path, offset)
        width = self.size // self.count
        return [_leaf_out(self.leaf, v, f"{path}[{i}]", offset + i * width) for i, v in enumerate(items)]


def _count(value: Any) -> object:
    return len(value) if isinstance(value, (list, tuple, bytes, str)) else type(value).__name__


def _leaf_in(t: S.Type, v: Any, path: str) -> Any:
    if isinstance(t, S.Prim):
        if t.kind == "float":
            want = F32 if t.size == 4 else F64
            if type(v) is not want:
                raise EncodeError("range", path, f"{t.name} needs a {want.__name__} bit pattern, got {v!r}")
            return v.bits
        if t.kind == "bool":
            if type(v) is not bool:
                raise EncodeError("range", path, f"bool needs True or False, got {v!r}")
            return int(v)
        if type(v) is not int or not t.min <= v <= t.max:
            raise EncodeError("range", path, f"{v!r} does not fit {t.name} ({t.min}..{t.max})",
                              expected=f"{t.min}..{t.max}", actual=v)
        return v
    if isinstance(t, S.Enum):
        if type(v) is not int or t.name_of(v) is None:
            raise EncodeError("enum", path, f"{v!r} is not a value of enum {t.name} "
                              f"({', '.join(f'{k}={n}' for k, n in t.values.items())})", actual=v)
        return v
    assert isinstance(t, S.CharArray)
    if type(v) is not bytes:
        raise EncodeError("char", path, f"char[{t.n}] needs bytes, got {type(v).__name__}")
    if len(v) > t.n:
        raise EncodeError("length", path, f"{len(v)} bytes do not fit char[{t.n}]",
                          expected=t.n, actual=len(v))
    if 0 in v:
        raise EncodeError("char", path, f"NUL at byte {v.index(0)} of a char[{t.n}] text")
    return v  # struct pads "Ns" with NULs


def _leaf_out(t: S.Type, raw: Any, path: str, offset: int) -> Any:
    if isinstance(t, S.Prim):
        if t.kind == "float":
            return F32(raw) if t.size == 4 else F64(raw)
        if t.kind == "bool":
            if raw > 1:
                raise DecodeError("bool", path, f"bool byte is {raw:#04x}, must be 0x00 or 0x01",
                                  offset=offset, expected="0x00|0x01", actual=raw)
            return raw == 1
        return raw
    if isinstance(t, S.Enum):
        if t.name_of(raw) is None:
            raise DecodeError("enum", path, f"{raw} is not a value of enum {t.name}", offset=offset,
                              expected=sorted(t.values.values()), actual=raw)
        return raw
    assert isinstance(t, S.CharArray)
    text, _, rest = raw.partition(b"\0")
    if rest.count(0) != len(rest):
        at = len(text) + 1 + next(i for i, b in enumerate(rest) if b)
        raise DecodeError("char", path, f"byte {at} of char[{t.n}] is {raw[at]:#04x} after the "
                          f"NUL at byte {len(text)}", offset=offset + at, expected=0, actual=raw[at])
    return text


def _is_flat(t: S.Type) -> bool:
    if isinstance(t, (S.Prim, S.Enum, S.CharArray, S.Pad)):
        return True
    return isinstance(t, S.Array) and isinstance(t.elem, (S.Prim, S.Enum, S.CharArray))


class _Run:
    """Consecutive flat fields packed by one precompiled struct.Struct."""

    def __init__(self, flats: list[_Flat]) -> None:
        self.flats = flats
        self.st = struct.Struct("<" + "".join(f.fmt for f in flats))
        off = 0
        for f in flats:
            f.offset, off = off, off + f.size

    def encode(self, value: dict, out: bytearray, path: str) -> None:
        items: list = []
        for f in self.flats:
            items.extend(f.to_items(None if isinstance(f.leaf, S.Pad) else _get(value, f.name, path),
                                    f"{path}.{f.name}"))
        out += self.st.pack(*items)

    def decode(self, buf: bytes, off: int, path: str, value: dict) -> int:
        if len(buf) - off < self.st.size:
            self._decode_cut(buf, off, path)
        items = self.st.unpack_from(buf, off)
        i = 0
        for f in self.flats:
            v = f.from_items(items[i:i + f.items], f"{path}.{f.name}", off + f.offset)
            i += f.items
            if not isinstance(f.leaf, S.Pad):
                value[f.name] = v
        return off + self.st.size

    def _decode_cut(self, buf: bytes, off: int, path: str) -> None:
        """The run is cut short: raise the error a field-by-field decoder meets first. The fields
        (and array elements) that are whole are checked before the cut is `truncated`, so
        `Choices` x02 is `bool Choices.flag`, as every peer says, not a cut `Choices.color`."""
        avail = len(buf) - off
        for f in self.flats:
            at, where = off + f.offset, f"{path}.{f.name}"
            if f.offset + f.size <= avail:
                f.from_items(struct.unpack_from("<" + f.fmt, buf, at), where, at)
                continue
            left = max(0, avail - f.offset)
            if isinstance(f.type, S.Array):
                one, width = _Flat("", f.leaf), f.size // f.count
                for i in range(left // width):
                    one.from_items(struct.unpack_from("<" + one.fmt, buf, at + i * width), f"{where}[{i}]",
                                   at + i * width)
            raise DecodeError("truncated", f.cut_path(where, left), f"needs {f.size} bytes, {left} left",
                              offset=at, expected=f.size, actual=left)


def _get(value: Any, name: str, path: str) -> Any:
    if not isinstance(value, dict):
        raise EncodeError("range", path, f"needs a dict of fields, got {type(value).__name__}")
    try:
        return value[name]
    except KeyError:
        raise EncodeError("range", f"{path}.{name}", "field missing from the value") from None


# ------------------------------------------------------------------ any type

Encoder = Callable[[Any, bytearray, str], None]
Decoder = Callable[[bytes, int, str], "tuple[Any, int]"]


class TypeCodec:
    """Encoder and decoder of one schema type."""

    def __init__(self, t: S.Type) -> None:
        self.type = t
        if isinstance(t, S.Struct):
            self._struct_plan(t)
        elif _is_flat(t):
            run = _Run([_Flat("", t)])
            self.encode = self._flat_encoder(run)
            self.decode = self._flat_decoder(run)
        elif isinstance(t, S.Bytes):
            self.encode, self.decode = self._bytes_encode, self._bytes_decode
        elif isinstance(t, S.BigInt):
            self.encode, self.decode = self._bigint_encode, self._bigint_decode
        else:
            assert isinstance(t, (S.Vec, S.Array))
            self.elem = codec_for(t.elem)
            self.encode, self.decode = self._seq_encode, self._seq_decode

    # flat single values reuse the run machinery; paths are the caller's
    @staticmethod
    def _flat_encoder(run: _Run) -> Encoder:
        flat = run.flats[0]

        def encode(v: Any, out: bytearray, path: str) -> None:
            out += run.st.pack(*flat.to_items(v, path))
        return encode

    @staticmethod
    def _flat_decoder(run: _Run) -> Decoder:
        flat = run.flats[0]

        def decode(buf: bytes, off: int, path: str) -> tuple[Any, int]:
            if len(buf) - off < run.st.size:
                left = len(buf) - off
                raise DecodeError("truncated", flat.cut_path(path, left), f"needs {run.st.size} bytes, {left} left",
                                  offset=off, expected=run.st.size, actual=left)
            return flat.from_items(run.st.unpack_from(buf, off), path, off), off + run.st.size
        return decode

    def _struct_plan(self, t: S.Struct) -> None:
        steps: list[tuple[str, Any]] = []
        pending: list[_Flat] = []
        for f in t.fields:
            if _is_flat(f.type):
                pending.append(_Flat(f.name, f.type))
                continue
            if pending:
                steps.append(("run", _Run(pending)))
                pending = []
            steps.append((f.name, codec_for(f.type)))
        if pending:
            steps.append(("run", _Run(pending)))

        def encode(value: Any, out: bytearray, path: str) -> None:
            if not isinstance(value, dict):
                raise EncodeError("range", path, f"{t.name} needs a dict of fields, got {type(value).__name__}")
            extra = value.keys() - {f.name for f in t.value_fields}
            if extra:
                raise EncodeError("range", path, f"{t.name} has no field(s) {', '.join(sorted(extra))}")
            for name, step in steps:
                if name == "run":
                    step.encode(value, out, path)
                else:
                    step.encode(_get(value, name, path), out, f"{path}.{name}")

        def decode(buf: bytes, off: int, path: str) -> tuple[Any, int]:
            value: dict = {}
            for name, step in steps:
                if name == "run":
                    off = step.decode(buf, off, path, value)
                else:
                    value[name], off = step.decode(buf, off, f"{path}.{name}")
            # keep schema order for readable output
            return {f.name: value[f.name] for f in t.value_fields}, off

        self.encode, self.decode = encode, decode

    # bytes and string
    def _bytes_encode(self, v: Any, out: bytearray, path: str) -> None:
        t = self.type
        if t.utf8:
            if type(v) is not str:
                raise EncodeError("utf8", path, f"string needs str, got {type(v).__name__}")
            try:
                raw = v.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise EncodeError("utf8", path, f"not encodable as UTF-8: {exc.reason} at "
                                  f"character {exc.start}") from None
        else:
            if type(v) is not bytes:
                raise EncodeError("range", path, f"bytes needs bytes, got {type(v).__name__}")
            raw = v
        if len(raw) > t.max:
            raise EncodeError("length", path, f"{len(raw)} bytes, more than max {t.max}",
                              expected=t.max, actual=len(raw))
        out += _U32.pack(len(raw))
        out += raw

    def _bytes_decode(self, buf: bytes, off: int, path: str) -> tuple[Any, int]:
        t = self.type
        n, off = _length(buf, off, path, t.max, "bytes")
        raw = bytes(buf[off:off + n])
        if t.utf8:
            try:
                return raw.decode("utf-8"), off + n
            except UnicodeDecodeError as exc:
                raise DecodeError("utf8", path, f"invalid UTF-8 at byte {exc.start} of the string: "
                                  f"{exc.reason}", offset=off + exc.start, actual=raw[exc.start:exc.end].hex()) from None
        return raw, off + n

    # bigint
    def _bigint_encode(self, v: Any, out: bytearray, path: str) -> None:
        if type(v) is not int:
            raise EncodeError("range", path, f"bigint needs int, got {type(v).__name__}")
        raw = bigint_bytes(v)
        if len(raw) > self.type.max:
            raise EncodeError("length", path, f"needs {len(raw)} bytes, more than max {self.type.max}",
                              expected=self.type.max, actual=len(raw))
        out += _U32.pack(len(raw))
        out += raw

    def _bigint_decode(self, buf: bytes, off: int, path: str) -> tuple[Any, int]:
        n, off = _length(buf, off, path, self.type.max, "bytes")
        raw = bytes(buf[off:off + n])
        if bigint_bytes(int.from_bytes(raw, "little", signed=True)) != raw:
            raise DecodeError("bigint", path, f"{n}-byte form {raw.hex()} is longer than the minimal "
                              "two's complement form", offset=off + n - 1, actual=raw.hex())
        return int.from_bytes(raw, "little", signed=True), off + n

    # T[N] with non-flat elements, and vec<T>
    def _seq_encode(self, v: Any, out: bytearray, path: str) -> None:
        t = self.type
        if not isinstance(v, (list, tuple)):
            raise EncodeError("range", path, f"{S.type_name(t)} needs a list, got {type(v).__name__}")
        if isinstance(t, S.Vec):
            if len(v) > t.max:
                raise EncodeError("length", path, f"{len(v)} elements, more than max {t.max}",
                                  expected=t.max, actual=len(v))
            out += _U32.pack(len(v))
        elif len(v) != t.n:
            raise EncodeError("length", path, f"{S.type_name(t)} needs exactly {t.n} values, got {len(v)}",
                              expected=t.n, actual=len(v))
        for i, item in enumerate(v):
            self.elem.encode(item, out, f"{path}[{i}]")

    def _seq_decode(self, buf: bytes, off: int, path: str) -> tuple[Any, int]:
        t = self.type
        if isinstance(t, S.Vec):
            n, off = _length(buf, off, path, t.max, "elements", need_bytes=False)
        else:
            n = t.n
        items = []
        for i in range(n):
            item, off = self.elem.decode(buf, off, f"{path}[{i}]")
            items.append(item)
        return items, off


def _length(buf: bytes, off: int, path: str, limit: int, unit: str, need_bytes: bool = True) -> tuple[int, int]:
    if len(buf) - off < 4:
        raise DecodeError("truncated", path, f"length prefix needs 4 bytes, {len(buf) - off} left",
                          offset=off, expected=4, actual=len(buf) - off)
    (n,) = _U32.unpack_from(buf, off)
    if n > limit:
        raise DecodeError("length", path, f"length {n} {unit}, more than max {limit}",
                          offset=off, expected=f"<= {limit}", actual=n)
    if need_bytes and len(buf) - off - 4 < n:
        raise DecodeError("truncated", path, f"length says {n} bytes, {len(buf) - off - 4} left",
                          offset=off + 4, expected=n, actual=len(buf) - off - 4)
    return n, off + 4


def bigint_bytes(v: int) -> bytes:
    """The minimal two's-complement little-endian form of v (WIRE.md, bigint); zero is b''."""
    if v == 0:
        return b""
    n = ((v if v >= 0 else ~v).bit_length() + 8) // 8  # value bits + a sign bit, rounded up
    return v.to_bytes(n, "little", signed=True)


@lru_cache(maxsize=None)
def codec_for(t: S.Type) -> TypeCodec:
    return TypeCodec(t)


# ------------------------------------------------------------------ messages and frames


def encode(msg: S.Message, value: Any) -> bytes:
    """The payload of `msg` carrying `value`."""
    out = bytearray()
    codec_for(msg).encode(value, out, msg.name)
    return bytes(out)


def decode(msg: S.Message, payload: bytes) -> Any:
    """The value of a payload; every byte must be used."""
    value, end = codec_for(msg).decode(payload, 0, msg.name)
    if end != len(payload):
        raise DecodeError("trailing", msg.name, f"{len(payload) - end} bytes left after the message",
                          offset=end, expected=end, actual=len(payload))
    return value


def encode_frame(schema: S.Schema, msg: S.Message, seq: int, value: Any, flags: int = 0) -> bytes:
    payload = encode(msg, value)
    return HEADER.pack(schema.magic, schema.version, msg.id, flags, len(payload), seq) + payload


def decode_header(schema: S.Schema, buf: bytes) -> tuple[S.Message, int, int]:
    """Check a frame header (WIRE.md order); return (message, payload_len, seq)."""
    if len(buf) < HEADER.size:
        raise DecodeError("truncated", "frame", f"header needs {HEADER.size} bytes, got {len(buf)}",
                          offset=len(buf), expected=HEADER.size, actual=len(buf))
    magic, version, mtype, flags, length, seq = HEADER.unpack_from(buf)
    if magic != schema.magic:
        raise DecodeError("magic", "frame.magic", f"{magic:#010x} is not {schema.magic:#010x}",
                          offset=0, expected=schema.magic, actual=magic)
    if version != schema.version:
        raise DecodeError("version", "frame.version", f"format version {version}, expected {schema.version}",
                          offset=4, expected=schema.version, actual=version)
    if flags != 0:
        raise DecodeError("flags", "frame.flags", f"{flags:#x}, must be 0 in version {schema.version}",
                          offset=8, expected=0, actual=flags)
    if mtype not in schema.by_id:
        raise DecodeError("type", "frame.msg_type", f"no message has id {mtype}", offset=6, actual=mtype)
    if length > schema.max_payload:
        raise DecodeError("length", "frame.payload_len", f"{length} bytes, more than max_payload "
                          f"{schema.max_payload}", offset=12, expected=f"<= {schema.max_payload}", actual=length)
    return schema.by_id[mtype], length, seq


def decode_frame(schema: S.Schema, buf: bytes) -> tuple[S.Message, int, Any]:
    """(message, seq, value) of one whole frame."""
    msg, length, seq = decode_header(schema, buf)
    body = buf[HEADER.size:]
    if len(body) < length:
        raise DecodeError("truncated", "frame", f"payload_len {length}, {len(body)} bytes present",
                          offset=len(buf), expected=length, actual=len(body))
    if len(body) > length:
        raise DecodeError("trailing", "frame", f"{len(body) - length} bytes after the payload",
                          offset=HEADER.size + length, expected=length, actual=len(body))
    return msg, seq, decode(msg, body)
