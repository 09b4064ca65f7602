"""Load and check a schema file (protocols/schema.toml) into a typed model.

The language is the one of protocols/WIRE.md: a `[format]` (byte order, layout, versions), an
optional `[frame]` (a header of the protocol's own fields with roles, an optional checksum
trailer), and `enums`, `flags`, `structs`, `unions` and `messages`. Every rule that is broken
raises SchemaError naming the file, the enum/struct/message and the field: one line, never a
traceback, whatever the input (deep nesting and cycles included).

The model resolves everything the codecs need, so that no consumer re-derives a rule:
- every multi-byte scalar carries its byte order (`Prim.order`), the schema's, a struct's or a
  field's override;
- C-layout structs carry their implicit padding as `Field(implicit=True)` pad fields;
- length prefixes, count and size fields, constants, extension versions and union
  discriminators are attributes of the fields and types they govern.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
import typing
from typing import Any

from . import crc as C
from .errors import SchemaError

# ------------------------------------------------------------------ the type model

ORDERS = ("little", "big")


@dataclass(frozen=True)
class Prim:
    """A fixed-width scalar: u8..u64 (and u24), i8..i64 (and i24), f32, f64, bool."""
    name: str
    size: int
    kind: str          # "uint", "int", "float", "bool"
    fmt: str           # struct format character of its bit pattern ("" for the 3-byte ints)
    order: str = "little"

    @property
    def signed(self) -> bool:
        return self.kind == "int"

    @property
    def min(self) -> int:
        return -(1 << (8 * self.size - 1)) if self.signed else 0

    @property
    def max(self) -> int:
        bits = 8 * self.size
        return (1 << (bits - 1)) - 1 if self.signed else (1 << bits) - 1

    @property
    def big(self) -> bool:
        return self.order == "big" and self.size > 1

    def as_order(self, order: str) -> "Prim":
        return self if order == self.order else Prim(self.name, self.size, self.kind, self.fmt, order)


PRIMS: dict[str, Prim] = {p.name: p for p in (
    Prim("u8", 1, "uint", "B"), Prim("u16", 2, "uint", "H"), Prim("u24", 3, "uint", ""),
    Prim("u32", 4, "uint", "I"), Prim("u64", 8, "uint", "Q"),
    Prim("i8", 1, "int", "b"), Prim("i16", 2, "int", "h"), Prim("i24", 3, "int", ""),
    Prim("i32", 4, "int", "i"), Prim("i64", 8, "int", "q"),
    Prim("f32", 4, "float", "I"), Prim("f64", 8, "float", "Q"),  # floats travel as bits
    Prim("bool", 1, "bool", "B"),
)}
U32 = PRIMS["u32"]


@dataclass(frozen=True, eq=False)  # one object per declaration and byte order: compared by identity
class Enum:
    """An integer carried as its base type; `open`: values not listed pass (and are unnamed)."""
    name: str
    base: Prim
    values: dict[str, int]          # name -> value, in schema order
    open: bool = False

    def name_of(self, value: int) -> str | None:
        for name, v in self.values.items():
            if v == value:
                return name
        return None

    def allows(self, value: int) -> bool:
        return self.base.min <= value <= self.base.max and (self.open or self.name_of(value) is not None)


@dataclass(frozen=True, eq=False)
class Flags:
    """A set of named bits in an unsigned integer; unknown bits are refused or kept."""
    name: str
    base: Prim
    bits: dict[str, int]            # name -> bit position, in schema order
    keep_unknown: bool = False

    @property
    def mask(self) -> int:
        return sum(1 << b for b in self.bits.values())

    def allows(self, value: int) -> bool:
        return 0 <= value <= self.base.max and (self.keep_unknown or value & ~self.mask == 0)

    def names_of(self, value: int) -> list[str]:
        return [n for n, b in self.bits.items() if value >> b & 1]


@dataclass(frozen=True)
class CharArray:
    """char[N]: N bytes, the text then NUL padding."""
    n: int


@dataclass(frozen=True)
class Pad:
    """pad[N]: N bytes that must be zero; no value."""
    n: int


@dataclass(frozen=True)
class Count:
    """How a variable-size value says how long it is: an inline prefix, or earlier fields."""
    prefix: Prim | None = U32                   # None: counted by fields
    unit: str = "elements"                      # of the prefix: "elements" or "bytes"
    fields: tuple[tuple[str, str], ...] = ()    # (field name, "elements" | "bytes"), when prefix is None


PREFIX_U32 = Count()


@dataclass(frozen=True)
class Bytes:
    """bytes / string: a length in bytes (prefix or field), then the bytes; `utf8` for string."""
    max: int
    utf8: bool
    count: Count = PREFIX_U32


@dataclass(frozen=True)
class BigInt:
    """bigint: a length in bytes, then minimal two's complement, at most `max` bytes."""
    max: int
    count: Count = PREFIX_U32
    order: str = "little"


@dataclass(frozen=True)
class Array:
    """T[N]: N values, no count."""
    elem: "Type"
    n: int


@dataclass(frozen=True)
class Vec:
    """vec<T>: a count (of elements, or of bytes), then the values; at most `max` elements."""
    elem: "Type"
    max: int
    count: Count = PREFIX_U32


@dataclass(frozen=True)
class UnionCase:
    tag: int
    name: str                   # the enum value's name, or the tag in decimal
    type: "Type | None"         # None: the alternative carries no bytes


@dataclass(frozen=True)
class Union:
    """A tagged union: the alternative is chosen by the value of an earlier field `on`."""
    name: str
    base: "Prim | Enum"         # the discriminator's type
    cases: tuple[UnionCase, ...]
    on: str

    def case(self, tag: int) -> UnionCase | None:
        for c in self.cases:
            if c.tag == tag:
                return c
        return None


@dataclass(frozen=True)
class Field:
    name: str
    type: "Type"
    const: Any = None           # the encoder writes it, the decoder refuses others (`const`); no value
    since: int = 1              # the protocol version that added the field (WIRE.md, Versions)
    default: Any = None         # its value for a decoder of a payload that ends before it
    count_of: str = ""          # the field carries the count or size of this later field; no value
    implicit: bool = False      # C-layout padding the loader inserted; `name` is the next field's or ""

    @property
    def has_value(self) -> bool:
        return not isinstance(self.type, Pad) and self.const is None and not self.count_of


@dataclass(frozen=True, eq=False)
class Struct:
    name: str
    fields: tuple[Field, ...]
    layout: str = "packed"      # or "c": natural alignment, implicit padding (WIRE.md, Layout)

    @property
    def value_fields(self) -> tuple[Field, ...]:
        """The fields that carry a value (not padding, constants or counts)."""
        return tuple(f for f in self.fields if f.has_value)


@dataclass(frozen=True, eq=False)
class Message(Struct):
    id: int = 0
    direction: str = ""         # "request", "response" or "" (either)
    seed: int | None = None     # the checksum's per-message constant byte
    trim: bool = False          # [format] trailing_zeros = "trim": trailing zero bytes left off

    def fields_at(self, version: int) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.since <= version)

    @property
    def newest(self) -> int:
        return max((f.since for f in self.fields), default=1)

    @property
    def groups(self) -> tuple[int, ...]:
        """The versions that added fields to this message, oldest first (1 = the base)."""
        return tuple(sorted({1, *(f.since for f in self.fields)}))


Type = typing.Union[Prim, Enum, Flags, CharArray, Pad, Bytes, BigInt, Array, Vec, Union, Struct]


# ------------------------------------------------------------------ the frame


@dataclass(frozen=True)
class HeaderField:
    name: str
    type: Prim
    offset: int
    role: str = ""              # "const", "id", "length", "seq" or "" (a plain value)
    const: int | None = None


@dataclass(frozen=True)
class Checksum:
    name: str
    algorithm: C.Algorithm
    type: Prim                  # u16 or u32, in its byte order
    covers: tuple[str, ...]     # the parts it covers, in frame order: header field names, "payload"
    seed: str = ""              # "", "before" or "after": where the message's seed byte is fed


@dataclass(frozen=True)
class Frame:
    header: tuple[HeaderField, ...]
    checksum: Checksum | None
    length_counts: tuple[str, ...] = ("payload",)   # the parts the length field counts

    @property
    def header_size(self) -> int:
        return sum(h.type.size for h in self.header)

    @property
    def trailer_size(self) -> int:
        return self.checksum.type.size if self.checksum else 0

    def role(self, role: str) -> HeaderField | None:
        return next((h for h in self.header if h.role == role), None)

    @property
    def plain(self) -> tuple[HeaderField, ...]:
        """The header fields that carry a value chosen by the sender (in SEND and RECV)."""
        return tuple(h for h in self.header if h.role == "")

    def part_size(self, part: str) -> int:
        if self.checksum and part == self.checksum.name:
            return self.checksum.type.size
        return next(h.type.size for h in self.header if h.name == part)

    @property
    def length_adjust(self) -> int:
        """The length field holds payload_len + this."""
        return sum(self.part_size(p) for p in self.length_counts if p != "payload")


@dataclass(frozen=True)
class Schema:
    path: Path
    name: str
    version: int                 # the newest protocol version
    byte_order: str
    max_payload: int
    frame: Frame | None
    enums: dict[str, Enum]
    structs: dict[str, Struct]
    messages: dict[str, Message]
    flags: dict[str, Flags] = field(default_factory=dict)
    unions: dict[str, Union] = field(default_factory=dict)
    trim_zeros: bool = False     # [format] trailing_zeros = "trim" (WIRE.md, Trailing zeros)

    def message(self, name: str) -> Message:
        try:
            return self.messages[name]
        except KeyError:
            raise SchemaError(str(self.path), "", f"no message named {name!r}; "
                              f"known: {', '.join(self.messages)}") from None

    def lookup(self, mid: int, direction: str = "") -> list[Message]:
        """The messages a frame with id `mid` may carry, seen by a receiver of `direction`
        ("" when it does not say): one, none, or two when the direction would tell them apart."""
        return [m for m in self.messages.values() if m.id == mid
                and (not direction or not m.direction or m.direction == direction)]

    @property
    def directions(self) -> bool:
        return any(m.direction for m in self.messages.values())


def type_name(t: Type) -> str:
    """The type as the schema spells it."""
    if isinstance(t, (Prim, Enum, Flags, Struct, Union)):
        return t.name
    if isinstance(t, CharArray):
        return f"char[{t.n}]"
    if isinstance(t, Pad):
        return f"pad[{t.n}]"
    if isinstance(t, Bytes):
        return "string" if t.utf8 else "bytes"
    if isinstance(t, BigInt):
        return "bigint"
    if isinstance(t, Array):
        return f"{type_name(t.elem)}[{t.n}]"
    return f"vec<{type_name(t.elem)}>"


def prefix_size(t: Bytes | BigInt | Vec) -> int:
    return t.count.prefix.size if t.count.prefix is not None else 0


def max_size(t: Type) -> int:
    """The largest number of bytes a value of `t` can take on the wire."""
    if isinstance(t, Prim):
        return t.size
    if isinstance(t, (Enum, Flags)):
        return t.base.size
    if isinstance(t, (CharArray, Pad)):
        return t.n
    if isinstance(t, (Bytes, BigInt)):
        return prefix_size(t) + t.max
    if isinstance(t, Array):
        return t.n * max_size(t.elem)
    if isinstance(t, Vec):
        return prefix_size(t) + t.max * max_size(t.elem)
    if isinstance(t, Union):
        return max((max_size(c.type) for c in t.cases if c.type is not None), default=0)
    return sum(max_size(f.type) for f in t.fields)


def fixed_size(t: Type) -> int | None:
    """The size of `t` if every value of it has the same size, else None."""
    if isinstance(t, (Bytes, BigInt, Vec)):
        return None
    if isinstance(t, Array):
        inner = fixed_size(t.elem)
        return None if inner is None else inner * t.n
    if isinstance(t, Union):
        sizes = {0 if c.type is None else fixed_size(c.type) for c in t.cases}
        return sizes.pop() if len(sizes) == 1 else None
    if isinstance(t, Struct):
        sizes = [fixed_size(f.type) for f in t.fields]
        return None if None in sizes else sum(sizes)  # type: ignore[arg-type]
    return max_size(t)


def size_at(msg: Message, version: int) -> int | None:
    """The fixed size of the message's fields of `version` and before, else None."""
    sizes = [fixed_size(f.type) for f in msg.fields_at(version)]
    return None if None in sizes else sum(sizes)  # type: ignore[arg-type]


def alignment(t: Type) -> int:
    """The natural alignment of `t` in a C-layout struct."""
    if isinstance(t, Prim):
        return t.size
    if isinstance(t, (Enum, Flags)):
        return t.base.size
    if isinstance(t, Array):
        return alignment(t.elem)
    if isinstance(t, Struct):
        return max((alignment(f.type) for f in t.fields), default=1)
    return 1


# ------------------------------------------------------------------ loading

TYPE_NAME = re.compile(r"[A-Z][A-Za-z0-9]*\Z")
FIELD_NAME = re.compile(r"[a-z_][a-z0-9_]*\Z")
MAX_N = 65536
MAX_DEPTH = 32          # nesting of arrays, vecs, structs and unions inside one another
LENGTH_TYPES = {"bytes", "string", "bigint"}
ROLES = ("id", "length", "seq")
FIELD_KEYS = {"name", "type", "max", "prefix", "unit", "count", "size", "const", "since", "default",
              "byte_order", "on"}


def load(path: str | Path) -> Schema:
    """Read and check a schema file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SchemaError(str(path), "", "file not found") from None
    except IsADirectoryError:
        raise SchemaError(str(path), "", "is a directory, not a schema file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SchemaError(str(path), "", f"cannot read: {exc}") from None
    return _load(text, str(path), path)


def loads(text: str, name: str = "<schema>") -> Schema:
    """Check a schema given as text (for tests and tools)."""
    return _load(text, name, Path(name))


def _load(text: str, name: str, path: Path) -> Schema:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SchemaError(name, "", f"not valid TOML: {exc}") from None
    except RecursionError:
        raise SchemaError(name, "", "not valid TOML: nested too deeply") from None
    return _Loader(name, doc).load(path)


class _Loader:
    def __init__(self, file: str, doc: dict) -> None:
        self.file, self.doc = file, doc
        self.enums: dict[str, Enum] = {}
        self.flags: dict[str, Flags] = {}
        self.structs: dict[str, Struct] = {}
        self.unions: dict[str, dict] = {}
        self.messages: dict[str, Message] = {}
        self._ordered: dict[tuple[str, str], Enum | Flags] = {}
        self._struct_body: dict[str, dict] = {}
        self.resolving: list[str] = []

    def fail(self, where: str, message: str) -> SchemaError:
        return SchemaError(self.file, where, message)

    # -- the whole file

    def load(self, path: Path) -> Schema:
        doc = self.doc
        self.keys("", doc, required={"format"},
                  optional={"frame", "enums", "flags", "structs", "unions", "messages"})
        fmt = self.table("[format]", doc["format"])
        self.keys("[format]", fmt, required={"name", "byte_order", "max_payload"},
                  optional={"version", "layout", "trailing_zeros"})
        if not isinstance(fmt["name"], str) or not fmt["name"]:
            raise self.fail("[format] name", "must be a non-empty string")
        self.version = self.int_in("[format] version", fmt.get("version", 1), 1, 0xFFFF)
        self.order = self.choice("[format] byte_order", fmt["byte_order"], ORDERS)
        self.layout = self.choice("[format] layout", fmt.get("layout", "packed"), ("packed", "c"))
        self.trim = self.choice("[format] trailing_zeros", fmt.get("trailing_zeros", "keep"), ("keep", "trim")) == "trim"
        self.max_payload = self.int_in("[format] max_payload", fmt["max_payload"], 1, 0xFFFFFFFF)

        names: dict[str, str] = {}
        for section in ("enums", "flags", "structs", "unions", "messages"):
            kind = section[:-1]
            for name in self.table(f"[{section}]", doc.get(section, {})):
                if not TYPE_NAME.match(name):
                    raise self.fail(f"{kind} {name}", "type names are CamelCase: [A-Z][A-Za-z0-9]*")
                if name in names:
                    raise self.fail(f"{kind} {name}", f"name already used by a {names[name]}")
                if name.lower() in PRIMS or name.lower() in LENGTH_TYPES or name.lower() in ("char", "pad", "vec"):
                    raise self.fail(f"{kind} {name}", "name clashes with a built-in type")
                names[name] = kind

        for name, body in doc.get("enums", {}).items():
            self.enums[name] = self.enum(name, self.table(f"enum {name}", body))
        for name, body in doc.get("flags", {}).items():
            self.flags[name] = self.flag_set(name, self.table(f"flags {name}", body))
        for name, body in doc.get("unions", {}).items():
            self.unions[name] = self.table(f"union {name}", body)
        # Structs may refer to each other in any order: resolve on demand, refuse cycles.
        self._struct_body = {n: self.table(f"struct {n}", b) for n, b in doc.get("structs", {}).items()}
        for name in self._struct_body:
            self.struct(name)
        for name in self.unions:                # every declared union is checked, used or not
            self.union_cases(name, f"union {name}")

        self.frame = self.load_frame(doc["frame"]) if "frame" in doc else None
        for name, body in doc.get("messages", {}).items():
            self.messages[name] = self.message(name, self.table(f"message {name}", body))
        if not self.messages:
            raise self.fail("[messages]", "the schema declares no message")
        self.check_ids()
        if self.trim:
            self.check_trim()
        if self.frame is not None and self.frame.role("length") is None:
            self.check_unlengthed()
        return Schema(path, fmt["name"], self.version, self.order, self.max_payload, self.frame,
                      self.enums, self.structs, self.messages, self.flags,
                      {n: self.union_decl(n) for n in self.unions}, self.trim)

    # -- enums and flags

    def enum(self, name: str, body: dict) -> Enum:
        where = f"enum {name}"
        self.keys(where, body, required={"type", "values"}, optional={"open"})
        base = self.int_prim(where, body["type"], "type")
        values = self.table(f"{where}: values", body["values"])
        if not values:
            raise self.fail(where, "declares no values")
        seen: dict[int, str] = {}
        for vname, v in values.items():
            if not FIELD_NAME.match(vname):
                raise self.fail(f"{where}, value {vname}", "value names are lower_snake_case")
            self.int_in(f"{where}, value {vname}", v, base.min, base.max)
            if v in seen:
                raise self.fail(f"{where}, value {vname}", f"duplicate value {v} (already {seen[v]})")
            seen[v] = vname
        return Enum(name, base.as_order(self.order), dict(values), self.boolean(where, "open", body.get("open", False)))

    def flag_set(self, name: str, body: dict) -> Flags:
        where = f"flags {name}"
        self.keys(where, body, required={"type", "bits"}, optional={"unknown"})
        base = self.int_prim(where, body["type"], "type")
        if base.signed:
            raise self.fail(where, f"type must be unsigned (u8..u64), got {body['type']!r}")
        bits = self.table(f"{where}: bits", body["bits"])
        if not bits:
            raise self.fail(where, "declares no bits")
        seen: dict[int, str] = {}
        for bname, b in bits.items():
            if not FIELD_NAME.match(bname):
                raise self.fail(f"{where}, bit {bname}", "bit names are lower_snake_case")
            self.int_in(f"{where}, bit {bname}", b, 0, 8 * base.size - 1)
            if b in seen:
                raise self.fail(f"{where}, bit {bname}", f"bit {b} is already {seen[b]}")
            seen[b] = bname
        keep = self.choice(f"{where}: unknown", body.get("unknown", "refuse"), ("refuse", "keep")) == "keep"
        return Flags(name, base.as_order(self.order), dict(bits), keep)

    def ordered(self, decl: Enum | Flags, order: str) -> Enum | Flags:
        """The enum or flag set with its base in byte order `order` (one object per pair)."""
        if decl.base.order == order or decl.base.size == 1:
            return decl
        key = (decl.name, order)
        if key not in self._ordered:
            if isinstance(decl, Enum):
                self._ordered[key] = Enum(decl.name, decl.base.as_order(order), decl.values, decl.open)
            else:
                self._ordered[key] = Flags(decl.name, decl.base.as_order(order), decl.bits, decl.keep_unknown)
        return self._ordered[key]

    # -- structs, unions, messages

    def struct(self, name: str) -> Struct:
        if name in self.structs:
            return self.structs[name]
        if name in self.resolving:
            cycle = " -> ".join(self.resolving[self.resolving.index(name):] + [name])
            raise self.fail(f"struct {name}", f"contains itself: {cycle}")
        if len(self.resolving) >= MAX_DEPTH:
            raise self.fail(f"struct {name}", f"structs nest more than {MAX_DEPTH} deep: "
                            f"{' -> '.join(self.resolving[:3])} -> ... -> {name}")
        self.resolving.append(name)
        where = f"struct {name}"
        body = self._struct_body[name]
        self.keys(where, body, required={"fields"}, optional={"byte_order", "layout"})
        order = self.choice(f"{where}: byte_order", body.get("byte_order", self.order), ORDERS)
        layout = self.choice(f"{where}: layout", body.get("layout", self.layout), ("packed", "c"))
        fields = self.fields(where, body["fields"], order, allow_empty=False, message=False)
        self.structs[name] = Struct(name, self.lay_out(where, fields, layout), layout)
        self.resolving.pop()
        return self.structs[name]

    def message(self, name: str, body: dict) -> Message:
        where = f"message {name}"
        self.keys(where, body, required={"fields"},
                  optional={"id", "direction", "checksum_seed", "byte_order", "layout"})
        idf = self.frame.role("id") if self.frame else None
        if "id" in body:
            top = idf.type.max if idf else 0xFFFFFFFF
            mid = self.int_in(f"{where}: id", body["id"], 0, top)
        elif idf is not None:
            raise self.fail(where, f"missing key(s): id (the frame's {idf.name} carries it)")
        else:
            mid = 0
        direction = self.choice(f"{where}: direction", body.get("direction", ""), ("request", "response", ""))
        seed = None
        wants_seed = bool(self.frame and self.frame.checksum and self.frame.checksum.seed)
        if "checksum_seed" in body:
            if not wants_seed:
                raise self.fail(f"{where}: checksum_seed", "the frame's checksum declares no seed")
            seed = self.int_in(f"{where}: checksum_seed", body["checksum_seed"], 0, 255)
        elif wants_seed:
            raise self.fail(where, "missing key(s): checksum_seed (the frame's checksum is seeded per message)")
        order = self.choice(f"{where}: byte_order", body.get("byte_order", self.order), ORDERS)
        layout = self.choice(f"{where}: layout", body.get("layout", self.layout), ("packed", "c"))
        fields = self.lay_out(where, self.fields(where, body["fields"], order, allow_empty=True, message=True), layout)
        msg = Message(name, fields, layout, mid, direction, seed, self.trim)
        size = max_size(msg)
        if size > self.max_payload:
            raise self.fail(where, f"largest encoding is {size} bytes, more than "
                            f"format.max_payload ({self.max_payload}); lower a max")
        return msg

    def check_ids(self) -> None:
        if self.frame is None:      # payloads only: ids mean nothing on the wire
            return
        idf = self.frame.role("id")
        seen: dict[tuple[int, str], str] = {}
        for msg in self.messages.values():
            where = f"message {msg.name}"
            sides = (msg.direction,) if msg.direction else ("request", "response")
            for side in sides:
                key = (msg.id if idf else -1, side)
                if key in seen:
                    other = seen[key]
                    if idf is None:
                        raise self.fail(where, f"the frame has no id field, so it can carry one message "
                                        f"(per direction); {other} is one already")
                    both = "" if msg.direction and self.messages[other].direction else \
                        " (give the two a direction, request or response, if one side sends each)"
                    raise self.fail(where, f"duplicate id {msg.id} (already message {other}){both}")
                seen[key] = msg.name

    def check_trim(self) -> None:
        for msg in self.messages.values():
            for v in msg.groups:
                if size_at(msg, v) is None:
                    raise self.fail(f"message {msg.name}", "trailing_zeros = \"trim\" needs messages of a fixed "
                                    "size (per version): a variable-size field has no zero form to trim")
            for f in msg.fields:
                if f.since > 1 and f.default not in (None, 0, False, b"", ""):
                    raise self.fail(f"message {msg.name}, field {f.name}", "with trailing_zeros = \"trim\" a "
                                    "missing extension is all zero bytes: its default must be zero")

    def check_unlengthed(self) -> None:
        for msg in self.messages.values():
            if fixed_size(msg) is None or msg.newest > 1 or msg.trim:
                raise self.fail(f"message {msg.name}", "the frame has no length field, so every message must "
                                "have one fixed size (no variable-size or extension fields, no trimming)")

    def fields(self, where: str, raw: object, order: str, allow_empty: bool, message: bool) -> tuple[Field, ...]:
        if not isinstance(raw, list) or not all(isinstance(f, dict) for f in raw):
            raise self.fail(where, "fields must be a list of { name = ..., type = ... } tables")
        if not raw and not allow_empty:
            raise self.fail(where, "a struct needs at least one field")
        out: list[Field] = []
        counted: dict[str, str] = {}        # count field -> the field it counts
        for f in raw:
            fname = f.get("name")
            fwhere = f"{where}, field {fname}"
            if not isinstance(fname, str) or not FIELD_NAME.match(fname):
                raise self.fail(fwhere, "field names are lower_snake_case: [a-z_][a-z0-9_]*")
            if any(o.name == fname for o in out):
                raise self.fail(fwhere, "duplicate field name")
            twin = next((o.name for o in out if o.name.replace("_", "") == fname.replace("_", "")), None)
            if twin is not None:   # CamelCase (Go, and Rust's types) turns both into one name
                raise self.fail(fwhere, f"differs from field {twin} only in underscores: "
                                        "generated CamelCase names would clash")
            self.keys(fwhere, f, required={"name", "type"}, optional=FIELD_KEYS - {"name", "type"})
            spec = f["type"]
            if not isinstance(spec, str):
                raise self.fail(fwhere, "type must be a string")
            forder = self.choice(f"{fwhere}: byte_order", f.get("byte_order", order), ORDERS)
            t = self.field_type(fwhere, spec.replace(" ", ""), f, forder, out, counted)
            if "byte_order" in f and isinstance(t, (Struct, Union)):
                raise self.fail(fwhere, f"byte_order does not apply to {spec}: set it on the struct")
            since = self.int_in(f"{fwhere}: since", f.get("since", 1), 1, self.version) if "since" in f else 1
            if since > 1 and not message:
                raise self.fail(fwhere, "since applies to the fields of a message, not of a struct")
            if out and since < out[-1].since:
                raise self.fail(fwhere, f"since {since} after a field of version {out[-1].since}: "
                                "extension fields come last, oldest first")
            const = self.constant(fwhere, t, f["const"]) if "const" in f else None
            if const is not None and since > 1:
                raise self.fail(fwhere, "an extension field cannot be a constant")
            default = None
            if since > 1:
                default = self.default(fwhere, t, f.get("default"))
            elif "default" in f:
                raise self.fail(fwhere, "default applies to extension fields (since > 1)")
            out.append(Field(fname, t, const, since, default))
        # the count fields, marked now that every field is known
        result = []
        for fld in out:
            if fld.name in counted:
                target = next(o for o in out if o.name == counted[fld.name])
                if target.since != fld.since:
                    raise self.fail(f"{where}, field {target.name}", f"counted by {fld.name} of another version "
                                    f"({fld.since} against {target.since}): a count and its field go together")
                fld = Field(fld.name, fld.type, None, fld.since, fld.default, count_of=counted[fld.name])
            result.append(fld)
        return tuple(result)

    def field_type(self, where: str, spec: str, f: dict, order: str, earlier: list[Field],
                   counted: dict[str, str]) -> Type:
        """The type of a field, with its field-level keys (max, prefix, unit, count, size, on)."""
        variable = spec in LENGTH_TYPES or spec.startswith("vec<")
        for key in ("max", "prefix", "unit", "count", "size"):
            if key in f and not variable:
                raise self.fail(where, f"{key} does not apply to {spec}")
        if "on" in f and spec not in self.unions:
            raise self.fail(where, f"on applies to a union field, and {spec} is not a union")
        if spec in self.unions:
            return self.union_use(where, spec, f, earlier)
        if not variable:
            return self.parse_type(where, spec, order, 0)
        if "max" not in f:
            raise self.fail(where, f"{spec} needs a max (bytes, elements or bigint bytes)")
        limit = self.int_in(f"{where}: max", f["max"], 1, self.max_payload)
        if spec.startswith("vec<"):
            if not spec.endswith(">"):
                raise self.fail(where, f"unknown type {spec!r}")
            elem = self.parse_type(where, spec[4:-1], order, 1)
            if isinstance(elem, Pad):
                raise self.fail(where, "pad cannot be an element type")
            if isinstance(elem, Struct) and not elem.value_fields:
                raise self.fail(where, f"vec of {elem.name}, a struct of padding only: its elements have no value "
                                       "to count in the text form")
            count = self.count(where, f, order, earlier, counted, elem, limit)
            return Vec(elem, limit, count)
        if "unit" in f:
            raise self.fail(where, f"unit does not apply to {spec}: its length is in bytes")
        count = self.count(where, f, order, earlier, counted, None, limit)
        if spec == "bigint":
            return BigInt(limit, count, order)
        return Bytes(limit, spec == "string", count)

    def count(self, where: str, f: dict, order: str, earlier: list[Field], counted: dict[str, str],
              elem: Type | None, limit: int) -> Count:
        """How a variable-size field is counted: `prefix`/`unit`, or `count`/`size` fields."""
        elem_size = 1 if elem is None else fixed_size(elem)
        unit = self.choice(f"{where}: unit", f.get("unit", "elements"), ("elements", "bytes"))
        if elem is None:
            unit = "bytes"
        by_fields = [k for k in ("count", "size") if k in f]
        if by_fields and "prefix" in f:
            raise self.fail(where, f"prefix and {by_fields[0]} both say how long it is: keep one")
        if unit == "bytes" and elem_size is None:
            raise self.fail(where, "a count in bytes needs elements of a fixed size")
        if not by_fields:
            name = f.get("prefix", "u32")
            prefix = PRIMS.get(name) if isinstance(name, str) else None
            if prefix is None or prefix.kind != "uint" or prefix.size == 8:
                raise self.fail(f"{where}: prefix", f"must be u8, u16, u24 or u32, got {name!r}")
            prefix = prefix.as_order(order)
            need = limit * (elem_size if unit == "bytes" else 1)  # type: ignore[operator]
            if need > prefix.max:
                raise self.fail(where, f"max {limit} ({need} {unit}) does not fit its {prefix.name} prefix "
                                f"(at most {prefix.max})")
            return Count(prefix, unit)
        specs: list[tuple[str, str]] = []
        for key in ("count", "size"):
            if key not in f:
                continue
            name = f[key]
            funit = "bytes" if key == "size" or elem is None else unit
            if not isinstance(name, str):
                raise self.fail(f"{where}: {key}", f"must name an earlier field, got {name!r}")
            src = next((o for o in earlier if o.name == name), None)
            if src is None:
                later = " (it comes after: a count field must come before what it counts)" if any(
                    isinstance(x, dict) and x.get("name") == name for x in self._raw_fields(where)) else ""
                raise self.fail(f"{where}: {key}", f"no earlier field {name!r} in this struct{later}")
            if not (isinstance(src.type, Prim) and src.type.kind == "uint") or src.const is not None:
                raise self.fail(f"{where}: {key}", f"{name} must be an unsigned integer field (u8..u64) "
                                "without const, got " + type_name(src.type))
            if name in counted:
                raise self.fail(f"{where}: {key}", f"{name} already counts {counted[name]}")
            need = limit * (elem_size if funit == "bytes" else 1)  # type: ignore[operator]
            if need > src.type.max:
                raise self.fail(where, f"max {limit} ({need} {funit}) does not fit {name}, a {src.type.name}")
            counted[name] = where.rsplit(", field ", 1)[-1]
            specs.append((name, funit))
        return Count(None, unit, tuple(specs))

    def _raw_fields(self, where: str) -> list:
        kind, _, rest = where.partition(" ")
        name = rest.split(",")[0]
        table = {"struct": "structs", "message": "messages"}.get(kind, "")
        body = self.doc.get(table, {}).get(name, {})
        raw = body.get("fields", []) if isinstance(body, dict) else []
        return raw if isinstance(raw, list) else []

    def union_decl(self, name: str) -> Union:
        base, cases = self.union_cases(name, f"union {name}")
        return Union(name, base, cases, "")

    def union_cases(self, name: str, where: str) -> tuple[Prim | Enum, tuple[UnionCase, ...]]:
        body = self.unions[name]
        self.keys(f"union {name}", body, required={"type", "cases"})
        spec = body["type"]
        if isinstance(spec, str) and spec in self.enums:
            base: Prim | Enum = self.enums[spec]
        else:
            base = self.int_prim(f"union {name}", spec, "type").as_order(self.order)
        raw = body["cases"]
        if not isinstance(raw, list) or not raw or not all(isinstance(c, dict) for c in raw):
            raise self.fail(f"union {name}", "cases must be a non-empty list of { tag = ..., type = ... } tables")
        cases: list[UnionCase] = []
        for c in raw:
            self.keys(f"union {name}, case", c, required={"tag"}, optional={"type"})
            tag = c["tag"]
            cwhere = f"union {name}, case {tag}"
            if isinstance(base, Enum) and isinstance(tag, str):
                if tag not in base.values:
                    raise self.fail(cwhere, f"{base.name} has no value {tag!r}")
                label, tag = tag, base.values[tag]
            else:
                lo, hi = (base.base.min, base.base.max) if isinstance(base, Enum) else (base.min, base.max)
                tag = self.int_in(cwhere, tag, lo, hi)
                label = (base.name_of(tag) if isinstance(base, Enum) else None) or str(tag)
            if any(o.tag == tag for o in cases):
                raise self.fail(cwhere, f"tag {tag} has two cases")
            ctype = None
            if "type" in c:
                if not isinstance(c["type"], str):
                    raise self.fail(cwhere, "type must be a string")
                cspec = c["type"].replace(" ", "")
                if cspec in LENGTH_TYPES or cspec.startswith("vec<") or cspec in self.unions:
                    raise self.fail(cwhere, f"{cspec} needs a field of its own: wrap it in a struct")
                ctype = self.parse_type(cwhere, cspec, self.order, 1)
                if isinstance(ctype, Pad):
                    raise self.fail(cwhere, "pad cannot be a case")
            cases.append(UnionCase(tag, label, ctype))
        return base, tuple(cases)

    def union_use(self, where: str, spec: str, f: dict, earlier: list[Field]) -> Union:
        base, cases = self.union_cases(spec, f"union {spec}")
        on = f.get("on")
        if on is None:
            raise self.fail(where, f"a union field needs `on`: the earlier field whose value picks the case of {spec}")
        src = next((o for o in earlier if o.name == on), None)
        if src is None:
            raise self.fail(f"{where}: on", f"no earlier field {on!r} in this struct (the discriminator comes first)")
        stype = src.type
        same = (isinstance(base, Enum) and isinstance(stype, Enum) and stype.name == base.name) or (
            isinstance(base, Prim) and isinstance(stype, Prim) and stype.name == base.name)
        if not same or not src.has_value:
            raise self.fail(f"{where}: on", f"{on} is a {type_name(stype)}; union {spec} is chosen by a "
                            f"{type_name(base)} field with a value")
        return Union(spec, stype if isinstance(stype, (Prim, Enum)) else base, cases, on)  # type: ignore[arg-type]

    def parse_type(self, where: str, spec: str, order: str, depth: int) -> Type:
        """A field or element type (no max-taking types below the top; those need a field)."""
        if depth > MAX_DEPTH:
            raise self.fail(where, f"types nest more than {MAX_DEPTH} deep")
        if spec in LENGTH_TYPES or spec.startswith("vec<"):
            raise self.fail(where, f"{spec} inside an array or vec needs its own max: wrap it in a struct")
        if spec in PRIMS:
            return PRIMS[spec].as_order(order)
        m = re.fullmatch(r"(.+?)((?:\[\d+\])+)", spec)
        if m:
            inner, dims = m.group(1), [int(d) for d in re.findall(r"\[(\d+)\]", m.group(2))]
            if len(dims) > MAX_DEPTH:
                raise self.fail(where, f"{spec[:40]}...: arrays nest more than {MAX_DEPTH} deep")
            for n in dims:
                if not 1 <= n <= MAX_N:
                    raise self.fail(where, f"{spec}: N must be 1..{MAX_N}")
            first, rest = dims[0], dims[1:]
            if inner == "char":
                t: Type = CharArray(first)
            elif inner == "pad":
                if rest:
                    raise self.fail(where, "pad cannot be an element type")
                return Pad(first)
            else:
                t = Array(self.parse_type(where, inner, order, depth + 1), first)
                if isinstance(t.elem, Pad):
                    raise self.fail(where, "pad cannot be an element type")
            for n in rest:
                t = Array(t, n)
            if max_size(t) > 0xFFFFFFFF:
                raise self.fail(where, f"{spec}: more than 4 GiB")
            return t
        if spec in self.enums:
            return self.ordered(self.enums[spec], order)
        if spec in self.flags:
            return self.ordered(self.flags[spec], order)
        if spec in self._struct_body:
            return self.struct(spec)
        if spec in self.unions:
            raise self.fail(where, f"{spec} is a union: it needs a field of its own (with `on`)")
        if spec in self.doc.get("messages", {}):
            raise self.fail(where, f"{spec} is a message; only structs nest")
        raise self.fail(where, f"unknown type {spec!r}")

    # -- constants, defaults, layout

    def constant(self, where: str, t: Type, value: object) -> int | bytes:
        if isinstance(t, Prim) and t.kind in ("uint", "int"):
            return self.int_in(f"{where}: const", value, t.min, t.max)
        if isinstance(t, Enum):
            if isinstance(value, str) and value in t.values:
                return t.values[value]
            v = self.int_in(f"{where}: const", value, t.base.min, t.base.max)
            if not t.allows(v):
                raise self.fail(f"{where}: const", f"{v} is not a value of enum {t.name}")
            return v
        if isinstance(t, Flags):
            v = self.int_in(f"{where}: const", value, 0, t.base.max)
            if not t.allows(v):
                raise self.fail(f"{where}: const", f"{v:#x} sets bits flag set {t.name} does not name")
            return v
        if isinstance(t, CharArray):
            if not isinstance(value, str):
                raise self.fail(f"{where}: const", f"a char[{t.n}] constant is a string, got {value!r}")
            raw = value.encode("utf-8")
            if len(raw) > t.n or b"\0" in raw:
                raise self.fail(f"{where}: const", f"{value!r} does not fit char[{t.n}] (or holds a NUL)")
            return raw
        raise self.fail(where, f"const applies to integers, enums, flags and char[N], not {type_name(t)}")

    def default(self, where: str, t: Type, value: object) -> Any:
        """An extension field's default, in the harness's value model (values.py)."""
        from .values import F32, F64
        if value is None:
            return self.zero_value(where, t)
        if isinstance(t, Prim) and t.kind == "bool":
            if not isinstance(value, bool):
                raise self.fail(f"{where}: default", f"must be true or false, got {value!r}")
            return value
        if isinstance(t, Prim) and t.kind == "float":
            cls = F32 if t.size == 4 else F64
            if isinstance(value, str) and re.fullmatch(r"0x[0-9a-fA-F]{%d}" % (2 * t.size), value):
                return cls(int(value, 16))
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                try:
                    bits = cls.from_float(float(value))
                except OverflowError:
                    raise self.fail(f"{where}: default", f"{value} does not fit {t.name}") from None
                if float(bits) != float(value):
                    raise self.fail(f"{where}: default", f"{value} is not exact in {t.name}: give its bit pattern "
                                    f"as a string ({t.name} {float(bits)!r} is {bits.describe()})")
                return bits
            raise self.fail(f"{where}: default", f"a {t.name} default is a number or a bit pattern string")
        if isinstance(t, Prim):
            return self.int_in(f"{where}: default", value, t.min, t.max)
        if isinstance(t, (Enum, Flags)):
            return self.constant(where, t, value)
        if isinstance(t, CharArray):
            return self.constant(where, t, value)
        if isinstance(t, Bytes):
            if not isinstance(value, str):
                raise self.fail(f"{where}: default", "a string or bytes default is a string (bytes: hex)")
            if t.utf8:
                if len(value.encode("utf-8")) > t.max:
                    raise self.fail(f"{where}: default", f"longer than max {t.max}")
                return value
            try:
                raw = bytes.fromhex(value)
            except ValueError:
                raise self.fail(f"{where}: default", f"bytes defaults are hex, got {value!r}") from None
            if len(raw) > t.max:
                raise self.fail(f"{where}: default", f"longer than max {t.max}")
            return raw
        raise self.fail(where, f"default applies to scalars, char[N], string and bytes; a {type_name(t)} "
                        "extension takes its zero value")

    def zero_value(self, where: str, t: Type) -> Any:
        """The value of every zero byte, or an empty variable-size value."""
        from .values import F32, F64
        if isinstance(t, Prim):
            return {"float": (F32(0) if t.size == 4 else F64(0)), "bool": False}.get(t.kind, 0)
        if isinstance(t, Enum):
            if not t.allows(0):
                raise self.fail(where, f"enum {t.name} has no value 0: give the extension field a default")
            return 0
        if isinstance(t, Flags):
            return 0
        if isinstance(t, CharArray):
            return b""
        if isinstance(t, Bytes):
            return "" if t.utf8 else b""
        if isinstance(t, BigInt):
            return 0
        if isinstance(t, Array):
            return [self.zero_value(where, t.elem) for _ in range(t.n)]
        if isinstance(t, Vec):
            return []
        if isinstance(t, Union):
            raise self.fail(where, "a union cannot be an extension field: put it in a struct with its discriminator")
        return {f.name: self.zero_value(where, f.type) for f in t.value_fields}  # type: ignore[union-attr]

    def lay_out(self, where: str, fields: tuple[Field, ...], layout: str) -> tuple[Field, ...]:
        """Packed: the fields as declared. C: padding inserted before each field to its natural
        alignment, and at the end to the struct's (WIRE.md, Layout)."""
        if layout == "packed":
            return fields
        out: list[Field] = []
        off, align = 0, 1
        for f in fields:
            t = f.type
            if fixed_size(t) is None or isinstance(t, (Union, BigInt)):
                raise self.fail(f"{where}, field {f.name}", f"layout = \"c\" needs fields of a fixed size; "
                                f"{type_name(t)} has no C struct member")
            leaf = t
            while isinstance(leaf, Array):
                leaf = leaf.elem
            if isinstance(leaf, Prim) and leaf.size == 3:
                raise self.fail(f"{where}, field {f.name}", f"layout = \"c\": {leaf.name} has no C type")
            if isinstance(leaf, Struct) and leaf.layout != "c":
                raise self.fail(f"{where}, field {f.name}", f"layout = \"c\": struct {leaf.name} is packed; "
                                "give it layout = \"c\" too")
            if f.since > 1:
                raise self.fail(f"{where}, field {f.name}", "layout = \"c\" has no extension fields")
            a = alignment(t)
            gap = -off % a
            if gap:
                out.append(Field(f.name, Pad(gap), implicit=True))
            out.append(f)
            off += gap + fixed_size(t)  # type: ignore[operator]
            align = max(align, a)
        tail = -off % align
        if tail:
            out.append(Field("", Pad(tail), implicit=True))
        return tuple(out)

    # -- the frame

    def load_frame(self, raw: object) -> Frame:
        frame = self.table("[frame]", raw)
        self.keys("[frame]", frame, required={"header"}, optional={"checksum"})
        header = frame["header"]
        if not isinstance(header, list) or not header or not all(isinstance(h, dict) for h in header):
            raise self.fail("[frame] header", "must be a non-empty list of { name = ..., type = ... } tables")
        fields: list[HeaderField] = []
        off = 0
        counts: tuple[str, ...] = ("payload",)
        raw_counts = None
        for h in header:
            name = h.get("name")
            where = f"[frame] header, field {name}"
            if not isinstance(name, str) or not FIELD_NAME.match(name) or name == "payload":
                raise self.fail(where, "header field names are lower_snake_case, and not \"payload\"")
            if any(o.name == name for o in fields):
                raise self.fail(where, "duplicate field name")
            self.keys(where, h, required={"name", "type"}, optional={"role", "const", "byte_order", "counts"})
            t = self.int_prim(where, h["type"], "type")
            t = t.as_order(self.choice(f"{where}: byte_order", h.get("byte_order", self.order), ORDERS))
            role = self.choice(f"{where}: role", h.get("role", ""), (*ROLES, ""))
            const = None
            if "const" in h:
                if role:
                    raise self.fail(where, f"a constant cannot also be the {role}")
                const = self.int_in(f"{where}: const", h["const"], t.min, t.max)
                role = "const"
            if role in ROLES:
                if any(o.role == role for o in fields):
                    raise self.fail(where, f"two fields have role {role}")
                if t.signed:
                    raise self.fail(where, f"the {role} field must be unsigned")
            if role == "length":
                if t.size == 8:
                    raise self.fail(where, "a u64 length is wider than the frame allows (payloads are "
                                    "at most 2^32 - 1 bytes): use u8..u32")
                raw_counts = h.get("counts", "payload")
            elif "counts" in h:
                raise self.fail(where, "counts applies to the length field (role = \"length\")")
            if role == "id" and t.size == 8:
                raise self.fail(where, "a message id is 8, 16, 24 or 32 bits")
            fields.append(HeaderField(name, t, off, role, const))
            off += t.size
        checksum = self.load_checksum(frame["checksum"], fields) if "checksum" in frame else None
        parts = [h.name for h in fields] + ["payload"] + ([checksum.name] if checksum else [])
        length = next((h for h in fields if h.role == "length"), None)
        if raw_counts is not None:
            counts = self.part_range(f"[frame] header, field {length.name}: counts", raw_counts, parts)  # type: ignore[union-attr]
            if "payload" not in counts:
                raise self.fail(f"[frame] header, field {length.name}: counts",  # type: ignore[union-attr]
                                "must include the payload")
        result = Frame(tuple(fields), checksum, counts)
        if length is not None:
            room = length.type.max - result.length_adjust
            if room < 1:
                raise self.fail(f"[frame] header, field {length.name}", f"a {length.type.name} counting "
                                f"{result.length_adjust} bytes besides the payload leaves no room for one")
            if self.max_payload > room:
                raise self.fail(f"[frame] header, field {length.name}",
                                f"format.max_payload ({self.max_payload}) does not fit this {length.type.name} length "
                                f"(at most {room} payload bytes): lower max_payload or widen the field")
        return result

    def load_checksum(self, raw: object, header: list[HeaderField]) -> Checksum:
        where = "[frame.checksum]"
        body = self.table(where, raw)
        self.keys(where, body, required={"name", "algorithm", "covers"}, optional={"seed", "byte_order"})
        name = body["name"]
        if not isinstance(name, str) or not FIELD_NAME.match(name) or name == "payload" or \
                any(h.name == name for h in header):
            raise self.fail(f"{where} name", "must be a lower_snake_case name no header field has")
        algo = C.ALGORITHMS.get(body["algorithm"]) if isinstance(body["algorithm"], str) else None
        if algo is None:
            raise self.fail(f"{where} algorithm", f"unknown algorithm {body['algorithm']!r}; known: "
                            f"{', '.join(C.ALGORITHMS)}")
        order = self.choice(f"{where} byte_order", body.get("byte_order", self.order), ORDERS)
        t = PRIMS[f"u{algo.width}"].as_order(order)
        parts = [h.name for h in header] + ["payload", name]
        covers = self.part_range(f"{where} covers", body["covers"], parts)
        if name in covers:
            raise self.fail(f"{where} covers", f"{body['covers']!r} covers the checksum {name} itself")
        seed = self.choice(f"{where} seed", body.get("seed", ""), ("before", "after", ""))
        return Checksum(name, algo, t, covers, seed)

    def part_range(self, where: str, raw: object, parts: list[str]) -> tuple[str, ...]:
        """"a..b" (or one part "a") over the frame's parts, in frame order."""
        if not isinstance(raw, str):
            raise self.fail(where, f"must be a string \"first..last\", got {raw!r}")
        first, _, last = raw.partition("..")
        last = last or first
        for p in (first, last):
            if p not in parts:
                raise self.fail(where, f"{p!r} is not a part of the frame ({', '.join(parts)})")
        i, j = parts.index(first), parts.index(last)
        if i > j:
            raise self.fail(where, f"{raw!r} runs backwards: {first} comes after {last}")
        return tuple(parts[i:j + 1])

    # -- small checks

    def int_prim(self, where: str, spec: object, key: str) -> Prim:
        p = PRIMS.get(spec) if isinstance(spec, str) else None
        if p is None or p.kind not in ("uint", "int"):
            raise self.fail(where, f"{key} must be an integer type (u8..u64, i8..i64, u24, i24), got {spec!r}")
        return p

    def int_in(self, where: str, value: object, lo: int, hi: int) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail(where, f"must be an integer, got {value!r}")
        if not lo <= value <= hi:
            raise self.fail(where, f"{value} is out of range {lo}..{hi}")
        return value

    def choice(self, where: str, value: object, allowed: tuple[str, ...]) -> str:
        if value not in allowed:
            shown = " or ".join(f'"{a}"' for a in allowed if a)
            raise self.fail(where, f"must be {shown}, got {value!r}")
        return value  # type: ignore[return-value]

    def boolean(self, where: str, key: str, value: object) -> bool:
        if not isinstance(value, bool):
            raise self.fail(f"{where}: {key}", f"must be true or false, got {value!r}")
        return value

    def table(self, where: str, value: object) -> dict:
        if not isinstance(value, dict):
            raise self.fail(where, "must be a table")
        return value

    def keys(self, where: str, table: dict, required: set[str], optional: set[str] = frozenset()) -> None:
        missing = sorted(required - table.keys())
        if missing:
            raise self.fail(where or "top level", f"missing key(s): {', '.join(missing)}")
        unknown = sorted(table.keys() - required - optional)
        if unknown:
            raise self.fail(where or "top level", f"unknown key(s): {', '.join(unknown)}")
