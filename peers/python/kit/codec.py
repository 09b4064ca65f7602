"""The crosswire wire codec, read straight from the schema (../../protocols/schema.toml).

The bytes are those of protocols/WIRE.md; the text form of values is the one of
protocols/PEER_CONTRACT.md ("Values as text"). Standard library only, and nothing from the
harness, whose codec is checked against this: the schema language is read here a second time,
independently (byte orders, prefixes and count fields, constants, enums and flags, unions, C
layout, versions, trimmed zeros, the declared frame and its checksum).

Two codecs share the schema, and always agree:

- the walker: small recursive functions, one per direction (encode_value, decode_value, ...),
  that follow the types field by field and name every error with its code and path. It is
  the reference, and it alone runs the messages that use what the plans do not know;
- the plans: build/cw_plans.py, generated at build time (`make peers`: build_codec.py, with
  the compiler in plans.py) with one fast function per message and direction, for the messages
  of crosswire's classic kinds (little-endian, u32 lengths, closed enums, no constants, unions,
  versions or trimming). A plan checks everything the walker checks but does not say why: when
  a check fails, the walker runs on the same input and raises the error with its code and path.

encode() and decode() run the plan when build/cw_plans.py was generated from the very schema
loaded here (its SCHEMA_SHA256); otherwise the walker runs, and a note on stderr says why. The
walker alone runs for a subclass that overrides its functions (tests/faulty_peer).
"""
import functools
import os
import hashlib
import importlib.util
import re
import struct
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The schema: the harness gives every peer the project's ($CROSSWIRE_SCHEMA); else the checkout's.
SCHEMA_PATH = Path(os.environ.get("CROSSWIRE_SCHEMA") or HERE.parents[2] / "protocols" / "schema.toml")
PLANS_PATH = HERE.parent / "build" / "cw_plans.py"  # written by build_codec.py (cwkit.run names the peer's)

# f32 and f64 travel as their bit patterns and are never turned into Python floats,
# which would quiet signalling NaNs.
FLOAT_FORMATS = {4: "<I", 8: "<Q"}
INT_FORMATS = {(1, False): "B", (2, False): "H", (4, False): "I", (8, False): "Q",
               (1, True): "b", (2, True): "h", (4, True): "i", (8, True): "q"}
ENDIAN = {"little": "<", "big": ">"}

HEX = r"x(?:[0-9a-fA-F]{2})*"
TOKEN_PATTERNS = {
    "int": r"-?[0-9]+",
    "enum": r"-?[0-9]+",
    "flags": r"-?[0-9]+",
    "vec": r"[0-9]+",
    "bool": r"true|false",
    "char": HEX,
    "bytes": HEX,
    "string": HEX,
    "bigint": r"-?0x[0-9a-fA-F]+",
}

# The CRC catalogue's parameters (WIRE.md, "Checksums"): width, poly, init, reflected, xorout.
CRCS = {
    "crc-16/mcrf4xx": (16, 0x1021, 0xFFFF, True, 0x0000),
    "crc-16/x-25": (16, 0x1021, 0xFFFF, True, 0xFFFF),
    "crc-16/modbus": (16, 0x8005, 0xFFFF, True, 0x0000),
    "crc-16/arc": (16, 0x8005, 0x0000, True, 0x0000),
    "crc-16/kermit": (16, 0x1021, 0x0000, True, 0x0000),
    "crc-16/ibm-3740": (16, 0x1021, 0xFFFF, False, 0x0000),
    "crc-16/xmodem": (16, 0x1021, 0x0000, False, 0x0000),
    "crc-32": (32, 0x04C11DB7, 0xFFFFFFFF, True, 0xFFFFFFFF),
    "crc-32c": (32, 0x1EDC6F41, 0xFFFFFFFF, True, 0xFFFFFFFF),
    "crc-32/bzip2": (32, 0x04C11DB7, 0xFFFFFFFF, False, 0xFFFFFFFF),
}


class PeerError(Exception):
    """An error the peer replies as `ERR <kind> <message>`."""

    def __init__(self, kind, message):
        super().__init__(f"{kind} {message}")
        self.kind = kind


class DecodeError(PeerError):
    def __init__(self, code, path, detail):
        super().__init__("decode", f"{code} {path} {detail}")
        self.code = code


class EncodeError(PeerError):
    def __init__(self, code, path, detail):
        super().__init__("encode", f"{code} {path} {detail}")


class RequestError(PeerError):
    def __init__(self, detail):
        super().__init__("request", detail)


@dataclass(frozen=True)
class Type:
    kind: str                   # int float bool enum flags char bytes string bigint array vec struct pad union
    size: int = 0               # bytes of an int, float, enum or flags; N of char[N], pad[N], T[N]
    signed: bool = False        # of an int or enum
    name: str = ""              # of an enum, flags, struct or union
    elem: "Type | None" = None  # T of T[N] and vec<T>
    max: int = 0                # of bytes, string, vec and bigint
    order: str = "little"       # of a scalar, a prefix, a bigint
    prefix: int = 4             # bytes of the length prefix; 0: counted by earlier fields
    unit: str = "elements"      # what a vec's prefix counts
    counts: tuple = ()          # ((field, "elements" | "bytes"), ...) when prefix is 0
    on: str = ""                # a union's discriminator field


@dataclass(frozen=True)
class Field:
    name: str
    type: Type
    role: str = "value"         # value, const, count (of `target`), pad (declared or the C layout's)
    const: object = None
    since: int = 1
    default: object = None
    target: str = ""
    implicit: bool = False


@dataclass(frozen=True)
class HeaderField:
    name: str
    type: Type
    offset: int
    role: str                   # const, id, length, seq or "" (a plain value)
    const: int = 0


def int_range(t):
    bits = 8 * t.size
    if t.signed:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def bigint_to_bytes(n, order="little"):
    """The minimal two's-complement form; zero is no bytes (WIRE.md "bigint")."""
    if n == 0:
        return b""
    length = (n if n >= 0 else ~n).bit_length() // 8 + 1
    return n.to_bytes(length, order, signed=True)


def bigint_is_minimal(raw, order="little"):
    if len(raw) == 0:
        return True
    if order == "big":
        raw = raw[::-1]
    if len(raw) == 1:
        return raw[0] != 0x00
    last, before = raw[-1], raw[-2]
    if last == 0x00 and before < 0x80:
        return False
    if last == 0xFF and before >= 0x80:
        return False
    return True


class Reader:
    """Bytes being decoded and how far the decoder has got."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n, path):
        left = len(self.data) - self.pos
        if n > left:
            raise DecodeError("truncated", path, f"needs {n} bytes, {left} left")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk


class Tokens:
    """The tokens of a value in text form, taken one at a time."""

    def __init__(self, words):
        self.words = words
        self.pos = 0

    def take(self, pattern, path):
        if self.pos == len(self.words):
            raise RequestError(f"missing a token for {path}")
        word = self.words[self.pos]
        if not re.fullmatch(pattern, word):
            raise RequestError(f"bad token {word!r} for {path}")
        self.pos += 1
        return word


class Crc:
    """A table-driven CRC of the catalogue."""

    def __init__(self, name):
        width, poly, self.init, self.reflect, self.xorout = CRCS[name]
        self.width, self.mask = width, (1 << width) - 1
        table = []
        if self.reflect:
            rpoly = int(f"{poly:0{width}b}"[::-1], 2)
            for i in range(256):
                c = i
                for _ in range(8):
                    c = (c >> 1) ^ rpoly if c & 1 else c >> 1
                table.append(c)
        else:
            top = 1 << (width - 1)
            for i in range(256):
                c = i << (width - 8)
                for _ in range(8):
                    c = (c << 1) ^ poly if c & top else c << 1
                table.append(c & self.mask)
        self.table = table

    def update(self, crc, data):
        t = self.table
        if self.reflect:
            for b in data:
                crc = (crc >> 8) ^ t[(crc ^ b) & 0xFF]
        else:
            shift, mask = self.width - 8, self.mask
            for b in data:
                crc = ((crc << 8) & mask) ^ t[((crc >> shift) ^ b) & 0xFF]
        return crc


class Schema:
    """A schema file, with every field type parsed into a Type."""

    def __init__(self, path=SCHEMA_PATH, plans_path=PLANS_PATH):
        """plans_path: the generated plans to use if they match; None for the walker alone."""
        raw = Path(path).read_bytes()
        self.sha256 = hashlib.sha256(raw).hexdigest()
        doc = tomllib.loads(raw.decode("utf-8"))
        fmt = doc["format"]
        self.order = fmt["byte_order"]
        self.version = fmt.get("version", 1)
        self.speaking = self.version          # VERSION n changes it
        self.max_payload = fmt["max_payload"]
        self.layout = fmt.get("layout", "packed")
        self.trim = fmt.get("trailing_zeros", "keep") == "trim"
        self.enums = {name: decl for name, decl in doc.get("enums", {}).items()}
        self.flag_sets = {name: decl for name, decl in doc.get("flags", {}).items()}
        self.union_decls = doc.get("unions", {})
        self._cases = {}
        self.struct_decls = doc.get("structs", {})
        self.struct_names = set(self.struct_decls)
        self.layouts = {}   # struct or message name -> [Field], padding included
        for name in self.struct_decls:
            self.struct_layout(name)
        self.messages = {}  # name -> (id, direction, seed)
        for name, decl in doc["messages"].items():
            order = decl.get("byte_order", self.order)
            self.layouts[name] = self.parse_fields(decl["fields"], order, decl.get("layout", self.layout))
            self.messages[name] = (decl.get("id", 0), decl.get("direction", ""), decl.get("checksum_seed", 0))
        self.message_ids = {name: m[0] for name, m in self.messages.items()}
        self.fields = {n: [(f.name, f.type) for f in fs if f.role in ("value", "pad")] for n, fs in self.layouts.items()}
        self.frame = doc.get("frame")
        self.parse_frame()
        self.use_codec(plans_path)

    # ------------------------------------------------------------ reading the schema

    def struct_layout(self, name):
        if name not in self.layouts:
            decl = self.struct_decls[name]
            self.layouts[name] = None  # a cycle would recurse: the harness refuses those schemas
            self.layouts[name] = self.parse_fields(decl["fields"], decl.get("byte_order", self.order),
                                                   decl.get("layout", self.layout))
        return self.layouts[name]

    def parse_fields(self, decls, order, layout):
        fields = []
        for f in decls:
            forder = f.get("byte_order", order)
            t = self.parse_type(f["type"].replace(" ", ""), forder, f)
            if "const" in f:
                const = f["const"]
                if t.kind == "char":
                    const = const.encode("utf-8")
                elif t.kind == "enum" and isinstance(const, str):
                    const = self.enums[t.name]["values"][const]
                fields.append(Field(f["name"], t, "const", const))
            elif t.kind == "pad":
                fields.append(Field(f["name"], t, "pad"))
            else:
                since = f.get("since", 1)
                default = self.default(t, f.get("default")) if since > 1 else None
                fields.append(Field(f["name"], t, "value", since=since, default=default))
        # the fields that count others carry no value of their own
        targets = {}
        for f in fields:
            for fname, _ in f.type.counts:
                targets[fname] = f.name
        fields = [Field(f.name, f.type, "count", since=f.since, target=targets[f.name]) if f.name in targets else f
                  for f in fields]
        return self.pad_c(fields) if layout == "c" else fields

    def parse_type(self, text, order, f=None):
        """A type of WIRE.md "Types"; the field's keys (max, prefix, unit, count, size, on) go
        to the type it declares."""
        f = f or {}
        if m := re.fullmatch(r"vec<(.+)>", text):
            elem = self.parse_type(m[1], order)
            return Type("vec", elem=elem, max=f.get("max", 0), order=order, **self.counting(f, True))
        if m := re.fullmatch(r"(.+)\[([0-9]+)\]", text):
            base, n = m[1], int(m[2])
            if base in ("char", "pad"):
                return Type(base, size=n)
            return Type("array", size=n, elem=self.parse_type(base, order))
        if m := re.fullmatch(r"([ui])(8|16|24|32|64)", text):
            return Type("int", size=int(m[2]) // 8, signed=m[1] == "i", order=order)
        if text in ("f32", "f64"):
            return Type("float", size=int(text[1:]) // 8, order=order)
        if text == "bool":
            return Type("bool", size=1)
        if text in ("bytes", "string", "bigint"):
            return Type(text, max=f.get("max", 0), order=order, **self.counting(f, False))
        if text in self.enums:
            base = self.parse_type(self.enums[text]["type"], order)
            return Type("enum", size=base.size, signed=base.signed, name=text, order=order)
        if text in self.flag_sets:
            base = self.parse_type(self.flag_sets[text]["type"], order)
            return Type("flags", size=base.size, name=text, order=order)
        if text in self.union_decls:
            return Type("union", name=text, on=f.get("on", ""))
        if text in self.struct_names:
            return Type("struct", name=text)
        raise ValueError(f"schema: unknown type {text!r}")

    def counting(self, f, vec):
        """How a variable-size field says how long it is (WIRE.md, "Lengths and counts")."""
        unit = f.get("unit", "elements") if vec else "bytes"
        specs = []
        if "count" in f:
            specs.append((f["count"], unit))
        if "size" in f:
            specs.append((f["size"], "bytes"))
        if specs:
            return {"prefix": 0, "unit": unit, "counts": tuple(specs)}
        width = {"u8": 1, "u16": 2, "u24": 3, "u32": 4}[f.get("prefix", "u32")]
        return {"prefix": width, "unit": unit}

    def default(self, t, given):
        """An extension field's default: the schema's, or the value of zero bytes."""
        if given is None:
            return self.zero(t)
        if t.kind == "float":
            if isinstance(given, str):
                return int(given, 16)
            fmt = "<f" if t.size == 4 else "<d"
            return int.from_bytes(struct.pack(fmt, given), "little")
        if t.kind == "char":
            return given.encode("utf-8")
        if t.kind == "string":
            return given.encode("utf-8")
        if t.kind == "bytes":
            return bytes.fromhex(given)
        if t.kind == "enum" and isinstance(given, str):
            return self.enums[t.name]["values"][given]
        return given

    def zero(self, t):
        if t.kind in ("int", "enum", "flags", "float", "bigint"):
            return 0
        if t.kind == "bool":
            return False
        if t.kind in ("char", "bytes", "string"):
            return b""
        if t.kind == "vec":
            return []
        if t.kind == "array":
            return [self.zero(t.elem) for _ in range(t.size)]
        if t.kind == "struct":
            return {f.name: self.zero(f.type) for f in self.layouts[t.name] if f.role == "value"}
        raise ValueError(f"no zero value for {t.kind}")

    def size_of(self, t):
        """The fixed size of a type (C-layout and trimmed messages have only those)."""
        if t.kind in ("int", "float", "enum", "flags", "bool"):
            return t.size
        if t.kind in ("char", "pad"):
            return t.size
        if t.kind == "array":
            return t.size * self.size_of(t.elem)
        if t.kind == "struct":
            return sum(self.size_of(f.type) for f in self.struct_layout(t.name))
        raise ValueError(f"{t.kind} has no fixed size")

    def align_of(self, t):
        if t.kind in ("int", "float", "enum", "flags"):
            return t.size
        if t.kind == "array":
            return self.align_of(t.elem)
        if t.kind == "struct":
            return max((self.align_of(f.type) for f in self.struct_layout(t.name)), default=1)
        return 1

    def pad_c(self, fields):
        """C layout: padding before each field to its natural alignment, and at the end."""
        out, off, align = [], 0, 1
        for f in fields:
            a = self.align_of(f.type)
            gap = -off % a
            if gap:
                out.append(Field(f.name, Type("pad", size=gap), "pad", implicit=True))
            out.append(f)
            off += gap + self.size_of(f.type)
            align = max(align, a)
        if -off % align:
            out.append(Field("", Type("pad", size=-off % align), "pad", implicit=True))
        return out

    def parse_frame(self):
        """The declared frame: header fields at their offsets, what the length counts, the
        checksum."""
        self.header, self.header_size = [], 0
        self.checksum = None
        if self.frame is None:
            return
        for h in self.frame["header"]:
            t = self.parse_type(h["type"], h.get("byte_order", self.order))
            role = "const" if "const" in h else h.get("role", "")
            self.header.append(HeaderField(h["name"], t, self.header_size, role, h.get("const", 0)))
            self.header_size += t.size
        self.roles = {h.role: h for h in self.header if h.role in ("id", "length", "seq")}
        self.plain = [h for h in self.header if h.role == ""]
        parts = [h.name for h in self.header] + ["payload"]
        sizes = {h.name: h.type.size for h in self.header}
        c = self.frame.get("checksum")
        self.trailer_size = 0
        if c is not None:
            self.checksum = {"name": c["name"], "crc": Crc(c["algorithm"]), "seed": c.get("seed", ""),
                             "type": Type("int", size=CRCS[c["algorithm"]][0] // 8,
                                          order=c.get("byte_order", self.order))}
            parts.append(c["name"])
            sizes[c["name"]] = self.checksum["type"].size
            self.trailer_size = self.checksum["type"].size
            self.checksum["covers"] = self.part_range(c["covers"], parts)
        length = self.roles.get("length")
        self.length_adjust = 0
        if length is not None:
            spec = next(h for h in self.frame["header"] if h["name"] == length.name).get("counts", "payload")
            self.length_adjust = sum(sizes[p] for p in self.part_range(spec, parts) if p != "payload")

    @property
    def classic_frame(self):
        """Whether the frame is crosswire's own 24-byte header (magic, version, msg_type, flags 0,
        payload_len, seq; little-endian, no checksum): what the shm helper's frame reader (the
        bench's reads on shm, build_shm.py) is written for."""
        shape = [(h.role, h.type.size, h.type.order) for h in self.header]
        want = [("const", 4, "little"), ("const", 2, "little"), ("id", 2, "little"), ("const", 4, "little"),
                ("length", 4, "little"), ("seq", 8, "little")]
        return (self.frame is not None and shape == want and self.header[3].const == 0 and self.length_adjust == 0
                and self.checksum is None and all(0 <= mid < 65536 for mid, _, _ in self.messages.values()))

    @property
    def seq_field(self):
        """The frame's seq header field, or None (no frame, or a frame without one)."""
        return self.roles.get("seq") if self.frame is not None else None

    @property
    def seq_max(self):
        seqf = self.seq_field
        return int_range(seqf.type)[1] if seqf is not None else 0

    @staticmethod
    def part_range(spec, parts):
        first, _, last = spec.partition("..")
        return parts[parts.index(first):parts.index(last or first) + 1]

    def use_codec(self, plans_path):
        """The generated plans of every message they know, or the walker: where a subclass changed
        the walker, where plans_path is None, where the plans are missing or stale, and for the
        messages the plans do not cover."""
        self.plans = None  # the generated module, when its plans are used
        self.encoders = {m: functools.partial(self.walk_encode, m) for m in self.message_ids}
        self.decoders = {m: functools.partial(self.walk_decode, m) for m in self.message_ids}
        self.encode_misses = self.decode_misses = ()  # what sends a plan's input to the walker
        if plans_path is None or any(getattr(type(self), f) is not getattr(Schema, f) for f in WALKER):
            self.planned = (self.encoders, self.decoders)
            return
        plans = load_plans(Path(plans_path), self.sha256)
        if plans is not None:
            self.plans = plans
            for m in self.message_ids:
                if m in plans.ENCODERS:
                    self.encoders[m], self.decoders[m] = plans.ENCODERS[m], plans.DECODERS[m]
            self.encode_misses, self.decode_misses = plans.ENCODE_MISSES, plans.DECODE_MISSES
        self.planned = (self.encoders, self.decoders)

    def plannable(self, name):
        """Whether the plans compile a message: only crosswire's classic kinds, at the newest
        version (plans.py does not know the rest)."""
        if self.trim:
            return False
        return all(self.classic(f) for f in self.layouts[name])

    def classic(self, f):
        if f.role not in ("value", "pad") or f.implicit or f.since > 1:
            return False
        return self.classic_type(f.type)

    def classic_type(self, t):
        if t.kind in ("flags", "union") or (t.kind in ("int", "float", "enum") and t.size > 1 and t.order != "little") \
                or (t.kind in ("int", "enum") and t.size == 3):
            return False
        if t.kind == "enum" and self.enums[t.name].get("open"):
            return False
        if t.kind in ("bytes", "string", "bigint", "vec") and (t.prefix != 4 or (t.kind == "vec" and t.unit != "elements")):
            return False
        if t.kind in ("bigint",) and t.order != "little":
            return False
        if t.elem is not None and not self.classic_type(t.elem):
            return False
        if t.kind == "struct":
            return all(self.classic(f) for f in self.layouts[t.name])
        return True

    def at_version(self, name):
        """The fields a peer speaking the current version reads and writes."""
        return [f for f in self.layouts[name] if f.since <= self.speaking]

    # ------------------------------------------------------------ value -> bytes

    def speak(self, version):
        """VERSION n: at an older version every message goes through the walker (the plans are
        the newest version's)."""
        self.speaking = version
        if version == self.version:
            self.encoders, self.decoders = self.planned
        else:
            self.encoders = {m: functools.partial(self.walk_encode, m) for m in self.message_ids}
            self.decoders = {m: functools.partial(self.walk_decode, m) for m in self.message_ids}

    def encode(self, message, value):
        try:
            return self.encoders[message](value)
        except self.encode_misses:
            return self.walk_encode(message, value)  # raises the error the plan only detected

    def walk_encode(self, message, value):
        out = bytearray()
        self.encode_fields(self.at_version(message), value, message, out)
        if self.trim:
            n = len(out)
            while n > 1 and out[n - 1] == 0:
                n -= 1
            del out[n:]
        return bytes(out)

    def encode_fields(self, fields, value, path, out):
        for f in fields:
            where = f"{path}.{f.name}" if f.name else path
            if f.role == "pad":
                out += bytes(f.type.size)
            elif f.role == "const":
                self.encode_value(f.type, f.const, where, out)
            elif f.role == "count":
                self.encode_count(f, fields, value, out)
            elif f.type.kind == "union":
                self.encode_union(f.type, value, value.get(f.name), where, out)
            else:
                self.encode_value(f.type, value.get(f.name), where, out)

    def encode_count(self, f, fields, value, out):
        """A count or size field: the length of the field it counts (checked when that is written)."""
        target = next(x for x in fields if x.name == f.target)
        t, v = target.type, value.get(f.target)
        unit = dict(t.counts)[f.name]
        if t.kind == "bigint":
            n = len(bigint_to_bytes(v, t.order))
        elif t.kind == "vec" and unit == "bytes":
            n = len(v) * self.size_of(t.elem)
        else:
            n = len(v)
        self.encode_int(f.type, min(n, int_range(f.type)[1]), out)

    def encode_union(self, t, parent, v, path, out):
        cases = self.union_cases(t.name)
        tag = parent.get(t.on)
        if tag not in cases:
            raise EncodeError("union", path, f"{t.on} = {tag} picks no case of {t.name}")
        if cases[tag] is not None:
            self.encode_value(cases[tag], v, path, out)

    def union_cases(self, name):
        cached = self._cases.get(name)
        if cached is None:
            cached = self._cases[name] = self.read_cases(name)
        return cached

    def read_cases(self, name):
        decl = self.union_decls[name]
        values = self.enums[decl["type"]]["values"] if decl["type"] in self.enums else {}
        return {values.get(c["tag"], c["tag"]): self.parse_type(c["type"], self.order) if "type" in c else None
                for c in decl["cases"]}

    def encode_int(self, t, v, out):
        out += v.to_bytes(t.size, t.order, signed=t.signed)

    def encode_value(self, t, v, path, out):
        if t.kind == "int":
            low, high = int_range(t)
            if not low <= v <= high:
                raise EncodeError("range", path, f"{v} is outside {low}..{high}")
            self.encode_int(t, v, out)
        elif t.kind == "enum":
            decl = self.enums[t.name]
            low, high = int_range(t)
            if decl.get("open"):
                if not low <= v <= high:
                    raise EncodeError("range", path, f"{v} is outside {low}..{high}")
            elif v not in decl["values"].values():
                raise EncodeError("enum", path, f"{v} is not a value of {t.name}")
            self.encode_int(t, v, out)
        elif t.kind == "flags":
            low, high = int_range(t)
            if not low <= v <= high:
                raise EncodeError("range", path, f"{v} is outside {low}..{high}")
            if v & ~self.flag_mask(t) and self.flag_sets[t.name].get("unknown", "refuse") == "refuse":
                raise EncodeError("flags", path, f"{v:#x} sets bits {t.name} does not name")
            self.encode_int(t, v, out)
        elif t.kind == "float":
            out += v.to_bytes(t.size, t.order)
        elif t.kind == "bool":
            out.append(1 if v else 0)
        elif t.kind == "char":
            if b"\0" in v:
                raise EncodeError("char", path, "NUL inside the text")
            if len(v) > t.size:
                raise EncodeError("length", path, f"{len(v)} bytes, at most {t.size}")
            out += v.ljust(t.size, b"\0")
        elif t.kind in ("bytes", "string"):
            if len(v) > t.max:
                raise EncodeError("length", path, f"{len(v)} bytes, at most {t.max}")
            if t.kind == "string" and not is_utf8(v):
                raise EncodeError("utf8", path, "not valid UTF-8")
            self.encode_prefix(t, len(v), out)
            out += v
        elif t.kind == "bigint":
            raw = bigint_to_bytes(v, t.order)
            if len(raw) > t.max:
                raise EncodeError("length", path, f"needs {len(raw)} bytes, at most {t.max}")
            self.encode_prefix(t, len(raw), out)
            out += raw
        elif t.kind == "array":
            for i, item in enumerate(v):
                self.encode_value(t.elem, item, f"{path}[{i}]", out)
        elif t.kind == "vec":
            if len(v) > t.max:
                raise EncodeError("length", path, f"{len(v)} items, at most {t.max}")
            self.encode_prefix(t, len(v) * (self.size_of(t.elem) if t.unit == "bytes" else 1), out)
            for i, item in enumerate(v):
                self.encode_value(t.elem, item, f"{path}[{i}]", out)
        elif t.kind == "struct":
            self.encode_fields(self.struct_layout(t.name), v, path, out)

    def encode_prefix(self, t, n, out):
        if t.prefix:
            out += n.to_bytes(t.prefix, t.order)

    def flag_mask(self, t):
        return sum(1 << b for b in self.flag_sets[t.name]["bits"].values())

    # ------------------------------------------------------------ bytes -> value

    def decode(self, message, payload):
        try:
            return self.decoders[message](payload)
        except self.decode_misses:
            return self.walk_decode(message, payload)  # raises the error the plan only detected

    def walk_decode(self, message, payload):
        """WIRE.md "Versions" and "Trailing zeros": the fields of the version spoken; a payload
        that ends where an extension group starts leaves that group and the later ones at their
        defaults; the bytes of newer fields are ignored."""
        fields = self.at_version(message)
        if self.trim:
            full = sum(self.size_of(f.type) for f in fields)
            if len(payload) < full:
                payload = bytes(payload) + bytes(full - len(payload))
        reader = Reader(payload)
        value = {}
        groups = sorted({f.since for f in fields})
        for group in groups:
            if group > 1 and reader.pos == len(payload):
                break
            part = [f for f in fields if f.since == group]
            value.update(self.decode_fields(part, reader, message))
        newer = any(f.since > self.speaking for f in self.layouts[message])
        left = len(payload) - reader.pos
        if left and not newer:
            raise DecodeError("trailing", message, f"{left} bytes left over")
        for f in self.layouts[message]:
            if f.role == "value" and f.name not in value:
                value[f.name] = f.default
        return {f.name: value[f.name] for f in self.layouts[message] if f.role == "value"}

    def decode_fields(self, fields, reader, path):
        value, counts = {}, {}
        for f in fields:
            where = f"{path}.{f.name}" if f.name else path
            t = f.type
            if f.role == "pad":
                if any(reader.take(t.size, where)):
                    raise DecodeError("padding", where, "a non-zero padding byte")
            elif f.role == "const":
                if t.kind == "char":   # the very bytes: the text and its NUL padding
                    got, want = reader.take(t.size, where), f.const.ljust(t.size, b"\0")
                    if got != want:
                        raise DecodeError("const", where, f"x{got.hex()} is not the constant x{want.hex()}")
                    continue
                got = self.decode_value(t, reader, where, check=False)
                if got != f.const:
                    raise DecodeError("const", where, f"{got!r} is not the constant {f.const!r}")
            elif f.role == "count":
                counts[f.name] = self.decode_value(t, reader, where)
            elif t.kind == "union":
                cases = self.union_cases(t.name)
                tag = value[t.on]
                if tag not in cases:
                    raise DecodeError("union", where, f"{t.on} = {tag} picks no case of {t.name}")
                value[f.name] = None if cases[tag] is None else self.decode_value(cases[tag], reader, where)
            elif t.prefix == 0 and t.kind in ("bytes", "string", "bigint", "vec"):
                value[f.name] = self.decode_counted(t, counts, reader, where)
            else:
                value[f.name] = self.decode_value(t, reader, where)
        return value

    def decode_counted(self, t, counts, reader, path):
        """The length from the count fields (every one must agree), then the contents."""
        n = first = None
        for fname, unit in t.counts:
            got = counts[fname]
            if t.kind == "vec" and unit == "bytes":
                width = self.size_of(t.elem)
                if got % width:
                    raise DecodeError("length", path, f"{fname} says {got} bytes: not whole elements")
                got //= width
            if n is None:
                n, first = got, fname
            elif got != n:
                raise DecodeError("length", path, f"{fname} and {first} disagree")
        return self.decode_contents(t, n, reader, path)

    def decode_value(self, t, reader, path, check=True):
        if t.kind == "int":
            return int.from_bytes(reader.take(t.size, path), t.order, signed=t.signed)
        if t.kind == "enum":
            v = int.from_bytes(reader.take(t.size, path), t.order, signed=t.signed)
            decl = self.enums[t.name]
            if check and not decl.get("open") and v not in decl["values"].values():
                raise DecodeError("enum", path, f"{v} is not a value of {t.name}")
            return v
        if t.kind == "flags":
            v = int.from_bytes(reader.take(t.size, path), t.order)
            if check and v & ~self.flag_mask(t) and self.flag_sets[t.name].get("unknown", "refuse") == "refuse":
                raise DecodeError("flags", path, f"{v:#x} sets bits {t.name} does not name")
            return v
        if t.kind == "float":
            return int.from_bytes(reader.take(t.size, path), t.order)
        if t.kind == "bool":
            byte = reader.take(1, path)[0]
            if byte not in (0, 1):
                raise DecodeError("bool", path, f"byte {byte:#04x} is neither 0 nor 1")
            return byte == 1
        if t.kind == "char":
            text, _, rest = reader.take(t.size, path).partition(b"\0")
            if check and any(rest):
                raise DecodeError("char", path, "a non-NUL byte after the first NUL")
            return text
        if t.kind in ("bytes", "string", "bigint", "vec"):
            length = int.from_bytes(reader.take(t.prefix, path), t.order)
            if t.kind == "vec" and t.unit == "bytes":
                width = self.size_of(t.elem)
                if length % width:
                    raise DecodeError("length", path, f"{length} bytes: not whole elements")
                length //= width
            return self.decode_contents(t, length, reader, path)
        if t.kind == "array":
            return [self.decode_value(t.elem, reader, f"{path}[{i}]") for i in range(t.size)]
        if t.kind == "struct":
            return self.decode_fields(self.struct_layout(t.name), reader, path)
        raise ValueError(f"unknown kind {t.kind}")

    def decode_contents(self, t, length, reader, path):
        if length > t.max:
            unit = "items" if t.kind == "vec" else "bytes"
            raise DecodeError("length", path, f"{length} {unit}, at most {t.max}")
        if t.kind == "vec":
            return [self.decode_value(t.elem, reader, f"{path}[{i}]") for i in range(length)]
        raw = reader.take(length, path)
        if t.kind == "string" and not is_utf8(raw):
            raise DecodeError("utf8", path, "not valid UTF-8")
        if t.kind == "bigint":
            if not bigint_is_minimal(raw, t.order):
                raise DecodeError("bigint", path, "not the minimal form")
            return int.from_bytes(raw, t.order, signed=True)
        return raw

    # ------------------------------------------------------------ text -> value

    def parse_text(self, message, words):
        tokens = Tokens(words)
        value = self.parse_struct(self.layouts[message], tokens, message)
        left = len(words) - tokens.pos
        if left:
            raise RequestError(f"{left} tokens left over after the value of {message}")
        return value

    def parse_struct(self, fields, tokens, path):
        value = {}
        for f in fields:
            if f.role != "value":
                continue
            where = f"{path}.{f.name}"
            if f.type.kind == "union":
                case = self.union_cases(f.type.name).get(value[f.type.on])
                value[f.name] = None if case is None else self.parse_value(case, tokens, where)
            else:
                value[f.name] = self.parse_value(f.type, tokens, where)
        return value

    def parse_value(self, t, tokens, path):
        if t.kind == "struct":
            return self.parse_struct(self.struct_layout(t.name), tokens, path)
        if t.kind == "array":
            return [self.parse_value(t.elem, tokens, f"{path}[{i}]") for i in range(t.size)]
        if t.kind == "float":
            return int(tokens.take(f"0x[0-9a-fA-F]{{{2 * t.size}}}", path), 16)
        token = tokens.take(TOKEN_PATTERNS[t.kind], path)
        if t.kind == "vec":
            count = int(token)
            if count > t.max + len(tokens.words) - tokens.pos:  # bounded even when items take no token
                raise RequestError(f"count {count} for {path} is more than max {t.max} and the tokens left")
            return [self.parse_value(t.elem, tokens, f"{path}[{i}]") for i in range(count)]
        if t.kind in ("int", "enum", "flags"):
            return int(token)
        if t.kind == "bool":
            return token == "true"
        if t.kind in ("char", "bytes", "string"):
            return bytes.fromhex(token[1:])
        if t.kind == "bigint":
            sign = -1 if token.startswith("-") else 1
            return sign * int(token.lstrip("-")[2:], 16)
        raise ValueError(f"unknown kind {t.kind}")

    # ------------------------------------------------------------ value -> text

    def format_text(self, message, value):
        out = []
        self.format_struct(self.layouts[message], value, out)
        return out

    def format_struct(self, fields, value, out):
        for f in fields:
            if f.role != "value":
                continue
            if f.type.kind == "union":
                case = self.union_cases(f.type.name).get(value[f.type.on])
                if case is not None:
                    self.format_value(case, value[f.name], out)
            else:
                self.format_value(f.type, value[f.name], out)

    def format_value(self, t, v, out):
        if t.kind in ("int", "enum", "flags"):
            out.append(str(v))
        elif t.kind == "float":
            out.append(f"0x{v:0{2 * t.size}x}")
        elif t.kind == "bool":
            out.append("true" if v else "false")
        elif t.kind in ("char", "bytes", "string"):
            out.append("x" + v.hex())
        elif t.kind == "bigint":
            out.append(f"-0x{-v:x}" if v < 0 else f"0x{v:x}")
        elif t.kind == "array":
            for item in v:
                self.format_value(t.elem, item, out)
        elif t.kind == "vec":
            out.append(str(len(v)))
            for item in v:
                self.format_value(t.elem, item, out)
        elif t.kind == "struct":
            self.format_struct(self.struct_layout(t.name), v, out)

    # ------------------------------------------------------------ frames (WIRE.md, "Frame")

    def require_frame(self):
        if self.frame is None:
            raise PeerError("unsupported", "the schema declares no frame")

    def parse_header_values(self, words):
        """The plain header fields' tokens of SEND, decimal, in header order."""
        if len(words) < len(self.plain):
            raise RequestError(f"missing a token for frame.{self.plain[len(words)].name}")
        values = []
        for h, word in zip(self.plain, words):
            if not re.fullmatch(r"-?[0-9]+", word):
                raise RequestError(f"bad token {word!r} for frame.{h.name}")
            values.append(int(word))
        return values

    def encode_frame(self, message, seq, payload, header=()):
        """The whole frame: the header fields in order, the payload, the checksum."""
        self.require_frame()
        msg_id, _, seed = self.messages[message]
        if len(payload) > self.max_payload:
            raise EncodeError("length", message, f"{len(payload)} payload bytes, at most {self.max_payload}")
        seqf = self.roles.get("seq")
        if seqf is None and seq != 0:
            raise EncodeError("range", "frame.seq", f"{seq}: the frame has no seq, it must be 0")
        plain = iter(header)
        values = []
        for h in self.header:
            if h.role == "const":
                values.append(h.const)
            elif h.role == "id":
                values.append(msg_id)
            elif h.role == "length":
                values.append(len(payload) + self.length_adjust)
            elif h.role == "seq":
                values.append(seq)
            else:
                values.append(next(plain, 0))
        checks = sorted(zip(self.header, values), key=lambda hv: hv[0].role != "seq")  # the seq first
        for h, v in checks:
            low, high = int_range(h.type)
            if not low <= v <= high:
                raise EncodeError("range", f"frame.{h.name}", f"{v} is outside {low}..{high}")
        out = bytearray()
        for h, v in zip(self.header, values):
            out += v.to_bytes(h.type.size, h.type.order, signed=h.type.signed)
        out += payload
        if self.checksum is not None:
            c = self.checksum
            out += self.crc_of(out, len(payload), seed).to_bytes(c["type"].size, c["type"].order)
        return bytes(out)

    def crc_of(self, frame, payload_len, seed):
        """The checksum of a frame (its header and payload at the start of `frame`)."""
        c = self.checksum
        crc = c["crc"]
        value = crc.init
        if c["seed"] == "before":
            value = crc.update(value, bytes([seed]))
        spans = {h.name: (h.offset, h.offset + h.type.size) for h in self.header}
        spans["payload"] = (self.header_size, self.header_size + payload_len)
        start, end = spans[c["covers"][0]][0], spans[c["covers"][-1]][1]
        value = crc.update(value, memoryview(frame)[start:end])
        if c["seed"] == "after":
            value = crc.update(value, bytes([seed]))
        return value ^ crc.xorout

    def decode_header(self, data, direction="", consts=True):
        """Check a frame header in the order of WIRE.md ("Receiving"): the constants, the id, the
        length. Return (message, payload_len, seq, plain header values, the frame's size).
        consts=False (a framing adapter's library judges the frame): only what finds the frame and
        its message, the id and the length, is checked."""
        self.require_frame()
        values = {h.name: int.from_bytes(data[h.offset:h.offset + h.type.size], h.type.order, signed=h.type.signed)
                  for h in self.header}
        for h in self.header:
            if consts and h.role == "const" and values[h.name] != h.const:
                raise DecodeError("const", f"frame.{h.name}", f"{values[h.name]:#x} is not {h.const:#x}")
        idf = self.roles.get("id")
        candidates = [name for name, (mid, side, _) in self.messages.items()
                      if (idf is None or mid == values[idf.name]) and (not direction or not side or side == direction)]
        where = f"frame.{idf.name}" if idf else "frame"
        if not candidates:
            raise DecodeError("type", where, f"no message has id {values[idf.name] if idf else '-'}")
        if len(candidates) > 1:
            which = f"id {values[idf.name]}" if idf else "a frame without an id"
            raise DecodeError("type", where, f"{which} is {' and '.join(candidates)}: say the direction")
        message = candidates[0]
        lenf = self.roles.get("length")
        if lenf is not None:
            n = values[lenf.name]
            if n < self.length_adjust:
                raise DecodeError("length", f"frame.{lenf.name}", f"{n}, less than the {self.length_adjust} bytes "
                                  "it counts besides the payload")
            length = n - self.length_adjust
            if length > self.max_payload:
                raise DecodeError("length", f"frame.{lenf.name}", f"{length} bytes, at most {self.max_payload}")
        else:
            length = sum(self.size_of(f.type) for f in self.layouts[message])
        seqf = self.roles.get("seq")
        return (message, length, values[seqf.name] if seqf else 0, [values[h.name] for h in self.plain],
                self.header_size + length + self.trailer_size)

    def check_checksum(self, frame, message, payload_len):
        """A whole frame's checksum against the one computed."""
        if self.checksum is None:
            return
        c = self.checksum
        at = self.header_size + payload_len
        got = int.from_bytes(frame[at:at + c["type"].size], c["type"].order)
        want = self.crc_of(frame, payload_len, self.messages[message][2])
        if got != want:
            raise DecodeError("checksum", f"frame.{c['name']}", f"{got:#x}, computed {want:#x}")


def is_utf8(raw):
    """Strict UTF-8 (RFC 3629): Python's decoder refuses overlongs, surrogates and > U+10FFFF."""
    try:
        raw.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


# ------------------------------------------------------------------ the generated plans

# A subclass that overrides one of these gets the walker only.
WALKER = ("walk_encode", "encode_fields", "encode_value", "walk_decode", "decode_fields", "decode_value",
          "decode_contents")
NOTED = set()  # the notes already written on stderr


def load_plans(path, sha256):
    """The module at path (build/cw_plans.py) if it was generated from the schema whose hash is
    sha256; else None, after a note on stderr (once per process) that the walker runs."""
    if not path.is_file():
        return note(f"codec: {path.parent.name}/{path.name} is missing; the walker runs (slower). "
                    "Run `make peers`.")
    spec = importlib.util.spec_from_file_location("cw_plans", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if getattr(module, "SCHEMA_SHA256", None) != sha256:
        return note(f"codec: {path.parent.name}/{path.name} is stale (generated from another schema.toml); "
                    "the walker runs (slower). Run `make peers`.")
    return module


def note(text):
    if text not in NOTED:
        NOTED.add(text)
        print(text, file=sys.stderr, flush=True)
    return None
