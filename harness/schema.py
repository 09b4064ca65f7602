"""Load and check protocols/schema.toml into a typed model.

The grammar is the one of protocols/WIRE.md ("Types"). Every rule that is broken raises
SchemaError naming the file, the enum/struct/message and the field.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

from .errors import SchemaError

# ------------------------------------------------------------------ the type model


@dataclass(frozen=True)
class Prim:
    """A fixed-width scalar: u8..u64, i8..i64, f32, f64, bool."""
    name: str
    size: int
    kind: str          # "uint", "int", "float", "bool"
    fmt: str           # struct format character of its bit pattern

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


PRIMS: dict[str, Prim] = {p.name: p for p in (
    Prim("u8", 1, "uint", "B"), Prim("u16", 2, "uint", "H"),
    Prim("u32", 4, "uint", "I"), Prim("u64", 8, "uint", "Q"),
    Prim("i8", 1, "int", "b"), Prim("i16", 2, "int", "h"),
    Prim("i32", 4, "int", "i"), Prim("i64", 8, "int", "q"),
    Prim("f32", 4, "float", "I"), Prim("f64", 8, "float", "Q"),  # floats travel as bits
    Prim("bool", 1, "bool", "B"),
)}


@dataclass(frozen=True, eq=False)  # one object per declaration: compared by identity
class Enum:
    name: str
    base: Prim
    values: dict[str, int]          # name -> value, in schema order

    def name_of(self, value: int) -> str | None:
        for name, v in self.values.items():
            if v == value:
                return name
        return None


@dataclass(frozen=True)
class CharArray:
    """char[N]: N bytes, the text then NUL padding."""
    n: int


@dataclass(frozen=True)
class Pad:
    """pad[N]: N bytes that must be zero; no value."""
    n: int


@dataclass(frozen=True)
class Bytes:
    """bytes / string: u32 length then the bytes; `utf8` for string."""
    max: int
    utf8: bool


@dataclass(frozen=True)
class BigInt:
    """bigint: u32 length then minimal two's complement, at most `max` bytes."""
    max: int


@dataclass(frozen=True)
class Array:
    """T[N]: N values, no count."""
    elem: "Type"
    n: int


@dataclass(frozen=True)
class Vec:
    """vec<T>: u32 count then the values; count <= max."""
    elem: "Type"
    max: int


@dataclass(frozen=True)
class Field:
    name: str
    type: "Type"


@dataclass(frozen=True, eq=False)
class Struct:
    name: str
    fields: tuple[Field, ...]

    @property
    def value_fields(self) -> tuple[Field, ...]:
        """The fields that carry a value (all but padding)."""
        return tuple(f for f in self.fields if not isinstance(f.type, Pad))


@dataclass(frozen=True, eq=False)
class Message(Struct):
    id: int = 0


Type = Union[Prim, Enum, CharArray, Pad, Bytes, BigInt, Array, Vec, Struct]

HEADER = (("magic", "u32"), ("version", "u16"), ("msg_type", "u16"),
          ("flags", "u32"), ("payload_len", "u32"), ("seq", "u64"))
HEADER_SIZE = 24


@dataclass(frozen=True)
class Schema:
    path: Path
    version: int
    max_payload: int
    magic: int
    enums: dict[str, Enum]
    structs: dict[str, Struct]
    messages: dict[str, Message]
    by_id: dict[int, Message] = field(repr=False)

    def message(self, name: str) -> Message:
        try:
            return self.messages[name]
        except KeyError:
            raise SchemaError(str(self.path), "", f"no message named {name!r}; "
                              f"known: {', '.join(self.messages)}") from None


def type_name(t: Type) -> str:
    """The type as the schema spells it."""
    if isinstance(t, (Prim, Enum, Struct)):
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


def max_size(t: Type) -> int:
    """The largest number of bytes a value of `t` can take on the wire."""
    if isinstance(t, Prim):
        return t.size
    if isinstance(t, Enum):
        return t.base.size
    if isinstance(t, (CharArray, Pad)):
        return t.n
    if isinstance(t, (Bytes, BigInt)):
        return 4 + t.max
    if isinstance(t, Array):
        return t.n * max_size(t.elem)
    if isinstance(t, Vec):
        return 4 + t.max * max_size(t.elem)
    return sum(max_size(f.type) for f in t.fields)


def fixed_size(t: Type) -> int | None:
    """The size of `t` if every value of it has the same size, else None."""
    if isinstance(t, (Bytes, BigInt, Vec)):
        return None
    if isinstance(t, Array):
        inner = fixed_size(t.elem)
        return None if inner is None else inner * t.n
    if isinstance(t, Struct):
        sizes = [fixed_size(f.type) for f in t.fields]
        return None if None in sizes else sum(sizes)  # type: ignore[arg-type]
    return max_size(t)


# ------------------------------------------------------------------ loading

TYPE_NAME = re.compile(r"[A-Z][A-Za-z0-9]*\Z")
FIELD_NAME = re.compile(r"[a-z_][a-z0-9_]*\Z")
MAX_N = 65536
# Names no generated language may use as a field.
RESERVED = {"type", "struct", "enum", "union", "char", "int", "long", "short", "float", "double",
            "self", "fn", "impl", "mod", "use", "match", "loop", "ref", "move", "return", "for",
            "while", "if", "else", "break", "continue", "const", "static", "default", "switch",
            "case", "do", "goto", "void", "unsigned", "signed", "sizeof", "typedef", "extern",
            "register", "volatile", "auto", "pub", "let", "mut", "trait", "where", "as", "in",
            "true", "false", "none", "crate", "super", "dyn", "async", "await", "class",
            "import", "from", "def", "lambda", "pass", "with", "yield", "func", "go", "map",
            "chan", "range", "package", "interface", "select", "var", "fallthrough", "defer"}
LENGTH_TYPES = {"bytes", "string", "bigint"}


def load(path: str | Path) -> Schema:
    """Read and check a schema file."""
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SchemaError(str(path), "", "file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SchemaError(str(path), "", f"not valid TOML: {exc}") from None
    return _Loader(str(path), doc).load(path)


def loads(text: str, name: str = "<schema>") -> Schema:
    """Check a schema given as text (for tests and tools)."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SchemaError(name, "", f"not valid TOML: {exc}") from None
    return _Loader(name, doc).load(Path(name))


class _Loader:
    def __init__(self, file: str, doc: dict) -> None:
        self.file, self.doc = file, doc
        self.enums: dict[str, Enum] = {}
        self.structs: dict[str, Struct] = {}
        self.messages: dict[str, Message] = {}

    def fail(self, where: str, message: str) -> SchemaError:
        return SchemaError(self.file, where, message)

    def load(self, path: Path) -> Schema:
        doc = self.doc
        self.keys("", doc, required={"format", "frame"}, optional={"enums", "structs", "messages"})
        fmt = self.table("format", doc["format"])
        self.keys("[format]", fmt, required={"name", "version", "byte_order", "max_payload"})
        version = self.int_in("[format] version", fmt["version"], 1, 0xFFFF)
        if fmt["byte_order"] != "little":
            raise self.fail("[format] byte_order", f"must be \"little\", got {fmt['byte_order']!r}")
        max_payload = self.int_in("[format] max_payload", fmt["max_payload"], 1, 0xFFFFFFFF)
        frame = self.table("frame", doc["frame"])
        self.keys("[frame]", frame, required={"magic", "header"})
        magic = self.int_in("[frame] magic", frame["magic"], 0, 0xFFFFFFFF)
        header = frame["header"]
        got = [(h.get("name"), h.get("type")) for h in header] if isinstance(header, list) and all(
            isinstance(h, dict) for h in header) else None
        if got != list(HEADER):
            want = ", ".join(f"{n}: {t}" for n, t in HEADER)
            raise self.fail("[frame] header", f"must be exactly [{want}] (WIRE.md, Frame)")

        names: dict[str, str] = {}
        for section in ("enums", "structs", "messages"):
            for name in self.table(section, doc.get(section, {})):
                if not TYPE_NAME.match(name):
                    raise self.fail(f"{section[:-1]} {name}", "type names are CamelCase: [A-Z][A-Za-z0-9]*")
                if name in names:
                    raise self.fail(f"{section[:-1]} {name}", f"name already used by a {names[name]}")
                if name in PRIMS or name.lower() in LENGTH_TYPES:
                    raise self.fail(f"{section[:-1]} {name}", "name clashes with a built-in type")
                names[name] = section[:-1]

        for name, body in doc.get("enums", {}).items():
            self.enums[name] = self.enum(name, self.table(f"enum {name}", body))
        # Structs may refer to each other in any order: resolve on demand, refuse cycles.
        self.pending = {n: self.table(f"struct {n}", b) for n, b in doc.get("structs", {}).items()}
        self.resolving: list[str] = []
        for name in list(self.pending):
            self.struct(name)
        ids: dict[int, str] = {}
        for name, body in doc.get("messages", {}).items():
            where = f"message {name}"
            body = self.table(where, body)
            self.keys(where, body, required={"id", "fields"})
            mid = self.int_in(f"{where}: id", body["id"], 0, 0xFFFF)
            if mid in ids:
                raise self.fail(where, f"duplicate id {mid} (already message {ids[mid]})")
            ids[mid] = name
            fields = self.fields(where, body["fields"], allow_empty=True)
            msg = Message(name, fields, mid)
            size = max_size(msg)
            if size > max_payload:
                raise self.fail(where, f"largest encoding is {size} bytes, more than "
                                f"format.max_payload ({max_payload}); lower a max")
            self.messages[name] = msg
        if not self.messages:
            raise self.fail("[messages]", "the schema declares no message")
        return Schema(path, version, max_payload, magic, self.enums, self.structs, self.messages,
                      {m.id: m for m in self.messages.values()})

    # -- pieces

    def enum(self, name: str, body: dict) -> Enum:
        where = f"enum {name}"
        self.keys(where, body, required={"type", "values"})
        base = PRIMS.get(body["type"])
        if base is None or base.kind not in ("uint", "int"):
            raise self.fail(where, f"type must be an integer type (u8..i64), got {body['type']!r}")
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
        return Enum(name, base, dict(values))

    def struct(self, name: str) -> Struct:
        if name in self.structs:
            return self.structs[name]
        if name in self.resolving:
            cycle = " -> ".join(self.resolving[self.resolving.index(name):] + [name])
            raise self.fail(f"struct {name}", f"contains itself: {cycle}")
        self.resolving.append(name)
        body = self.pending[name]
        self.keys(f"struct {name}", body, required={"fields"})
        self.structs[name] = Struct(name, self.fields(f"struct {name}", body["fields"], allow_empty=False))
        self.resolving.pop()
        return self.structs[name]

    def fields(self, where: str, raw: object, allow_empty: bool) -> tuple[Field, ...]:
        if not isinstance(raw, list) or not all(isinstance(f, dict) for f in raw):
            raise self.fail(where, "fields must be a list of { name = ..., type = ... } tables")
        if not raw and not allow_empty:
            raise self.fail(where, "a struct needs at least one field")
        out: list[Field] = []
        for f in raw:
            fname = f.get("name")
            fwhere = f"{where}, field {fname}"
            if not isinstance(fname, str) or not FIELD_NAME.match(fname):
                raise self.fail(fwhere, "field names are lower_snake_case: [a-z_][a-z0-9_]*")
            if fname in RESERVED:
                raise self.fail(fwhere, "name is a keyword in a generated language")
            if any(o.name == fname for o in out):
                raise self.fail(fwhere, "duplicate field name")
            twin = next((o.name for o in out if o.name.replace("_", "") == fname.replace("_", "")), None)
            if twin is not None:   # CamelCase (Go, and Rust's types) turns both into one name
                raise self.fail(fwhere, f"differs from field {twin} only in underscores: "
                                        "generated CamelCase names would clash")
            self.keys(fwhere, f, required={"name", "type"}, optional={"max"})
            spec = f["type"]
            if not isinstance(spec, str):
                raise self.fail(fwhere, "type must be a string")
            t = self.parse_type(fwhere, spec.replace(" ", ""), f.get("max"))
            out.append(Field(fname, t))
        return tuple(out)

    def parse_type(self, where: str, spec: str, max_: object, top: bool = True) -> Type:
        needs_max = spec in LENGTH_TYPES or spec.startswith("vec<")
        if not top and needs_max:
            raise self.fail(where, f"{spec} inside an array or vec needs its own max: wrap it in a struct")
        if top and needs_max and max_ is None:
            raise self.fail(where, f"{spec} needs a max (bytes, elements or bigint bytes)")
        if top and not needs_max and max_ is not None:
            raise self.fail(where, f"max does not apply to {spec}")
        if spec in PRIMS:
            return PRIMS[spec]
        if spec in ("bytes", "string"):
            return Bytes(self.limit(where, max_), spec == "string")
        if spec == "bigint":
            return BigInt(self.limit(where, max_))
        if spec.startswith("vec<") and spec.endswith(">"):
            elem = self.parse_type(where, spec[4:-1], None, top=False)
            if isinstance(elem, Pad):
                raise self.fail(where, "pad cannot be an element type")
            if isinstance(elem, Struct) and not elem.value_fields:
                raise self.fail(where, f"vec of {elem.name}, a struct of padding only: its elements have no value "
                                       "to count in the text form")
            return Vec(elem, self.limit(where, max_))
        m = re.fullmatch(r"(.+)\[(\d+)\]", spec)
        if m:
            inner, n = m.group(1), int(m.group(2))
            if not 1 <= n <= MAX_N:
                raise self.fail(where, f"{spec}: N must be 1..{MAX_N}")
            if inner == "char":
                return CharArray(n)
            if inner == "pad":
                return Pad(n)
            elem = self.parse_type(where, inner, None, top=False)
            if isinstance(elem, Pad):
                raise self.fail(where, "pad cannot be an element type")
            return Array(elem, n)
        if spec in self.enums:
            return self.enums[spec]
        if spec in getattr(self, "pending", {}):
            return self.struct(spec)
        if spec in self.messages or spec in self.doc.get("messages", {}):
            raise self.fail(where, f"{spec} is a message; only structs nest")
        raise self.fail(where, f"unknown type {spec!r}")

    def limit(self, where: str, value: object) -> int:
        return self.int_in(f"{where}: max", value, 1, self.int_in("[format] max_payload",
                                                                   self.doc["format"]["max_payload"], 1, 0xFFFFFFFF))

    def int_in(self, where: str, value: object, lo: int, hi: int) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail(where, f"must be an integer, got {value!r}")
        if not lo <= value <= hi:
            raise self.fail(where, f"{value} is out of range {lo}..{hi}")
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
