"""The crosswire wire codec, read straight from protocols/schema.toml.

The bytes are those of protocols/WIRE.md; the text form of values is the one of
protocols/PEER_CONTRACT.md ("Values as text"). Standard library only, and nothing from the
harness, whose codec is checked against this.

Two codecs share the schema, and always agree:

- the walker: small recursive functions, one per direction (encode_value, decode_value, ...),
  that follow the types field by field and name every error with its code and path. It is
  the reference;
- the plans: build/cw_plans.py, generated at build time (`make peers`: build_codec.py, with
  the compiler in plans.py) with one fast function per message and direction. A plan checks
  everything the walker checks but does not say why: when a check fails, the walker runs on
  the same input and raises the error with its code and path.

encode() and decode() run the plan when build/cw_plans.py was generated from the very schema
loaded here (its SCHEMA_SHA256); otherwise the walker runs, and a note on stderr says why. The
walker alone runs for a subclass that overrides its functions (tests/faulty_peer).
"""
import functools
import hashlib
import importlib.util
import re
import struct
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCHEMA_PATH = HERE / ".." / ".." / "protocols" / "schema.toml"
PLANS_PATH = HERE / "build" / "cw_plans.py"  # written by build_codec.py

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

    def __init__(self, path=SCHEMA_PATH, plans_path=PLANS_PATH):
        """plans_path: the generated plans to use if they match; None for the walker alone."""
        raw = Path(path).read_bytes()
        self.sha256 = hashlib.sha256(raw).hexdigest()
        doc = tomllib.loads(raw.decode("utf-8"))
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
        self.use_codec(plans_path)

    def use_codec(self, plans_path):
        """The generated plans of every message, or the walker: where a subclass changed the
        walker, where plans_path is None, and where the plans are missing or stale."""
        self.plans = None  # the generated module, when its plans are used
        self.encoders = {m: functools.partial(self.walk_encode, m) for m in self.message_ids}
        self.decoders = {m: functools.partial(self.walk_decode, m) for m in self.message_ids}
        self.encode_misses = self.decode_misses = ()  # what sends a plan's input to the walker
        if plans_path is None or any(getattr(type(self), f) is not getattr(Schema, f) for f in WALKER):
            return
        plans = load_plans(Path(plans_path), self.sha256)
        if plans is not None:
            self.plans = plans
            self.encoders = {m: plans.ENCODERS[m] for m in self.message_ids}
            self.decoders = {m: plans.DECODERS[m] for m in self.message_ids}
            self.encode_misses, self.decode_misses = plans.ENCODE_MISSES, plans.DECODE_MISSES

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
        except self.encode_misses:
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
        except self.decode_misses:
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


# ------------------------------------------------------------------ the generated plans

# A subclass that overrides one of these gets the walker only.
WALKER = ("walk_encode", "encode_fields", "encode_value", "walk_decode", "decode_fields", "decode_value",
          "decode_length")
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
