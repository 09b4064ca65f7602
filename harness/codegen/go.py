"""The Go backend: peers/go/codec/schema_gen.go from the schema, and adapter peers' code.

One Go type per schema type: a struct per struct and message (fields CamelCased; padding,
constants and count fields carry no value, so they have no Go field), a named integer type per
enum and flag set, and a struct per union with one member per case. Each gets methods that walk
the fields in schema order: encode (onto a cw.Writer), decode (from a cw.Reader, validating),
parse (cw.Tokens) and format (text tokens); a union's take the discriminator's value, a
message's encode and decode the protocol version spoken (WIRE.md "Versions"). Then the message
table (cw.Info: name, id, direction, checksum seed, versions), the dispatch by name, the frame
(the header written and checked field by field as `[frame]` declares it, the checksum with its
256-entry table, all handed to the kit as a cw.Frame), the entry points (the reference codec
Encode/Decode[M], EncodeFrame/DecodeFrame[M], the text form) and Reference(manifest), the kit's
table of the reference peer: `kit.Run(codec.Reference(manifest))` is the whole program.

| schema type      | Go type          | notes                                            |
|------------------|------------------|--------------------------------------------------|
| u8..u64, i8..i64 | uint8..int64     |                                                  |
| u24 / i24        | uint32 / int32   | the range is checked on encode                   |
| f32 / f64        | float32/float64  | through Float32bits/frombits only: NaN bits stay |
| bool             | bool             |                                                  |
| enum, flags      | a named integer  | of its base type                                 |
| char[N]          | []byte           | the text without its NUL padding                 |
| bytes            | []byte           |                                                  |
| string           | string           | strict UTF-8 checked on encode and decode        |
| bigint           | Bigint ([]byte)  | minimal two's complement, little-endian in Go    |
| T[N]             | [N]T             | u8[2][3] is [3][2]uint8, as WIRE.md nests them   |
| vec<T>           | []T              |                                                  |
| union            | a struct         | one member per case that carries a value         |
| pad[N], const, count and size fields | (no field) |                                 |

Everything that is the same for every schema (the leaf values of each kind of type in either
byte order, errors and their paths, hex, bigint, the text tokens, CRC loops, the frame API) is
the kit's: the package crosswire.dev/kit/codec (peers/go/kit/codec, imported as cw), compiled
once for any schema; the contract loop and the transports are the package crosswire.dev/kit.

Adapter peers (docs/kits.md): adapter_generated writes the same codec/schema_gen.go and
codec/adapter_gen.go, the Adapter interface (EncodeM/DecodeM per message, on payloads or, with
frames, on whole frames), Unimplemented (every method kit.ErrUnimplemented, to embed) and
Protocol(adapter, manifest); adapter_files the user's peer.toml, go.mod (the vendored kit by a
replace), main.go and adapter.go with one pair of stubs per message.

Names: a field keeps its schema name in paths and text; in Go it is CamelCased, and a Go name
that two fields (or union cases, or a type and the runtime) would share gets a `_` appended,
so every schema compiles whatever its fields are called (`type`, `func`, `range`, `len`).

The output is gofmt-clean as generated (tests/test_codegen_go.py runs gofmt -l on it): tab
indentation, one declaration per line, struct fields separated by blank lines so that gofmt
has no columns to align, and the kit's structs (cw.Info, cw.HeaderField) keyed, one a line.
"""
from __future__ import annotations

import re

from .. import schema as S
from . import generated_banner

OUT = "peers/go/codec/schema_gen.go"

# The names a schema type cannot take: the imports, the generated entry points and constants, and
# (kept so that generated names stay as they were) those of the runtime before it moved to the kit.
RESERVED = {
    # the imports, and the entry points of the generated API
    "cw", "kit", "message", "value", "entry", "Encode", "EncodeAt", "Decode", "DecodeAt", "EncodeFrameText", "Frame",
    "Reference", "Adapter", "Unimplemented", "Protocol", "DecodeFrame", "adapt", "adaptFrame", "decoded",
    "AppendFrame", "Bigint", "CheckFrame", "DecodeMessage", "DecodeText", "EncodeFrame", "EncodeMessage",
    "EncodeText", "Error", "Errorf", "FrameCut", "Head", "HeadTokens", "Hex", "Lookup", "Message",
    "MessageDirection", "MessageName", "Messages", "ParseHead", "ParseHex", "PutFrame", "PutSeq", "Reencode",
    "SeqOf",
    # generated below, once
    "HasChecksum", "HasFrame", "HasSeq", "HeaderLen", "MaxPayload", "Newest", "SchemaName", "SeqAt", "SeqLen",
    "TrailerLen",
}


def camel(name: str) -> str:
    """A lower_snake_case schema name as an exported Go name: val_u8 -> ValU8."""
    out = "".join(part[:1].upper() + part[1:] for part in name.split("_"))
    if not out or not out[0].isalpha():
        out = "F" + out
    return out


def unique(name: str, taken: set[str]) -> str:
    """name, or name with `_` appended until no one has it; taken gets it."""
    while name in taken:
        name += "_"
    taken.add(name)
    return name


def quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def go_bytes(raw: bytes) -> str:
    """A Go string literal holding these bytes exactly."""
    out = []
    for b in raw:
        c = chr(b)
        if c == '"' or c == "\\":
            out.append("\\" + c)
        elif 0x20 <= b < 0x7F:
            out.append(c)
        else:
            out.append(f"\\x{b:02x}")
    return '"' + "".join(out) + '"'


def hexint(v: int) -> str:
    return f"{v:#x}"


def signed_of(t: S.Type) -> bool:
    base = t.base if isinstance(t, (S.Enum, S.Flags)) else t
    return isinstance(base, S.Prim) and base.kind == "int"


def prim_go(p: S.Prim) -> str:
    if p.kind == "float":
        return f"float{8 * p.size}"
    if p.kind == "bool":
        return "bool"
    bits = 32 if p.size == 3 else 8 * p.size
    return f"{'uint' if p.kind == 'uint' else 'int'}{bits}"


def method(p: S.Prim) -> str:
    """The Reader's and Writer's method of a scalar in its byte order: U16, U16be, ..."""
    return p.name.capitalize() + ("be" if p.big else "")


def order_suffix(p: S.Prim) -> str:
    """The suffix of an enum's or flag set's methods in byte order p.order."""
    return "BE" if p.big else ""


def big(p: S.Prim | None) -> str:
    return "true" if p is not None and p.big else "false"


def prefix_const(c: S.Count) -> str:
    """The runtime's constant for a length prefix (or noPrefix when fields count)."""
    p = c.prefix
    if p is None:
        return "cw.NoPrefix"
    return f"cw.P{p.name.upper()}{'be' if p.big else ''}"


def width_of(t: S.Vec | S.Bytes | S.BigInt, unit: str) -> int:
    """How many bytes one unit of a count is worth to the element count (1: counts elements)."""
    if isinstance(t, S.Vec) and unit == "bytes":
        return S.fixed_size(t.elem)  # type: ignore[return-value]
    return 1


def describe(t: S.Type) -> str:
    """The schema's spelling of a field type, with its limit, for doc comments."""
    text = S.type_name(t)
    if isinstance(t, S.Bytes):
        return f"{text}, at most {t.max} bytes"
    if isinstance(t, S.BigInt):
        return f"{text}, at most {t.max} bytes of two's complement"
    if isinstance(t, S.Vec):
        return f"{text}, at most {t.max} items"
    if isinstance(t, S.CharArray):
        return f"{text}, the text without its NUL padding"
    if isinstance(t, S.Union):
        return f"union {t.name}, the case that `{t.on}` picks"
    return text


def wrap(comment: str, width: int = 100) -> list[str]:
    """A // comment in lines of at most width characters."""
    words = comment.removeprefix("// ").split(" ")
    lines = ["//"]
    for word in words:
        if len(lines[-1]) + 1 + len(word) > width and lines[-1] != "//":
            lines.append("//")
        lines[-1] += " " + word
    return lines


# ------------------------------------------------------------------ names


class Names:
    """The Go name of every schema type, struct field and union case."""

    def __init__(self, schema: S.Schema) -> None:
        taken = set(RESERVED)
        self.types: dict[str, str] = {}
        for name in (*schema.enums, *schema.flags, *schema.structs, *schema.unions, *schema.messages):
            self.types[name] = unique(name, taken)
        self._cases: dict[str, dict[int, str]] = {}
        for u in schema.unions.values():
            seen: set[str] = set()
            self._cases[u.name] = {c.tag: unique(self.case_name(c), seen) for c in u.cases if c.type is not None}

    @staticmethod
    def case_name(c: S.UnionCase) -> str:
        if re.fullmatch(r"-?[0-9]+", c.name):
            return "Tag" + c.name.replace("-", "M")
        return camel(c.name)

    @staticmethod
    def fields(s: S.Struct) -> dict[str, str]:
        """The Go field of each schema field that carries a value."""
        seen: set[str] = set()
        return {f.name: unique(camel(f.name), seen) for f in s.value_fields}

    def case(self, u: S.Union, tag: int) -> str:
        return self._cases[u.name][tag]

    def go_type(self, t: S.Type) -> str:
        if isinstance(t, S.Prim):
            return prim_go(t)
        if isinstance(t, (S.Enum, S.Flags, S.Struct, S.Union)):
            return self.types[t.name]
        if isinstance(t, S.CharArray):
            return "[]byte"
        if isinstance(t, S.Bytes):
            return "string" if t.utf8 else "[]byte"
        if isinstance(t, S.BigInt):
            return "cw.Bigint"
        if isinstance(t, S.Array):
            return f"[{t.n}]{self.go_type(t.elem)}"
        if isinstance(t, S.Vec):
            return f"[]{self.go_type(t.elem)}"
        raise TypeError(f"no Go type for {S.type_name(t)}")

    def zero(self, t: S.Type) -> str:
        """The zero value of t, as an expression."""
        if isinstance(t, S.Prim):
            return "false" if t.kind == "bool" else "0"
        if isinstance(t, (S.Enum, S.Flags)):
            return "0"
        if isinstance(t, (S.CharArray, S.Vec, S.BigInt)) or isinstance(t, S.Bytes) and not t.utf8:
            return "nil"
        if isinstance(t, S.Bytes):
            return '""'
        return f"{self.go_type(t)}{{}}"  # struct, union or array

    def literal(self, t: S.Type, v: object) -> str:
        """An extension field's default value (harness/values.py's model) as a Go expression."""
        if isinstance(t, S.Prim) and t.kind == "float":
            return f"cw.F{8 * t.size}bits({hexint(v.bits)})"  # type: ignore[attr-defined]
        if isinstance(t, S.Prim) and t.kind == "bool":
            return "true" if v else "false"
        if isinstance(t, (S.Prim, S.Enum, S.Flags)):
            return str(v)
        if isinstance(t, S.CharArray) or isinstance(t, S.Bytes) and not t.utf8:
            return f"[]byte({go_bytes(v)})" if v else "nil"  # type: ignore[arg-type]
        if isinstance(t, S.Bytes):
            return go_bytes(v.encode("utf-8"))  # type: ignore[union-attr]
        return self.zero(t)


# ------------------------------------------------------------------ the four walks
#
# Each walk emits the statements for one value `lv` (an addressable Go expression) of a type,
# at an indentation depth. Encode and decode return errors whose path is relative to the value,
# and wrap them on the way out with the field and the indexes of the enclosing loops
# (`at(err, ".fixed", i0)`); parse keeps the path in the tokens as it goes (push/pop, index/cut)
# because the errors it keeps aside need it at that moment.


class Walk:
    def __init__(self, names: Names) -> None:
        self.names = names
        self.field = ""         # ".name" of the struct field being walked
        self.lines: list[str] = []
        self.vecs = 0           # length locals used so far in the function (n0, n1, ...)

    def emit(self, depth: int, text: str) -> None:
        self.lines.append("\t" * depth + text)

    def check(self, depth: int, call: str, idx: list[str]) -> None:
        """`if err := call; err != nil { return at(err, field, idx...) }`."""
        args = ", ".join([quoted(self.field), *idx])
        self.emit(depth, f"if err := {call}; err != nil {{")
        self.emit(depth + 1, f"return cw.At(err, {args})" if self.field or idx else "return err")
        self.emit(depth, "}")

    def returns(self, depth: int, call: str) -> None:
        """`if err := call; err != nil { return err }` (parse: the path is in the tokens)."""
        self.emit(depth, f"if err := {call}; err != nil {{")
        self.emit(depth + 1, "return err")
        self.emit(depth, "}")

    def fail_if(self, depth: int, err: str) -> None:
        self.emit(depth, "if err != nil {")
        self.emit(depth + 1, f"return cw.At({err}, {quoted(self.field)})")
        self.emit(depth, "}")

    # -- encode

    def enc(self, t: S.Type, lv: str, depth: int, idx: list[str]) -> None:
        if isinstance(t, S.Prim):
            if t.size == 3:
                self.check(depth, f"w.{method(t)}({lv})", idx)
            else:
                self.emit(depth, f"w.{method(t)}({lv})")
        elif isinstance(t, (S.Enum, S.Flags)):
            self.check(depth, f"{lv}.encode{order_suffix(t.base)}(w)", idx)
        elif isinstance(t, S.Struct):
            self.check(depth, f"{lv}.encode(w)", idx)
        elif isinstance(t, S.CharArray):
            self.check(depth, f"w.Char({lv}, {t.n})", idx)
        elif isinstance(t, S.Pad):
            self.emit(depth, f"w.Pad({t.n})")
        elif isinstance(t, S.Array):
            i = f"i{len(idx)}"
            self.emit(depth, f"for {i} := range {lv} {{")
            self.enc(t.elem, f"{lv}[{i}]", depth + 1, [*idx, i])
            self.emit(depth, "}")
        else:
            raise TypeError(f"cannot encode {S.type_name(t)} here")

    def enc_var(self, t: S.Bytes | S.BigInt | S.Vec, lv: str) -> None:
        """A variable-size field (always a struct's own field): its length, then its contents."""
        pfx = prefix_const(t.count)
        if isinstance(t, S.Bytes):
            self.check(1, f"w.{'String' if t.utf8 else 'Bytes'}({lv}, {pfx}, {t.max})", [])
        elif isinstance(t, S.BigInt):
            self.check(1, f"w.Bigint({lv}, {pfx}, {t.max}, {'true' if t.order == 'big' else 'false'})", [])
        else:
            unit = width_of(t, t.count.unit) if t.count.prefix is not None else 1
            self.check(1, f"w.Count(len({lv}), {pfx}, {unit}, {t.max})", [])
            self.emit(1, f"for i0 := range {lv} {{")
            self.enc(t.elem, f"{lv}[i0]", 2, ["i0"])
            self.emit(1, "}")

    # -- decode

    def dec(self, t: S.Type, lv: str, depth: int, idx: list[str]) -> None:
        if isinstance(t, S.Prim):
            self.check(depth, f"r.{method(t)}(&{lv})", idx)
        elif isinstance(t, (S.Enum, S.Flags)):
            self.check(depth, f"{lv}.decode{order_suffix(t.base)}(r)", idx)
        elif isinstance(t, S.Struct):
            self.check(depth, f"{lv}.decode(r)", idx)
        elif isinstance(t, S.CharArray):
            self.check(depth, f"r.Char(&{lv}, {t.n})", idx)
        elif isinstance(t, S.Pad):
            self.check(depth, f"r.Pad({t.n})", idx)
        elif isinstance(t, S.Array):
            i = f"i{len(idx)}"
            self.emit(depth, f"for {i} := range {lv} {{")
            self.dec(t.elem, f"{lv}[{i}]", depth + 1, [*idx, i])
            self.emit(depth, "}")
        else:
            raise TypeError(f"cannot decode {S.type_name(t)} here")

    def dec_var(self, t: S.Bytes | S.BigInt | S.Vec, lv: str, counts: dict[str, str]) -> None:
        """A variable-size field: its length (a prefix, or the count fields read before), checked
        in WIRE.md's order, then its contents."""
        n = f"n{self.vecs}"
        self.vecs += 1
        if t.count.prefix is not None:
            self.emit(1, f"{n}, err := r.Count({prefix_const(t.count)}, {width_of(t, t.count.unit)}, {t.max})")
        else:
            specs = ", ".join(f"{counts[name]}, {width_of(t, unit)}" for name, unit in t.count.fields)
            self.emit(1, f"{n}, err := cw.Counted({t.max}, {specs})")
        self.fail_if(1, "err")
        if isinstance(t, S.Bytes):
            self.check(1, f"r.{'String' if t.utf8 else 'Bytes'}(&{lv}, {n})", [])
        elif isinstance(t, S.BigInt):
            self.check(1, f"r.Bigint(&{lv}, {n}, {'true' if t.order == 'big' else 'false'})", [])
        else:
            self.emit(1, f"{lv} = make({self.names.go_type(t)}, 0, r.Room({n}))")
            self.emit(1, f"for i0 := 0; i0 < {n}; i0++ {{")
            self.emit(2, f"{lv} = append({lv}, {self.names.zero(t.elem)})")
            self.dec(t.elem, f"{lv}[i0]", 2, ["i0"])
            self.emit(1, "}")

    # -- parse

    def prs(self, t: S.Type, lv: str, depth: int, level: int) -> None:
        if isinstance(t, S.Prim):
            self.returns(depth, f"t.{t.name.capitalize()}(&{lv})")
        elif isinstance(t, (S.Enum, S.Flags, S.Struct)):
            self.returns(depth, f"{lv}.parse(t)")
        elif isinstance(t, S.CharArray):
            self.returns(depth, f"t.Char(&{lv}, {t.n})")
        elif isinstance(t, S.Bytes):
            self.returns(depth, f"t.{'String' if t.utf8 else 'Bytes'}(&{lv}, {t.max})")
        elif isinstance(t, S.BigInt):
            self.returns(depth, f"t.Bigint(&{lv}, {t.max})")
        elif isinstance(t, S.Array):
            i, m = f"i{level}", f"m{level}"
            self.emit(depth, f"for {i} := range {lv} {{")
            self.emit(depth + 1, f"{m} := t.Index(uint64({i}))")
            self.prs(t.elem, f"{lv}[{i}]", depth + 1, level + 1)
            self.emit(depth + 1, f"t.Cut({m})")
            self.emit(depth, "}")
        elif isinstance(t, S.Vec):
            # Items past max are parsed too (their tokens must be good) but not kept: the
            # count's length error, kept aside, fails the value anyway. Items that take no
            # token (a struct of padding only) would loop for ever: the first such one ends it.
            n, i, m, e, pos = f"n{self.vecs}", f"i{level}", f"m{level}", f"e{level}", f"at{level}"
            self.vecs += 1
            self.emit(depth, f"{n}, err := t.Count({t.max})")
            self.emit(depth, "if err != nil {")
            self.emit(depth + 1, "return err")
            self.emit(depth, "}")
            self.emit(depth, f"{lv} = make({self.names.go_type(t)}, 0, int(min({n}, {t.max})))")
            self.emit(depth, f"for {i} := uint64(0); {i} < {n}; {i}++ {{")
            self.emit(depth + 1, f"{m}, {pos} := t.Index({i}), t.Pos")
            self.emit(depth + 1, f"var {e} {self.names.go_type(t.elem)}")
            self.prs(t.elem, e, depth + 1, level + 1)
            self.emit(depth + 1, f"t.Cut({m})")
            self.emit(depth + 1, f"if {i} < {t.max} {{")
            self.emit(depth + 2, f"{lv} = append({lv}, {e})")
            self.emit(depth + 1, f"}} else if t.Pos == {pos} {{")
            self.emit(depth + 2, "break")
            self.emit(depth + 1, "}")
            self.emit(depth, "}")
        else:
            raise TypeError(f"cannot parse {S.type_name(t)}")

    # -- format

    def fmt(self, t: S.Type, lv: str, depth: int, level: int) -> None:
        def push(expr: str) -> None:
            self.emit(depth, f"out = append(out, {expr})")

        if isinstance(t, S.Prim):
            if t.kind == "float":
                push(f"cw.Fmt{t.name.upper()}({lv})")
            elif t.kind == "bool":
                push(f"cw.FmtBool({lv})")
            else:
                push(f"cw.FmtUint(uint64({lv}))" if t.kind == "uint" else f"cw.FmtInt(int64({lv}))")
        elif isinstance(t, (S.Enum, S.Flags)):
            push(f"cw.FmtInt(int64({lv}))" if signed_of(t) else f"cw.FmtUint(uint64({lv}))")
        elif isinstance(t, S.Struct):
            self.emit(depth, f"out = {lv}.format(out)")
        elif isinstance(t, S.CharArray) or isinstance(t, S.Bytes) and not t.utf8:
            push(f"cw.Hex({lv})")
        elif isinstance(t, S.Bytes):
            push(f"cw.FmtString({lv})")
        elif isinstance(t, S.BigInt):
            push(f"cw.BigintToken({lv})")
        elif isinstance(t, (S.Array, S.Vec)):
            if isinstance(t, S.Vec):
                push(f"cw.FmtUint(uint64(len({lv})))")
            i = f"i{level}"
            self.emit(depth, f"for {i} := range {lv} {{")
            self.fmt(t.elem, f"{lv}[{i}]", depth + 1, level + 1)
            self.emit(depth, "}")
        else:
            raise TypeError(f"cannot format {S.type_name(t)}")


# ------------------------------------------------------------------ enums and flags


def gen_scalar_type(names: Names, t: S.Enum | S.Flags) -> list[str]:
    """An enum or a flag set: a named integer type with valid(), and encode/decode in each byte
    order, parse."""
    name, base = names.types[t.name], prim_go(t.base)
    p = t.base
    signed = p.kind == "int"
    if isinstance(t, S.Enum):
        listed = ", ".join(f"{k} = {v}" for k, v in t.values.items())
        doc = f"// {name} is enum `{t.name}`, carried as its `{p.name}` value{' (open)' if t.open else ''}: {listed}."
    else:
        listed = ", ".join(f"{k} = bit {b}" for k, b in t.bits.items())
        keep = "kept" if t.keep_unknown else "refused"
        doc = f"// {name} is flag set `{t.name}` in a `{p.name}` (other bits {keep}): {listed}."
    out = [*wrap(doc), f"type {name} {base}", ""]
    in_range = ""
    if p.size == 3:
        in_range = f"e >= {p.min} && e <= {p.max}" if signed else f"e <= {p.max}"
    out += [f"// valid reports whether e is a value {name} takes.", f"func (e {name}) valid() bool {{"]
    if isinstance(t, S.Enum) and not t.open:
        out += ["\tswitch e {", f"\tcase {', '.join(str(v) for v in t.values.values())}:",
                "\t\treturn true", "\t}", "\treturn false"]
    elif isinstance(t, S.Flags) and not t.keep_unknown:
        mask = f"e&^{hexint(t.mask)} == 0"
        out.append(f"\treturn {mask}" + (f" && {in_range}" if in_range else ""))
    else:
        out.append(f"\treturn {in_range or 'true'}")
    out += ["}", ""]
    conv = "cw.FmtInt(int64(e))" if signed else "cw.FmtUint(uint64(e))"
    if isinstance(t, S.Enum):
        bad = f"cw.ErrEnum(kind, {conv}, {quoted(t.name)}, {'true' if t.open else 'false'})"
    else:
        bad = f"cw.ErrFlags(kind, uint64(e), {hexint(t.mask)}, {p.max}, {quoted(t.name)})"
    out += [f"func (e {name}) refused(kind string) error {{", f"\treturn {bad}", "}", ""]
    orders = [p] if p.size == 1 else [p.as_order("little"), p.as_order("big")]
    for q in orders:
        suffix = order_suffix(q)
        write = f"w.{method(q)}({base}(e))"
        out += [f"func (e {name}) encode{suffix}(w *cw.Writer) error {{",
                "\tif !e.valid() {", '\t\treturn e.refused("encode")', "\t}"]
        out += [f"\treturn {write}"] if p.size == 3 else [f"\t{write}", "\treturn nil"]
        out += ["}", "",
                f"func (e *{name}) decode{suffix}(r *cw.Reader) error {{",
                f"\tvar raw {base}",
                f"\tif err := r.{method(q)}(&raw); err != nil {{",
                "\t\treturn err",
                "\t}",
                f"\t*e = {name}(raw)",
                "\tif !e.valid() {",
                '\t\treturn e.refused("decode")',
                "\t}",
                "\treturn nil",
                "}", ""]
    lo, hi = p.min, p.max
    # Beyond the base type's range a closed enum's token is `enum`, anything else's `range`;
    # within it, a value the type refuses is its own error (enum, flags).
    outside = "enum" if isinstance(t, S.Enum) and not t.open else "range"
    read = f"t.IntAs({lo}, {hi}, {quoted(outside)})" if signed else f"t.UintAs({hi}, {quoted(outside)})"
    out += [f"func (e *{name}) parse(t *cw.Tokens) error {{",
            "\tk := t.Kept",
            f"\traw, err := {read}",
            f"\t*e = {name}(raw)",
            "\tif err == nil && t.Kept == k && !e.valid() {",
            '\t\tt.Keep(e.refused("encode"))',
            "\t}",
            "\treturn err", "}"]
    return out


# ------------------------------------------------------------------ structs, messages, unions


def groups_of(s: S.Struct) -> list[tuple[int, list[S.Field]]]:
    """The fields in version groups (one group for a struct, or a message without extensions)."""
    out: list[tuple[int, list[S.Field]]] = []
    for f in s.fields:
        if not out or out[-1][0] != f.since:
            out.append((f.since, []))
        out[-1][1].append(f)
    return out or [(1, [])]


def gen_struct(names: Names, s: S.Struct, index: int | None = None, with_id: bool = False) -> list[str]:
    """A struct, or the message of this index in the message table."""
    fields = names.fields(s)
    name = names.types[s.name]
    if isinstance(s, S.Message):
        out = [f"// {name} is message `{s.name}`" + (f", id {s.id}" if with_id else "") +
               (f", a {s.direction}" if s.direction else "") + "."]
    else:
        out = [f"// {name} is struct `{s.name}`" + (" (C layout)" if s.layout == "c" else "") + "."]
    if not s.value_fields:
        out.append(f"type {name} struct{{}}")
    else:
        out.append(f"type {name} struct {{")
        for i, f in enumerate(s.value_fields):
            if i:
                out.append("")  # no two fields in a row: gofmt would align their columns
            since = f" (since version {f.since})" if f.since > 1 else ""
            out += [f"\t// {fields[f.name]} is `{f.name}`: {describe(f.type)}{since}.",
                    f"\t{fields[f.name]} {names.go_type(f.type)}"]
        out.append("}")
    out.append("")
    groups = groups_of(s)
    discriminators = {f.type.on for f in s.fields if isinstance(f.type, S.Union)}
    targets = {f.name: f for f in s.fields}

    def lv(f: S.Field) -> str:
        return f"v.{fields[f.name]}"

    # encode
    w = Walk(names)
    for gi, (since, group) in enumerate(groups):
        if gi:
            w.emit(1, f"if version < {since} {{")
            w.emit(2, "return nil")
            w.emit(1, "}")
        for f in group:
            w.field = f".{f.name}" if f.name else ""
            t = f.type
            if f.const is not None:
                w.emit(1, const_write(t, f.const))
            elif f.count_of:
                target = targets[f.count_of]
                unit = dict(target.type.count.fields)[f.name]  # type: ignore[union-attr]
                w.emit(1, f"w.Uint({t.size}, {big(t)}, min({count_expr(target, fields, unit)}, {hexint(t.max)}))")  # type: ignore[union-attr]
            elif isinstance(t, S.Union):
                w.check(1, f"{lv(f)}.encode(w, v.{fields[t.on]})", [])
            elif isinstance(t, (S.Bytes, S.BigInt, S.Vec)):
                w.enc_var(t, lv(f))
            else:
                w.enc(t, lv(f) if f.has_value else "", 1, [])
    version = ", version int" if index is not None else ""  # a message's methods take the version spoken
    out += [f"func (v *{name}) encode(w *cw.Writer{version}) error {{", *w.lines, "\treturn nil", "}", ""]

    # decode
    w = Walk(names)
    counts: dict[str, str] = {}
    for gi, (since, group) in enumerate(groups):
        if gi:
            w.emit(1, f"if version < {since} || r.Left() == 0 {{")
            for _, later in groups[gi:]:
                for f in later:
                    if f.has_value:
                        w.emit(2, f"{lv(f)} = {names.literal(f.type, f.default)}")
            w.emit(2, "return nil")
            w.emit(1, "}")
        for f in group:
            w.field = f".{f.name}" if f.name else ""
            t = f.type
            if f.const is not None:
                w.check(1, const_read(t, f.const), [])
            elif f.count_of:
                c = counts[f.name] = f"c{len(counts)}"
                w.emit(1, f"{c}, err := r.Uint({t.size}, {big(t)})")  # type: ignore[union-attr]
                w.fail_if(1, "err")
            elif isinstance(t, S.Union):
                w.check(1, f"{lv(f)}.decode(r, v.{fields[t.on]})", [])
            elif isinstance(t, (S.Bytes, S.BigInt, S.Vec)):
                w.dec_var(t, lv(f), counts)
            else:
                w.dec(t, lv(f) if f.has_value else "", 1, [])
    out += [f"func (v *{name}) decode(r *cw.Reader{version}) error {{", *w.lines, "\treturn nil", "}", ""]

    # parse
    w = Walk(names)
    marks: dict[str, str] = {}
    for gi, (since, group) in enumerate(groups):
        if gi:
            w.emit(1, f"if t.Version < {since} {{")
            w.emit(2, "t.Mute = true // a peer of an older version does not look at these values")
            w.emit(1, "}")
        for f in group:
            if not f.has_value:
                continue
            w.field = f".{f.name}"
            t = f.type
            w.emit(1, f"t.Push({quoted(w.field)})")
            if f.name in discriminators:    # did its token pass? (else the union reads no token)
                marks[f.name] = f"ok{len(marks)}"
                w.emit(1, f"k{len(marks) - 1} := t.Kept")
            if isinstance(t, S.Union):
                w.returns(1, f"{lv(f)}.parse(t, v.{fields[t.on]}, {marks[t.on]})")
            else:
                w.prs(t, lv(f), 1, 0)
            if f.name in discriminators:
                k = marks[f.name]
                w.emit(1, f"{k} := t.Kept == k{k[2:]}")
            w.emit(1, f"t.Pop({quoted(w.field)})")
    out += [f"func (v *{name}) parse(t *cw.Tokens) error {{", *w.lines, "\treturn nil", "}", ""]

    # format
    w = Walk(names)
    for f in s.value_fields:
        if isinstance(f.type, S.Union):
            w.emit(1, f"out = {lv(f)}.format(out, v.{fields[f.type.on]})")
        else:
            w.fmt(f.type, lv(f), 1, 0)
    out += [f"func (v *{name}) format(out []string) []string {{", *w.lines, "\treturn out", "}"]
    if index is not None:
        out += ["", f"func (*{name}) index() int {{ return {index} }}"]
    return out


def count_expr(target: S.Field, fields: dict[str, str], unit: str) -> str:
    """The number a count or size field carries: the length of the field it counts."""
    t = target.type
    lv = f"v.{fields[target.name]}"
    if isinstance(t, S.BigInt):
        return f"uint64(cw.BigintLen({lv}))"
    if isinstance(t, S.Vec) and unit == "bytes":
        return f"uint64(len({lv}))*{S.fixed_size(t.elem)}"
    return f"uint64(len({lv}))"


def const_bits(t: S.Type, value: int) -> tuple[int, S.Prim]:
    p = t.base if isinstance(t, (S.Enum, S.Flags)) else t
    assert isinstance(p, S.Prim)
    return value & ((1 << (8 * p.size)) - 1), p


def const_write(t: S.Type, value: object) -> str:
    if isinstance(t, S.CharArray):
        return f"w.ConstChar({go_bytes(value)}, {t.n})"  # type: ignore[arg-type]
    bits, p = const_bits(t, value)  # type: ignore[arg-type]
    return f"w.Uint({p.size}, {big(p)}, {hexint(bits)})"


def const_read(t: S.Type, value: object) -> str:
    if isinstance(t, S.CharArray):
        return f"r.ConstChar({go_bytes(value)}, {t.n})"  # type: ignore[arg-type]
    bits, p = const_bits(t, value)  # type: ignore[arg-type]
    return f"r.Constant({p.size}, {big(p)}, {hexint(bits)}, {'true' if p.kind == 'int' else 'false'})"


def gen_union(names: Names, u: S.Union) -> list[str]:
    name = names.types[u.name]
    tag_type = names.go_type(u.base)
    out = wrap(f"// {name} is union `{u.name}`: the case the value of its discriminator (a "
               f"{S.type_name(u.base)}) picks; one member per case that carries a value.")
    members = [c for c in u.cases if c.type is not None]
    if not members:
        out.append(f"type {name} struct{{}}")
    else:
        out.append(f"type {name} struct {{")
        for i, c in enumerate(members):
            if i:
                out.append("")
            out += [f"\t// {names.case(u, c.tag)} is case {c.name}: {describe(c.type)}.",  # type: ignore[arg-type]
                    f"\t{names.case(u, c.tag)} {names.go_type(c.type)}"]  # type: ignore[arg-type]
        out.append("}")
    signed = signed_of(u.base)
    show = "cw.FmtInt(int64(tag))" if signed else "cw.FmtUint(uint64(tag))"

    def cases(op: str) -> list[str]:
        lines = ["\tswitch tag {"]
        for c in u.cases:
            lines.append(f"\tcase {c.tag}:")
            if c.type is None:
                lines.append("\t\treturn nil" if op != "fmt" else "\t\treturn out")
                continue
            w = Walk(names)
            lv = f"u.{names.case(u, c.tag)}"
            if op == "enc":
                w.enc(c.type, lv, 2, [])
            elif op == "dec":
                w.dec(c.type, lv, 2, [])
            elif op == "prs":
                w.prs(c.type, lv, 2, 0)
            else:
                w.fmt(c.type, lv, 2, 0)
            lines += w.lines
            lines.append("\t\treturn nil" if op != "fmt" else "\t\treturn out")
        lines.append("\t}")
        return lines

    out += ["",
            f"func (u *{name}) encode(w *cw.Writer, tag {tag_type}) error {{", *cases("enc"),
            f"\treturn cw.ErrUnion(\"encode\", {show}, {quoted(u.name)})", "}", "",
            f"func (u *{name}) decode(r *cw.Reader, tag {tag_type}) error {{", *cases("dec"),
            f"\treturn cw.ErrUnion(\"decode\", {show}, {quoted(u.name)})", "}", "",
            "// parse reads the tokens of the case tag picks; ok is false when the discriminator's own",
            "// token was refused (its error is kept already, and no case is read).",
            f"func (u *{name}) parse(t *cw.Tokens, tag {tag_type}, ok bool) error {{",
            "\tif !ok {", "\t\treturn nil", "\t}", *cases("prs"),
            f"\tt.Keep(cw.ErrUnion(\"encode\", {show}, {quoted(u.name)}))", "\treturn nil", "}", "",
            f"func (u *{name}) format(out []string, tag {tag_type}) []string {{", *cases("fmt"),
            "\treturn out", "}"]
    return out


# ------------------------------------------------------------------ the message table


def gen_messages(names: Names, schema: S.Schema) -> list[str]:
    msgs = list(schema.messages.values())
    out = ["// messageTable is every message, in schema order: name, id, direction, checksum seed, the",
           "// newest version that added fields, the fixed size (-1: variable) and, when trailing zeros are",
           "// trimmed, the size at each version (index = version).",
           "var messageTable = []cw.Info{"]
    for m in msgs:
        fixed = S.fixed_size(m)
        sizes = "nil"
        if m.trim:
            sizes = "[]int{" + ", ".join(str(S.size_at(m, v) if v else 0) for v in range(schema.version + 1)) + "}"
        out.append(f"\t{{Name: {quoted(m.name)}, ID: {m.id}, Direction: {quoted(m.direction)}, Seed: {m.seed or 0}, "
                   f"Newest: {m.newest}, Fixed: {-1 if fixed is None else fixed}, Sizes: {sizes}}},")
    out += ["}", "",
            "// newMessage is a new value of message i (an index into messageTable).",
            "func newMessage(i int) message {", "\tswitch i {"]
    for i, m in enumerate(msgs):
        out += [f"\tcase {i}:", f"\t\treturn new({names.types[m.name]})"]
    out += ["\t}", "\treturn nil", "}", "",
            "// messageIndex is the index of the message called name, -1 when there is none.",
            "func messageIndex(name string) int {", "\tswitch name {"]
    for i, m in enumerate(msgs):
        out += [f"\tcase {quoted(m.name)}:", f"\t\treturn {i}"]
    out += ["\t}", "\treturn -1", "}"]
    return out


# ------------------------------------------------------------------ the frame


def put_call(p: S.Prim, buf: str, at: str, value: str) -> str:
    """Write the integer value into buf at offset at, in p's width and byte order."""
    if p.size == 1:
        return f"{buf}[{at}] = byte({value})"
    return f"cw.Put{'BE' if p.big else 'LE'}{8 * p.size}({buf}[{at}:], {value})"


def get_call(p: S.Prim, buf: str, at: str) -> str:
    if p.size == 1:
        return f"uint64({buf}[{at}])"
    return f"cw.Get{'BE' if p.big else 'LE'}{8 * p.size}({buf}[{at}:])"


NO_CHECKSUM = ["func frameSum([]byte, int, byte) uint64 { return 0 }", "",
               "func crcOf([]byte) uint64 { return 0 }", "",
               "const crcCheck uint64 = 0", "",
               "func putSum([]byte, int, uint64) {}", "",
               "func getSum([]byte, int) uint64 { return 0 }", ""]
NO_SEQ = ["func putSeq([]byte, uint64) {}", "", "func getSeq([]byte) uint64 { return 0 }"]
MAX_PLAIN = 8  # the kit's codec.MaxPlain


def frame_consts(frame: S.Frame | None) -> list[str]:
    """The frame's shape as constants, and its header fields as a table (the plain ones too)."""
    seqf = frame.role("seq") if frame else None
    c = frame.checksum if frame else None
    if frame is None:
        doc, header_doc = "false: the schema declares no [frame], it describes payloads only", ["// HeaderLen is 0: no frame."]
    else:
        orders = {h.type.order for h in frame.header if h.type.size > 1}
        uniform = len(orders) <= 1
        shape = ", ".join(f"{h.name} {h.type.name}" + ("" if uniform or h.type.size == 1 else f" {h.type.order}-endian")
                          for h in frame.header) + (f", {orders.pop()}-endian" if uniform and orders else "")
        doc, header_doc = "true: the schema declares a [frame]", wrap(f"// HeaderLen is the frame header's size: {shape}.")
    plain = frame.plain if frame else ()

    def row(h: S.HeaderField) -> str:
        value = hexint(const_bits(h.type, h.const)[0]) if h.const is not None else "0"
        return (f"{{Name: {quoted(h.name)}, Offset: {h.offset}, Size: {h.type.size}, Big: {big(h.type)}, "
                f"Signed: {'true' if h.type.signed else 'false'}, Role: {quoted(h.role)}, Value: {value}}}")

    return [f"// HasFrame is {doc}.", f"const HasFrame = {'true' if frame else 'false'}", "",
            *header_doc, f"const HeaderLen = {frame.header_size if frame else 0}", "",
            "// TrailerLen is the size of the checksum after the payload (0: none).",
            f"const TrailerLen = {frame.trailer_size if frame else 0}", "",
            "// HasSeq: the header has a seq field; HasChecksum: the frame ends with a checksum.",
            "const (", f"\tHasSeq      = {'true' if seqf else 'false'}", f"\tHasChecksum = {'true' if c else 'false'}", ")", "",
            "// SeqAt and SeqLen: where the seq field is in the header, and its size (0: none).",
            "const (", f"\tSeqAt  = {seqf.offset if seqf else 0}", f"\tSeqLen = {seqf.type.size if seqf else 0}", ")", "",
            "// headerChecksum is the checksum's name, for its errors' path (frame.<name>).",
            f"const headerChecksum = {quoted(c.name if c else '')}", "",
            "// lengthAdjust is what the length field counts besides the payload.",
            f"const lengthAdjust = {frame.length_adjust if frame else 0}", "",
            "// plainCount is the number of plain header fields (the sender's values: SEND's <h>...).",
            f"const plainCount = {len(plain)}", "",
            "// plainFields are the plain header fields, in header order.",
            "var plainFields = []cw.HeaderField{" + ", ".join(row(h) for h in plain) + "}", "",
            "// headerFields are every header field, in header order.",
            "var headerFields = []cw.HeaderField{", *(f"\t{row(h)}," for h in (frame.header if frame else ())), "}", ""]


def gen_frame(schema: S.Schema) -> list[str]:
    frame = schema.frame
    out = frame_consts(frame)
    if frame is None:
        return [*out, *NO_CHECKSUM, "// Frame is nil: the schema declares no [frame].", "var Frame *cw.Frame"]
    if len(frame.plain) > MAX_PLAIN:
        raise ValueError(f"the frame has {len(frame.plain)} plain header fields; the Go kit takes at most {MAX_PLAIN}")
    out += put_header(frame) + parse_header(frame)
    if frame.role("id") is not None:
        out += lookup(schema)
    out += checksum(frame) if frame.checksum else NO_CHECKSUM
    seqf = frame.role("seq")
    if seqf is None:
        out += NO_SEQ
    else:
        out += ["func putSeq(frame []byte, seq uint64) {", "\t" + put_call(seqf.type, "frame", str(seqf.offset), "seq"),
                "}", "", "func getSeq(frame []byte) uint64 {",
                f"\treturn {get_call(seqf.type, 'frame', str(seqf.offset))}", "}"]
    return out + ["", "// Frame is the frame as the kit reads and writes it.",
                  "var Frame = &cw.Frame{HeaderLen: HeaderLen, TrailerLen: TrailerLen, SeqAt: SeqAt, SeqLen: SeqLen,",
                  "\tChecksum: headerChecksum, Plain: plainFields, Messages: messageTable, PutHeader: putHeader,",
                  "\tParseHeader: parseHeader, FindHeader: findHeader, Sum: frameSum, PutSum: putSum, GetSum: getSum,",
                  "\tPutSeq: putSeq, SeqOf: getSeq}"]


def put_header(frame: S.Frame) -> list[str]:
    out = ["// putHeader writes the header of a frame of message m with a payload of payloadLen bytes.",
           "func putHeader(dst []byte, m *cw.Info, payloadLen int, seq uint64, plain *cw.Plain) {"]
    k = 0
    for h in frame.header:
        if h.role == "const":
            value = hexint(const_bits(h.type, h.const)[0])
        elif h.role == "id":
            value = "uint64(m.ID)"
        elif h.role == "length":
            value = f"uint64(payloadLen)+{frame.length_adjust}" if frame.length_adjust else "uint64(payloadLen)"
        elif h.role == "seq":
            value = "seq"
        else:
            value, k = f"plain[{k}]", k + 1
        out.append("\t" + put_call(h.type, "dst", str(h.offset), value))
    return out + ([] if k else ["\t_ = plain"]) + ["}", ""]


def parse_header(frame: S.Frame) -> list[str]:
    out = ["// parseHeader checks a header in WIRE.md's order (the constants in header order, then the",
           "// id for a receiver of direction dir, then the length) and says how big the frame is.",
           "func parseHeader(b []byte, dir string) (h cw.Head, err error) {"]
    for h in frame.header:
        if h.role == "const":
            want = hexint(const_bits(h.type, h.const)[0])
            out += [f"\tif v := {get_call(h.type, 'b', str(h.offset))}; v != {want} {{",
                    f"\t\treturn h, cw.ErrConst({quoted('frame.' + h.name)}, v, {want}, {h.type.size}, "
                    f"{'true' if h.type.signed else 'false'})", "\t}"]
    out += ["\treturn findHeader(b, dir)", "}", "",
            "// findHeader reads a header as far as finding the frame takes (the id for a receiver of",
            "// direction dir, then the length: how big the frame is) and its seq and plain values,",
            "// checking no constant: for a framing adapter, whose library judges the frame itself.",
            "func findHeader(b []byte, dir string) (h cw.Head, err error) {"]
    idf, lenf, seqf = frame.role("id"), frame.role("length"), frame.role("seq")
    if idf is not None:
        out += [f"\tid := {get_call(idf.type, 'b', str(idf.offset))}",
                "\tif h.Msg = lookup(id, dir); h.Msg < 0 {",
                f"\t\treturn h, cw.ErrFrameType({quoted('frame.' + idf.name)}, id, dir, h.Msg)", "\t}"]
    else:
        out += ["\tif h.Msg = cw.FirstFor(dir, messageTable); h.Msg < 0 {", "\t\treturn h, cw.ErrFrameType(\"frame\", 0, dir, min(h.Msg, -3))",
                "\t}"]
    if lenf is not None:
        adjust = frame.length_adjust
        test = f"n < {adjust} || n-{adjust} > MaxPayload" if adjust else "n > MaxPayload"
        out += [f"\tn := {get_call(lenf.type, 'b', str(lenf.offset))}", f"\tif {test} {{",
                f"\t\treturn h, cw.ErrFrameLength({quoted('frame.' + lenf.name)}, n, {adjust}, MaxPayload)", "\t}",
                f"\th.PayloadLen = int(n - {adjust})" if adjust else "\th.PayloadLen = int(n)"]
    else:
        out.append("\th.PayloadLen = messageTable[h.Msg].Fixed")
    if seqf is not None:
        out.append(f"\th.Seq = {get_call(seqf.type, 'b', str(seqf.offset))}")
    for i, h in enumerate(frame.plain):
        v = get_call(h.type, "b", str(h.offset))
        out.append(f"\th.Plain[{i}] = " + (f"cw.SignExtend({v}, {8 * h.type.size})" if h.type.signed else v))
    return out + ["\th.Size = HeaderLen + h.PayloadLen + TrailerLen", "\treturn h, nil", "}", ""]


def lookup(schema: S.Schema) -> list[str]:
    """The message of an id, for a receiver of a direction (ids are unique per direction)."""
    out = ["// lookup is the index of the message with this id that a receiver of direction dir reads:",
           "// -1 when there is none, -2 when two share it and dir does not tell them apart.",
           "func lookup(id uint64, dir string) int {", "\tswitch id {"]
    by_id: dict[int, list[tuple[int, S.Message]]] = {}
    for i, m in enumerate(schema.messages.values()):
        by_id.setdefault(m.id, []).append((i, m))
    for mid, ms in by_id.items():
        out.append(f"\tcase {mid}:")
        if len(ms) == 2:
            side = {m.direction: i for i, m in ms}
            out.append(f"\t\treturn cw.ByDirection(dir, {side['request']}, {side['response']})")
        elif ms[0][1].direction:
            out.append(f"\t\treturn cw.OnlyFor(dir, {quoted(ms[0][1].direction)}, {ms[0][0]})")
        else:
            out.append(f"\t\treturn {ms[0][0]}")
    return out + ["\t}", "\treturn -1", "}", ""]


def checksum(frame: S.Frame) -> list[str]:
    """The checksum over the run of parts it covers (a contiguous run of the frame's bytes), with
    the message's seed byte, and its table."""
    c = frame.checksum
    assert c is not None
    algo = c.algorithm
    first, last = c.covers[0], c.covers[-1]
    offsets = {h.name: (h.offset, h.offset + h.type.size) for h in frame.header}
    start = frame.header_size if first == "payload" else offsets[first][0]
    end = "HeaderLen+payloadLen" if last == "payload" else offsets[last][1]
    update = "cw.CrcReflected(&crcTable, c, " if algo.reflect else f"cw.CrcForward(&crcTable, {algo.width}, c, "
    seed = {"before": [f"\tc = {update}[]byte{{seed}})"], "after": [], "": ["\t_ = seed"]}[c.seed]
    out = [f"// frameSum is the {algo.name} of {first}..{last}"
           + (f", with the message's seed byte fed {c.seed} them" if c.seed else "") + ".",
           "func frameSum(frame []byte, payloadLen int, seed byte) uint64 {",
           f"\tc := uint32({hexint(algo.init)})", *seed, f"\tc = {update}frame[{start}:{end}])"]
    if c.seed == "after":
        out.append(f"\tc = {update}[]byte{{seed}})")
    out += [f"\treturn uint64(c ^ {hexint(algo.xorout)})", "}", "",
            "// crcOf is the checksum's algorithm over data (for the tests: its check value).",
            "func crcOf(data []byte) uint64 {", f"\tc := uint32({hexint(algo.init)})",
            f"\treturn uint64({update}data) ^ {hexint(algo.xorout)})", "}", "",
            f"// crcCheck is the {algo.name} of \"123456789\", from the CRC catalogue.",
            f"const crcCheck uint64 = {hexint(algo.check)}", "",
            "func putSum(frame []byte, payloadLen int, sum uint64) {",
            "\t" + put_call(c.type, "frame", "HeaderLen+payloadLen", "sum"), "}", "",
            "func getSum(frame []byte, payloadLen int) uint64 {",
            f"\treturn {get_call(c.type, 'frame', 'HeaderLen+payloadLen')}", "}", "",
            f"// crcTable is the 256-entry table of the {algo.name} "
            f"({'reflected' if algo.reflect else 'shifting left'}, polynomial {hexint(algo.poly)}).",
            "var crcTable = [256]uint32{"]
    digits = algo.width // 4
    for row in range(0, 256, 8):
        out.append("\t" + " ".join(f"0x{v:0{digits}x}," for v in algo.table[row:row + 8]))
    return out + ["}", ""]


# ------------------------------------------------------------------ the file


def source(schema: S.Schema) -> str:
    names = Names(schema)
    lines = [generated_banner("//").rstrip("\n"), "", "package codec", "", *IMPORTS, "",
             f"// Every enum, flag set, struct, union and message of protocol {quoted(schema.name)} as a Go",
             "// type with its codec, the message table, and the frame.", "",
             "// SchemaName is format.name.",
             f"const SchemaName = {quoted(schema.name)}", "",
             "// MaxPayload is format.max_payload: the largest payload of a frame, in bytes.",
             f"const MaxPayload = {schema.max_payload}", "",
             "// Newest is format.version: the protocol's newest version, the one spoken by default.",
             f"const Newest = {schema.version}", "",
             "// trimTrailing is format.trailing_zeros = \"trim\": trailing zero bytes are left off a payload.",
             f"const trimTrailing = {'true' if schema.trim_zeros else 'false'}"]
    for t in (*schema.enums.values(), *schema.flags.values()):
        lines += ["", *gen_scalar_type(names, t)]
    for u in schema.unions.values():
        lines += ["", *gen_union(names, u)]
    for s in schema.structs.values():
        lines += ["", *gen_struct(names, s)]
    with_id = schema.frame is not None and schema.frame.role("id") is not None
    for i, m in enumerate(schema.messages.values()):
        lines += ["", *gen_struct(names, m, i, with_id)]
    lines += ["", *gen_messages(names, schema)]
    lines += ["", *gen_frame(schema)]
    lines += ["", API, "// Reference is the kit's table of the reference peer: every message through the generated codec.",
              "func Reference(manifest string) *kit.Protocol {",
              "\treturn &kit.Protocol{Manifest: manifest, MaxPayload: MaxPayload, Newest: Newest, Frame: Frame,",
              "\t\tMessages: []kit.Message{"]
    lines += [f"\t\t\tentry[{names.types[m.name]}]({i})," for i, m in enumerate(schema.messages.values())]
    lines += ["\t\t}}", "}"]
    return "\n".join(lines) + "\n"


IMPORTS = ["import (", '\t"crosswire.dev/kit"', '\tcw "crosswire.dev/kit/codec"', ")"]

# The entry points over the generated types, the same for every schema: the reference codec
# (Encode, Decode[T], with a version: EncodeAt, DecodeAt[T]; a whole frame: EncodeFrame,
# DecodeFrame[T]), the text form (EncodeText, DecodeText, Reencode, SEND's EncodeFrameText)
# and the kit's table entry of a message.
API = """// message is a message type of this schema: *M of every message M.
type message interface {
	index() int
	encode(w *cw.Writer, version int) error
	decode(r *cw.Reader, version int) error
	parse(t *cw.Tokens) error
	format(out []string) []string
}

// value is the pointer type of message type T.
type value[T any] interface {
	*T
	message
}

// Encode is the payload of a message value (*M), in the newest version: the reference codec.
func Encode(m message) ([]byte, error) { return EncodeAt(m, Newest) }

// EncodeAt is the payload of a message value as a peer speaking version writes it.
func EncodeAt(m message, version int) ([]byte, error) {
	return cw.Encode(&messageTable[m.index()], version, m.encode)
}

// Decode reads a payload of message M, in the newest version: Decode[M](payload).
func Decode[T any, P value[T]](payload []byte) (*T, error) { return DecodeAt[T, P](payload, Newest) }

// DecodeAt reads a payload of message M as a peer speaking version reads it.
func DecodeAt[T any, P value[T]](payload []byte, version int) (*T, error) {
	v := P(new(T))
	if err := cw.Decode(&messageTable[v.index()], payload, version, v.decode); err != nil {
		return nil, err
	}
	return (*T)(v), nil
}

// EncodeFrame is the whole frame of a message value with this seq and these plain header
// values (in header order; missing ones are 0).
func EncodeFrame(m message, seq uint64, plain []uint64) ([]byte, error) {
	if Frame == nil {
		return nil, cw.ErrNoFrame()
	}
	payload, err := Encode(m)
	if err != nil {
		return nil, err
	}
	var p cw.Plain
	copy(p[:], plain)
	return Frame.AppendFrame(nil, m.index(), seq, &p, payload), nil
}

// DecodeFrame reads a whole frame of message M (its header, checksum and payload).
func DecodeFrame[T any, P value[T]](frame []byte) (*T, error) {
	if Frame == nil {
		return nil, cw.ErrNoFrame()
	}
	i := P(new(T)).index()
	h, err := Frame.ParseHead(frame, messageTable[i].Direction)
	switch {
	case err != nil:
		return nil, err
	case h.Msg != i:
		return nil, cw.Errorf("decode", "a frame of %s, not %s", messageTable[h.Msg].Name, messageTable[i].Name)
	case h.Size != len(frame):
		return nil, cw.Errorf("decode", "a frame of %d bytes, its header says %d", len(frame), h.Size)
	}
	if err := Frame.CheckFrame(frame, &h); err != nil {
		return nil, err
	}
	return Decode[T, P](Frame.Payload(frame, &h))
}

// Lookup is the index of the message called name.
func Lookup(name string) (int, bool) {
	i := messageIndex(name)
	return i, i >= 0
}

// MessageName is the name of message i.
func MessageName(i int) string { return messageTable[i].Name }

// Messages lists every message name, in schema order.
func Messages() []string {
	out := make([]string, len(messageTable))
	for i := range messageTable {
		out[i] = messageTable[i].Name
	}
	return out
}

// EncodeText encodes a value given as text tokens (one per leaf) into a payload (ENCODE).
func EncodeText(name string, words []string, version int) ([]byte, error) {
	i := messageIndex(name)
	if i < 0 {
		return nil, cw.UnknownMessage(name)
	}
	m := newMessage(i)
	if err := cw.Parse(&messageTable[i], words, version, m.parse); err != nil {
		return nil, err
	}
	return EncodeAt(m, version)
}

// DecodeText decodes a payload of message i into its text tokens (DECODE).
func DecodeText(i int, payload []byte, version int) ([]string, error) {
	m := newMessage(i)
	if err := cw.Decode(&messageTable[i], payload, version, m.decode); err != nil {
		return nil, err
	}
	return m.format(nil), nil
}

// Reencode decodes a payload of message i and encodes the decoded value again (ECHO).
func Reencode(i int, payload []byte, version int) ([]byte, error) {
	m := newMessage(i)
	if err := cw.Decode(&messageTable[i], payload, version, m.decode); err != nil {
		return nil, err
	}
	return EncodeAt(m, version)
}

// EncodeFrameText is SEND's work: the whole frame of message name with sequence number seq,
// the plain header values and the value, given as tokens (rest: the header values, then the
// value's), the errors in the contract's order.
func EncodeFrameText(name, seq string, rest []string, version int) ([]byte, error) {
	if Frame == nil {
		return nil, cw.ErrNoFrame()
	}
	i := messageIndex(name)
	if i < 0 {
		return nil, cw.UnknownMessage(name)
	}
	if err := Frame.CheckSendTokens(seq, rest); err != nil {
		return nil, err
	}
	payload, err := EncodeText(name, rest[len(plainFields):], version)
	if err != nil {
		return nil, err
	}
	n, plain, err := Frame.SendHeader(seq, rest)
	if err != nil {
		return nil, err
	}
	return Frame.AppendFrame(nil, i, n, &plain, payload), nil
}

// entry is the kit's table entry of message i, of type T, through the generated codec.
func entry[T any, P value[T]](i int) kit.Message {
	return kit.Message{
		Info: &messageTable[i],
		Parse: func(words []string, version int) (any, error) {
			v := P(new(T))
			return v, cw.Parse(&messageTable[i], words, version, v.parse)
		},
		Format: func(v any) []string { return v.(P).format(nil) },
		Encode: func(v any, version int) ([]byte, error) { return EncodeAt(v.(P), version) },
		Decode: func(b []byte, version int) (any, error) { return DecodeAt[T, P](b, version) },
	}
}
"""


def generate(schema: S.Schema) -> dict[str, str]:
    return {OUT: source(schema)}


# ------------------------------------------------------------------ adapters (docs/kits.md)

KIT = "peers/go/kit"
ADAPTER_TABLE = "codec/adapter_gen.go"


def fields_doc(names: Names, m: S.Message) -> str:
    """A message's Go fields with their schema types, for the comments of the adapter's stubs."""
    fields = names.fields(m)
    shown = [f"{fields[f.name]} {names.go_type(f.type)} (`{f.name}`: {describe(f.type)})" for f in m.value_fields]
    return f"{names.types[m.name]}{{{'; '.join(shown)}}}" if shown else f"{names.types[m.name]}{{}} (no fields)"


def adapter_methods(names: Names, m: S.Message, frames: bool) -> tuple[str, str, str, str]:
    """The Go names and signatures (without the names) of a message's encode and decode."""
    t = names.types[m.name]
    enc = f"(v *{t}, seq uint64, plain []uint64) ([]byte, error)" if frames else f"(v *{t}) ([]byte, error)"
    dec = f"(frame []byte) (*{t}, error)" if frames else f"(payload []byte) (*{t}, error)"
    return f"Encode{t}", enc, f"Decode{t}", dec


def adapter_table(schema: S.Schema, frames: bool) -> str:
    """codec/adapter_gen.go: the Adapter interface, Unimplemented, and the kit's table."""
    names = Names(schema)
    what = ("whole frames: encode the value with this seq and these plain header values (in header order) "
            "into a frame, decode a whole frame" if frames else "payloads: encode a value into its payload, "
            "decode a payload into a value")
    out = [generated_banner("//").rstrip("\n"), "", "package codec", "",
           "import (", '\t"errors"', "", '\t"crosswire.dev/kit"', ")", "",
           *wrap(f"// Adapter is the library under test, one pair of functions per message, on {what}. "
                 "Embed Unimplemented and write only the messages the library wraps: the others answer "
                 "`ERR unsupported adapter: M is not implemented`, a skip."),
           "type Adapter interface {"]
    msgs = list(schema.messages.values())
    for i, m in enumerate(msgs):
        enc, esig, dec, dsig = adapter_methods(names, m, frames)
        out += ([""] if i else []) + [*("	" + line for line in wrap(f"// {fields_doc(names, m)}", 96)),
                                      f"	{enc}{esig}", f"	{dec}{dsig}"]
    out += ["}", "", "// Unimplemented implements every method of Adapter with kit.ErrUnimplemented.",
            "type Unimplemented struct{}"]
    for m in msgs:
        enc, esig, dec, dsig = adapter_methods(names, m, frames)
        for method, sig in ((enc, esig), (dec, dsig)):   # never one line: gofmt splits a long one
            out += ["", f"func (Unimplemented) {method}{sig} {{", "\treturn nil, kit.ErrUnimplemented", "}"]
    how = "adaptFrame" if frames else "adapt"
    out += ["", "// Protocol is the kit's table of the adapter peer: the schema's text form and frame, and every",
            "// message's encode and decode through a.",
            "func Protocol(a Adapter, manifest string) *kit.Protocol {", "\tp := Reference(manifest)"]
    for i, m in enumerate(msgs):
        enc, _, dec, _ = adapter_methods(names, m, frames)
        out.append(f"\t{how}(&p.Messages[{i}], a.{enc}, a.{dec})")
    out += ["\treturn p", "}", ""]
    if frames:
        out += ["// adaptFrame points a message's entry at a framing adapter's pair of functions.",
                "func adaptFrame[T any](m *kit.Message, encode func(*T, uint64, []uint64) ([]byte, error), "
                "decode func([]byte) (*T, error)) {",
                "\tm.Encode, m.Decode = nil, nil",
                "\tm.EncodeFrame = func(v any, seq uint64, plain []uint64) ([]byte, error) { return encode(v.(*T), seq, plain) }",
                "\tm.DecodeFrame = func(b []byte) (any, error) { return decoded(decode(b)) }", "}"]
    else:
        out += ["// adapt points a message's entry at an adapter's pair of functions (which speak the newest",
                "// version).",
                "func adapt[T any](m *kit.Message, encode func(*T) ([]byte, error), decode func([]byte) (*T, error)) {",
                "\tm.Encode = func(v any, _ int) ([]byte, error) { return encode(v.(*T)) }",
                "\tm.Decode = func(b []byte, _ int) (any, error) { return decoded(decode(b)) }", "}"]
    out += ["", "// decoded is a decoded value for the kit: a nil one without an error is the adapter's error.",
            "func decoded[T any](v *T, err error) (any, error) {", "\tif err != nil {", "\t\treturn nil, err", "\t}",
            "\tif v == nil {", '\t\treturn nil, errors.New("returned no value and no error")', "\t}", "\treturn v, nil", "}"]
    return "\n".join(out) + "\n"


def adapter_generated(schema: S.Schema, frames: bool) -> dict[str, str]:
    """The generated files of an adapter peer, relative to its folder: the schema's types, text
    form, frame and reference codec (package codec), and the adapter's table."""
    return {"codec/schema_gen.go": source(schema), ADAPTER_TABLE: adapter_table(schema, frames)}


def module_name(name: str) -> str:
    """The Go module path of an adapter peer called name."""
    return name if re.fullmatch(r"[a-z0-9][a-z0-9._-]*", name) else "adapter"


def adapter_files(schema: S.Schema, name: str, kit: str, frames: bool) -> dict[str, str]:
    """The user's files of an adapter peer, written once: peer.toml, go.mod (the kit at the
    relative path kit), main.go and adapter.go (one pair of stubs per message)."""
    names, mod = Names(schema), module_name(name)
    manifest = f"""name = {quoted(name)}
language = "go"
contract = 3

[adapter]
lang = "go"
frames = {'true' if frames else 'false'}

# codec/ is generated again by every `crosswire build`; adapter.go and main.go are yours.
[build]
requires = ["go"]
packages = ["golang-go"]
command = ["go", "build", "-o", "build/cw-peer", "."]
outputs = ["build/cw-peer"]

[run]
command = ["build/cw-peer"]

[supports]
transports = ["uds", "tcp", "shm"]
messages = "*"
"""
    gomod = f"module {mod}\n\ngo 1.21\n\nrequire crosswire.dev/kit v0.0.0\n\nreplace crosswire.dev/kit => {kit}\n"
    main = f"""// Command cw-peer is the adapter peer {name}: the crosswire Go kit running the library under
// test through adapter.go. Yours to edit.
package main

import (
	_ "embed"

	"crosswire.dev/kit"

	"{mod}/codec"
)

// The manifest, built into the program: HELLO reports what it declares.
//
//go:embed peer.toml
var manifest string

func main() {{ kit.Run(codec.Protocol(&adapter{{}}, manifest)) }}
"""
    what = ("the value into a whole frame (header, payload, checksum) with this seq and these plain header values; "
            "decode a whole frame" if frames else "the value into its payload; decode a payload")
    ref = ("codec.EncodeFrame(v, seq, plain) and codec.DecodeFrame[codec.M](frame)" if frames
           else "codec.Encode(v) and codec.Decode[codec.M](payload)")
    src = [*wrap(f"// The adapter of {name}: one pair of functions per message of the schema, calling the library "
                 f"under test. Encode {what}. A stub left returning kit.ErrUnimplemented is skipped with that "
                 f"reason; any other error is reported as the adapter's. The reference codec is {ref}."),
           "package main", "", "import (", '	"crosswire.dev/kit"', "", f'	"{mod}/codec"', ")", "",
           "// adapter wraps the library. codec.Unimplemented answers for the messages the schema gains later.",
           "type adapter struct {", "	codec.Unimplemented", "}"]
    for m in schema.messages.values():
        enc, esig, dec, dsig = adapter_methods(names, m, frames)
        src += ["", *wrap(f"// {enc}: message `{m.name}`, {fields_doc(names, m)}."),
                f"func (a *adapter) {enc}{esig.replace('(v *', '(v *codec.', 1)} {{",
                "	return nil, kit.ErrUnimplemented", "}", "",
                f"// {dec}: message `{m.name}`.",
                f"func (a *adapter) {dec}{dsig.replace('(*', '(*codec.', 1)} {{", "	return nil, kit.ErrUnimplemented", "}"]
    return {"peer.toml": manifest, "go.mod": gomod, "main.go": main, "adapter.go": "\n".join(src) + "\n"}


class _Backend:
    name = "go"

    def generate(self, schema: S.Schema) -> dict[str, str]:
        return generate(schema)


BACKEND = _Backend()
