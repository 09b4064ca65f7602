"""The reference codec: values <-> bytes, built from the schema, independent of every peer.

Each struct is compiled once into a plan: runs of consecutive fixed-size fields of one byte
order become one precompiled `struct.Struct`, the other fields (length-prefixed or counted
ones, unions, nested structs) get a step of their own. Every rule of WIRE.md is checked on
decode and on encode; a failure is a DecodeError/EncodeError with the code, the field path and
the offset. Frames are built and checked from the schema's `[frame]` declaration.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

from . import schema as S
from .errors import DecodeError, EncodeError
from .values import F32, F64

_ENDIAN = {"little": "<", "big": ">"}


def _order_of(t: S.Type) -> str | None:
    """The byte order a fixed-size leaf (or array of them) needs, None when it has none."""
    while isinstance(t, S.Array):
        t = t.elem
    base = t.base if isinstance(t, (S.Enum, S.Flags)) else t
    if isinstance(base, S.Prim) and base.size > 1:
        return base.order
    return None


def _sub(path: str, name: str) -> str:
    return f"{path}.{name}" if name else path


# ------------------------------------------------------------------ fixed-size leaves


class _Flat:
    """One fixed-size field inside a run: its struct format and its conversions. `role` is
    "value", "const", "count" (written from the field it counts) or "pad"."""

    def __init__(self, name: str, t: S.Type, role: str = "value", const: Any = None, target: str = "",
                 units: Callable[[Any], int] | None = None) -> None:
        self.name, self.type, self.role, self.const, self.target, self.units = name, t, role, const, target, units
        if isinstance(t, S.Array):
            self.count, leaf = 1, t
            while isinstance(leaf, S.Array):
                self.count, leaf = self.count * leaf.n, leaf.elem
            self.dims = _dims(t)
        else:
            self.count, leaf, self.dims = 1, t, ()
        self.leaf = leaf
        if isinstance(leaf, S.CharArray):
            self.fmt, self.items = f"{leaf.n}s" * self.count, self.count
        elif isinstance(leaf, S.Pad):
            self.fmt, self.items = f"{leaf.n}s", 1
        else:
            base = leaf.base if isinstance(leaf, (S.Enum, S.Flags)) else leaf
            one = base.fmt or "3s"
            self.fmt = (f"{self.count}{one}" if base.fmt else one * self.count) if self.count > 1 else one
            self.items = self.count
        self.three = isinstance(leaf, S.Prim) and leaf.size == 3 or (
            isinstance(leaf, (S.Enum, S.Flags)) and leaf.base.size == 3)
        self.size = struct.calcsize("<" + self.fmt)
        self.offset = 0  # within its run; set by the run

    def cut_path(self, path: str, left: int) -> str:
        """The field path of a cut with `left` bytes of this field present: an array names the
        element that is cut short, as every peer's element-by-element decoder does."""
        if self.dims:
            return path + _index(self.dims, min(left // (self.size // self.count), self.count - 1))
        return path

    # encode: value -> list of struct items
    def to_items(self, value: Any, path: str, parent: Any = None) -> list:
        if self.role == "pad":
            return [b""]
        if self.role == "const":
            return [self._raw(self.const)]
        if self.role == "count":
            n = self.units(parent.get(self.target) if isinstance(parent, dict) else None)  # type: ignore[misc]
            return [self._raw(min(n, self.leaf.max))]   # too long: the field itself says so when it is written
        if not self.dims:
            return [self._raw(_leaf_in(self.leaf, value, path))]
        return [self._raw(_leaf_in(self.leaf, v, p)) for v, p in _flatten(value, self.dims, path, self.type)]

    def _raw(self, v: Any) -> Any:
        if self.three:
            base = self.leaf.base if isinstance(self.leaf, (S.Enum, S.Flags)) else self.leaf
            return v.to_bytes(3, base.order, signed=base.signed)
        return v

    # decode: struct items -> value
    def from_items(self, items: tuple, path: str, offset: int) -> Any:
        if self.role == "pad":
            raw = items[0]
            if raw.count(0) != len(raw):
                at = next(i for i, b in enumerate(raw) if b)
                what = "padding" if self.name or not path else "trailing padding"
                raise DecodeError("padding", path, f"{what} byte {at} is {raw[at]:#04x}, must be 0",
                                  offset=offset + at, expected=0, actual=raw[at])
            return None
        if self.three:
            base = self.leaf.base if isinstance(self.leaf, (S.Enum, S.Flags)) else self.leaf
            items = tuple(int.from_bytes(x, base.order, signed=base.signed) for x in items)
        if self.role == "const":
            if isinstance(self.leaf, S.CharArray):   # the very bytes: the text and its NUL padding
                want = self.const.ljust(self.leaf.n, b"\0")
                if items[0] != want:
                    raise DecodeError("const", path, f"x{items[0].hex()} is not the constant x{want.hex()}",
                                      offset=offset, expected=want.hex(), actual=items[0].hex())
                return items[0]
            got = _leaf_out(self.leaf, items[0], path, offset, check=False)
            if got != self.const:
                raise DecodeError("const", path, f"{_show_const(got)} is not the constant {_show_const(self.const)}",
                                  offset=offset, expected=self.const, actual=got)
            return got
        if not self.dims:
            return _leaf_out(self.leaf, items[0], path, offset)
        width = self.size // self.count
        flat = [_leaf_out(self.leaf, v, path + _index(self.dims, i), offset + i * width) for i, v in enumerate(items)]
        return _nest(flat, self.dims)


def _show_const(v: Any) -> str:
    return f"x{v.hex()}" if isinstance(v, bytes) else f"{v} ({v:#x})"


def _dims(t: S.Type) -> tuple[int, ...]:
    """The dimensions of nested arrays, outermost first: u8[2][3] is (3, 2)."""
    out = []
    while isinstance(t, S.Array):
        out.append(t.n)
        t = t.elem
    return tuple(out)


def _index(dims: tuple[int, ...], i: int) -> str:
    """The path suffix of flat element i: "[2][1]" (outer index first, as C does)."""
    parts = []
    for n in reversed(dims):
        parts.append(i % n)
        i //= n
    return "".join(f"[{p}]" for p in reversed(parts))


def _flatten(value: Any, dims: tuple[int, ...], path: str, t: S.Type) -> list[tuple[Any, str]]:
    if not isinstance(value, (list, tuple)) or len(value) != dims[0]:
        raise EncodeError("length", path, f"{S.type_name(t)} needs exactly {dims[0]} values, got {_count(value)}",
                          expected=dims[0], actual=_count(value))
    if len(dims) == 1:
        return [(v, f"{path}[{i}]") for i, v in enumerate(value)]
    inner = t.elem  # type: ignore[union-attr]
    out: list[tuple[Any, str]] = []
    for i, v in enumerate(value):
        out += _flatten(v, dims[1:], f"{path}[{i}]", inner)
    return out


def _nest(flat: list, dims: tuple[int, ...]) -> list:
    for n in reversed(dims[1:]):
        flat = [flat[i:i + n] for i in range(0, len(flat), n)]
    return flat


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
        if type(v) is not int or not t.allows(v):
            if t.open:
                raise EncodeError("range", path, f"{v!r} does not fit {t.base.name}, the base of enum {t.name}",
                                  expected=f"{t.base.min}..{t.base.max}", actual=v)
            raise EncodeError("enum", path, f"{v!r} is not a value of enum {t.name} "
                              f"({', '.join(f'{k}={n}' for k, n in t.values.items())})", actual=v)
        return v
    if isinstance(t, S.Flags):
        if type(v) is not int or not 0 <= v <= t.base.max:
            raise EncodeError("range", path, f"{v!r} does not fit {t.base.name}, the base of flags {t.name}",
                              expected=f"0..{t.base.max}", actual=v)
        if not t.allows(v):
            raise EncodeError("flags", path, f"{v:#x} sets bits {v & ~t.mask:#x} that flags {t.name} does not name",
                              expected=f"bits of {t.mask:#x}", actual=v)
        return v
    assert isinstance(t, S.CharArray)
    if type(v) is not bytes:
        raise EncodeError("char", path, f"char[{t.n}] needs bytes, got {type(v).__name__}")
    if 0 in v:
        raise EncodeError("char", path, f"NUL at byte {v.index(0)} of a char[{t.n}] text")
    if len(v) > t.n:
        raise EncodeError("length", path, f"{len(v)} bytes do not fit char[{t.n}]",
                          expected=t.n, actual=len(v))
    return v  # struct pads "Ns" with NULs


def _leaf_out(t: S.Type, raw: Any, path: str, offset: int, check: bool = True) -> Any:
    if isinstance(t, S.Prim):
        if t.kind == "float":
            return F32(raw) if t.size == 4 else F64(raw)
        if t.kind == "bool":
            if raw > 1 and check:
                raise DecodeError("bool", path, f"bool byte is {raw:#04x}, must be 0x00 or 0x01",
                                  offset=offset, expected="0x00|0x01", actual=raw)
            return raw == 1 if check else raw
        return raw
    if isinstance(t, S.Enum):
        if check and not t.open and t.name_of(raw) is None:
            raise DecodeError("enum", path, f"{raw} is not a value of enum {t.name}", offset=offset,
                              expected=sorted(t.values.values()), actual=raw)
        return raw
    if isinstance(t, S.Flags):
        if check and not t.allows(raw):
            raise DecodeError("flags", path, f"{raw:#x} sets bits {raw & ~t.mask:#x} that flags {t.name} does not name",
                              offset=offset, expected=f"bits of {t.mask:#x}", actual=raw)
        return raw
    assert isinstance(t, S.CharArray)
    text, _, rest = raw.partition(b"\0")
    if check and rest.count(0) != len(rest):
        at = len(text) + 1 + next(i for i, b in enumerate(rest) if b)
        raise DecodeError("char", path, f"byte {at} of char[{t.n}] is {raw[at]:#04x} after the "
                          f"NUL at byte {len(text)}", offset=offset + at, expected=0, actual=raw[at])
    return text


def _is_flat(t: S.Type) -> bool:
    while isinstance(t, S.Array):
        t = t.elem
    return isinstance(t, (S.Prim, S.Enum, S.Flags, S.CharArray, S.Pad))


class _Run:
    """Consecutive flat fields of one byte order packed by one precompiled struct.Struct."""

    def __init__(self, flats: list[_Flat], order: str) -> None:
        self.flats = flats
        self.endian = _ENDIAN[order]
        self.st = struct.Struct(self.endian + "".join(f.fmt for f in flats))
        off = 0
        for f in flats:
            f.offset, off = off, off + f.size

    def encode(self, value: dict, out: bytearray, path: str) -> None:
        items: list = []
        for f in self.flats:
            v = _get(value, f.name, path) if f.role == "value" else None
            items.extend(f.to_items(v, _sub(path, f.name), value))
        out += self.st.pack(*items)

    def decode(self, buf: bytes, off: int, path: str, value: dict) -> int:
        if len(buf) - off < self.st.size:
            self._decode_cut(buf, off, path, value)
        items = self.st.unpack_from(buf, off)
        i = 0
        for f in self.flats:
            v = f.from_items(items[i:i + f.items], _sub(path, f.name), off + f.offset)
            i += f.items
            if f.role in ("value", "count"):
                value[f.name] = v
        return off + self.st.size

    def _decode_cut(self, buf: bytes, off: int, path: str, value: dict) -> None:
        """The run is cut short: raise the error a field-by-field decoder meets first. The fields
        (and array elements) that are whole are checked before the cut is `truncated`, so
        `Choices` x02 is `bool Choices.flag`, as every peer says, not a cut `Choices.color`."""
        avail = len(buf) - off
        for f in self.flats:
            at, where = off + f.offset, _sub(path, f.name)
            if f.offset + f.size <= avail:
                f.from_items(struct.unpack_from(self.endian + f.fmt, buf, at), where, at)
                continue
            left = max(0, avail - f.offset)
            if f.dims and f.role == "value":
                one, width = _Flat("", f.leaf), f.size // f.count
                for i in range(left // width):
                    one.from_items(struct.unpack_from(self.endian + one.fmt, buf, at + i * width),
                                   where + _index(f.dims, i), at + i * width)
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


def _units(t: S.Type, unit: str) -> Callable[[Any], int]:
    """What a count field writes for a value of the field it counts (elements or bytes)."""
    if isinstance(t, S.Bytes):
        if t.utf8:
            return lambda v: len(v.encode("utf-8", "surrogatepass")) if isinstance(v, str) else 0
        return lambda v: len(v) if isinstance(v, (bytes, bytearray)) else 0
    if isinstance(t, S.BigInt):
        return lambda v: len(bigint_bytes(v, t.order)) if type(v) is int else 0
    assert isinstance(t, S.Vec)
    width = S.fixed_size(t.elem) if unit == "bytes" else 1
    return lambda v: len(v) * width if isinstance(v, (list, tuple)) else 0  # type: ignore[operator]


class TypeCodec:
    """Encoder and decoder of one schema type. `decode(buf, off, path)` and `encode(v, out,
    path)`; a counted type (its count in earlier fields) gets the count from its caller."""

    def __init__(self, t: S.Type) -> None:
        self.type = t
        if isinstance(t, S.Struct):
            self._struct_plan(t)
        elif _is_flat(t):
            order = _order_of(t) or "little"
            run = _Run([_Flat("", t)], order)
            self.encode = self._flat_encoder(run)
            self.decode = self._flat_decoder(run)
        elif isinstance(t, (S.Bytes, S.BigInt, S.Vec)):
            self.count = t.count
            self.prefix = struct.Struct(_ENDIAN[t.count.prefix.order] + (t.count.prefix.fmt or "3s")) \
                if t.count.prefix is not None else None
            if isinstance(t, S.Vec):
                self.elem = codec_for(t.elem)
                self.elem_size = S.fixed_size(t.elem)
            self.encode, self.decode = self._var_encode, self._var_decode
        else:
            assert isinstance(t, S.Array)
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
                run._decode_cut(buf, off, path, {})
            return flat.from_items(run.st.unpack_from(buf, off), path, off), off + run.st.size
        return decode

    def _struct_plan(self, t: S.Struct) -> None:
        steps: list[tuple[str, Any]] = []     # ("run", _Run) or (field name, step)
        pending: list[_Flat] = []
        order: str | None = None
        targets = {f.count_of: f for f in t.fields if f.count_of}

        def flush() -> None:
            nonlocal pending, order
            if pending:
                steps.append(("run", _Run(pending, order or "little")))
            pending, order = [], None

        for f in t.fields:
            if _is_flat(f.type):
                forder = _order_of(f.type)
                if pending and forder and order and forder != order:
                    flush()
                order = order or forder
                if isinstance(f.type, S.Pad):
                    pending.append(_Flat(f.name, f.type, "pad"))
                elif f.const is not None:
                    pending.append(_Flat(f.name, f.type, "const", f.const))
                elif f.count_of:
                    target = next(x for x in t.fields if x.name == f.count_of)
                    unit = dict(target.type.count.fields)[f.name]  # type: ignore[union-attr]
                    pending.append(_Flat(f.name, f.type, "count", target=f.count_of, units=_units(target.type, unit)))
                else:
                    pending.append(_Flat(f.name, f.type))
                continue
            flush()
            if isinstance(f.type, S.Union):
                steps.append((f.name, _UnionStep(f.type)))
            elif f.name in targets:
                steps.append((f.name, _CountedStep(f.type, list(f.type.count.fields))))  # type: ignore[union-attr]
            else:
                steps.append((f.name, codec_for(f.type)))
        flush()
        value_names = [f.name for f in t.value_fields]
        allowed = set(value_names)

        def encode(value: Any, out: bytearray, path: str) -> None:
            if not isinstance(value, dict):
                raise EncodeError("range", path, f"{t.name} needs a dict of fields, got {type(value).__name__}")
            if value.keys() - allowed:
                raise EncodeError("range", path, f"{t.name} has no field(s) {', '.join(sorted(value.keys() - allowed))}")
            for name, step in steps:
                if name == "run":
                    step.encode(value, out, path)
                elif type(step) is TypeCodec:
                    step.encode(_get(value, name, path), out, f"{path}.{name}")
                else:
                    step.encode_in(value, name, out, path)

        def decode(buf: bytes, off: int, path: str) -> tuple[Any, int]:
            value: dict = {}
            for name, step in steps:
                if name == "run":
                    off = step.decode(buf, off, path, value)
                elif type(step) is TypeCodec:
                    value[name], off = step.decode(buf, off, f"{path}.{name}")
                else:
                    value[name], off = step.decode_in(buf, off, path, name, value)
            # keep schema order (and only the fields with a value) for readable output
            return {n: value[n] for n in value_names}, off

        self.steps = steps
        self.encode, self.decode = encode, decode

    # bytes, string, bigint and vec: the length, then the contents
    def _var_encode(self, v: Any, out: bytearray, path: str) -> None:
        t = self.type
        if isinstance(t, S.Bytes):
            raw = self._raw_bytes(v, path)
            n = len(raw)
        elif isinstance(t, S.BigInt):
            if type(v) is not int:
                raise EncodeError("range", path, f"bigint needs int, got {type(v).__name__}")
            raw = bigint_bytes(v, t.order)
            if len(raw) > t.max:
                raise EncodeError("length", path, f"needs {len(raw)} bytes, more than max {t.max}",
                                  expected=t.max, actual=len(raw))
            n = len(raw)
        else:
            if not isinstance(v, (list, tuple)):
                raise EncodeError("range", path, f"{S.type_name(t)} needs a list, got {type(v).__name__}")
            if len(v) > t.max:
                raise EncodeError("length", path, f"{len(v)} elements, more than max {t.max}",
                                  expected=t.max, actual=len(v))
            n = len(v) * (self.elem_size if t.count.unit == "bytes" else 1)  # type: ignore[operator]
        if self.prefix is not None:
            out += self.prefix.pack(_int_item(n, t.count.prefix))  # type: ignore[arg-type]
        if isinstance(t, S.Vec):
            for i, item in enumerate(v):
                self.elem.encode(item, out, f"{path}[{i}]")
        else:
            out += raw

    def _raw_bytes(self, v: Any, path: str) -> bytes:
        t = self.type
        if t.utf8:  # type: ignore[union-attr]
            if type(v) is not str:
                raise EncodeError("utf8", path, f"string needs str, got {type(v).__name__}")
            n = len(v.encode("utf-8", "surrogatepass"))
            if n > t.max:  # type: ignore[union-attr]
                raise EncodeError("length", path, f"{n} bytes, more than max {t.max}",  # type: ignore[union-attr]
                                  expected=t.max, actual=n)  # type: ignore[union-attr]
            try:
                return v.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise EncodeError("utf8", path, f"not encodable as UTF-8: {exc.reason} at "
                                  f"character {exc.start}") from None
        if type(v) is not bytes:
            raise EncodeError("range", path, f"bytes needs bytes, got {type(v).__name__}")
        if len(v) > t.max:  # type: ignore[union-attr]
            raise EncodeError("length", path, f"{len(v)} bytes, more than max {t.max}",  # type: ignore[union-attr]
                              expected=t.max, actual=len(v))  # type: ignore[union-attr]
        return v

    def _var_decode(self, buf: bytes, off: int, path: str, counted: int | None = None) -> tuple[Any, int]:
        """With a prefix, read it; a counted field gets `counted` (elements, or bytes) from the
        count fields its caller read."""
        t = self.type
        start = off
        if self.prefix is not None:
            size = self.prefix.size
            if len(buf) - off < size:
                raise DecodeError("truncated", path, f"length prefix needs {size} bytes, {len(buf) - off} left",
                                  offset=off, expected=size, actual=len(buf) - off)
            n = _int_item_out(self.prefix.unpack_from(buf, off)[0], t.count.prefix)  # type: ignore[arg-type]
            off += size
            unit = t.count.unit
        else:
            n, unit = counted, "elements"  # type: ignore[assignment]
        if isinstance(t, S.Vec) and unit == "bytes":
            width = self.elem_size
            if n % width:  # type: ignore[operator]
                raise DecodeError("length", path, f"{n} bytes is not a whole number of {width}-byte elements",
                                  offset=start, expected=f"a multiple of {width}", actual=n)
            n //= width  # type: ignore[operator]
        if n > t.max:  # type: ignore[operator]
            what = "elements" if isinstance(t, S.Vec) else "bytes"
            raise DecodeError("length", path, f"length {n} {what}, more than max {t.max}",
                              offset=start, expected=f"<= {t.max}", actual=n)
        if not isinstance(t, S.Vec):
            if len(buf) - off < n:  # type: ignore[operator]
                raise DecodeError("truncated", path, f"length says {n} bytes, {len(buf) - off} left",
                                  offset=off, expected=n, actual=len(buf) - off)
            raw = bytes(buf[off:off + n])  # type: ignore[operator]
            end = off + n  # type: ignore[operator]
            if isinstance(t, S.BigInt):
                v = int.from_bytes(raw, t.order, signed=True)
                if bigint_bytes(v, t.order) != raw:
                    at = off if t.order == "big" else off + n - 1  # type: ignore[operator]
                    raise DecodeError("bigint", path, f"{n}-byte form {raw.hex()} is longer than the minimal "
                                      "two's complement form", offset=at, actual=raw.hex())
                return v, end
            if t.utf8:
                try:
                    return raw.decode("utf-8"), end
                except UnicodeDecodeError as exc:
                    raise DecodeError("utf8", path, f"invalid UTF-8 at byte {exc.start} of the string: "
                                      f"{exc.reason}", offset=off + exc.start,
                                      actual=raw[exc.start:exc.end].hex()) from None
            return raw, end
        items = []
        for i in range(n):  # type: ignore[arg-type]
            item, off = self.elem.decode(buf, off, f"{path}[{i}]")
            items.append(item)
        return items, off

    # T[N] with non-flat elements
    def _seq_encode(self, v: Any, out: bytearray, path: str) -> None:
        t = self.type
        if not isinstance(v, (list, tuple)):
            raise EncodeError("range", path, f"{S.type_name(t)} needs a list, got {type(v).__name__}")
        if len(v) != t.n:  # type: ignore[union-attr]
            raise EncodeError("length", path, f"{S.type_name(t)} needs exactly {t.n} values, got {len(v)}",  # type: ignore[union-attr]
                              expected=t.n, actual=len(v))  # type: ignore[union-attr]
        for i, item in enumerate(v):
            self.elem.encode(item, out, f"{path}[{i}]")

    def _seq_decode(self, buf: bytes, off: int, path: str) -> tuple[Any, int]:
        items = []
        for i in range(self.type.n):  # type: ignore[union-attr]
            item, off = self.elem.decode(buf, off, f"{path}[{i}]")
            items.append(item)
        return items, off


def _int_item(n: int, p: S.Prim) -> Any:
    return n.to_bytes(3, p.order) if p.size == 3 else n


def _int_item_out(raw: Any, p: S.Prim) -> int:
    return int.from_bytes(raw, p.order) if p.size == 3 else raw


class _CountedStep:
    """A field whose length is carried by earlier count (elements) or size (bytes) fields."""

    def __init__(self, t: S.Bytes | S.BigInt | S.Vec, specs: list[tuple[str, str]]) -> None:
        self.codec = codec_for(t)
        self.type, self.specs = t, specs
        self.width = S.fixed_size(t.elem) if isinstance(t, S.Vec) else 1

    def encode_in(self, value: dict, name: str, out: bytearray, path: str) -> None:
        self.codec.encode(_get(value, name, path), out, f"{path}.{name}")

    def decode_in(self, buf: bytes, off: int, path: str, name: str, value: dict) -> tuple[Any, int]:
        """The length from the count fields, in elements (vec) or bytes; every count field of
        the field must agree."""
        where = f"{path}.{name}"
        n: int | None = None
        first = ""
        for fname, unit in self.specs:
            got = value[fname]
            if isinstance(self.type, S.Vec) and unit == "bytes":
                if got % self.width:  # type: ignore[operator]
                    raise DecodeError("length", where, f"{fname} says {got} bytes, not a whole number of "
                                      f"{self.width}-byte elements", offset=off,
                                      expected=f"a multiple of {self.width}", actual=got)
                got //= self.width  # type: ignore[operator]
            if n is None:
                n, first = got, fname
            elif got != n:
                raise DecodeError("length", where, f"{fname} ({value[fname]}) and {first} ({value[first]}) "
                                  "disagree on its length", offset=off, expected=n, actual=got)
        return self.codec._var_decode(buf, off, where, n)


class _UnionStep:
    """A union field: the case named by the value of the earlier field `on`."""

    def __init__(self, t: S.Union) -> None:
        self.type = t
        self.codecs = {c.tag: (c, codec_for(c.type) if c.type is not None else None) for c in t.cases}

    def _case(self, tag: Any, path: str, err: type) -> tuple[S.UnionCase, TypeCodec | None]:
        found = self.codecs.get(tag)
        if found is None:
            raise err("union", path, f"{self.type.on} = {tag!r} picks no case of union {self.type.name} "
                      f"(cases: {', '.join(c.name for c in self.type.cases)})", actual=tag,
                      expected=[c.tag for c in self.type.cases])
        return found

    def encode_in(self, value: dict, name: str, out: bytearray, path: str) -> None:
        where = f"{path}.{name}"
        _, codec = self._case(value.get(self.type.on), where, EncodeError)
        v = _get(value, name, path)
        if codec is None:
            if v is not None:
                raise EncodeError("range", where, f"case {value.get(self.type.on)} of union {self.type.name} "
                                  f"carries no value, got {v!r}")
            return
        codec.encode(v, out, where)

    def decode_in(self, buf: bytes, off: int, path: str, name: str, value: dict) -> tuple[Any, int]:
        where = f"{path}.{name}"
        try:
            _, codec = self._case(value[self.type.on], where, DecodeError)
        except DecodeError as exc:
            exc.offset = off
            raise
        if codec is None:
            return None, off
        return codec.decode(buf, off, where)


def bigint_bytes(v: int, order: str = "little") -> bytes:
    """The minimal two's-complement form of v (WIRE.md, bigint); zero is b''."""
    if v == 0:
        return b""
    n = ((v if v >= 0 else ~v).bit_length() + 8) // 8  # value bits + a sign bit, rounded up
    return v.to_bytes(n, order, signed=True)


@lru_cache(maxsize=None)
def codec_for(t: S.Type) -> TypeCodec:
    return TypeCodec(t)


# ------------------------------------------------------------------ messages, versions


@lru_cache(maxsize=None)
def _message_codec(msg: S.Message, version: int) -> TypeCodec:
    """The codec of the message's fields of `version` and before."""
    if version >= msg.newest:
        return codec_for(msg)
    return codec_for(S.Struct(msg.name, msg.fields_at(version), msg.layout))


@lru_cache(maxsize=None)
def _group_codec(msg: S.Message, group: int) -> TypeCodec:
    """The codec of the fields one version added (group 1: the base)."""
    return codec_for(S.Struct(msg.name, tuple(f for f in msg.fields if f.since == group), msg.layout))


def _version(msg: S.Message, version: int | None) -> int:
    return msg.newest if version is None else version


def encode(msg: S.Message, value: Any, version: int | None = None) -> bytes:
    """The payload of `msg` carrying `value`, as a peer speaking `version` writes it (default:
    the newest). Fields newer than the version are left out (and not looked at)."""
    v = _version(msg, version)
    out = bytearray()
    if v < msg.newest and isinstance(value, dict):
        value = {f.name: value[f.name] for f in msg.fields_at(v) if f.has_value and f.name in value}
    _message_codec(msg, v).encode(value, out, msg.name)
    if msg.trim:
        n = len(out)
        while n > 1 and out[n - 1] == 0:
            n -= 1
        del out[n:]
    return bytes(out)


def decode(msg: S.Message, payload: bytes, version: int | None = None) -> Any:
    """The value of a payload as a peer speaking `version` reads it (WIRE.md, Versions): every
    byte must be used, but for the bytes of fields newer than the version; a payload that ends
    where an extension group starts gives that group and the later ones their defaults."""
    v = _version(msg, version)
    if msg.newest == 1 and not msg.trim:   # the common case: no versions
        value, end = codec_for(msg).decode(payload, 0, msg.name)
        if end != len(payload):
            raise DecodeError("trailing", msg.name, f"{len(payload) - end} bytes left after the message",
                              offset=end, expected=end, actual=len(payload))
        return value
    if msg.trim:
        full = S.size_at(msg, v)
        if full is not None and len(payload) < full:
            payload = bytes(payload) + bytes(full - len(payload))
    value: dict = {}
    off = 0
    for group in msg.groups:
        if group > v:
            break
        if group > 1 and off == len(payload):
            break
        part, off = _group_codec(msg, group).decode(payload, off, msg.name)
        value.update(part)
    newer = msg.newest > v
    if off != len(payload) and not newer:
        raise DecodeError("trailing", msg.name, f"{len(payload) - off} bytes left after the message",
                          offset=off, expected=off, actual=len(payload))
    for f in msg.value_fields:
        if f.name not in value:
            value[f.name] = f.default
    return {f.name: value[f.name] for f in msg.value_fields}


def restrict(msg: S.Message, value: Any, version: int) -> Any:
    """What a peer speaking `version` makes of `value`: newer fields at their defaults."""
    if version >= msg.newest:
        return value
    return {f.name: (value[f.name] if f.since <= version else f.default) for f in msg.value_fields}


# ------------------------------------------------------------------ frames


@dataclass(frozen=True)
class Head:
    """What a frame's header says, checked: the message, the payload's length, the seq, the
    plain header values, and the whole frame's size."""
    message: S.Message
    payload_len: int
    seq: int
    header: dict[str, int]
    size: int


def _pack(p: S.Prim, v: int) -> bytes:
    return v.to_bytes(p.size, p.order, signed=p.signed)


def _unpack(p: S.Prim, buf: bytes, off: int) -> int:
    return int.from_bytes(buf[off:off + p.size], p.order, signed=p.signed)


def encode_frame(schema: S.Schema, msg: S.Message, seq: int, value: Any, header: dict[str, int] | None = None,
                 version: int | None = None) -> bytes:
    """A whole frame: the header, the payload of `value`, the checksum (WIRE.md, Frame)."""
    payload = encode(msg, value, version)
    return frame_bytes(schema, msg, seq, payload, header)


def frame_bytes(schema: S.Schema, msg: S.Message, seq: int, payload: bytes,
                header: dict[str, int] | None = None) -> bytes:
    """A frame around an already encoded payload."""
    frame = _frame_of(schema)
    header = header or {}
    if len(payload) > schema.max_payload:
        raise EncodeError("length", msg.name, f"{len(payload)} payload bytes, more than max_payload "
                          f"{schema.max_payload}", expected=schema.max_payload, actual=len(payload))
    seqf = frame.role("seq")
    if seqf is None and seq != 0:
        raise EncodeError("range", "frame.seq", f"the frame has no seq field: seq must be 0, got {seq}",
                          expected=0, actual=seq)
    values: dict[str, Any] = {}
    for h in frame.header:
        if h.role == "const":
            values[h.name] = h.const
        elif h.role == "id":
            values[h.name] = msg.id
        elif h.role == "length":
            values[h.name] = len(payload) + frame.length_adjust
        elif h.role == "seq":
            values[h.name] = seq
        elif h.name in header:
            values[h.name] = header[h.name]
        else:
            raise EncodeError("range", f"frame.{h.name}", "header value missing")
    # PEER_CONTRACT.md, "Which error wins": the seq, then the plain values in header order
    for h in sorted(frame.header, key=lambda h: h.role != "seq"):
        v = values[h.name]
        if type(v) is not int or not h.type.min <= v <= h.type.max:
            raise EncodeError("range", f"frame.{h.name}", f"{v!r} does not fit {h.type.name} ({h.type.min}..{h.type.max})",
                              expected=f"{h.type.min}..{h.type.max}", actual=v)
    parts = {h.name: _pack(h.type, values[h.name]) for h in frame.header}
    parts["payload"] = payload
    out = b"".join(parts[h.name] for h in frame.header) + payload
    if frame.checksum is not None:
        out += _pack(frame.checksum.type, checksum(frame, msg, parts))
    return out


def checksum(frame: S.Frame, msg: S.Message, parts: dict[str, bytes]) -> int:
    c = frame.checksum
    assert c is not None
    algo = c.algorithm
    crc = algo.start()
    if c.seed == "before":
        crc = algo.update(crc, bytes([msg.seed or 0]))
    for p in c.covers:
        crc = algo.update(crc, parts[p])
    if c.seed == "after":
        crc = algo.update(crc, bytes([msg.seed or 0]))
    return algo.finish(crc)


def _frame_of(schema: S.Schema) -> S.Frame:
    if schema.frame is None:
        raise EncodeError("range", "frame", f"schema {schema.name} declares no frame: payloads only")
    return schema.frame


def decode_head(schema: S.Schema, buf: bytes, direction: str = "") -> Head:
    """Check a frame header (WIRE.md, the receiver's order: constants, then the id, then the
    length) and say how big the whole frame is."""
    frame = _frame_of(schema)
    hs = frame.header_size
    if len(buf) < hs:
        raise DecodeError("truncated", "frame", f"header needs {hs} bytes, got {len(buf)}",
                          offset=len(buf), expected=hs, actual=len(buf))
    values = {h.name: _unpack(h.type, buf, h.offset) for h in frame.header}
    for h in frame.header:
        if h.role == "const" and values[h.name] != h.const:
            raise DecodeError("const", f"frame.{h.name}", f"{values[h.name]:#x} is not the constant {h.const:#x}",
                              offset=h.offset, expected=h.const, actual=values[h.name])
    idf = frame.role("id")
    if idf is not None:
        mid = values[idf.name]
        found = schema.lookup(mid, direction)
        if not found:
            side = f" sent as a {direction}" if direction else ""
            raise DecodeError("type", f"frame.{idf.name}", f"no message{side} has id {mid}", offset=idf.offset,
                              actual=mid)
        if len(found) > 1:
            raise DecodeError("type", f"frame.{idf.name}", f"id {mid} is {found[0].name} and {found[1].name}: the "
                              "receiver must say which direction it reads (RECV ... request|response)",
                              offset=idf.offset, actual=mid)
        msg = found[0]
    else:   # one message (per direction): the loader saw to it
        found = [m for m in schema.messages.values() if not direction or not m.direction or m.direction == direction]
        if not found:
            raise DecodeError("type", "frame", f"no message is sent as a {direction}", offset=0)
        if len(found) > 1:
            raise DecodeError("type", "frame", f"the frame has no id and {found[0].name} and {found[1].name} are "
                              "both possible: the receiver must say which direction it reads", offset=0)
        msg = found[0]
    lenf = frame.role("length")
    if lenf is not None:
        n = values[lenf.name]
        adjust = frame.length_adjust
        if n < adjust:
            raise DecodeError("length", f"frame.{lenf.name}", f"{n} is less than the {adjust} bytes it counts "
                              "besides the payload", offset=lenf.offset, expected=f">= {adjust}", actual=n)
        payload_len = n - adjust
        if payload_len > schema.max_payload:
            raise DecodeError("length", f"frame.{lenf.name}", f"{payload_len} payload bytes, more than max_payload "
                              f"{schema.max_payload}", offset=lenf.offset, expected=f"<= {schema.max_payload}",
                              actual=payload_len)
    else:
        payload_len = S.fixed_size(msg)  # type: ignore[assignment]
    seqf = frame.role("seq")
    return Head(msg, payload_len, values[seqf.name] if seqf else 0,
                {h.name: values[h.name] for h in frame.plain}, hs + payload_len + frame.trailer_size)


def decode_frame(schema: S.Schema, buf: bytes, direction: str = "", version: int | None = None
                 ) -> tuple[Head, Any]:
    """(head, value) of one whole frame."""
    head = decode_head(schema, buf, direction)
    frame = schema.frame
    assert frame is not None
    if len(buf) < head.size:
        raise DecodeError("truncated", "frame", f"{head.size} bytes by its header, {len(buf)} present",
                          offset=len(buf), expected=head.size, actual=len(buf))
    if len(buf) > head.size:
        raise DecodeError("trailing", "frame", f"{len(buf) - head.size} bytes after the frame",
                          offset=head.size, expected=head.size, actual=len(buf))
    hs = frame.header_size
    payload = buf[hs:hs + head.payload_len]
    if frame.checksum is not None:
        parts = {h.name: buf[h.offset:h.offset + h.type.size] for h in frame.header}
        parts["payload"] = payload
        want = checksum(frame, head.message, parts)
        c = frame.checksum
        got = _unpack(c.type, buf, hs + head.payload_len)
        if got != want:
            raise DecodeError("checksum", f"frame.{c.name}", f"{got:#0{2 + 2 * c.type.size}x} is not the "
                              f"{c.algorithm.name} of the frame, {want:#0{2 + 2 * c.type.size}x}",
                              offset=hs + head.payload_len, expected=want, actual=got)
    return head, decode(head.message, payload, version)
