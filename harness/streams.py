"""The stream message: what BLAST, DRAIN and the bench frames carry, and its layout as `STREAM`
tells a peer (PEER_CONTRACT.md, "Streams").

The kits know no message, so the harness describes the stream message's payload as bytes: a
template (the payload with no data elements), where the n data elements go, their width and byte
order, and the integer fields that change with n (length prefixes, count and size fields), each
as `mul * n + add`. The description is inferred from the reference codec and then checked
against it, for every n up to 2048 and many beyond: a message whose payload the description does
not reproduce exactly is not a stream message, and the reason says why.

The stream message is the one the project's config names (`stream = "Message"` or
`"Message.field"`), else the message with the largest variable-length payload that can be
described. Its data field is a `bytes` (not a string) or a `vec` of integers; every other field
holds its zero value (numbers 0, empty strings and vecs, the first union case zero picks).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import codec
from . import schema as S
from .errors import CrosswireError
from .textform import blob
from .vectors import special_value

MAX_PATCHES = 8
ALL_UP_TO = 2048        # every n up to this is checked; above it, a spread of n


class NoStream(CrosswireError):
    """The schema has no message the streams can carry (or not the one the config names)."""


@dataclass(frozen=True)
class Patch:
    offset: int         # in the template
    width: int
    order: str          # "le" or "be"
    mul: int
    add: int

    def bytes_for(self, n: int) -> bytes:
        v = (self.mul * n + self.add) % (1 << (8 * self.width))
        return v.to_bytes(self.width, "little" if self.order == "le" else "big")

    @property
    def words(self) -> str:
        return f"{self.offset} {self.width} {self.order} {self.mul} {self.add}"


@dataclass(frozen=True)
class Layout:
    message: S.Message
    field: str
    template: bytes
    at: int
    width: int
    order: str          # "le" or "be"
    max: int            # the most data elements a frame carries
    patches: tuple[Patch, ...]
    schema: S.Schema | None = field(default=None, repr=False, compare=False)     # whose frames carry it

    def payload(self, seq: int, n: int) -> bytes:
        """The payload of the stream's frame `seq` with `n` data elements."""
        t = bytearray(self.template)
        for p in self.patches:
            t[p.offset:p.offset + p.width] = p.bytes_for(n)
        return bytes(t[:self.at]) + self.data(seq, n) + bytes(t[self.at:])

    def data(self, seq: int, n: int) -> bytes:
        if self.width == 1:
            return bytes((seq + j) & 0xFF for j in range(n))
        o = "little" if self.order == "le" else "big"
        return b"".join(((seq + j) & 0xFF).to_bytes(self.width, o) for j in range(n))

    def size(self, n: int) -> int:
        """The payload size of a frame with n data elements."""
        return len(self.template) + n * self.width

    def fit(self, size: int) -> int:
        """The payload size nearest `size` from below that a frame of the stream can have (the
        template's, at least)."""
        return self.size(min(self.max, max(0, (size - len(self.template)) // self.width)))

    def elements(self, size: int) -> int | None:
        """The data elements of a payload of `size` bytes, None when no n gives that size."""
        extra = size - len(self.template)
        if extra < 0 or extra % self.width or extra // self.width > self.max:
            return None
        return extra // self.width

    @property
    def request(self) -> str:
        """The STREAM request that describes this layout to a peer."""
        return " ".join([f"STREAM {self.message.name} {blob(self.template)} {self.at} {self.width} {self.order} "
                         f"{self.max} {len(self.patches)}", *(p.words for p in self.patches)])


def _data_fields(msg: S.Message) -> list[tuple[S.Field, int]]:
    """The fields of msg that can carry a stream's data, with their element width."""
    out = []
    for f in msg.value_fields:
        t = f.type
        if isinstance(t, S.Bytes) and not t.utf8:
            out.append((f, 1))
        elif isinstance(t, S.Vec) and isinstance(t.elem, S.Prim) and t.elem.kind in ("uint", "int"):
            out.append((f, t.elem.size))
    return out


def _elements(t: S.Bytes | S.Vec, octets: list[int]) -> Any:
    """The value of a data field whose elements are these integers 0..255 (all bits for 255
    when `full`)."""
    if isinstance(t, S.Bytes):
        return bytes(octets)
    p = t.elem
    assert isinstance(p, S.Prim)
    return [v - 256 if p.signed and p.size == 1 and v > 127 else v for v in octets]


class _Probe:
    """Encodes msg with every field zero but the data field."""

    def __init__(self, schema: S.Schema, msg: S.Message, f: S.Field, width: int) -> None:
        self.msg, self.f, self.width = msg, f, width
        self.zero = special_value(msg, "zero")
        t = f.type
        assert isinstance(t, (S.Bytes, S.Vec))
        self.type = t
        self.limit = t.max

    def encode(self, n: int, seq: int = 0, fill: int | None = None) -> bytes:
        octets = [fill] * n if fill is not None else [(seq + j) & 0xFF for j in range(n)]
        value = dict(self.zero)
        if fill == 255 and isinstance(self.type, S.Vec):
            p = self.type.elem
            assert isinstance(p, S.Prim)
            value[self.f.name] = [-1 if p.signed else p.max] * n
        else:
            value[self.f.name] = _elements(self.type, octets)
        return codec.encode(self.msg, value)


def _checked_ns(limit: int) -> list[int]:
    if limit <= ALL_UP_TO:
        return list(range(limit + 1))
    ns = set(range(0, 300)) | {limit, limit - 1, limit - 2}
    b = 512
    while b <= limit:
        ns |= {b - 1, b, b + 1}
        b *= 2
    return sorted(n for n in ns if 0 <= n <= limit)


def _patch_for(run: tuple[int, int], rest: dict[int, bytes], at: int, lo: int, size: int) -> Patch | None:
    """The narrowest usual patch over the changing bytes run[0]..run[1] whose value is mul*n + add for
    every n in `rest` (n -> the payload with its data cut out)."""
    g0, g1 = run
    for width in (w for w in (1, 2, 4, 8, 3, 5, 6, 7) if w >= g1 - g0 + 1):   # the usual widths first
        for start in range(g0, max(lo, g1 - width + 1) - 1, -1):
            if start + width > size or (start < at < start + width):
                continue
            for order in ("le", "be"):
                o = "little" if order == "le" else "big"
                v = {n: int.from_bytes(r[start:start + width], o) for n, r in rest.items()}
                m = 1 << (8 * width)
                add, mul = v[0], (v[1] - v[0]) % m
                if all(v[n] == (mul * n + add) % m for n in v):
                    return Patch(start, width, order, mul, add)
    return None


def infer(schema: S.Schema, msg: S.Message, field_name: str | None = None) -> Layout:
    """The stream layout of msg (its data in `field_name`, default its widest data field), or
    NoStream saying why there is none."""
    where = f"{msg.name}" + (f".{field_name}" if field_name else "")
    fields = _data_fields(msg)
    if field_name:
        fields = [(f, w) for f, w in fields if f.name == field_name]
        if not fields:
            known = ", ".join(f.name for f, _ in _data_fields(msg)) or "none"
            raise NoStream(f"stream {where}: not a bytes or vec-of-integers field of {msg.name} (those: {known})")
    if not fields:
        raise NoStream(f"stream {where}: {msg.name} has no bytes or vec-of-integers field to carry the data")
    if msg.trim:
        raise NoStream(f"stream {where}: {msg.name}'s trailing zero bytes are trimmed, so its size is not the data's")
    f, width = max(fields, key=lambda fw: fw[0].type.max * fw[1])   # type: ignore[union-attr]
    probe = _Probe(schema, msg, f, width)
    template = probe.encode(0)
    limit = min(probe.limit, (schema.max_payload - len(template)) // width)
    if limit < 1:
        raise NoStream(f"stream {where}: no room for data in a payload of at most {schema.max_payload} bytes")
    k = min(3, limit)
    a, b = probe.encode(k, fill=0), probe.encode(k, fill=255)
    diff = [i for i in range(min(len(a), len(b))) if a[i] != b[i]]
    if len(a) != len(b) or not diff or diff[-1] - diff[0] + 1 != k * width:
        raise NoStream(f"stream {where}: its data are not {k * width} contiguous bytes of the payload")
    at = diff[0]
    ns = _checked_ns(limit)
    rest: dict[int, bytes] = {}
    for n in ns:
        e = probe.encode(n, fill=0)
        r = e[:at] + e[at + n * width:]
        if len(r) != len(template):
            raise NoStream(f"stream {where}: other parts of the payload change size with the data")
        rest[n] = r
    changed = sorted({i for r in rest.values() for i in range(len(r)) if r[i] != template[i]})
    runs: list[tuple[int, int]] = []
    for i in changed:
        if runs and runs[-1][1] == i - 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    patches: list[Patch] = []
    for run in runs:
        end = patches[-1].offset + patches[-1].width if patches else 0
        if run[1] < end:
            continue    # inside the previous patch, which was checked over its whole width
        p = _patch_for(run, rest, at, end, len(template))
        if p is None:
            raise NoStream(f"stream {where}: bytes {run[0]}..{run[1]} change with the data, but not as one "
                           "integer of the data's length")
        patches.append(p)
    if len(patches) > MAX_PATCHES:
        raise NoStream(f"stream {where}: {len(patches)} fields change with the data (at most {MAX_PATCHES})")
    order = "le"
    if width > 1:
        o = f.type.elem.order if isinstance(f.type, S.Vec) else "little"   # type: ignore[union-attr]
        order = "be" if o == "big" else "le"
    layout = Layout(msg, f.name, template, at, width, order, limit, tuple(patches), schema)
    for n in ns:
        for seq in ((0, 1, 255, 300) if n < 64 else (7,)):
            if layout.payload(seq, n) != probe.encode(n, seq):
                raise NoStream(f"stream {where}: the layout found does not reproduce the payload of {n} elements")
    return layout


_CACHE: dict[tuple[int, str], Layout | NoStream] = {}


def layout(schema: S.Schema, named: str | None = None) -> Layout:
    """The stream layout of a schema: the configured message (`Message` or `Message.field`),
    else the one with the largest data. Raises NoStream with the reason."""
    key = (id(schema), named or "")
    if key not in _CACHE:
        try:
            _CACHE[key] = _choose(schema, named)
        except NoStream as exc:
            _CACHE[key] = exc
    got = _CACHE[key]
    if isinstance(got, NoStream):
        raise got
    return got


def _choose(schema: S.Schema, named: str | None) -> Layout:
    frame = schema.frame
    if frame is None or frame.role("seq") is None:
        raise NoStream(f"schema {schema.name} has no frame with a seq field, which the streams number their frames by")
    if named:
        name, _, fname = named.partition(".")
        msg = schema.messages.get(name)
        if msg is None:
            raise NoStream(f"stream = {named!r}: no message {name} in schema {schema.name}")
        return infer(schema, msg, fname or None)
    ranked = sorted(((max(f.type.max * w for f, w in _data_fields(m)), i, m)   # type: ignore[union-attr]
                     for i, m in enumerate(schema.messages.values()) if _data_fields(m)), key=lambda t: (-t[0], t[1]))
    why = []
    for _, _, msg in ranked:
        try:
            return infer(schema, msg)
        except NoStream as exc:
            why.append(str(exc))
    if not why:
        raise NoStream(f"schema {schema.name} has no message with a bytes or vec-of-integers field for the streams")
    raise NoStream(f"schema {schema.name} has no message the streams can carry: {why[0]}")


def unsupported(schema: S.Schema, named: str | None = None, bench: bool = False) -> str:
    """Why the streams (with `bench`: the bench) cannot run on a schema, or "". The bench
    rewrites the seq of one built frame in place, so it also needs a frame without a checksum."""
    try:
        layout(schema, named)
    except NoStream as exc:
        return str(exc)
    if bench and schema.frame is not None and schema.frame.checksum is not None:
        return f"schema {schema.name}'s frame has a checksum: the bench rewrites the seq of one frame in place"
    return ""
