"""The crosswire wire codec, read straight from protocols/schema.toml.

The bytes are those of protocols/WIRE.md; the text form of values is the one of
protocols/PEER_CONTRACT.md ("Values as text"). Standard library only, and nothing from the
harness, whose codec is checked against this.

Two codecs share the schema, and always agree:

- the walker: small recursive functions, one per direction (encode_value, decode_value, ...),
  that follow the types field by field and name every error with its code and path;
- the plans (Plans, below): at schema load each message is compiled into one Python function
  per direction, where each run of consecutive fixed-size fields (nested fixed structs and
  arrays included) is one precompiled struct.Struct. A plan checks everything the walker checks
  (ranges through struct itself, enum values, bool bytes, padding, chars, lengths, UTF-8,
  minimal bigints, every byte used) but does not say why: when a check fails, the walker runs
  on the same input and raises the error with its code and path.

encode() and decode() run the plan; the walker alone runs for a subclass that overrides its
functions (tests/faulty_peer).
"""
import functools
import re
import struct
import tomllib
from dataclasses import dataclass
from pathlib import Path

SCHEMA_PATH = Path(__file__).resolve().parent / ".." / ".." / "protocols" / "schema.toml"

# f32 and f64 travel as their bit patterns and are never turned into Python floats,
# which would quiet signalling NaNs.
FLOAT_FORMATS = {4: "<I", 8: "<Q"}
INT_FORMATS = {(1, False): "B", (2, False): "H", (4, False): "I", (8, False): "Q",
               (1, True): "b", (2, True): "h", (4, True): "i", (8, True): "q"}

HEX = r"x(?:[0-9a-fA-F]{2})*"
TOKEN_PATTERNS = {
    "int": r"-?[0-9]+",
    "enum": r"-?[0-9]+",
    "vec": r"[0-9]+",
    "bool": r"true|false",
    "char": HEX,
    "bytes": HEX,
    "string": HEX,
    "bigint": r"-?0x[0-9a-fA-F]+",
}


class PeerError(Exception):
    """An error the peer replies as `ERR <kind> <message>`."""

    def __init__(self, kind, message):
        super().__init__(f"{kind} {message}")
        self.kind = kind


class DecodeError(PeerError):
    def __init__(self, code, path, detail):
        super().__init__("decode", f"{code} {path} {detail}")


class EncodeError(PeerError):
    def __init__(self, code, path, detail):
        super().__init__("encode", f"{code} {path} {detail}")


class RequestError(PeerError):
    def __init__(self, detail):
        super().__init__("request", detail)


@dataclass(frozen=True)
class Type:
    kind: str                   # int float bool enum char bytes string bigint array vec struct pad
    size: int = 0               # bytes of an int, float or enum; N of char[N], pad[N], T[N]
    signed: bool = False        # of an int or enum
    name: str = ""              # of an enum or struct
    elem: "Type | None" = None  # T of T[N] and vec<T>
    max: int = 0                # of bytes, string, vec and bigint


def int_range(t):
    bits = 8 * t.size
    if t.signed:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def bigint_to_bytes(n):
    """The minimal two's-complement form, little-endian; zero is no bytes (WIRE.md "bigint")."""
    if n == 0:
        return b""
    length = (n if n >= 0 else ~n).bit_length() // 8 + 1
    return n.to_bytes(length, "little", signed=True)


def bigint_is_minimal(raw):
    if len(raw) == 0:
        return True
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


class Schema:
    """protocols/schema.toml, with every field type parsed into a Type."""

    def __init__(self, path=SCHEMA_PATH):
        with open(path, "rb") as f:
            doc = tomllib.load(f)
        self.version = doc["format"]["version"]
        self.max_payload = doc["format"]["max_payload"]
        self.magic = doc["frame"]["magic"]
        self.enums = {name: decl for name, decl in doc.get("enums", {}).items()}
        self.struct_names = set(doc.get("structs", {}))
        self.message_ids = {name: decl["id"] for name, decl in doc["messages"].items()}
        self.message_names = {id_: name for name, id_ in self.message_ids.items()}
        self.fields = {}  # struct or message name -> [(field name, Type)]
        for table in ("structs", "messages"):
            for name, decl in doc.get(table, {}).items():
                self.fields[name] = self.parse_fields(decl["fields"])
        self.header = self.parse_fields(doc["frame"]["header"])
        self.header_size = sum(t.size for _, t in self.header)
        self.header_struct = struct.Struct("<" + "".join(INT_FORMATS[t.size, t.signed] for _, t in self.header))
        self.compile()

    def compile(self):
        """The plans of every message, or the walker where a subclass changed it."""
        walked = any(getattr(type(self), f) is not getattr(Schema, f) for f in WALKER)
        if walked:
            self.encoders = {m: functools.partial(self.walk_encode, m) for m in self.message_ids}
            self.decoders = {m: functools.partial(self.walk_decode, m) for m in self.message_ids}
            return
        plans = Plans(self)
        self.encoders = {m: plans.encoder(m) for m in self.message_ids}
        self.decoders = {m: plans.decoder(m) for m in self.message_ids}
        self.plan_source = "\n".join(plans.source)  # what was compiled, for reading

    def parse_fields(self, decls):
        return [(f["name"], self.parse_type(f["type"], f.get("max", 0))) for f in decls]

    def parse_type(self, text, max_):
        """A type of WIRE.md "Types". The field's max goes to the type and its elements."""
        if m := re.fullmatch(r"vec<(.+)>", text):
            return Type("vec", elem=self.parse_type(m[1], max_), max=max_)
        if m := re.fullmatch(r"(.+)\[([0-9]+)\]", text):
            base, n = m[1], int(m[2])
            if base in ("char", "pad"):
                return Type(base, size=n)
            return Type("array", size=n, elem=self.parse_type(base, max_))
        if m := re.fullmatch(r"([ui])(8|16|32|64)", text):
            return Type("int", size=int(m[2]) // 8, signed=m[1] == "i")
        if text in ("f32", "f64"):
            return Type("float", size=int(text[1:]) // 8)
        if text == "bool":
            return Type("bool")
        if text in ("bytes", "string", "bigint"):
            return Type(text, max=max_)
        if text in self.enums:
            base = self.parse_type(self.enums[text]["type"], 0)
            return Type("enum", size=base.size, signed=base.signed, name=text)
        if text in self.struct_names:
            return Type("struct", name=text)
        raise ValueError(f"schema: unknown type {text!r}")

    # ------------------------------------------------------------ value -> bytes

    def encode(self, message, value):
        try:
            return self.encoders[message](value)
        except PLAN_ENCODE_MISSES:
            return self.walk_encode(message, value)  # raises the error the plan only detected

    def walk_encode(self, message, value):
        out = bytearray()
        self.encode_fields(message, value, message, out)
        return bytes(out)

    def encode_fields(self, struct_name, value, path, out):
        for name, t in self.fields[struct_name]:
            self.encode_value(t, value.get(name), f"{path}.{name}", out)

    def encode_value(self, t, v, path, out):
        if t.kind == "int":
            low, high = int_range(t)
            if not low <= v <= high:
                raise EncodeError("range", path, f"{v} is outside {low}..{high}")
            out += v.to_bytes(t.size, "little", signed=t.signed)
        elif t.kind == "enum":
            if v not in self.enums[t.name]["values"].values():
                raise EncodeError("enum", path, f"{v} is not a value of {t.name}")
            out += v.to_bytes(t.size, "little", signed=t.signed)
        elif t.kind == "float":
            out += struct.pack(FLOAT_FORMATS[t.size], v)
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
            out += struct.pack("<I", len(v)) + v
        elif t.kind == "bigint":
            raw = bigint_to_bytes(v)
            if len(raw) > t.max:
                raise EncodeError("length", path, f"needs {len(raw)} bytes, at most {t.max}")
            out += struct.pack("<I", len(raw)) + raw
        elif t.kind == "array":
            for i, item in enumerate(v):
                self.encode_value(t.elem, item, f"{path}[{i}]", out)
        elif t.kind == "vec":
            if len(v) > t.max:
                raise EncodeError("length", path, f"{len(v)} items, at most {t.max}")
            out += struct.pack("<I", len(v))
            for i, item in enumerate(v):
                self.encode_value(t.elem, item, f"{path}[{i}]", out)
        elif t.kind == "struct":
            self.encode_fields(t.name, v, path, out)
        elif t.kind == "pad":
            out += bytes(t.size)

    # ------------------------------------------------------------ bytes -> value

    def decode(self, message, payload):
        try:
            return self.decoders[message](payload)
        except PLAN_DECODE_MISSES:
            return self.walk_decode(message, payload)  # raises the error the plan only detected

    def walk_decode(self, message, payload):
        reader = Reader(payload)
        value = self.decode_fields(message, reader, message)
        left = len(payload) - reader.pos
        if left:
            raise DecodeError("trailing", message, f"{left} bytes left over")
        return value

    def decode_fields(self, struct_name, reader, path):
        value = {}
        for name, t in self.fields[struct_name]:
            item = self.decode_value(t, reader, f"{path}.{name}")
            if t.kind != "pad":
                value[name] = item
        return value

    def decode_value(self, t, reader, path):
        if t.kind == "int":
            return int.from_bytes(reader.take(t.size, path), "little", signed=t.signed)
        if t.kind == "enum":
            v = int.from_bytes(reader.take(t.size, path), "little", signed=t.signed)
            if v not in self.enums[t.name]["values"].values():
                raise DecodeError("enum", path, f"{v} is not a value of {t.name}")
            return v
        if t.kind == "float":
            return struct.unpack(FLOAT_FORMATS[t.size], reader.take(t.size, path))[0]
        if t.kind == "bool":
            byte = reader.take(1, path)[0]
            if byte not in (0, 1):
                raise DecodeError("bool", path, f"byte {byte:#04x} is neither 0 nor 1")
            return byte == 1
        if t.kind == "char":
            text, _, rest = reader.take(t.size, path).partition(b"\0")
            if any(rest):
                raise DecodeError("char", path, "a non-NUL byte after the first NUL")
            return text
        if t.kind in ("bytes", "string", "bigint"):
            length = self.decode_length(t, reader, path, "bytes")
            raw = reader.take(length, path)
            if t.kind == "string" and not is_utf8(raw):
                raise DecodeError("utf8", path, "not valid UTF-8")
            if t.kind == "bigint":
                if not bigint_is_minimal(raw):
                    raise DecodeError("bigint", path, "not the minimal form")
                return int.from_bytes(raw, "little", signed=True)
            return raw
        if t.kind == "array":
            return [self.decode_value(t.elem, reader, f"{path}[{i}]") for i in range(t.size)]
        if t.kind == "vec":
            count = self.decode_length(t, reader, path, "items")
            return [self.decode_value(t.elem, reader, f"{path}[{i}]") for i in range(count)]
        if t.kind == "struct":
            return self.decode_fields(t.name, reader, path)
        if t.kind == "pad":
            if any(reader.take(t.size, path)):
                raise DecodeError("padding", path, "a non-zero padding byte")
            return None
        raise ValueError(f"unknown kind {t.kind}")

    def decode_length(self, t, reader, path, unit):
        length = struct.unpack("<I", reader.take(4, path))[0]
        if length > t.max:
            raise DecodeError("length", path, f"{length} {unit}, at most {t.max}")
        return length

    # ------------------------------------------------------------ text -> value

    def parse_text(self, message, words):
        tokens = Tokens(words)
        value = self.parse_struct(message, tokens, message)
        left = len(words) - tokens.pos
        if left:
            raise RequestError(f"{left} tokens left over after the value of {message}")
        return value

    def parse_struct(self, struct_name, tokens, path):
        return {name: self.parse_value(t, tokens, f"{path}.{name}")
                for name, t in self.fields[struct_name] if t.kind != "pad"}

    def parse_value(self, t, tokens, path):
        if t.kind == "struct":
            return self.parse_struct(t.name, tokens, path)
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
        if t.kind in ("int", "enum"):
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
        self.format_struct(message, value, out)
        return out

    def format_struct(self, struct_name, value, out):
        for name, t in self.fields[struct_name]:
            if t.kind != "pad":
                self.format_value(t, value[name], out)

    def format_value(self, t, v, out):
        if t.kind in ("int", "enum"):
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
            self.format_struct(t.name, v, out)

    # ------------------------------------------------------------ frames

    def encode_frame(self, message, seq, payload):
        header = {"magic": self.magic, "version": self.version,
                  "msg_type": self.message_ids[message], "flags": 0,
                  "payload_len": len(payload), "seq": seq}
        try:
            return self.header_struct.pack(*[header[name] for name, _ in self.header]) + payload
        except struct.error:
            pass  # a value out of range: the walker names it
        out = bytearray()
        for name, t in self.header:
            self.encode_value(t, header[name], f"frame.{name}", out)
        return bytes(out) + payload

    def decode_header(self, data):
        """Check a frame header in the order of WIRE.md; return (message, payload_len, seq)."""
        try:
            h = dict(zip([name for name, _ in self.header], self.header_struct.unpack_from(data)))
        except struct.error:  # cut short: the walker names the field
            reader = Reader(data)
            h = {name: self.decode_value(t, reader, f"frame.{name}") for name, t in self.header}
        if h["magic"] != self.magic:
            raise DecodeError("magic", "frame.magic", f"{h['magic']:#010x} is not {self.magic:#010x}")
        if h["version"] != self.version:
            raise DecodeError("version", "frame.version", f"{h['version']} is not {self.version}")
        if h["flags"] != 0:
            raise DecodeError("flags", "frame.flags", f"{h['flags']:#x} is not 0")
        if h["msg_type"] not in self.message_names:
            raise DecodeError("type", "frame.msg_type", f"no message has id {h['msg_type']}")
        if h["payload_len"] > self.max_payload:
            raise DecodeError("length", "frame.payload_len",
                              f"{h['payload_len']} bytes, at most {self.max_payload}")
        return self.message_names[h["msg_type"]], h["payload_len"], h["seq"]


def is_utf8(raw):
    """Strict UTF-8 (RFC 3629): Python's decoder refuses overlongs, surrogates and > U+10FFFF."""
    try:
        raw.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


# ------------------------------------------------------------------ plans (compiled codecs)


class Miss(Exception):
    """A plan found something wrong (or something it does not handle): the walker decides."""


# What a plan raises when the value or payload is not a good one; the walker then runs on it.
PLAN_ENCODE_MISSES = (Miss, struct.error, KeyError, IndexError, TypeError, AttributeError, ValueError,
                      OverflowError)
PLAN_DECODE_MISSES = (Miss, struct.error, IndexError, TypeError, ValueError)
# A subclass that overrides one of these gets the walker only.
WALKER = ("walk_encode", "encode_fields", "encode_value", "walk_decode", "decode_fields", "decode_value",
          "decode_length")
SCALARS = ("int", "float", "enum", "bool")   # leaves with one struct item each
INLINE = 32             # arrays up to this many elements are unrolled into their run
TABLES = 4096           # vec<scalar> up to this max get one precompiled Struct per count


class Plans:
    """Compiles messages into Python functions: encode(value) -> bytes, decode(payload) -> value.

    A run of consecutive fixed-size fields, nested fixed structs and small fixed arrays included,
    is one precompiled struct.Struct: one pack of an argument list read straight out of the
    value's dicts, one unpack into locals that a single dict display turns into the value. A
    variable field (bytes, string, bigint, vec) puts its u32 length into the run before it and
    its bytes after it. Every check of the walker is there, folded into one `if ...: raise Miss`
    per run; struct itself checks integer ranges on pack and lengths on unpack. Element types of
    vec and of big arrays get functions of their own. The source is kept in `source`.
    """

    def __init__(self, schema):
        self.schema = schema
        self.ns = {"Miss": Miss, "bigint_to_bytes": bigint_to_bytes, "bigint_is_minimal": bigint_is_minimal}
        self.source = []
        self.functions = {}  # (direction, Type, top) -> function name in ns

    def encoder(self, message):
        return self.ns[self.function("encode", Type("struct", name=message), top=True)]

    def decoder(self, message):
        return self.ns[self.function("decode", Type("struct", name=message), top=True)]

    # ---------------------------------------------------------------- helpers

    def const(self, value, hint):
        name = f"{hint}{len(self.ns)}"
        self.ns[name] = value
        return name

    def leaf_format(self, t, encoding):
        if t.kind == "bool":
            return "?" if encoding else "B"  # '?' packs truthiness, like the walker's `1 if v else 0`
        if t.kind == "float":
            return FLOAT_FORMATS[t.size][1]
        return INT_FORMATS[t.size, t.signed]

    def enum_values(self, t):
        return self.const(frozenset(self.schema.enums[t.name]["values"].values()), "E")

    def inline(self, t):
        """A fixed-size type whose leaves can all join a run."""
        if t.kind in SCALARS or t.kind in ("char", "pad"):
            return True
        if t.kind == "array":
            return t.size <= INLINE and self.inline(t.elem)
        if t.kind == "struct":
            return all(self.inline(ft) for _, ft in self.schema.fields[t.name])
        return False

    def function(self, direction, t, top=False):
        key = (direction, t, top)
        if key not in self.functions:
            label = t.name or t.kind
            self.functions[key] = name = f"{direction}_{label}" if top else f"{direction}_{label}_{len(self.ns)}"
            self.ns[name] = None  # reserved: element functions may refer to each other
            make = self.encode_function if direction == "encode" else self.decode_function
            src = make(name, t, top)
            self.source.append(src)
            exec(compile(src, f"<plan {name}>", "exec"), self.ns)
        return self.functions[key]

    # ---------------------------------------------------------------- value -> bytes

    def encode_function(self, name, t, top):
        g = _EncodeState(self)
        self.encode_item(t, "v", g)
        g.flush()
        if not g.parts:
            result = "b''"
        elif len(g.parts) == 1:
            result = g.parts[0]
        else:
            result = f"b''.join(({', '.join(g.parts)},))"
        return f"def {name}(v):\n{g.body()}    return {result}\n"

    def encode_item(self, t, v, g):
        k = t.kind
        if k in ("int", "float", "bool"):
            g.arg(self.leaf_format(t, True), v)
        elif k == "enum":
            x = g.local(v)
            g.check(f"{x} not in {self.enum_values(t)}")
            g.arg(self.leaf_format(t, True), x)
        elif k == "char":
            x = g.local(v)
            g.check(f"len({x}) > {t.size} or b'\\x00' in {x}")
            g.arg(f"{t.size}s", x)
        elif k == "pad":
            g.fmt.append(f"{t.size}x")
        elif k == "struct":
            x = g.local(v)
            for name, ft in self.schema.fields[t.name]:
                self.encode_item(ft, f"{x}[{name!r}]", g)
        elif k == "array":
            x = g.local(v)
            if t.elem.kind in ("int", "float", "bool"):
                g.splat(f"{t.size}{self.leaf_format(t.elem, True)}", x, t.size)
                return
            g.check(f"len({x}) != {t.size}")
            if self.inline(t):
                for i in range(t.size):
                    self.encode_item(t.elem, f"{x}[{i}]", g)
            else:
                g.part(f"b''.join(map({self.function('encode', t.elem)}, {x}))")
        elif k in ("bytes", "string"):
            x = g.local(v)
            g.check(f"len({x}) > {t.max}")
            if k == "string":
                g.lines.append(f"{x}.decode('utf-8')")  # UnicodeDecodeError: a miss
            g.arg("I", f"len({x})")
            g.part(x)
        elif k == "bigint":
            raw = g.local(f"bigint_to_bytes({v})", force=True)
            g.check(f"len({raw}) > {t.max}")
            g.arg("I", f"len({raw})")
            g.part(raw)
        elif k == "vec":
            x = g.local(v)
            g.check(f"len({x}) > {t.max}")
            g.arg("I", f"len({x})")
            e = t.elem
            if e.kind in SCALARS and t.max <= TABLES:
                if e.kind == "enum":
                    g.check(f"not {self.enum_values(e)}.issuperset({x})")
                c = self.leaf_format(e, True)
                table = self.const([struct.Struct(f"<{n}{c}") for n in range(t.max + 1)], "V")
                g.part(f"{table}[len({x})].pack(*{x})")
            else:
                g.part(f"b''.join(map({self.function('encode', e)}, {x}))")
        else:
            raise ValueError(f"unknown kind {k}")

    # ---------------------------------------------------------------- bytes -> value

    def decode_function(self, name, t, top):
        g = _DecodeState(self, top)
        value = self.decode_item(t, g)
        g.flush()
        if top and g.base is None and len(g.unpacks) == 1:  # one run, the whole message: exact size
            i, st = g.unpacks[0]
            g.lines[i] = g.lines[i].replace(f"{st}.unpack_from(p, 0)", f"{st}.unpack(p)")
        elif top:
            g.lines.append(f"if {g.offset()} != len(p): raise Miss")
        body = "".join(f"    {line}\n" for line in g.lines)
        if top:
            return f"def {name}(p):\n{body}    return {value}\n"
        return f"def {name}(p, o):\n{body}    return {value}, {g.offset()}\n"

    def decode_item(self, t, g):
        """Lines that read t go into g; the expression of its value is returned."""
        k = t.kind
        if k in ("int", "float"):
            return g.target(self.leaf_format(t, False))
        if k == "enum":
            a = g.target(self.leaf_format(t, False))
            g.conds.append(f"{a} not in {self.enum_values(t)}")
            return a
        if k == "bool":
            a = g.target("B")
            g.conds.append(f"{a} > 1")
            return f"{a} == 1"
        if k == "char":
            a = g.target(f"{t.size}s")
            g.post.append(f"{a} = {a}.rstrip(b'\\x00')")  # then a NUL left inside is one before a non-NUL
            g.conds.append(f"b'\\x00' in {a}")
            return a
        if k == "pad":
            a = g.target(f"{t.size}s")
            g.conds.append(f"{a} != {self.const(bytes(t.size), 'Z')}")
            return None
        if k == "struct":
            items = []
            for name, ft in self.schema.fields[t.name]:
                value = self.decode_item(ft, g)
                if ft.kind != "pad":
                    items.append(f"{name!r}: {value}")
            return "{" + ", ".join(items) + "}"
        if k == "array":
            if self.inline(t):
                return "[" + ", ".join(self.decode_item(t.elem, g) for _ in range(t.size)) + "]"
            g.flush()
            return g.loop(str(t.size), self.function("decode", t.elem))
        if k in ("bytes", "string", "bigint"):
            n = g.target("I")
            g.conds.append(f"{n} > {t.max}")
            g.flush()
            g.dynamic()
            x = g.name()
            g.lines += [f"{x} = p[o:o + {n}]", f"if len({x}) != {n}: raise Miss", f"o += {n}"]
            if k == "string":
                g.lines.append(f"{x}.decode('utf-8')")  # UnicodeDecodeError: a miss
            if k == "bigint":
                g.lines.append(f"if not bigint_is_minimal({x}): raise Miss")
                return f"int.from_bytes({x}, 'little', signed=True)"
            return x
        if k == "vec":
            n = g.target("I")
            g.conds.append(f"{n} > {t.max}")
            g.flush()
            e = t.elem
            if e.kind in SCALARS and t.max <= TABLES:
                g.dynamic()
                c = self.leaf_format(e, False)
                table = self.const([struct.Struct(f"<{i}{c}") for i in range(t.max + 1)], "V")
                xs = g.name()
                g.lines += [f"{xs} = list({table}[{n}].unpack_from(p, o))", f"o += {n} * {struct.calcsize(c)}"]
                if e.kind == "enum":
                    g.lines.append(f"if not {self.enum_values(e)}.issuperset({xs}): raise Miss")
                if e.kind == "bool":
                    g.lines += [f"if {n} and max({xs}) > 1: raise Miss", f"{xs} = [b == 1 for b in {xs}]"]
                return xs
            return g.loop(n, self.function("decode", e))
        raise ValueError(f"unknown kind {k}")


class _EncodeState:
    """An encoder being generated: its lines, its checks (one `if` before the return), the run
    being gathered (formats, arguments) and the parts of the result."""

    def __init__(self, plans):
        self.plans, self.lines, self.conds, self.parts = plans, [], [], []
        self.fmt, self.args, self.splats = [], [], []
        self.locals = 0

    def local(self, expr, force=False):
        if expr.isidentifier() and not force:
            return expr
        name = f"x{self.locals}"
        self.locals += 1
        self.lines.append(f"{name} = {expr}")
        return name

    def check(self, cond):
        self.conds.append(cond)

    def arg(self, fmt, expr):
        self.fmt.append(fmt)
        self.args.append(expr)

    def splat(self, fmt, x, count):
        """An array's items as arguments. struct counts the arguments, so an array of the wrong
        length fails the pack unless another array in the same run makes up for it."""
        self.arg(fmt, f"*{x}")
        self.splats.append(f"len({x}) != {count}")

    def part(self, expr):
        self.flush()
        self.parts.append(expr)

    def flush(self):
        if self.fmt:
            st = self.plans.const(struct.Struct("<" + "".join(self.fmt)), "S")
            self.parts.append(f"{st}.pack({', '.join(self.args)})")
            if len(self.splats) > 1:
                self.conds += self.splats
            self.fmt, self.args, self.splats = [], [], []

    def body(self):
        checks = [f"if {' or '.join(self.conds)}: raise Miss"] if self.conds else []
        return "".join(f"    {line}\n" for line in self.lines + checks)


class _DecodeState:
    """A decoder being generated: its lines, the run being gathered (formats, the locals it
    unpacks into, the lines and checks after the unpack) and where it is in the payload: a
    constant until the first variable field, then the local `o` plus a constant."""

    def __init__(self, plans, top):
        self.plans, self.lines = plans, []
        self.fmt, self.targets, self.post, self.conds = [], [], [], []
        self.base, self.k = (None if top else "o"), 0
        self.unpacks = []  # (line index, struct name) of each run
        self.names = 0

    def name(self):
        self.names += 1
        return f"a{self.names - 1}"

    def target(self, fmt):
        self.fmt.append(fmt)
        self.targets.append(self.name())
        return self.targets[-1]

    def offset(self):
        if self.base is None:
            return str(self.k)
        return f"{self.base} + {self.k}" if self.k else self.base

    def dynamic(self):
        """From here the offset is the local `o`."""
        if self.base is None or self.k:
            self.lines.append(f"o = {self.offset()}")
            self.base, self.k = "o", 0

    def flush(self):
        if not self.fmt:
            return
        st = struct.Struct("<" + "".join(self.fmt))
        name = self.plans.const(st, "S")
        self.unpacks.append((len(self.lines), name))
        self.lines.append(f"{', '.join(self.targets)}, = {name}.unpack_from(p, {self.offset()})")
        self.lines += self.post
        if self.conds:
            self.lines.append(f"if {' or '.join(self.conds)}: raise Miss")
        self.k += st.size
        self.fmt, self.targets, self.post, self.conds = [], [], [], []

    def loop(self, count, function):
        self.dynamic()
        xs = self.name()
        self.lines += [f"{xs} = []", f"for _ in range({count}):", f"    x, o = {function}(p, o)", f"    {xs}.append(x)"]
        return xs
