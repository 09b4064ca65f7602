"""The Rust backend: peers/rust/src/schema.rs from the schema.

One Rust type per schema type, each with its codec, walking the fields in schema order:

| schema type        | Rust type                         | notes                                        |
|--------------------|-----------------------------------|----------------------------------------------|
| u8..u64, i8..i64   | u8..u64, i8..i64                  | in the field's byte order                    |
| u24 / i24          | u32 / i32                         | 3 bytes; the encoder checks the range        |
| f32 / f64          | f32 / f64                         | through to_bits/from_bits only: NaN bits stay|
| bool               | bool                              |                                              |
| enum (closed)      | an enum, #[repr(<base>)]          | `TryFrom` its integer, `From` back           |
| enum (open)        | a newtype `Name(pub <base>)`      | a const per named value                      |
| flags              | a newtype `Name(pub <base>)`      | a const per named bit                        |
| char[N]            | Vec<u8>                           | the text without its NUL padding             |
| bytes / bigint     | Vec<u8>                           | bigint: minimal two's complement, LE in memory|
| string             | String                            | strict UTF-8                                 |
| T[N] / vec<T>      | [T; N] / Vec<T>                   |                                              |
| struct, message    | a struct of the fields with a value | no field for padding, constants, counts    |
| union              | an enum, a variant per case       | the discriminator stays a field of its own  |

Structs implement the runtime's `Wire` trait (peers/rust/src/codec.rs), messages its `Message`
trait (the same four methods, at a protocol version). Then the dispatch by message name and
index that the contract loop calls, and the frame: `write_frame`, `check_head` and `check_sum`,
straight-line code from `[frame]`, with a table-driven CRC.

Everything that is the same for every schema (errors and paths, lengths, UTF-8, hex, bigint,
the text tokens) is hand-written once in codec.rs, which the generated code calls as `rt::`,
and the frame's pieces (fields of any width and order, the header's errors) in wire.rs, `fr::`.
Std types are named through `rt::` too, and schema types whose names Rust's prelude uses get a
`Type` suffix, so that no schema name can shadow what the generated code relies on. Fields
whose names are Rust keywords are `r#type`; `self`, `super`, `crate` and `_`, which cannot be
raw identifiers, are `self_` and so on. Paths and the text form keep the schema's names.
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
# Names the generated code uses unqualified (prelude items, the traits behind `u8::from`):
# a schema type so named is declared as <Name>Type.
PRELUDE = {
    "Self", "Ok", "Err", "Some", "None", "Option", "Result", "Vec", "String", "Box", "From",
    "TryFrom", "Into", "TryInto", "Clone", "Copy", "Default", "Debug", "PartialEq", "Eq",
    "Hash", "PartialOrd", "Ord", "Sized", "Send", "Sync", "Unpin", "Drop", "Fn", "FnMut",
    "FnOnce", "Iterator", "IntoIterator", "DoubleEndedIterator", "ExactSizeIterator",
    "Extend", "ToOwned", "ToString", "AsRef", "AsMut",
    "Schema", "Adapter",    # the generated code's own: the kit's protocol, an adapter's trait
}


class RustNameError(ValueError):
    pass


def ident(name: str) -> str:
    """A field name as a Rust identifier."""
    if name in NOT_RAW:
        return name + "_"
    return f"r#{name}" if name in KEYWORDS else name


def local(name: str) -> str:
    """The local variable holding a field's value while a struct is decoded or parsed."""
    return f"f_{name}"


def camel(name: str) -> str:
    """A lower_snake_case name as CamelCase (an enum variant, a union case)."""
    out = "".join(part[:1].upper() + part[1:] for part in name.split("_"))
    if not out or out[0].isdigit():
        out = "V" + out
    return "SelfValue" if out == "Self" else out


def snake(name: str) -> str:
    """A CamelCase message name as the snake_case of its adapter methods."""
    out = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()
    return re.sub(r"[^a-z0-9_]", "_", out)


def is_snake(name: str) -> bool:
    """rustc's non_snake_case rule: no upper case, no `__` once outer underscores are gone."""
    return "__" not in name.strip("_")


def quoted(text: str) -> str:
    """A Rust string literal."""
    out = []
    for ch in text:
        if ch in "\\\"":
            out.append("\\" + ch)
        elif " " <= ch <= "~":
            out.append(ch)
        else:
            out.append(f"\\u{{{ord(ch):x}}}")
    return '"' + "".join(out) + '"'


def byte_list(data: bytes) -> str:
    return ", ".join(f"{b:#04x}" for b in data)


def int_type(p: S.Prim) -> str:
    """The Rust integer holding a schema integer (u24 in a u32)."""
    return {"u24": "u32", "i24": "i32"}.get(p.name, p.name)


def bits_type(p: S.Prim) -> str:
    """The unsigned integer holding a float's bit pattern."""
    return "u32" if p.size == 4 else "u64"


def endian(p: S.Prim) -> str:
    return "be" if p.big else "le"


def big(order: str) -> str:
    return "true" if order == "big" else "false"


def base_of(t: S.Type) -> S.Prim:
    return t.base if isinstance(t, (S.Enum, S.Flags)) else t  # type: ignore[return-value]


def prefix(count: S.Count) -> str:
    """The rt::Prefix of a variable-size field."""
    p = count.prefix
    if p is None:
        return "rt::COUNTED"
    return f"rt::Prefix {{ size: {p.size}, big: {big(p.order)} }}"


def scale(t: S.Type, unit: str) -> int:
    """Bytes one unit of a count stands for: an element's size when it counts bytes of a vec."""
    return S.fixed_size(t.elem) if isinstance(t, S.Vec) and unit == "bytes" else 1  # type: ignore[return-value]


def int_range(p: S.Prim) -> str:
    if p.size == 3:
        return "rt::I24" if p.signed else "rt::U24"
    return f"({p.min}, {p.max})"


def raw_bytes(p: S.Prim, value: int) -> bytes:
    return value.to_bytes(p.size, p.order, signed=p.signed)


class Place:
    """A value named three ways: as a reference, as a value (Copy types), and as a method
    receiver: a struct field (`&self.x`, `self.x`, `self.x`) or a closure item `v: &T`."""

    def __init__(self, ref: str, val: str, recv: str) -> None:
        self.ref, self.val, self.recv = ref, val, recv


ITEM = Place("v", "*v", "v")


def field_place(name: str) -> Place:
    return Place(f"&self.{ident(name)}", f"self.{ident(name)}", f"self.{ident(name)}")


def at(name: str) -> str:
    return f".map_err(|e| e.at_field({quoted(name)}))?" if name else "?"


class Gen:
    def __init__(self, schema: S.Schema, adapter: str | None = None) -> None:
        self.schema = schema
        self.adapter = adapter     # None: the reference peer's codec; "payload" or "frames": an adapter's
        taken = {*schema.enums, *schema.flags, *schema.structs, *schema.unions, *schema.messages}
        self.names: dict[str, str] = {}
        for name in sorted(taken):
            rust = name
            if name in PRELUDE:
                rust = name + "Type"
                while rust in taken:
                    rust += "Type"
                taken.add(rust)
            self.names[name] = rust

        self.count_types: dict[str, str] = {}    # the count fields of the struct at hand

    def tn(self, t: S.Type | str) -> str:
        """The Rust name of a schema type."""
        return self.names[t if isinstance(t, str) else t.name]  # type: ignore[union-attr]

    # ------------------------------------------------------------------ types

    def rust_type(self, t: S.Type) -> str:
        if isinstance(t, S.Prim):
            return int_type(t)
        if isinstance(t, (S.Enum, S.Flags, S.Struct, S.Union)):
            return self.tn(t)
        if isinstance(t, S.Bytes):
            return "rt::String" if t.utf8 else "rt::Vec<u8>"
        if isinstance(t, (S.CharArray, S.BigInt)):
            return "rt::Vec<u8>"
        if isinstance(t, S.Array):
            return f"[{self.rust_type(t.elem)}; {t.n}]"
        if isinstance(t, S.Vec):
            return f"rt::Vec<{self.rust_type(t.elem)}>"
        raise TypeError(f"no Rust type for {S.type_name(t)}")

    @staticmethod
    def describe(t: S.Type) -> str:
        """The schema's spelling of a field type, with its limit, for doc comments."""
        text = f"`{S.type_name(t)}`"
        order = ""
        leaf = t
        while isinstance(leaf, S.Array):
            leaf = leaf.elem
        if isinstance(leaf, (S.Prim, S.Enum, S.Flags)) and base_of(leaf).big:
            order = ", big-endian"
        if isinstance(t, (S.Bytes, S.BigInt, S.Vec)):
            p = t.count.prefix
            how = f"{p.name} prefix" if p is not None else "counted by " + ", ".join(n for n, _ in t.count.fields)
            what = "items" if isinstance(t, S.Vec) else "bytes"
            return f"{text}, at most {t.max} {what} ({how})"
        if isinstance(t, S.CharArray):
            return f"{text}: the text without its NUL padding"
        return text + order

    # ------------------------------------------------------------------ bytes -> value

    @staticmethod
    def read_int(p: S.Prim) -> str:
        """An rt::Result of the integer, read from `r`."""
        if p.size == 3:
            return f"r.{'i' if p.signed else 'u'}24({big(p.order)})"
        return f"r.array().map({p.name}::from_{endian(p)}_bytes)"

    def decode_expr(self, t: S.Type) -> str:
        """An expression of type rt::Result<T>, reading from `r: &mut rt::Reader`."""
        if isinstance(t, S.Prim):
            if t.kind == "bool":
                return "r.bool()"
            if t.kind == "float":
                return f"r.array().map(|b| {t.name}::from_bits({bits_type(t)}::from_{endian(t)}_bytes(b)))"
            return self.read_int(t)
        if isinstance(t, S.Enum):
            check = "map" if t.open else "and_then"
            return f"{self.read_int(t.base)}.{check}({self.tn(t)}{'' if t.open else '::checked'})"
        if isinstance(t, S.Flags):
            return f"{self.read_int(t.base)}.{'map' if t.keep_unknown else 'and_then'}" \
                   f"({self.tn(t)}{'' if t.keep_unknown else '::checked'})"
        if isinstance(t, S.Struct):
            return f"{self.tn(t)}::decode(r)"
        if isinstance(t, S.CharArray):
            return f"r.char({t.n})"
        if isinstance(t, S.Bytes):
            return f"r.{'string' if t.utf8 else 'bytes'}({prefix(t.count)}, {t.max})"
        if isinstance(t, S.BigInt):
            return f"r.bigint({prefix(t.count)}, {t.max}, {big(t.order)})"
        if isinstance(t, S.Array):
            return f"r.array_of::<_, {t.n}>({self.decode_fn(t.elem)})"
        if isinstance(t, S.Vec):
            return f"r.vec_of({prefix(t.count)}, {scale(t, t.count.unit)}, {t.max}, {self.decode_fn(t.elem)})"
        raise TypeError(f"cannot decode {S.type_name(t)} as a value")

    def decode_fn(self, t: S.Type) -> str:
        return f"{self.tn(t)}::decode" if isinstance(t, S.Struct) else f"|r| {self.decode_expr(t)}"

    def as_u64(self, name: str) -> str:
        """A count field's local as a u64."""
        return local(name) if self.count_types.get(name) == "u64" else f"u64::from({local(name)})"

    def decode_counted(self, t: S.Bytes | S.BigInt | S.Vec) -> str:
        """The contents of a field counted by earlier fields (their locals)."""
        counts = ", ".join(f"({self.as_u64(name)}, {scale(t, unit)})" for name, unit in t.count.fields)
        kind = "Items" if isinstance(t, S.Vec) else "Bytes"
        n = f"rt::counted(&[{counts}], {t.max}, rt::Count::{kind})"
        if isinstance(t, S.Bytes):
            return f"{n}.and_then(|n| r.{'string' if t.utf8 else 'bytes'}_n(n))"
        if isinstance(t, S.BigInt):
            return f"{n}.and_then(|n| r.bigint_n(n, {big(t.order)}))"
        return f"{n}.and_then(|n| r.vec_n(n, {self.decode_fn(t.elem)}))"

    # ------------------------------------------------------------------ value -> bytes

    @staticmethod
    def write_int(p: S.Prim, value: str, recv: str = "") -> tuple[str, bool]:
        """(code, fallible) appending the integer `value` (or method receiver `recv`) to `out`."""
        if p.size == 3:
            return f"rt::put_{'i' if p.signed else 'u'}24(out, {value}, {big(p.order)})", True
        return f"out.extend_from_slice(&{recv or value}.to_{endian(p)}_bytes())", False

    def encode_code(self, t: S.Type, p: Place) -> tuple[str, bool]:
        """(code, fallible): a statement without its `;`, or an rt::Result<()> expression."""
        if isinstance(t, S.Prim):
            if t.kind == "bool":
                return f"out.push(u8::from({p.val}))", False
            if t.kind == "float":
                return f"out.extend_from_slice(&{p.recv}.to_bits().to_{endian(t)}_bytes())", False
            return self.write_int(t, p.val, p.recv)
        if isinstance(t, S.Enum):
            value = f"{p.recv}.0" if t.open else f"{int_type(t.base)}::from({p.val})"
            return self.write_int(t.base, value)
        if isinstance(t, S.Flags):
            if t.keep_unknown:
                return self.write_int(t.base, f"{p.recv}.0")
            code, fallible = self.write_int(t.base, "b")
            return f"{p.recv}.bits().{'and_then' if fallible else 'map'}(|b| {code})", True
        if isinstance(t, S.Struct):
            return f"{p.recv}.encode(out)", True
        if isinstance(t, S.CharArray):
            return f"rt::put_char(out, {p.ref}, {t.n})", True
        if isinstance(t, S.Bytes):
            return f"rt::put_{'string' if t.utf8 else 'bytes'}(out, {p.ref}, {t.max}, {prefix(t.count)})", True
        if isinstance(t, S.BigInt):
            return f"rt::put_bigint(out, {p.ref}, {t.max}, {prefix(t.count)}, {big(t.order)})", True
        if isinstance(t, S.Array):
            return f"rt::put_array(out, {p.ref}, {self.encode_fn(t.elem)})", True
        if isinstance(t, S.Vec):
            return f"rt::put_vec(out, {p.ref}, {t.max}, {prefix(t.count)}, {scale(t, t.count.unit)}, " \
                   f"{self.encode_fn(t.elem)})", True
        raise TypeError(f"cannot encode {S.type_name(t)}")

    def encode_fn(self, t: S.Type) -> str:
        code, fallible = self.encode_code(t, ITEM)
        return f"|out, v| {code}" if fallible else f"|out, v| {{\n{code};\nOk(())\n}}"

    def encode_stmt(self, t: S.Type, p: Place, name: str) -> str:
        code, fallible = self.encode_code(t, p)
        return f"{code}{at(name)};" if fallible else f"{code};"

    # ------------------------------------------------------------------ text -> value

    def parse_expr(self, t: S.Type) -> str:
        """An expression of type rt::Result<T>, taking tokens from `t: &mut rt::Tokens`."""
        if isinstance(t, S.Prim):
            if t.kind == "bool":
                return "t.bool()"
            if t.kind == "float":
                return f"t.{t.name}_bits().map({t.name}::from_bits)"
            if t.size == 3:
                return f"t.int_in::<{int_type(t)}>({int_range(t)})"
            return f"t.int::<{t.name}>()"
        if isinstance(t, S.Enum):
            name, base = self.tn(t), int_type(t.base)
            if t.open:
                return f"{self.parse_expr(t.base)}.map({name})"
            first = next(iter(t.values))
            return (f"t.enumeration({quoted(t.name)}, {name}::{self.variants(t)[first]}, |v| {{\n"
                    f"{base}::try_from(v).ok().and_then(|v| {name}::try_from(v).ok())\n}})")
        if isinstance(t, S.Flags):
            mask = (1 << (8 * t.base.size)) - 1 if t.keep_unknown else t.mask
            args = f"{int_range(t.base)}, {mask:#x}, {quoted(t.name)}"
            return f"t.flags::<{int_type(t.base)}>({args}).map({self.tn(t)})"
        if isinstance(t, S.Struct):
            return f"{self.tn(t)}::parse(t)"
        if isinstance(t, S.CharArray):
            return f"t.char({t.n})"
        if isinstance(t, S.Bytes):
            return f"t.{'string' if t.utf8 else 'bytes'}({t.max})"
        if isinstance(t, S.BigInt):
            return f"t.bigint({t.max})"
        if isinstance(t, S.Array):
            return f"t.array_of::<_, {t.n}>({self.parse_fn(t.elem)})"
        if isinstance(t, S.Vec):
            return f"t.vec_of({t.max}, {self.parse_fn(t.elem)})"
        raise TypeError(f"cannot parse {S.type_name(t)}")

    def parse_fn(self, t: S.Type) -> str:
        return f"{self.tn(t)}::parse" if isinstance(t, S.Struct) else f"|t| {self.parse_expr(t)}"

    def format_code(self, t: S.Type, p: Place) -> list[str]:
        """Statements appending the tokens of the value to `out: &mut Vec<String>`."""
        if isinstance(t, S.Prim):
            if t.kind == "float":
                return [f'out.push(format!("0x{{:0{2 * t.size}x}}", {p.recv}.to_bits()));']
            return [f"out.push({p.recv}.to_string());"]
        if isinstance(t, S.Enum) and not t.open:
            return [f"out.push({int_type(t.base)}::from({p.val}).to_string());"]
        if isinstance(t, (S.Enum, S.Flags)):
            return [f"out.push({p.recv}.0.to_string());"]
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
            return count + [f"for v in {p.ref} {{", *self.format_code(t.elem, ITEM), "}"]
        raise TypeError(f"cannot format {S.type_name(t)}")

    # ------------------------------------------------------------------ values in code

    @staticmethod
    def variants(e: S.Enum) -> dict[str, str]:
        """Each value name -> its Rust variant (CamelCase, unique)."""
        out: dict[str, str] = {}
        for v in e.values:
            name = camel(v)
            while name in out.values():
                name += "V"
            out[v] = name
        return out

    def enum_variant(self, e: S.Enum, value: int) -> str:
        name = e.name_of(value)
        return f"{self.tn(e)}::{self.variants(e)[name]}"  # type: ignore[arg-type]

    def value_expr(self, t: S.Type, v: object) -> str:
        """A Rust expression of the harness's value `v` (values.py's model) of type `t`."""
        if isinstance(t, S.Prim):
            if t.kind == "bool":
                return "true" if v else "false"
            if t.kind == "float":
                return f"{t.name}::from_bits({v.bits:#x})"  # type: ignore[union-attr]
            return str(v)
        if isinstance(t, S.Enum):
            return f"{self.tn(t)}({v})" if t.open else self.enum_variant(t, v)  # type: ignore[arg-type]
        if isinstance(t, S.Flags):
            return f"{self.tn(t)}({v})"
        if isinstance(t, (S.CharArray, S.BigInt)) or (isinstance(t, S.Bytes) and not t.utf8):
            data = v if isinstance(v, bytes) else bigint_le(v)  # type: ignore[arg-type]
            return f"vec![{byte_list(data)}]" if data else "rt::Vec::new()"
        if isinstance(t, S.Bytes):
            return f"rt::String::from({quoted(v)})" if v else "rt::String::new()"  # type: ignore[arg-type]
        if isinstance(t, S.Array):
            items = [self.value_expr(t.elem, x) for x in v]  # type: ignore[union-attr]
            if len(set(items)) == 1:
                return f"::core::array::from_fn(|_| {items[0]})"
            return f"[{', '.join(items)}]"
        if isinstance(t, S.Vec):
            items = [self.value_expr(t.elem, x) for x in v]  # type: ignore[union-attr]
            return f"vec![{', '.join(items)}]" if items else "rt::Vec::new()"
        if isinstance(t, S.Struct):
            parts = [f"{ident(f.name)}: {self.value_expr(f.type, v[f.name])}"  # type: ignore[index]
                     for f in t.value_fields]
            return f"{self.tn(t)} {{ {', '.join(parts)} }}"
        raise TypeError(f"no value of {S.type_name(t)}")

    def zero_expr(self, t: S.Type) -> str:
        """A value of `t` with every number zero (a placeholder the parser returns along with
        an error it reports later)."""
        if isinstance(t, S.Prim):
            return {"bool": "false", "float": f"{t.name}::from_bits(0)"}.get(t.kind, "0")
        if isinstance(t, S.Enum):
            if t.open:
                return f"{self.tn(t)}(0)"
            return self.enum_variant(t, 0 if t.name_of(0) is not None else next(iter(t.values.values())))
        if isinstance(t, S.Flags):
            return f"{self.tn(t)}(0)"
        if isinstance(t, S.Bytes) and t.utf8:
            return "rt::String::new()"
        if isinstance(t, (S.Bytes, S.BigInt, S.CharArray, S.Vec)):
            return "rt::Vec::new()"
        if isinstance(t, S.Array):
            return f"::core::array::from_fn(|_| {self.zero_expr(t.elem)})"
        if isinstance(t, S.Union):
            case = t.cases[0]
            variant = f"{self.tn(t)}::{self.case_names(t)[case.tag]}"
            return variant if case.type is None else f"{variant}({self.zero_expr(case.type)})"
        assert isinstance(t, S.Struct)
        parts = [f"{ident(f.name)}: {self.zero_expr(f.type)}" for f in t.value_fields]
        return f"{self.tn(t)} {{ {', '.join(parts)} }}"

    # ------------------------------------------------------------------ declarations

    def gen_enum(self, e: S.Enum) -> list[str]:
        name, base = self.tn(e), int_type(e.base)
        if e.open:
            out = [f"/// Enum `{e.name}` (open: any `{e.base.name}`), carried as its value.",
                   "#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]",
                   f"pub struct {name}(pub {base});", "", f"impl {name} {{"]
            out += [f"/// `{v}`\npub const {v.upper()}: Self = Self({value});" for v, value in e.values.items()]
            return out + ["}"]
        variants = self.variants(e)
        out = [f"/// Enum `{e.name}`, carried as its `{e.base.name}` value.",
               "#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]",
               f"#[repr({base})]",
               f"pub enum {name} {{"]
        out += [f"/// `{v}`\n{variants[v]} = {value}," for v, value in e.values.items()]
        out += ["}", "",
                f"impl ::core::convert::TryFrom<{base}> for {name} {{",
                f"type Error = {base};", "",
                f"fn try_from(value: {base}) -> ::core::result::Result<Self, {base}> {{",
                "match value {"]
        out += [f"{value} => Ok(Self::{variants[v]})," for v, value in e.values.items()]
        out += ["other => Err(other),", "}", "}", "}", "",
                f"impl ::core::convert::From<{name}> for {base} {{",
                f"fn from(value: {name}) -> {base} {{",
                f"value as {base}",
                "}", "}", "",
                f"impl {name} {{",
                "/// The value of a decoded integer: `decode enum` when it names none.",
                "#[inline]",
                f"pub fn checked(value: {base}) -> rt::Result<Self> {{",
                "Self::try_from(value).map_err(|value| rt::Error::Enum {",
                "path: rt::String::new(),",
                "value: value.into(),",
                f"name: {quoted(e.name)},",
                "})", "}", "}"]
        return out

    def gen_flags(self, f: S.Flags) -> list[str]:
        name, base = self.tn(f), int_type(f.base)
        keep = "kept" if f.keep_unknown else "refused"

        def into(value: str) -> str:
            return value if base == "u64" else f"{value}.into()"

        name_ = quoted(f.name)
        out = [f"/// Flags `{f.name}`: named bits of a `{f.base.name}` (other bits are {keep}).",
               "#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]",
               f"pub struct {name}(pub {base});", "", f"impl {name} {{"]
        out += [f"/// `{b}`, bit {bit}\npub const {b.upper()}: Self = Self({1 << bit:#x});"
                for b, bit in f.bits.items()]
        if not f.keep_unknown:
            out += ["", "/// The value of a decoded integer: `decode flags` when it sets an unnamed bit.",
                    "#[inline]",
                    f"pub fn checked(value: {base}) -> rt::Result<Self> {{",
                    f"if value & !{f.mask:#x} != 0 {{",
                    f"return Err(rt::Error::Flags {{ path: rt::String::new(), value: {into('value')}, name: {name_} }});",
                    "}", "Ok(Self(value))", "}", "",
                    "/// The integer to encode: `encode flags` when it sets an unnamed bit.",
                    "#[inline]",
                    f"pub fn bits(self) -> rt::Result<{base}> {{",
                    f"if self.0 & !{f.mask:#x} != 0 {{",
                    f"return Err(rt::Error::UnknownBits {{ path: rt::String::new(), value: {into('self.0')}, name: {name_} }});",
                    "}", "Ok(self.0)", "}"]
        return out + ["}"]

    def case_names(self, u: S.Union) -> dict[int, str]:
        """Each case's variant: the enum value's name, or Tag<n> (TagNeg<n>)."""
        out: dict[int, str] = {}
        for c in u.cases:
            named = isinstance(u.base, S.Enum) and u.base.name_of(c.tag) is not None
            name = camel(c.name) if named else (f"Tag{c.tag}" if c.tag >= 0 else f"TagNeg{-c.tag}")
            while name in out.values():
                name += "V"
            out[c.tag] = name
        return out

    def gen_union(self, u: S.Union) -> list[str]:
        names = self.case_names(u)
        out = [f"/// Union `{u.name}`: the case an earlier `{S.type_name(u.base)}` field picks.",
               "#[derive(Clone, Debug, PartialEq)]", f"pub enum {self.tn(u)} {{"]
        for c in u.cases:
            if c.type is None:
                out.append(f"/// {c.name}: no value\n{names[c.tag]},")
            else:
                out.append(f"/// {c.name}: {self.describe(c.type)}\n{names[c.tag]}({self.rust_type(c.type)}),")
        return out + ["}"]

    def gen_struct(self, s: S.Struct) -> list[str]:
        self.count_types = {f.name: int_type(f.type) for f in s.fields if f.count_of}  # type: ignore[arg-type]
        msg = isinstance(s, S.Message)
        fields = s.value_fields
        doc = f"/// Message `{s.name}`, id {getattr(s, 'id', 0)}." if msg else f"/// Struct `{s.name}`."
        out = [doc, "#[derive(Clone, Debug, PartialEq)]", f"pub struct {self.tn(s)} {{"]
        for f in fields:
            note = f", since version {f.since}" if f.since > 1 else ""
            out += [f"/// {self.describe(f.type)}{note}", f"pub {ident(f.name)}: {self.rust_type(f.type)},"]
        out += ["}", ""]
        version = "version" if msg and any(f.since > 1 for f in s.fields) else "_version"
        vparam = f", {version}: u16" if msg else ""
        enc = self.encode_body(s)
        dec = self.decode_body(s)
        par = self.parse_body(s)
        fmt = [line for f in fields for line in self.format_field(s, f)]
        init = ", ".join(f"{ident(f.name)}: {local(f.name)}" for f in fields)
        dec.append(f"Ok(Self {{ {init} }})" if fields else "Ok(Self {})")
        par.append(f"Ok(Self {{ {init} }})" if fields else "Ok(Self {})")
        methods = [
            f"fn encode(&self, {'out' if s.fields else '_out'}: &mut rt::Vec<u8>{vparam}) -> rt::Result<()> {{",
            *enc, "Ok(())", "}", "",
            f"fn decode({'r' if s.fields else '_r'}: &mut rt::Reader<'_>{vparam}) -> rt::Result<Self> {{",
            *dec, "}", "",
            f"fn parse({'t' if fields else '_t'}: &mut rt::Tokens<'_>) -> rt::Result<Self> {{", *par, "}", "",
            f"fn format(&self, {'out' if fields else '_out'}: &mut rt::Vec<rt::String>) {{", *fmt, "}"]
        if not msg:
            return out + [f"impl rt::Wire for {self.tn(s)} {{", *methods, "}"]
        assert isinstance(s, S.Message)
        head = [f"impl rt::Message for {self.tn(s)} {{",
                f"const NAME: &'static str = {quoted(s.name)};",
                f"const NEWEST: u16 = {s.newest};",
                f"const TRIM: bool = {'true' if s.trim else 'false'};", ""]
        size = []
        if s.trim:
            size = ["", f"fn size_at({'version' if len(s.groups) > 1 else '_version'}: u16) -> usize {{"]
            for g in reversed(s.groups[1:]):
                size.append(f"if version >= {g} {{\nreturn {S.size_at(s, g)};\n}}")
            size += [f"{S.size_at(s, 1)}", "}"]
        return out + [*head, *methods, *size, "}"]

    def counted_by(self, s: S.Struct) -> dict[str, S.Field]:
        """Each count or size field's name -> the field it counts."""
        return {f.name: next(t for t in s.fields if t.name == f.count_of) for f in s.fields if f.count_of}

    @staticmethod
    def discriminators(s: S.Struct) -> set[str]:
        return {f.type.on for f in s.fields if isinstance(f.type, S.Union)}

    def disc_int(self, u: S.Union, value: str) -> str:
        """The discriminator's integer, from its value `value`."""
        if isinstance(u.base, S.Enum):
            return f"{value}.0" if u.base.open else f"{int_type(u.base.base)}::from({value})"
        return value

    def encode_body(self, s: S.Struct) -> list[str]:
        """The fields in order; in a message, each extension group when the version has it."""
        lines: list[str] = []
        for g in s.groups if isinstance(s, S.Message) else (1,):
            body = [line for f in s.fields if f.since == g for line in self.encode_field(s, f)]
            lines += body if g == 1 else [f"if version >= {g} {{", *body, "}"]
        return lines

    def encode_field(self, s: S.Struct, f: S.Field) -> list[str]:
        t = f.type
        if isinstance(t, S.Pad):
            return [f"out.resize(out.len() + {t.n}, 0);"]
        if f.const is not None:
            data = f.const + bytes(t.n - len(f.const)) if isinstance(t, S.CharArray) else \
                raw_bytes(base_of(t), f.const)
            return [f"out.extend_from_slice(&[{byte_list(data)}]);"]
        if f.count_of:
            target = self.counted_by(s)[f.name]
            tt = target.type
            unit = dict(tt.count.fields)[f.name]  # type: ignore[union-attr]
            length = f"rt::minimal_len(&self.{ident(target.name)})" if isinstance(tt, S.BigInt) else \
                f"self.{ident(target.name)}.len()"
            value = f"rt::count_value({length}, {scale(tt, unit)}, {t.max})"  # type: ignore[union-attr]
            rust = int_type(t)  # type: ignore[arg-type]
            value = value if rust == "u64" else f"({value} as {rust})"
            code, fallible = self.write_int(t, value)  # type: ignore[arg-type]
            return [f"{code}{at(f.name)};" if fallible else f"{code};"]
        if isinstance(t, S.Union):
            return self.encode_union(f, t)
        return [self.encode_stmt(t, field_place(f.name), f.name)]

    def encode_union(self, f: S.Field, u: S.Union) -> list[str]:
        names = self.case_names(u)
        lines = [f"match ({self.disc_int(u, 'self.' + ident(u.on))}, &self.{ident(f.name)}) {{"]
        for c in u.cases:
            variant = f"{self.tn(u)}::{names[c.tag]}"
            if c.type is None:
                lines.append(f"({c.tag}, {variant}) => {{}}")
            else:
                lines.append(f"({c.tag}, {variant}(v)) => {{\n{self.encode_stmt(c.type, ITEM, f.name)}\n}}")
        lines.append(f"(tag, _) => return Err(rt::wrong_case({quoted(u.on)}, tag, {quoted(u.name)})"
                     f".at_field({quoted(f.name)})),")
        return lines + ["}"]

    def decode_body(self, s: S.Struct) -> list[str]:
        """The fields in order; in a message, each extension group is read when the version
        has it and the payload goes on, else takes its defaults (WIRE.md, "Versions")."""
        lines: list[str] = []
        groups = s.groups if isinstance(s, S.Message) else (1,)
        for g in groups:
            body = [line for f in s.fields if f.since == g for line in self.decode_field(f)]
            if g == 1:
                lines += body
                continue
            values = [f for f in s.value_fields if f.since == g]
            names = ", ".join(local(f.name) for f in values)
            defaults = ", ".join(self.value_expr(f.type, f.default) for f in values)
            if len(values) > 1:
                names, defaults = f"({names})", f"({defaults})"
            if not values:
                lines += [f"if version >= {g} && r.left() > 0 {{", *body, "}"]
                continue
            tail = f"let {names} = "
            if len(values) == 1 and body[-1].startswith(tail) and "\n" not in body[-1]:
                body[-1] = body[-1][len(tail):-1]   # the block's value
            else:
                body.append(names)
            lines += [f"let {names} = if version >= {g} && r.left() > 0 {{", *body,
                      "} else {", defaults, "};"]
        return lines

    def decode_field(self, f: S.Field) -> list[str]:
        t = f.type
        if isinstance(t, S.Pad):
            return [f"r.pad({t.n}){at(f.name)};"]
        if f.const is not None:
            if isinstance(t, S.CharArray):
                data = f.const + bytes(t.n - len(f.const))   # the very bytes, NUL padding too
                return [f"r.constant(&[{byte_list(data)}]){at(f.name)};"]
            return [f"{self.read_int(base_of(t))}.and_then(|v| rt::same(v, {f.const})){at(f.name)};"]
        if f.count_of:
            return [f"let {local(f.name)} = {self.read_int(t)}{at(f.name)};"]  # type: ignore[arg-type]
        if isinstance(t, S.Union):
            names = self.case_names(t)
            lines = [f"let {local(f.name)} = match {self.disc_int(t, local(t.on))} {{"]
            for c in t.cases:
                variant = f"{self.tn(t)}::{names[c.tag]}"
                if c.type is None:
                    lines.append(f"{c.tag} => {variant},")
                else:
                    lines.append(f"{c.tag} => {variant}({self.decode_expr(c.type)}{at(f.name)}),")
            lines.append(f"tag => return Err(rt::no_case({quoted(t.on)}, tag, {quoted(t.name)})"
                         f".at_field({quoted(f.name)})),")
            return lines + ["};"]
        if isinstance(t, (S.Bytes, S.BigInt, S.Vec)) and t.count.prefix is None:
            return [f"let {local(f.name)} = {self.decode_counted(t)}{at(f.name)};"]
        return [f"let {local(f.name)} = {self.decode_expr(t)}{at(f.name)};"]

    def parse_body(self, s: S.Struct) -> list[str]:
        lines = []
        tags = self.discriminators(s)
        for f in s.value_fields:
            t = f.type
            if isinstance(t, S.Union):
                names = self.case_names(t)
                body = [f"Ok(match tag_{t.on} {{"]
                for c in t.cases:
                    variant = f"{self.tn(t)}::{names[c.tag]}"
                    body.append(f"Some({c.tag}) => {variant}," if c.type is None else
                                f"Some({c.tag}) => {variant}({self.parse_expr(c.type)}?),")
                body += ["_ => {", f"t.no_case({quoted(t.on)}, tag_{t.on}, {quoted(t.name)});",
                         f"{self.zero_expr(t)}", "}", "})"]
                expr = f"t.field({quoted(f.name)}, |t| {{\n" + "\n".join(body) + "\n})"
            else:
                expr = f"t.field({quoted(f.name)}, {self.parse_fn(t)})"
            if f.since > 1:
                expr = f"t.since({f.since}, |t| {expr})"
            lines.append(f"let {local(f.name)} = {expr}?;")
            if f.name in tags:
                lines.append(f"let tag_{f.name} = t.last();")
        return lines

    def format_field(self, s: S.Struct, f: S.Field) -> list[str]:
        t = f.type
        if not isinstance(t, S.Union):
            return self.format_code(t, field_place(f.name))
        names = self.case_names(t)
        lines = [f"match &self.{ident(f.name)} {{"]
        for c in t.cases:
            variant = f"{self.tn(t)}::{names[c.tag]}"
            if c.type is None:
                lines.append(f"{variant} => {{}}")
            else:
                lines += [f"{variant}(v) => {{", *self.format_code(c.type, ITEM), "}"]
        return lines + ["}"]

    # ------------------------------------------------------------------ dispatch

    def gen_dispatch(self) -> list[str]:
        msgs = list(self.schema.messages.values())
        out = ["/// The messages, by index: what the frame needs of each, and its versions.",
               f"pub const MESSAGE_INFO: [fr::Info; {len(msgs)}] = ["]
        for m in msgs:
            direction = {"": "Any", "request": "Request", "response": "Response"}[m.direction]
            out.append(f"fr::Info {{ name: {quoted(m.name)}, id: {m.id:#x}, direction: fr::Direction::{direction}, "
                       f"seed: {m.seed or 0}, newest: {m.newest}, trim: {'true' if m.trim else 'false'} }},")
        out += ["];", "",
                "/// The index of the message called `name`.",
                "pub fn message_index(name: &str) -> rt::Option<usize> {", "match name {"]
        out += [f"{quoted(m.name)} => Some({i})," for i, m in enumerate(msgs)]
        out += ["_ => None,", "}", "}"]
        if self.adapter is not None:
            return out + self.gen_adapter()
        for fn, doc, arg, ret in (
                ("encode_text", "ENCODE: the payload of message `index` given in text form.",
                 "words: &[&str]", "rt::Vec<u8>"),
                ("decode_text", "DECODE: the text form of a payload of message `index`.",
                 "payload: &[u8]", "rt::Vec<rt::String>"),
                ("reencode", "ECHO: a payload of message `index` decoded and encoded again.",
                 "payload: &[u8]", "rt::Vec<u8>"),
                ("check", "Whether a payload of message `index` decodes.", "payload: &[u8]", "()")):
            param = arg.split(":")[0]
            out += ["", f"/// {doc}",
                    f"pub fn {fn}(index: usize, {arg}, version: u16) -> rt::Result<{ret}> {{", "match index {"]
            out += [f"{i} => rt::{fn}::<{self.tn(m)}>({param}, version)," for i, m in enumerate(msgs)]
            out += ["_ => Err(rt::unknown_message(index)),", "}", "}"]
        return out

    # ------------------------------------------------------------------ adapters

    def adapter_doc(self, m: S.Message) -> list[str]:
        """The message's fields, one comment line each, for its stubs."""
        out = [f"/// `{m.name}` (id {m.id:#x}{', ' + m.direction if m.direction else ''}): "
               f"the struct `{self.tn(m)}`" + (":" if m.value_fields else ", no fields.")]
        out += [f"/// - `{ident(f.name)}`: {self.describe(f.type)}" for f in m.value_fields]
        return out

    def gen_adapter(self) -> list[str]:
        """The trait `Adapter` (one encode/decode pair per message, each defaulting to
        `Unimplemented`), the adapter instance, and the dispatch through it."""
        frames = self.adapter == "frames"
        msgs = list(self.schema.messages.values())
        enc_args, enc_call = ("v: &{t}, seq: u64, plain: &[i128]", "(v, seq, plain)") if frames else ("v: &{t}", "v")
        dec_arg = "frame" if frames else "b"
        what = ("the whole frame of `v` with `seq` and the plain header values `plain` (header order)"
                if frames else "the payload of `v`")
        out = ["", "/// The library under test: implement the messages it handles (`crate::adapter::Library`);",
               f"/// encode returns {what}, decode takes "
               + ("a whole frame." if frames else "a payload."),
               "/// The others answer `ERR unsupported adapter: <Message> is not implemented`.",
               "pub trait Adapter {"]
        for m in msgs:
            sn = snake(m.name)
            out += [*self.adapter_doc(m),
                    f"fn encode_{sn}(&mut self, {enc_args.format(t=self.tn(m))}) -> rt::Result<rt::Vec<u8>, ad::AdapterError> {{",
                    f"let _ = {enc_call};", "Err(ad::AdapterError::Unimplemented)", "}",
                    f"fn decode_{sn}(&mut self, {dec_arg}: &[u8]) -> rt::Result<{self.tn(m)}, ad::AdapterError> {{",
                    f"let _ = {dec_arg};", "Err(ad::AdapterError::Unimplemented)", "}"]
        out += ["}", "",
                "thread_local! {",
                "static ADAPTER: ::core::cell::RefCell<crate::adapter::Library> = "
                "::core::cell::RefCell::new(::core::default::Default::default());",
                "}", "",
                "fn with<T>(f: impl FnOnce(&mut crate::adapter::Library) -> T) -> T {",
                "ADAPTER.with(|a| f(&mut a.borrow_mut()))", "}"]
        for i, m in enumerate(msgs):
            sn, tn, name = snake(m.name), self.tn(m), quoted(m.name)
            if frames:
                out += ["", f"fn adapter_encode_{sn}(v: &{tn}, seq: u64, plain: &[i128]) -> rt::Result<rt::Vec<u8>> {{",
                        f"let frame = with(|a| a.encode_{sn}(v, seq, plain)).map_err(|e| ad::failed(e, \"encode\", {name}))?;",
                        f"ad::check_frame::<Schema>({i}, &frame, seq, plain)?;", "Ok(frame)", "}"]
            else:
                out += ["", f"fn adapter_encode_{sn}(v: &{tn}) -> rt::Result<rt::Vec<u8>> {{",
                        f"with(|a| a.encode_{sn}(v)).map_err(|e| ad::failed(e, \"encode\", {name}))", "}"]
            out += [f"fn adapter_decode_{sn}(b: &[u8]) -> rt::Result<{tn}> {{",
                    f"with(|a| a.decode_{sn}(b)).map_err(|e| ad::failed(e, \"decode\", {name}))", "}"]
        zero = ", 0, &[0; PLAIN_COUNT]" if frames else ""
        as_payload = ".map(|f| ad::payload_of::<Schema>(&f))" if frames else ""
        def arms(make) -> list[str]:
            return [*(make(i, snake(m.name), self.tn(m)) for i, m in enumerate(msgs)),
                    "_ => Err(rt::unknown_message(index)),", "}", "}"]
        def framed(i: int) -> str:
            return f"&fr::frame::<Schema>({i}, 0, &[0; PLAIN_COUNT], payload)?" if frames else "payload"
        out += ["", "/// ENCODE: the payload of message `index` given in text form, by the adapter.",
                "pub fn encode_text(index: usize, words: &[&str], version: u16) -> rt::Result<rt::Vec<u8>> {",
                "match index {",
                *arms(lambda i, sn, tn: f"{i} => adapter_encode_{sn}(&rt::parse_message::<{tn}>(words, version)?{zero}){as_payload},"),
                "", "/// DECODE: the text form of a payload of message `index`, by the adapter.",
                "pub fn decode_text(index: usize, payload: &[u8], _version: u16) -> rt::Result<rt::Vec<rt::String>> {",
                "match index {",
                *arms(lambda i, sn, tn: f"{i} => adapter_decode_{sn}({framed(i)}).map(|v| rt::format_message(&v)),"),
                "", "/// ECHO: a payload of message `index` decoded and encoded again, by the adapter.",
                "pub fn reencode(index: usize, payload: &[u8], _version: u16) -> rt::Result<rt::Vec<u8>> {",
                "match index {",
                *arms(lambda i, sn, tn: f"{i} => adapter_encode_{sn}(&adapter_decode_{sn}({framed(i)})?{zero}){as_payload},"),
                "", "/// Whether a payload of message `index` decodes, by the adapter.",
                "pub fn check(index: usize, payload: &[u8], _version: u16) -> rt::Result<()> {",
                "match index {",
                *arms(lambda i, sn, tn: f"{i} => adapter_decode_{sn}({framed(i)}).map(|_| ()),")]
        if frames:
            out += ["", "/// SEND: the library's whole frame.",
                    "fn send_frame(index: usize, seq: u64, plain: &[i128], words: &[&str], version: u16) -> rt::Result<rt::Vec<u8>> {",
                    "match index {",
                    *arms(lambda i, sn, tn: f"{i} => adapter_encode_{sn}(&rt::parse_message::<{tn}>(words, version)?, seq, plain),"),
                    "", "/// RECV: the library reads the whole frame.",
                    "fn recv_words(index: usize, frame: &[u8]) -> rt::Result<rt::Vec<rt::String>> {",
                    "match index {",
                    *arms(lambda i, sn, tn: f"{i} => adapter_decode_{sn}(frame).map(|v| rt::format_message(&v)),"),
                    "", "/// ECHO: the library reads the whole frame and writes it again with its seq and header values.",
                    "fn echo_frame(index: usize, frame: &[u8], seq: u64, plain: &[i128]) -> rt::Result<rt::Vec<u8>> {",
                    "match index {",
                    *arms(lambda i, sn, tn: f"{i} => adapter_encode_{sn}(&adapter_decode_{sn}(frame)?, seq, plain),")]
        return out

    # ------------------------------------------------------------------ the kit's protocol

    def gen_protocol(self) -> list[str]:
        out = ["/// The schema, as the kit runs it: `crosswire_kit::run(&schema::Schema, name)`.",
               "pub struct Schema;", "",
               "impl crosswire_kit::Protocol for Schema {",
               "type Plain = [i128; PLAIN_COUNT];",
               "const NEWEST_VERSION: u16 = NEWEST_VERSION;",
               "const MAX_PAYLOAD: u32 = MAX_PAYLOAD;",
               "const HAS_FRAME: bool = HAS_FRAME;",
               "const HEADER_SIZE: usize = HEADER_SIZE;",
               "const TRAILER_SIZE: usize = TRAILER_SIZE;",
               "const SEQ_MAX: u64 = SEQ_MAX;",
               "const MESSAGES: &'static [fr::Info] = &MESSAGE_INFO;",
               "const HEADER_FIELDS: &'static [fr::Part] = &HEADER_FIELDS;", ""]
        for fn, params, ret in (
                ("message_index", "name: &str", "rt::Option<usize>"),
                ("encode_text", "index: usize, words: &[&str], version: u16", "rt::Result<rt::Vec<u8>>"),
                ("decode_text", "index: usize, payload: &[u8], version: u16", "rt::Result<rt::Vec<rt::String>>"),
                ("reencode", "index: usize, payload: &[u8], version: u16", "rt::Result<rt::Vec<u8>>"),
                ("check", "index: usize, payload: &[u8], version: u16", "rt::Result<()>"),
                ("write_frame", "out: &mut rt::Vec<u8>, index: usize, seq: u64, plain: &[i128], payload: &[u8]", "rt::Result<()>"),
                ("check_head", "h: &[u8], direction: fr::Direction", "rt::Result<fr::Header<[i128; PLAIN_COUNT]>>"),
                ("check_sum", "frame: &[u8], head: &fr::Header<[i128; PLAIN_COUNT]>", "rt::Result<()>")):
            args = ", ".join(p.split(":")[0] for p in params.split(", "))
            out += ["#[inline]", f"fn {fn}({params}) -> {ret} {{", f"{fn}({args})", "}"]
        if self.adapter == "frames" and self.schema.frame is not None:
            out += ["",
                    "const LIBRARY_FRAMES: bool = true;",
                    "#[inline]",
                    "fn find_head(h: &[u8], direction: fr::Direction) -> rt::Result<fr::Header<[i128; PLAIN_COUNT]>> {",
                    "find_head(h, direction)", "}"]
        if self.adapter == "frames":
            out += ["",
                    "fn send_frame(index: usize, seq: u64, plain: &[i128], words: &[&str], version: u16) -> rt::Result<rt::Vec<u8>> {",
                    "send_frame(index, seq, plain, words, version)", "}",
                    "fn recv_words(head: &fr::Head<Self>, frame: &[u8], _version: u16) -> rt::Result<rt::Vec<rt::String>> {",
                    "recv_words(head.message, frame)", "}",
                    "fn echo_frame(head: &fr::Head<Self>, frame: &[u8], _version: u16) -> rt::Result<rt::Vec<u8>> {",
                    "echo_frame(head.message, frame, head.seq, &head.plain)", "}"]
        return out + ["}"]

    # ------------------------------------------------------------------ the frame

    def gen_frame(self) -> list[str]:
        frame = self.schema.frame
        if frame is None:
            return ["/// Whether the schema declares a frame: it does not (payloads only).",
                    "pub const HAS_FRAME: bool = false;",
                    "pub const HEADER_SIZE: usize = 0;",
                    "pub const TRAILER_SIZE: usize = 0;",
                    "pub const PLAIN_COUNT: usize = 0;",
                    "pub const SEQ_MAX: u64 = 0;",
                    "pub const HEADER_FIELDS: [fr::Part; 0] = [];", "",
                    "/// No frame: `ERR unsupported`.",
                    "pub fn write_frame(_out: &mut rt::Vec<u8>, _index: usize, _seq: u64, _plain: &[i128], "
                    "_payload: &[u8]) -> rt::Result<()> {", "Err(fr::no_frame())", "}", "",
                    "/// No frame: `ERR unsupported`.",
                    "pub fn check_head(_head: &[u8], _direction: fr::Direction) -> rt::Result<fr::Header<[i128; 0]>> {",
                    "Err(fr::no_frame())", "}", "",
                    "/// No frame: `ERR unsupported`.",
                    "pub fn check_sum(_frame: &[u8], _head: &fr::Header<[i128; 0]>) -> rt::Result<()> {",
                    "Err(fr::no_frame())", "}"]
        seqf, idf, lenf = frame.role("seq"), frame.role("id"), frame.role("length")
        roles = {"const": "Const", "id": "Id", "length": "Length", "seq": "Seq", "": "Plain"}
        out = ["/// Whether the schema declares a frame.",
               "pub const HAS_FRAME: bool = true;",
               "/// The header's size, in bytes.",
               f"pub const HEADER_SIZE: usize = {frame.header_size};",
               "/// The checksum's size after the payload (0: none).",
               f"pub const TRAILER_SIZE: usize = {frame.trailer_size};",
               "/// The header fields that carry a value of the sender's (SEND and RECV tokens).",
               f"pub const PLAIN_COUNT: usize = {len(frame.plain)};",
               "/// The largest seq the frame carries (0: it has no seq field).",
               f"pub const SEQ_MAX: u64 = {seqf.type.max if seqf else 0};",
               "/// The header, field by field.",
               f"pub const HEADER_FIELDS: [fr::Part; {len(frame.header)}] = ["]
        for h in frame.header:
            out.append(f"fr::Part {{ name: {quoted(h.name)}, offset: {h.offset}, size: {h.type.size}, "
                       f"big: {big(h.type.order)}, role: fr::Role::{roles[h.role]}, min: {h.type.min}, "
                       f"max: {h.type.max} }},")
        out += ["];", ""]
        out += self.gen_crc(frame)
        out += self.gen_write_frame(frame)
        out += self.gen_check_head(frame, idf, lenf, seqf)
        if self.adapter == "frames":
            out += self.gen_check_head(frame, idf, lenf, seqf, judge=False)
        out += self.gen_check_sum(frame)
        return out

    def covered(self, frame: S.Frame) -> tuple[str, str]:
        """The checksum's run as the bounds of one slice of the frame: (start, end), `end`
        an expression of `end` (where the payload ends) when the run includes the payload."""
        c = frame.checksum
        assert c is not None
        offsets = {h.name: (h.offset, h.offset + h.type.size) for h in frame.header}
        first, last = c.covers[0], c.covers[-1]
        start = str(offsets[first][0]) if first != "payload" else "HEADER_SIZE"
        end = str(offsets[last][1]) if last != "payload" else "end"
        return start, end

    def gen_crc(self, frame: S.Frame) -> list[str]:
        c = frame.checksum
        if c is None:
            return []
        a = c.algorithm
        w = f"u{a.width}"
        digits = a.width // 4
        rows = [", ".join(f"{v:#0{digits + 2}x}" for v in a.table[i:i + 8]) + "," for i in range(0, 256, 8)]
        if a.reflect:
            step = "(crc >> 8) ^ CRC_TABLE[usize::from(crc as u8 ^ byte)]"
        else:
            step = f"(crc << 8) ^ CRC_TABLE[usize::from((crc >> {a.width - 8}) as u8 ^ byte)]"
        seed = "seed" if c.seed else "_seed"
        body = [f"let mut crc: {w} = {a.init:#x};"]
        if c.seed == "before":
            body.append("crc = crc_byte(crc, seed);")
        body.append("for &byte in data {\ncrc = crc_byte(crc, byte);\n}")
        if c.seed == "after":
            body.append("crc = crc_byte(crc, seed);")
        body.append(f"crc ^ {a.xorout:#x}" if a.xorout else "crc")
        kind = "reflected" if a.reflect else "not reflected"
        return [f"/// The 256-entry table of {a.name} (poly {a.poly:#x}, {kind}).",
                f"const CRC_TABLE: [{w}; 256] = [", *rows, "];", "",
                "#[inline]",
                f"fn crc_byte(crc: {w}, byte: u8) -> {w} {{", step, "}", "",
                f"/// The {a.name} of `data`, with the message's seed byte fed {c.seed or 'nowhere'}.",
                f"fn frame_crc(data: &[u8], {seed}: u8) -> {w} {{", *body, "}", ""]

    def gen_write_frame(self, frame: S.Frame) -> list[str]:
        c = frame.checksum
        lenf = frame.role("length")
        needs_info = frame.role("id") is not None or lenf is not None or bool(c and c.seed)
        plain = "plain" if frame.plain else "_plain"
        out = ["/// Append the whole frame of message `index` around `payload`: the header (constants,",
               "/// id, length, seq, the plain values in header order), the payload, the checksum.",
               f"pub fn write_frame(out: &mut rt::Vec<u8>, index: usize, seq: u64, {plain}: &[i128], "
               "payload: &[u8]) -> rt::Result<()> {"]
        if needs_info:
            out.append("let info = MESSAGE_INFO.get(index).ok_or_else(|| rt::unknown_message(index))?;")
        else:
            out.append("if index >= MESSAGE_INFO.len() {\nreturn Err(rt::unknown_message(index));\n}")
        if frame.role("seq") is None or frame.role("seq").type.max < (1 << 64) - 1:  # type: ignore[union-attr]
            out.append("if seq > SEQ_MAX {\nreturn Err(fr::header_range(\"seq\", seq, 0, SEQ_MAX.into()));\n}")
        values: dict[str, str] = {}
        for i, h in enumerate(frame.plain):
            bounds = f"{h.type.min}, {h.type.max}"
            out.append(f"let {local(h.name)} = fr::plain_value(plain, {i}, {quoted(h.name)}, {bounds})?;")
            values[h.name] = f"{local(h.name)} as u64"
        if lenf is not None:
            adjust = frame.length_adjust
            out.append(f"let length = fr::frame_length(payload.len(), {adjust}, MAX_PAYLOAD, info.name)?;")
        if c is not None:
            out.append("let start = out.len();")
        out.append("out.reserve(HEADER_SIZE + payload.len() + TRAILER_SIZE);")
        for h in frame.header:
            if h.role == "const":
                value = f"{h.const & ((1 << (8 * h.type.size)) - 1):#x}"
            elif h.role == "id":
                value = "u64::from(info.id)"
            elif h.role == "length":
                value = "length"
            elif h.role == "seq":
                value = "seq"
            else:
                value = values[h.name]
            out.append(f"fr::put_uint(out, {value}, {h.type.size}, {big(h.type.order)});")
        out.append("out.extend_from_slice(payload);")
        if c is not None:
            start, end = self.covered(frame)
            end = "" if end == "end" else f"start + {end}"
            seed = "info.seed" if c.seed else "0"
            first = "start" if start == "0" else f"start + {start}"
            out.append(f"let crc = frame_crc(&out[{first}..{end}], {seed});")
            out.append(f"fr::put_uint(out, u64::from(crc), {c.type.size}, {big(c.type.order)});")
        return out + ["Ok(())", "}", ""]

    def lookup_arms(self, idf: S.HeaderField | None) -> list[str]:
        """The match arms from (id, direction) to a message index (WIRE.md, "Receiving")."""
        schema = self.schema
        index = {m.name: i for i, m in enumerate(schema.messages.values())}
        sides = {"Any": "", "Request": "request", "Response": "response"}
        arms = []
        if idf is None:
            for side, direction in sides.items():
                found = [m for m in schema.messages.values()
                         if not direction or not m.direction or m.direction == direction]
                if len(found) > 1:
                    arms.append(f"fr::Direction::{side} => return Err(fr::two_messages(\"\", 0, "
                                f"{quoted(found[0].name)}, {quoted(found[1].name)})),")
                else:
                    arms.append(f"fr::Direction::{side} => {index[found[0].name]}," if found else
                                f"fr::Direction::{side} => return Err(fr::no_message(\"\", 0, direction)),")
            return arms
        name = quoted(idf.name)
        for mid in dict.fromkeys(m.id for m in schema.messages.values()):
            found = {side: schema.lookup(mid, d) for side, d in sides.items()}
            picks = {side: tuple(m.name for m in ms) for side, ms in found.items()}
            if len(set(picks.values())) == 1 and len(found["Any"]) == 1:
                arms.append(f"({mid:#x}, _) => {index[found['Any'][0].name]},")
                continue
            for side, ms in found.items():
                if len(ms) == 1:
                    arms.append(f"({mid:#x}, fr::Direction::{side}) => {index[ms[0].name]},")
                elif len(ms) > 1:
                    arms.append(f"({mid:#x}, fr::Direction::{side}) => return Err(fr::two_messages({name}, id, "
                                f"{quoted(ms[0].name)}, {quoted(ms[1].name)})),")
        arms.append(f"_ => return Err(fr::no_message({name}, id, direction)),")
        return arms

    def gen_check_head(self, frame: S.Frame, idf: S.HeaderField | None, lenf: S.HeaderField | None,
                       seqf: S.HeaderField | None, judge: bool = True) -> list[str]:
        """`check_head`, or with `judge` false `find_head`: a framing adapter's library judges
        the frames it reads, so the kit only finds them (the id and the length, no constant)."""
        def get(h: S.HeaderField) -> str:
            fn = "get_int" if h.type.signed else "get_uint"
            return f"rt::{fn}(h, {h.offset}, {h.type.size}, {big(h.type.order)})"

        if judge:
            doc = ["/// Check a frame header (WIRE.md, \"Receiving\": the constants in header order, the id",
                   "/// of a message of `direction`, the length) and say how long the whole frame is."]
        else:
            doc = ["/// Find a frame for the library to judge: the id of a message of `direction` and the",
                   "/// length, and how long the whole frame is; no constant is checked (the library does)."]
        out = [*doc,
               f"pub fn {'check' if judge else 'find'}_head(h: &[u8], direction: fr::Direction) "
               "-> rt::Result<fr::Header<[i128; PLAIN_COUNT]>> {",
               "if h.len() < HEADER_SIZE {",
               "return Err(rt::Error::FrameCut { got: h.len(), need: HEADER_SIZE });", "}"]
        for h in frame.header:
            if h.role == "const" and judge:
                mask = (1 << (8 * h.type.size)) - 1
                out += [f"let {local(h.name)} = fr::get_uint(h, {h.offset}, {h.type.size}, {big(h.type.order)});",
                        f"if {local(h.name)} != {h.const & mask:#x} {{",
                        f"return Err(fr::header_const({quoted(h.name)}, {local(h.name)}, {h.const & mask:#x}));", "}"]
        if idf is not None:
            out += [f"let id = fr::get_uint(h, {idf.offset}, {idf.type.size}, {big(idf.type.order)});",
                    "let message = match (id, direction) {", *self.lookup_arms(idf), "};"]
        else:
            out += ["let message = match direction {", *self.lookup_arms(None), "};"]
        if lenf is not None:
            out.append(f"let payload_len = fr::payload_len({quoted(lenf.name)}, "
                       f"fr::get_uint(h, {lenf.offset}, {lenf.type.size}, {big(lenf.type.order)}), "
                       f"{frame.length_adjust}, MAX_PAYLOAD)?;")
        else:
            sizes = [f"{i} => {S.fixed_size(m)}," for i, m in enumerate(self.schema.messages.values())]
            out += ["let payload_len = match message {", *sizes, "_ => 0,", "};"]
        seq = f"fr::get_uint(h, {seqf.offset}, {seqf.type.size}, {big(seqf.type.order)})" if seqf else "0"
        plain = ", ".join(f"i128::from({get(h)})" for h in frame.plain)
        out += ["Ok(fr::Header {", "message,", "payload_len,", f"seq: {seq},", f"plain: [{plain}],",
                "size: HEADER_SIZE + payload_len + TRAILER_SIZE,", "})", "}", ""]
        return out

    def gen_check_sum(self, frame: S.Frame) -> list[str]:
        c = frame.checksum
        doc = ["/// Check the checksum of a whole frame whose header `head` says how long it is."]
        if c is None:
            return ["/// The frame has no checksum: nothing to check.", "#[inline]",
                    "pub fn check_sum(_frame: &[u8], _head: &fr::Header<[i128; PLAIN_COUNT]>) -> rt::Result<()> {",
                    "Ok(())", "}"]
        start, end = self.covered(frame)
        seed = "MESSAGE_INFO.get(head.message).map_or(0, |m| m.seed)" if c.seed else "0"
        return [*doc,
                "pub fn check_sum(frame: &[u8], head: &fr::Header<[i128; PLAIN_COUNT]>) -> rt::Result<()> {",
                "let end = HEADER_SIZE + head.payload_len;",
                f"let want = u64::from(frame_crc(&frame[{start}..{end}], {seed}));",
                f"let got = fr::get_uint(frame, end, {c.type.size}, {big(c.type.order)});",
                "if got != want {", f"return Err(fr::bad_checksum({quoted(c.name)}, got, want));", "}",
                "Ok(())", "}"]

    # ------------------------------------------------------------------ the file

    def generate(self) -> str:
        schema = self.schema
        idents = []   # every identifier made of a field name: the field, its local, a union's tag
        for s in (*schema.structs.values(), *schema.messages.values()):
            idents += [n for f in s.value_fields for n in (ident(f.name), local(f.name))]
            idents += [local(f.name) for f in s.fields if f.count_of]
            idents += [f"tag_{name}" for name in self.discriminators(s)]
        lines = [
            "//! Every type of the schema as a Rust type with its codec (the `Wire` and `Message`",
            "//! traits of codec.rs), the dispatch by message name and index, and the frame"
            + ("; the trait `Adapter` that the library's adapter implements, and the dispatch through it."
               if self.adapter else "."),
            "// The shapes are the schema's: a union's cases may differ in size.",
            "#![allow(clippy::large_enum_variant)]",
        ]
        if not all(is_snake(n.removeprefix("r#")) for n in idents):
            lines.append("#![allow(non_snake_case)] // field names are the schema's")
        wire = ["use rt::Wire as _;"] if schema.structs else []   # the trait of nested structs
        if self.adapter is not None:
            wire.append("use crosswire_kit::adapter as ad;")
        lines += ["", "use crosswire_kit::codec as rt;", "use crosswire_kit::wire as fr;", *wire, "",
                  "/// `format.version`: the newest protocol version, the one spoken by default.",
                  f"pub const NEWEST_VERSION: u16 = {schema.version};",
                  "/// `format.max_payload`: the largest payload of a frame, in bytes.",
                  f"pub const MAX_PAYLOAD: u32 = {schema.max_payload};"]
        for e in schema.enums.values():
            lines += ["", *self.gen_enum(e)]
        for f in schema.flags.values():
            lines += ["", *self.gen_flags(f)]
        for u in schema.unions.values():
            lines += ["", *self.gen_union(u)]
        for s in (*schema.structs.values(), *schema.messages.values()):
            lines += ["", *self.gen_struct(s)]
        lines += ["", *self.gen_dispatch(), "", *self.gen_frame(), "", *self.gen_protocol(), *self.gen_crc_test()]
        return generated_banner("//") + indent(lines)

    def gen_crc_test(self) -> list[str]:
        """A unit test of the frame's CRC: the catalogue's check value of "123456789" (with the
        seed byte 0x42 fed where the frame feeds it), as harness/crc.py computes it."""
        frame = self.schema.frame
        if frame is None or frame.checksum is None:
            return []
        c = frame.checksum
        a = c.algorithm
        crc = a.start()
        if c.seed == "before":
            crc = a.update(crc, b"\x42")
        crc = a.update(crc, b"123456789")
        if c.seed == "after":
            crc = a.update(crc, b"\x42")
        want = a.finish(crc)
        note = f", seed 0x42 {c.seed}" if c.seed else " (the catalogue's check value)"
        return ["", "#[cfg(test)]", "mod tests {", "#[test]", "fn the_crc_of_the_check_string() {",
                f"// {a.name} of \"123456789\"{note}",
                f"assert_eq!(super::frame_crc(b\"123456789\", 0x42), {want:#x});", "}", "}"]


def bigint_le(v: int) -> bytes:
    if v == 0:
        return b""
    n = ((v if v >= 0 else ~v).bit_length() + 8) // 8
    return v.to_bytes(n, "little", signed=True)


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
            code = "" if text.startswith("//") else re.sub(r'"(\\.|[^"\\])*"', '""', text).split("//", 1)[0]
            leading = len(re.match(r"[}\])]*", code).group(0))
            close(leading)
            out.append("    " * len(levels) + text)
            rest = code[leading:]
            net = sum(rest.count(c) for c in "{([") - sum(rest.count(c) for c in "})]")
            if net > 0:
                levels.append(net)
            else:
                close(-net)
    return "\n".join(out) + "\n"


def generate(schema: S.Schema) -> dict[str, str]:
    return {OUT: Gen(schema).generate()}


# ---------------------------------------------------------------------- adapter peers

KIT = "peers/rust/kit"
ADAPTER_OUT = "src/schema.rs"


def adapter_generated(schema: S.Schema, frames: bool) -> dict[str, str]:
    """The generated file of an adapter peer (paths relative to its folder): the schema's types,
    text form and frame, the trait `Adapter` and the kit's `Protocol` dispatching through it."""
    return {ADAPTER_OUT: Gen(schema, "frames" if frames else "payload").generate()}


def adapter_files(schema: S.Schema, name: str, kit: str, frames: bool) -> dict[str, str]:
    """The files of an adapter peer that are the user's, written once: the manifest, Cargo.toml
    (the kit a path dependency at `kit`), the main and the adapter with one stub pair per message."""
    gen = Gen(schema, "frames" if frames else "payload")
    package = "cw-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)
    manifest = f"""name = {quoted(name)}
language = "rust"
contract = 3

[adapter]            # `crosswire build` regenerates {ADAPTER_OUT} from the schema before building
lang = "rust"
frames = {'true' if frames else 'false'}

[build]
requires = ["cargo"]
command = ["cargo", "build", "--release", "--quiet"]
outputs = ["target/release/cw-peer"]

[run]
command = ["target/release/cw-peer"]

[supports]
transports = ["uds", "tcp", "shm"]
messages = "*"
"""
    cargo = f"""[package]
name = {quoted(package)}
version = "0.1.0"
edition = "2021"
publish = false
description = "The crosswire adapter peer {name}: the library under test behind the crosswire kit"

[[bin]]
name = "cw-peer"
path = "src/main.rs"

[dependencies]
# crosswire's Rust kit (vendored by `crosswire kit --lang rust`): the contract, frames, transports.
crosswire-kit = {{ path = {quoted(kit)} }}
# The library under test goes here, pinned (its version is in Cargo.lock: commit it).

[workspace]   # a crate of its own, whatever workspace it sits in
"""
    main = f"""//! cw-peer for {name}: the crosswire kit, run with the schema's generated code (src/schema.rs,
//! rewritten by `crosswire build`) and the adapter (src/adapter.rs, yours).
#![forbid(unsafe_code)]

mod adapter;
#[rustfmt::skip] // generated by `crosswire build`
#[allow(dead_code)] // the schema's types and codec, used or not
mod schema;

fn main() -> std::io::Result<()> {{
    crosswire_kit::run(&schema::Schema, {quoted(name)})
}}
"""
    what = (["//! encode returns the library's whole frame of `v` with `seq` and the plain header values",
             "//! `plain` (header order); decode takes a whole frame (found and checked by the kit)."]
            if frames else ["//! encode returns the payload of `v`; decode takes a payload."])
    adapter = [f"//! The adapter of {name}: each message through the library under test. Fill in the",
               "//! messages it handles; the others stay `Unimplemented`, and the harness skips them",
               "//! (`ERR unsupported adapter: <Message> is not implemented`).", *what,
               "//! An error: `Err(AdapterError::msg(err))` (`ERR runtime adapter encode <Message>: <err>`).",
               "#![allow(unused_imports)]", "",
               "use crosswire_kit::adapter::AdapterError;", "",
               "use crate::schema::*;", "",
               "/// The library's state between requests, if it has any.",
               "#[derive(Default)]", "pub struct Library {}", "",
               "impl Adapter for Library {"]
    args = "_v: &{t}, _seq: u64, _plain: &[i128]" if frames else "_v: &{t}"
    first = True
    for m in schema.messages.values():
        sn, tn = snake(m.name), gen.tn(m)
        adapter += ([] if first else [""]) + [
            *(line.replace("///", "//", 1) for line in gen.adapter_doc(m)),
            f"fn encode_{sn}(&mut self, {args.format(t=tn)}) -> Result<Vec<u8>, AdapterError> {{",
            "Err(AdapterError::Unimplemented)", "}", "",
            f"fn decode_{sn}(&mut self, _{'frame' if frames else 'b'}: &[u8]) -> Result<{tn}, AdapterError> {{",
            "Err(AdapterError::Unimplemented)", "}"]
        first = False
    adapter.append("}")
    return {"peer.toml": manifest, "Cargo.toml": cargo, "src/main.rs": main, "src/adapter.rs": indent(adapter),
            ".gitignore": "target/\n"}


class _Backend:
    name = "rust"

    def generate(self, schema: S.Schema) -> dict[str, str]:
        return generate(schema)


BACKEND = _Backend()
