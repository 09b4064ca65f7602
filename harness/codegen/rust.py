"""The Rust backend: peers/rust/src/schema.rs from the schema.

One Rust type per schema type: a struct per struct and message (padding carries no value), an
enum with explicit discriminants per enum (with `TryFrom` of its integer and `From` back).
Each gets an implementation of the runtime's `Wire` trait (peers/rust/src/codec.rs) whose four
methods walk the fields in schema order: encode (`to_le_bytes`), decode (`from_le_bytes`,
validating), parse (text tokens) and format (text tokens); messages also get `Message` (name
and id). Then the dispatch by message name and id that the contract loop calls.

| schema type      | Rust type        | notes                                          |
|------------------|------------------|------------------------------------------------|
| u8..u64, i8..i64 | u8..u64, i8..i64 |                                                |
| f32 / f64        | f32 / f64        | through to_bits/from_bits only: NaN bits stay  |
| bool             | bool             |                                                |
| enum             | the enum         | #[repr(<base>)]                                |
| char[N]          | Vec<u8>          | the text without its NUL padding               |
| bytes / bigint   | Vec<u8>          | bigint: minimal two's complement, LE           |
| string           | String           | strict UTF-8                                   |
| T[N]             | [T; N]           |                                                |
| vec<T>           | Vec<T>           |                                                |
| pad[N]           | (no field)       |                                                |

Everything that is the same for every message (errors and paths, lengths, UTF-8, hex, bigint,
the text tokens) is hand-written once in codec.rs, which the generated code calls as `rt::`.
Std types are named through `rt::` too, so that no schema type name can shadow them.
"""
from __future__ import annotations

import re

from .. import schema as S
from . import generated_banner

OUT = "peers/rust/src/schema.rs"

# Rust's strict, reserved and edition keywords: fields so named are written r#name.
KEYWORDS = {
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use",
    "where", "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final",
    "macro", "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
}
NOT_RAW = {"self", "Self", "super", "crate", "_"}     # keywords r# cannot escape
LOCALS = {"r", "t", "out", "v", "e"}                  # names the generated methods use


class RustNameError(ValueError):
    pass


def ident(name: str) -> str:
    if name in NOT_RAW:
        raise RustNameError(f"field name {name!r} cannot be a Rust identifier")
    return f"r#{name}" if name in KEYWORDS else name


def locals_of(s: S.Struct) -> dict[str, str]:
    """The local variable holding each field's value while a struct is decoded or parsed:
    the field's own name, unless the generated methods use that name already."""
    taken = {f.name for f in s.fields}
    out = {}
    for f in s.value_fields:
        name = f.name
        if name in LOCALS:
            while name in taken or name in LOCALS:
                name += "_"
            taken.add(name)
        out[f.name] = ident(name)
    return out


def variant(name: str) -> str:
    """An enum value name (lower_snake_case) as a Rust variant (CamelCase)."""
    camel = "".join(part[:1].upper() + part[1:] for part in name.split("_"))
    if not camel or camel[0].isdigit():
        camel = "V" + camel
    return "SelfValue" if camel == "Self" else camel


def is_snake(name: str) -> bool:
    """rustc's non_snake_case rule: no upper case, no `__` once outer underscores are gone."""
    return "__" not in name.strip("_")


def quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ------------------------------------------------------------------ types


def int_type(p: S.Prim) -> str:
    return p.name


def bits_type(p: S.Prim) -> str:
    """The unsigned integer holding a float's bit pattern."""
    return "u32" if p.size == 4 else "u64"


def rust_type(t: S.Type) -> str:
    if isinstance(t, S.Prim):
        return t.name
    if isinstance(t, (S.Enum, S.Struct)):
        return t.name
    if isinstance(t, S.Bytes):
        return "rt::String" if t.utf8 else "rt::Vec<u8>"
    if isinstance(t, (S.CharArray, S.BigInt)):
        return "rt::Vec<u8>"
    if isinstance(t, S.Array):
        return f"[{rust_type(t.elem)}; {t.n}]"
    if isinstance(t, S.Vec):
        return f"rt::Vec<{rust_type(t.elem)}>"
    raise TypeError(f"no Rust type for {S.type_name(t)}")


def describe(t: S.Type) -> str:
    """The schema's spelling of a field type, with its limit, for doc comments."""
    text = f"`{S.type_name(t)}`"
    if isinstance(t, S.Bytes):
        return f"{text}, at most {t.max} bytes"
    if isinstance(t, S.BigInt):
        return f"{text}, at most {t.max} bytes of two's complement (little-endian, minimal)"
    if isinstance(t, S.Vec):
        return f"{text}, at most {t.max} items"
    if isinstance(t, S.CharArray):
        return f"{text}: the text without its NUL padding"
    return text


# ------------------------------------------------------------------ the four directions
#
# A value is named three ways, depending on where it is: a struct field (`&self.x`, `self.x`,
# `self.x`) or a closure parameter `v: &T` (`v`, `*v`, `v`): as a reference, as a value (for
# Copy types), and as a method receiver.


class Place:
    def __init__(self, ref: str, val: str, recv: str) -> None:
        self.ref, self.val, self.recv = ref, val, recv


ITEM = Place("v", "*v", "v")


def decode_expr(t: S.Type) -> str:
    """An expression of type rt::Result<T>, reading from `r: &mut rt::Reader`."""
    if isinstance(t, S.Prim):
        if t.kind == "bool":
            return "r.bool()"
        if t.kind == "float":
            return f"r.array().map(|b| {t.name}::from_bits({bits_type(t)}::from_le_bytes(b)))"
        return f"r.array().map({t.name}::from_le_bytes)"
    if isinstance(t, (S.Enum, S.Struct)):
        return f"{t.name}::decode(r)"
    if isinstance(t, S.CharArray):
        return f"r.char({t.n})"
    if isinstance(t, S.Bytes):
        return f"r.{'string' if t.utf8 else 'bytes'}({t.max})"
    if isinstance(t, S.BigInt):
        return f"r.bigint({t.max})"
    if isinstance(t, S.Array):
        return f"r.array_of::<_, {t.n}>({decode_fn(t.elem)})"
    if isinstance(t, S.Vec):
        return f"r.vec_of({t.max}, {decode_fn(t.elem)})"
    raise TypeError(f"cannot decode {S.type_name(t)} as a value")


def decode_fn(t: S.Type) -> str:
    return f"{t.name}::decode" if isinstance(t, (S.Enum, S.Struct)) else f"|r| {decode_expr(t)}"


def encode_code(t: S.Type, p: Place) -> tuple[str, bool]:
    """(code, fallible): a statement without its `;`, or an rt::Result<()> expression."""
    if isinstance(t, S.Prim):
        if t.kind == "bool":
            return f"out.push(u8::from({p.val}))", False
        if t.kind == "float":
            return f"out.extend_from_slice(&{p.recv}.to_bits().to_le_bytes())", False
        return f"out.extend_from_slice(&{p.recv}.to_le_bytes())", False
    if isinstance(t, S.Enum):
        return f"out.extend_from_slice(&{int_type(t.base)}::from({p.val}).to_le_bytes())", False
    if isinstance(t, S.Struct):
        return f"{p.recv}.encode(out)", True
    if isinstance(t, S.CharArray):
        return f"rt::put_char(out, {p.ref}, {t.n})", True
    if isinstance(t, S.Bytes):
        return f"rt::put_{'string' if t.utf8 else 'bytes'}(out, {p.ref}, {t.max})", True
    if isinstance(t, S.BigInt):
        return f"rt::put_bigint(out, {p.ref}, {t.max})", True
    if isinstance(t, S.Pad):
        return f"out.resize(out.len() + {t.n}, 0)", False
    if isinstance(t, S.Array):
        return f"rt::put_array(out, {p.ref}, {encode_fn(t.elem)})", True
    if isinstance(t, S.Vec):
        return f"rt::put_vec(out, {p.ref}, {t.max}, {encode_fn(t.elem)})", True
    raise TypeError(f"cannot encode {S.type_name(t)}")


def encode_fn(t: S.Type) -> str:
    code, fallible = encode_code(t, ITEM)
    return f"|out, v| {code}" if fallible else f"|out, v| {{\n{code};\n Ok(())\n}}"


def parse_expr(t: S.Type) -> str:
    """An expression of type rt::Result<T>, taking tokens from `t: &mut rt::Tokens`."""
    if isinstance(t, S.Prim):
        if t.kind == "bool":
            return "t.bool()"
        if t.kind == "float":
            return f"t.{t.name}_bits().map({t.name}::from_bits)"
        return f"t.int::<{t.name}>()"
    if isinstance(t, (S.Enum, S.Struct)):
        return f"{t.name}::parse(t)"
    if isinstance(t, S.CharArray):
        return f"t.char({t.n})"
    if isinstance(t, S.Bytes):
        return f"t.{'string' if t.utf8 else 'bytes'}({t.max})"
    if isinstance(t, S.BigInt):
        return f"t.bigint({t.max})"
    if isinstance(t, S.Array):
        return f"t.array_of::<_, {t.n}>({parse_fn(t.elem)})"
    if isinstance(t, S.Vec):
        return f"t.vec_of({t.max}, {parse_fn(t.elem)})"
    raise TypeError(f"cannot parse {S.type_name(t)}")


def parse_fn(t: S.Type) -> str:
    return f"{t.name}::parse" if isinstance(t, (S.Enum, S.Struct)) else f"|t| {parse_expr(t)}"


def format_code(t: S.Type, p: Place) -> list[str]:
    """Statements appending the tokens of the value to `out: &mut Vec<String>`."""
    if isinstance(t, S.Prim):
        if t.kind == "float":
            return [f'out.push(format!("0x{{:0{2 * t.size}x}}", {p.recv}.to_bits()));']
        return [f"out.push({p.recv}.to_string());"]
    if isinstance(t, S.Enum):
        return [f"out.push({int_type(t.base)}::from({p.val}).to_string());"]
    if isinstance(t, S.Struct):
        return [f"{p.recv}.format(out);"]
    if isinstance(t, S.Bytes) and t.utf8:
        return [f"out.push(rt::hex({p.recv}.as_bytes()));"]
    if isinstance(t, (S.CharArray, S.Bytes)):
        return [f"out.push(rt::hex({p.ref}));"]
    if isinstance(t, S.BigInt):
        return [f"out.push(rt::bigint_text({p.ref}));"]
    if isinstance(t, (S.Array, S.Vec)):
        count = [f"out.push({p.recv}.len().to_string());"] if isinstance(t, S.Vec) else []
        return count + [f"for v in {p.ref} {{", *format_code(t.elem, ITEM), "}"]
    raise TypeError(f"cannot format {S.type_name(t)}")


# ------------------------------------------------------------------ declarations


def gen_enum(e: S.Enum) -> list[str]:
    base, name = int_type(e.base), e.name
    variants = {v: variant(v) for v in e.values}
    clash = len(set(variants.values())) != len(variants)
    if clash:
        raise RustNameError(f"enum {name}: value names {', '.join(e.values)} give clashing Rust variants")
    first = variants[next(iter(e.values))]
    out = [f"/// Enum `{name}`, carried as its `{base}` value.",
           "#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]",
           f"#[repr({base})]",
           f"pub enum {name} {{"]
    out += [f"    /// `{v}`\n    {variants[v]} = {value}," for v, value in e.values.items()]
    out += ["}", "",
            f"impl ::core::convert::TryFrom<{base}> for {name} {{",
            f"    type Error = {base};", "",
            f"    fn try_from(value: {base}) -> ::core::result::Result<Self, {base}> {{",
            "        match value {"]
    out += [f"            {value} => Ok(Self::{variants[v]})," for v, value in e.values.items()]
    out += ["            other => Err(other),", "        }", "    }", "}", "",
            f"impl ::core::convert::From<{name}> for {base} {{",
            f"    fn from(value: {name}) -> {base} {{",
            f"        value as {base}",
            "    }", "}", "",
            f"impl rt::Wire for {name} {{",
            "    fn encode(&self, out: &mut rt::Vec<u8>) -> rt::Result<()> {",
            f"        out.extend_from_slice(&{base}::from(*self).to_le_bytes());",
            "        Ok(())",
            "    }", "",
            "    fn decode(r: &mut rt::Reader<'_>) -> rt::Result<Self> {",
            f"        let value = {base}::from_le_bytes(r.array()?);",
            "        Self::try_from(value).map_err(|value| rt::Error::Enum {",
            "            path: rt::String::new(),",
            "            value: value.into(),",
            f"            name: {quoted(name)},",
            "        })",
            "    }", "",
            "    fn parse(t: &mut rt::Tokens<'_>) -> rt::Result<Self> {",
            f"        t.enumeration({quoted(name)}, Self::{first}, |value| {{",
            f"            {base}::try_from(value).ok().and_then(|value| Self::try_from(value).ok())",
            "        })",
            "    }", "",
            "    fn format(&self, out: &mut rt::Vec<rt::String>) {",
            f"        out.push({base}::from(*self).to_string());",
            "    }", "}"]
    return out


def gen_struct(s: S.Struct) -> list[str]:
    fields = s.value_fields
    if isinstance(s, S.Message):
        doc = f"/// Message `{s.name}`, id {s.id}."
    else:
        doc = f"/// Struct `{s.name}`."
    out = [doc, "#[derive(Clone, Debug, PartialEq)]", f"pub struct {s.name} {{"]
    for f in fields:
        out += [f"    /// {describe(f.type)}", f"    pub {ident(f.name)}: {rust_type(f.type)},"]
    out += ["}", ""]

    local = locals_of(s)

    def init() -> str:
        parts = [ident(f.name) if local[f.name] == ident(f.name) else f"{ident(f.name)}: {local[f.name]}"
                 for f in fields]
        return f"Ok(Self {{ {', '.join(parts)} }})" if parts else "Ok(Self {})"

    def at(name: str) -> str:
        return f".map_err(|e| e.at_field({quoted(name)}))?;"

    # encode
    body = []
    for f in s.fields:
        code, fallible = encode_code(f.type, Place(f"&self.{ident(f.name)}", f"self.{ident(f.name)}",
                                                   f"self.{ident(f.name)}"))
        body.append(f"{code}{at(f.name)}" if fallible else f"{code};")
    enc = ["fn encode(&self, out: &mut rt::Vec<u8>) -> rt::Result<()> {" if body else
           "fn encode(&self, _out: &mut rt::Vec<u8>) -> rt::Result<()> {", *body, "Ok(())", "}"]

    # decode
    body = []
    for f in s.fields:
        if isinstance(f.type, S.Pad):
            body.append(f"r.pad({f.type.n}){at(f.name)}")
        else:
            body.append(f"let {local[f.name]} = {decode_expr(f.type)}{at(f.name)}")
    dec = [f"fn decode({'r' if body else '_r'}: &mut rt::Reader<'_>) -> rt::Result<Self> {{", *body, init(), "}"]

    # parse
    body = [f"let {local[f.name]} = t.field({quoted(f.name)}, {parse_fn(f.type)})?;" for f in fields]
    par = [f"fn parse({'t' if body else '_t'}: &mut rt::Tokens<'_>) -> rt::Result<Self> {{", *body, init(), "}"]

    # format
    body = []
    for f in fields:
        name = f"self.{ident(f.name)}"
        body += format_code(f.type, Place(f"&{name}", name, name))
    fmt = ["fn format(&self, out: &mut rt::Vec<rt::String>) {", *body, "}"] if body else \
        ["fn format(&self, _out: &mut rt::Vec<rt::String>) {}"]

    out += [f"impl rt::Wire for {s.name} {{", *enc, "", *dec, "", *par, "", *fmt, "}"]
    if isinstance(s, S.Message):
        out += ["", f"impl rt::Message for {s.name} {{",
                f"const NAME: &'static str = {quoted(s.name)};",
                f"const ID: u16 = {s.id};", "}"]
    return out


def gen_dispatch(schema: S.Schema) -> list[str]:
    msgs = list(schema.messages.values())
    out = ["/// The id of the message called `name`.",
           "pub fn message_id(name: &str) -> rt::Option<u16> {", "match name {"]
    out += [f"{quoted(m.name)} => Some({m.id})," for m in msgs]
    out += ["_ => None,", "}", "}", "",
            "/// The name of the message with id `id`.",
            "pub fn message_name(id: u16) -> rt::Option<&'static str> {", "match id {"]
    out += [f"{m.id} => Some({quoted(m.name)})," for m in msgs]
    out += ["_ => None,", "}", "}"]
    for fn, doc, arg, ret in (
            ("encode_text", "ENCODE: the payload of message `id` given in text form.",
             "words: &[&str]", "rt::Vec<u8>"),
            ("decode_text", "DECODE: the text form of a payload of message `id`.",
             "payload: &[u8]", "rt::Vec<rt::String>"),
            ("reencode", "ECHO: a payload of message `id` decoded and encoded again.",
             "payload: &[u8]", "rt::Vec<u8>")):
        param = arg.split(":")[0]
        out += ["", f"/// {doc}", f"pub fn {fn}(id: u16, {arg}) -> rt::Result<{ret}> {{", "match id {"]
        out += [f"{m.id} => rt::{fn}::<{m.name}>({param})," for m in msgs]
        out += ["_ => Err(rt::unknown_message(id)),", "}", "}"]
    return out


def indent(lines: list[str]) -> str:
    """Indent flat lines by bracket nesting, four spaces a level; a line that opens several
    brackets (`f(|x| {`) opens one level, closed again by the line that closes them (`})`)."""
    out: list[str] = []
    levels: list[int] = []  # brackets opened by each open level

    def close(count: int) -> None:
        while count > 0 and levels:
            if levels[-1] <= count:
                count -= levels.pop()
            else:
                levels[-1] -= count
                count = 0

    for block in lines:
        for line in block.split("\n"):
            text = line.strip()
            if not text:
                out.append("")
                continue
            leading = len(re.match(r"[}\])]*", text).group(0))
            close(leading)
            out.append("    " * len(levels) + text)
            rest = text[leading:]
            net = sum(rest.count(c) for c in "{([") - sum(rest.count(c) for c in "})]")
            if net > 0:
                levels.append(net)
            else:
                close(-net)
    return "\n".join(out) + "\n"


def generate(schema: S.Schema) -> dict[str, str]:
    for name in (*schema.enums, *schema.structs, *schema.messages):
        if name in KEYWORDS:
            raise RustNameError(f"type name {name!r} is a Rust keyword")
    lines = [
        "//! Every enum, struct and message of protocols/schema.toml as a Rust type with its",
        "//! codec (the `Wire` trait of codec.rs), and the dispatch by message name and id.",
    ]
    names = [f.name for s in (*schema.structs.values(), *schema.messages.values()) for f in s.value_fields]
    if not all(is_snake(n) for n in names):
        lines.append("#![allow(non_snake_case)] // field names are the schema's")
    lines += ["", "use crate::codec as rt;", "",
              "/// `format.version`: carried in every frame header.",
              f"pub const VERSION: u16 = {schema.version};",
              "/// `frame.magic`: the first four bytes of every frame.",
              f"pub const MAGIC: u32 = {schema.magic:#010x};",
              "/// `format.max_payload`: the largest payload of a frame, in bytes.",
              f"pub const MAX_PAYLOAD: u32 = {schema.max_payload};"]
    for e in schema.enums.values():
        lines += ["", *gen_enum(e)]
    for s in (*schema.structs.values(), *schema.messages.values()):
        lines += ["", *gen_struct(s)]
    lines += ["", *gen_dispatch(schema)]
    return {OUT: generated_banner("//") + indent(lines)}


class _Backend:
    name = "rust"

    def generate(self, schema: S.Schema) -> dict[str, str]:
        return generate(schema)


BACKEND = _Backend()
