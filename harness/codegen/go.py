"""The Go backend: peers/go/codec/schema_gen.go (and schema_gen_test.go) from the schema.

One Go type per schema type: a struct per struct and message (fields CamelCased, padding
carries no value), a named integer type per enum with a constant per value. Each gets four
unexported methods that walk the fields in schema order: encode (onto a writer), decode (from a
reader, validating), parse (text tokens) and format (text tokens); messages also say their id
and name. Then the message id constants and the dispatch by name and id that the runtime's
EncodeText/DecodeText/Reencode call.

| schema type      | Go type          | notes                                            |
|------------------|------------------|--------------------------------------------------|
| u8..u64, i8..i64 | uint8..int64     |                                                  |
| f32 / f64        | float32/float64  | through Float32bits/frombits only: NaN bits stay |
| bool             | bool             |                                                  |
| enum             | the enum type    | a named integer type of its base                 |
| char[N]          | []byte           | the text without its NUL padding                 |
| bytes            | []byte           |                                                  |
| string           | string           | strict UTF-8 checked on encode and decode        |
| bigint           | Bigint ([]byte)  | minimal two's complement, little-endian          |
| T[N]             | [N]T             | u8[2][3] is [3][2]uint8, as WIRE.md nests them   |
| vec<T>           | []T              |                                                  |
| pad[N]           | (no field)       |                                                  |

Everything that is the same for every message (the leaf values of each kind of type, errors
and their paths, hex, bigint, the text tokens, frames) is hand-written once in
peers/go/codec/*.go, which the generated code calls; the generated file imports nothing.

The output is gofmt-clean as generated (tests/test_codegen_go.py runs gofmt -l on it): tab
indentation, one declaration per line, struct fields separated by blank lines so that gofmt
has no columns to align, and no composite literals with keys.

schema_gen_test.go describes the fields of every struct and message for codec_test.go, which
turns the JSON values of protocols/vectors/*.json into text tokens with it.
"""
from __future__ import annotations

from .. import schema as S
from . import generated_banner

OUT = "peers/go/codec/schema_gen.go"
OUT_TEST = "peers/go/codec/schema_gen_test.go"

# The exported names of the hand-written half of package codec: a schema type, enum constant
# or message id constant must not take one of them.
RUNTIME = {
    "AppendFrame", "BenchFrame", "Bigint", "CRC32", "DecodeMessage", "DecodeText", "EncodeFrame",
    "EncodeMessage", "EncodeText", "Error", "Errorf", "FrameCut", "Header", "HeaderLen", "Hex",
    "Message", "NewStream", "ParseHeader", "ParseHex", "PutHeader", "Reencode", "SetSeq",
    "Splitmix64", "Stream",
    # generated below, once
    "Magic", "Version", "MaxPayload", "MessageID", "MessageName", "Messages",
}


class GoNameError(ValueError):
    pass


def camel(name: str) -> str:
    """A lower_snake_case schema name as an exported Go name: val_u8 -> ValU8."""
    out = "".join(part[:1].upper() + part[1:] for part in name.split("_"))
    if not out or not out[0].isalpha():
        out = "F" + out
    return out


def field_names(s: S.Struct) -> dict[str, str]:
    """The Go field of each schema field that carries a value; clashes are refused."""
    out: dict[str, str] = {}
    for f in s.value_fields:
        go = camel(f.name)
        clash = [k for k, v in out.items() if v == go]
        if clash:
            raise GoNameError(f"{s.name}: fields {clash[0]} and {f.name} are both {go} in Go")
        out[f.name] = go
    return out


def enum_const(e: S.Enum, value: str) -> str:
    return e.name + camel(value)


def quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ------------------------------------------------------------------ types


def go_type(t: S.Type) -> str:
    if isinstance(t, S.Prim):
        if t.kind == "float":
            return f"float{8 * t.size}"
        if t.kind == "bool":
            return "bool"
        return f"{'uint' if t.kind == 'uint' else 'int'}{8 * t.size}"
    if isinstance(t, (S.Enum, S.Struct)):
        return t.name
    if isinstance(t, S.CharArray):
        return "[]byte"
    if isinstance(t, S.Bytes):
        return "string" if t.utf8 else "[]byte"
    if isinstance(t, S.BigInt):
        return "Bigint"
    if isinstance(t, S.Array):
        return f"[{t.n}]{go_type(t.elem)}"
    if isinstance(t, S.Vec):
        return f"[]{go_type(t.elem)}"
    raise TypeError(f"no Go type for {S.type_name(t)}")


def zero(t: S.Type) -> str:
    """The zero value of a vec's element type, as an expression."""
    if isinstance(t, S.Prim):
        return "false" if t.kind == "bool" else "0"
    if isinstance(t, S.Enum):
        return "0"
    if isinstance(t, S.CharArray):
        return "nil"
    return f"{go_type(t)}{{}}"  # struct or array


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
    return text


# ------------------------------------------------------------------ the four walks
#
# Each walk emits the statements for one value `lv` (an addressable Go expression) of a type,
# at an indentation depth. Encode and decode return errors whose path is relative to the value,
# and wrap them on the way out with the field and the indexes of the enclosing loops
# (`at(err, ".fixed", i0)`); parse keeps the path in the tokens as it goes (push/pop, index/cut)
# because the errors it keeps aside need it at that moment.


class Walk:
    def __init__(self, field: str) -> None:
        self.field = field      # ".name" of the struct field being walked
        self.lines: list[str] = []
        self.vecs = 0           # vec counters used so far in the function (n0, n1, ...)

    def emit(self, depth: int, text: str) -> None:
        self.lines.append("\t" * depth + text)

    def check(self, depth: int, call: str, idx: list[str]) -> None:
        """`if err := call; err != nil { return at(err, field, idx...) }`."""
        args = ", ".join([quoted(self.field), *idx])
        self.emit(depth, f"if err := {call}; err != nil {{")
        self.emit(depth + 1, f"return at(err, {args})")
        self.emit(depth, "}")

    def returns(self, depth: int, call: str) -> None:
        """`if err := call; err != nil { return err }` (parse: the path is in the tokens)."""
        self.emit(depth, f"if err := {call}; err != nil {{")
        self.emit(depth + 1, "return err")
        self.emit(depth, "}")

    # -- encode

    def enc(self, t: S.Type, lv: str, depth: int, idx: list[str]) -> None:
        if isinstance(t, S.Prim):
            self.emit(depth, f"w.{t.name}({lv})")
        elif isinstance(t, (S.Enum, S.Struct)):
            self.check(depth, f"{lv}.encode(w)", idx)
        elif isinstance(t, S.CharArray):
            self.check(depth, f"w.char({lv}, {t.n})", idx)
        elif isinstance(t, S.Bytes):
            self.check(depth, f"w.{'string' if t.utf8 else 'bytes'}({lv}, {t.max})", idx)
        elif isinstance(t, S.BigInt):
            self.check(depth, f"w.bigint({lv}, {t.max})", idx)
        elif isinstance(t, S.Pad):
            self.emit(depth, f"w.pad({t.n})")
        elif isinstance(t, (S.Array, S.Vec)):
            if isinstance(t, S.Vec):
                self.check(depth, f"w.count(len({lv}), {t.max})", idx)
            i = f"i{len(idx)}"
            self.emit(depth, f"for {i} := range {lv} {{")
            self.enc(t.elem, f"{lv}[{i}]", depth + 1, [*idx, i])
            self.emit(depth, "}")
        else:
            raise TypeError(f"cannot encode {S.type_name(t)}")

    # -- decode

    def dec(self, t: S.Type, lv: str, depth: int, idx: list[str]) -> None:
        if isinstance(t, S.Prim):
            self.check(depth, f"r.{t.name}(&{lv})", idx)
        elif isinstance(t, (S.Enum, S.Struct)):
            self.check(depth, f"{lv}.decode(r)", idx)
        elif isinstance(t, S.CharArray):
            self.check(depth, f"r.char(&{lv}, {t.n})", idx)
        elif isinstance(t, S.Bytes):
            self.check(depth, f"r.{'string' if t.utf8 else 'bytes'}(&{lv}, {t.max})", idx)
        elif isinstance(t, S.BigInt):
            self.check(depth, f"r.bigint(&{lv}, {t.max})", idx)
        elif isinstance(t, S.Pad):
            self.check(depth, f"r.pad({t.n})", idx)
        elif isinstance(t, S.Array):
            i = f"i{len(idx)}"
            self.emit(depth, f"for {i} := range {lv} {{")
            self.dec(t.elem, f"{lv}[{i}]", depth + 1, [*idx, i])
            self.emit(depth, "}")
        elif isinstance(t, S.Vec):
            # A vec is never inside an array or vec (WIRE.md), so this is the function's top
            # level, where `err` may be declared once for all the vecs of the struct.
            n, i = f"n{self.vecs}", f"i{len(idx)}"
            self.vecs += 1
            self.emit(depth, f"{n}, err := r.count({t.max})")
            self.emit(depth, "if err != nil {")
            self.emit(depth + 1, f"return at(err, {quoted(self.field)})")
            self.emit(depth, "}")
            self.emit(depth, f"{lv} = make({go_type(t)}, 0, r.room({n}))")
            self.emit(depth, f"for {i} := 0; {i} < {n}; {i}++ {{")
            self.emit(depth + 1, f"{lv} = append({lv}, {zero(t.elem)})")
            self.dec(t.elem, f"{lv}[{i}]", depth + 1, [*idx, i])
            self.emit(depth, "}")
        else:
            raise TypeError(f"cannot decode {S.type_name(t)}")

    # -- parse

    def prs(self, t: S.Type, lv: str, depth: int, level: int) -> None:
        if isinstance(t, S.Prim):
            self.returns(depth, f"t.{t.name}(&{lv})")
        elif isinstance(t, (S.Enum, S.Struct)):
            self.returns(depth, f"{lv}.parse(t)")
        elif isinstance(t, S.CharArray):
            self.returns(depth, f"t.char(&{lv}, {t.n})")
        elif isinstance(t, S.Bytes):
            self.returns(depth, f"t.{'string' if t.utf8 else 'bytes'}(&{lv}, {t.max})")
        elif isinstance(t, S.BigInt):
            self.returns(depth, f"t.bigint(&{lv}, {t.max})")
        elif isinstance(t, S.Array):
            i, m = f"i{level}", f"m{level}"
            self.emit(depth, f"for {i} := range {lv} {{")
            self.emit(depth + 1, f"{m} := t.index(uint64({i}))")
            self.prs(t.elem, f"{lv}[{i}]", depth + 1, level + 1)
            self.emit(depth + 1, f"t.cut({m})")
            self.emit(depth, "}")
        elif isinstance(t, S.Vec):
            # Items past max are parsed too (their tokens must be good) but not kept: the
            # count's length error, kept aside, fails the value anyway. Items that take no
            # token (a struct of padding only) would loop for ever: the first such one ends it.
            n, i, m, e, pos = f"n{self.vecs}", f"i{level}", f"m{level}", f"e{level}", f"at{level}"
            self.vecs += 1
            self.emit(depth, f"{n}, err := t.count({t.max})")
            self.emit(depth, "if err != nil {")
            self.emit(depth + 1, "return err")
            self.emit(depth, "}")
            self.emit(depth, f"{lv} = make({go_type(t)}, 0, int(min({n}, {t.max})))")
            self.emit(depth, f"for {i} := uint64(0); {i} < {n}; {i}++ {{")
            self.emit(depth + 1, f"{m}, {pos} := t.index({i}), t.pos")
            self.emit(depth + 1, f"var {e} {go_type(t.elem)}")
            self.prs(t.elem, e, depth + 1, level + 1)
            self.emit(depth + 1, f"t.cut({m})")
            self.emit(depth + 1, f"if {i} < {t.max} {{")
            self.emit(depth + 2, f"{lv} = append({lv}, {e})")
            self.emit(depth + 1, f"}} else if t.pos == {pos} {{")
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
                push(f"fmt{t.name.upper()}({lv})")
            elif t.kind == "bool":
                push(f"fmtBool({lv})")
            else:
                push(f"fmtUint(uint64({lv}))" if t.kind == "uint" else f"fmtInt(int64({lv}))")
        elif isinstance(t, S.Enum):
            push(f"fmtUint(uint64({lv}))" if t.base.kind == "uint" else f"fmtInt(int64({lv}))")
        elif isinstance(t, S.Struct):
            self.emit(depth, f"out = {lv}.format(out)")
        elif isinstance(t, S.CharArray) or isinstance(t, S.Bytes) and not t.utf8:
            push(f"Hex({lv})")
        elif isinstance(t, S.Bytes):
            push(f"fmtString({lv})")
        elif isinstance(t, S.BigInt):
            push(f"bigintToken({lv})")
        elif isinstance(t, (S.Array, S.Vec)):
            if isinstance(t, S.Vec):
                push(f"fmtUint(uint64(len({lv})))")
            i = f"i{level}"
            self.emit(depth, f"for {i} := range {lv} {{")
            self.fmt(t.elem, f"{lv}[{i}]", depth + 1, level + 1)
            self.emit(depth, "}")
        else:
            raise TypeError(f"cannot format {S.type_name(t)}")


# ------------------------------------------------------------------ declarations


def gen_enum(e: S.Enum) -> list[str]:
    name, base = e.name, go_type(e.base)
    signed = e.base.kind == "int"
    consts = [enum_const(e, v) for v in e.values]
    out = [f"// {name} is enum `{name}`, carried as its `{e.base.name}` value.",
           f"type {name} {base}", ""]
    for v, value in e.values.items():
        out += [f"// {enum_const(e, v)} is `{v}`.", f"const {enum_const(e, v)} {name} = {value}", ""]
    lo, hi = e.base.min, e.base.max
    conv = "int64" if signed else "uint64"
    bad = "badEnumS" if signed else "badEnumU"
    out += [
        f"// valid reports whether e is one of the values of {name}.",
        f"func (e {name}) valid() bool {{",
        "\tswitch e {",
        f"\tcase {', '.join(consts)}:",
        "\t\treturn true",
        "\t}",
        "\treturn false",
        "}",
        "",
        f"func (e {name}) encode(w *writer) error {{",
        "\tif !e.valid() {",
        f"\t\treturn {bad}({conv}(e), {quoted(name)})",
        "\t}",
        f"\tw.{e.base.name}({base}(e))",
        "\treturn nil",
        "}",
        "",
        f"func (e *{name}) decode(r *reader) error {{",
        f"\tvar raw {base}",
        f"\tif err := r.{e.base.name}(&raw); err != nil {{",
        "\t\treturn err",
        "\t}",
        f"\tif !{name}(raw).valid() {{",
        f"\t\treturn decode{bad[0].upper()}{bad[1:]}({conv}(raw), {quoted(name)})",
        "\t}",
        f"\t*e = {name}(raw)",
        "\treturn nil",
        "}",
        "",
        f"func (e *{name}) parse(t *tokens) error {{",
    ]
    if signed:
        out.append(f"\traw, err := t.enumS({lo}, {hi}, {quoted(name)}, "
                   f"func(v int64) bool {{ return {name}(v).valid() }})")
    else:
        out.append(f"\traw, err := t.enumU({hi}, {quoted(name)}, "
                   f"func(v uint64) bool {{ return {name}(v).valid() }})")
    out += [f"\t*e = {name}(raw)", "\treturn err", "}"]
    return out


def method(head: str, walk: Walk, tail: str) -> list[str]:
    return [head, *walk.lines, f"\t{tail}", "}"]


def gen_struct(s: S.Struct) -> list[str]:
    names = field_names(s)
    name = s.name
    if isinstance(s, S.Message):
        out = [f"// {name} is message `{name}`, id {s.id}."]
    else:
        out = [f"// {name} is struct `{name}`."]
    if not s.value_fields:
        out.append(f"type {name} struct{{}}")
    else:
        out.append(f"type {name} struct {{")
        for i, f in enumerate(s.value_fields):
            if i:
                out.append("")  # no two fields in a row: gofmt would align their columns
            out += [f"\t// {names[f.name]} is `{f.name}`: {describe(f.type)}.", f"\t{names[f.name]} {go_type(f.type)}"]
        out.append("}")
    out.append("")

    def walk(op: str) -> Walk:
        w = Walk("")
        for f in s.fields:
            w.field = f".{f.name}"
            lv = f"v.{names[f.name]}" if f.name in names else ""
            if op == "enc":
                w.enc(f.type, lv, 1, [])
            elif op == "dec":
                w.dec(f.type, lv, 1, [])
            elif isinstance(f.type, S.Pad):
                continue  # padding has no token
            elif op == "prs":
                w.emit(1, f"t.push({quoted(w.field)})")
                w.prs(f.type, lv, 1, 0)
                w.emit(1, f"t.pop({quoted(w.field)})")
            else:
                w.fmt(f.type, lv, 1, 0)
        return w

    out += method(f"func (v *{name}) encode(w *writer) error {{", walk("enc"), "return nil") + [""]
    out += method(f"func (v *{name}) decode(r *reader) error {{", walk("dec"), "return nil") + [""]
    out += method(f"func (v *{name}) parse(t *tokens) error {{", walk("prs"), "return nil") + [""]
    out += method(f"func (v *{name}) format(out []string) []string {{", walk("fmt"), "return out")
    if isinstance(s, S.Message):
        out += ["", f"func (*{name}) messageID() uint16 {{ return {name}ID }}", "",
                f"func (*{name}) messageName() string {{ return {quoted(name)} }}"]
    return out


def gen_dispatch(schema: S.Schema) -> list[str]:
    msgs = list(schema.messages.values())
    out = []
    for m in msgs:
        out += [f"// {m.name}ID is the id of message {m.name}, its frames' msg_type.",
                f"const {m.name}ID uint16 = {m.id}", ""]
    out += ["// newMessage is a new value of message id, nil when there is none.",
            "func newMessage(id uint16) Message {", "\tswitch id {"]
    for m in msgs:
        out += [f"\tcase {m.name}ID:", f"\t\treturn new({m.name})"]
    out += ["\t}", "\treturn nil", "}", "",
            "// MessageID is the id of the message called name.",
            "func MessageID(name string) (uint16, bool) {", "\tswitch name {"]
    for m in msgs:
        out += [f"\tcase {quoted(m.name)}:", f"\t\treturn {m.name}ID, true"]
    out += ["\t}", "\treturn 0, false", "}", "",
            "// MessageName is the name of message id, \"\" when there is none.",
            "func MessageName(id uint16) string {", "\tswitch id {"]
    for m in msgs:
        out += [f"\tcase {m.name}ID:", f"\t\treturn {quoted(m.name)}"]
    out += ["\t}", "\treturn \"\"", "}", "",
            "// Messages lists every message name, in schema order.",
            "func Messages() []string {",
            f"\treturn []string{{{', '.join(quoted(m.name) for m in msgs)}}}",
            "}"]
    return out


def check_names(schema: S.Schema) -> None:
    """Every top-level Go name once: types, enum constants, message id constants, runtime."""
    seen: dict[str, str] = {n: "the codec runtime" for n in RUNTIME}

    def take(go: str, what: str) -> None:
        if go in seen:
            raise GoNameError(f"{what} would be the Go name {go}, already {seen[go]}")
        seen[go] = what

    for name in (*schema.enums, *schema.structs, *schema.messages):
        take(name, f"type {name}")
    for e in schema.enums.values():
        for v in e.values:
            take(enum_const(e, v), f"enum value {e.name}.{v}")
    for m in schema.messages.values():
        take(f"{m.name}ID", f"the id constant of message {m.name}")


def source(schema: S.Schema) -> str:
    check_names(schema)
    lines = [generated_banner("//").rstrip("\n"), "", "package codec", "",
             "// Every enum, struct and message of protocols/schema.toml as a Go type with its codec,",
             "// and the dispatch by message name and id.", "",
             "// Magic is frame.magic: the first four bytes of every frame.",
             f"const Magic uint32 = {schema.magic:#010x}", "",
             "// Version is format.version, carried in every frame header.",
             f"const Version uint16 = {schema.version}", "",
             "// MaxPayload is format.max_payload: the largest payload of a frame, in bytes.",
             f"const MaxPayload = {schema.max_payload}"]
    for e in schema.enums.values():
        lines += ["", *gen_enum(e)]
    for s in (*schema.structs.values(), *schema.messages.values()):
        lines += ["", *gen_struct(s)]
    lines += ["", *gen_dispatch(schema)]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ the test's description


def test_type(t: S.Type) -> str:
    if isinstance(t, S.Prim):
        return f'tLeaf("{t.name}")'
    if isinstance(t, S.Enum):
        return 'tLeaf("enum")'
    if isinstance(t, S.CharArray):
        return 'tLeaf("char")'
    if isinstance(t, S.Bytes):
        return f'tLeaf("{"string" if t.utf8 else "bytes"}")'
    if isinstance(t, S.BigInt):
        return 'tLeaf("bigint")'
    if isinstance(t, S.Array):
        return f"tArray({test_type(t.elem)}, {t.n})"
    if isinstance(t, S.Vec):
        return f"tVec({test_type(t.elem)})"
    return f"tStruct({quoted(t.name)})"


def test_source(schema: S.Schema) -> str:
    lines = [generated_banner("//").rstrip("\n"), "", "package codec", "",
             "// testFields is the fields that carry a value of each struct and message, with their types,",
             "// for codec_test.go to turn the JSON values of the vectors into text tokens.",
             "func testFields(name string) []testField {", "\tswitch name {"]
    for s in (*schema.structs.values(), *schema.messages.values()):
        lines.append(f"\tcase {quoted(s.name)}:")
        if not s.value_fields:
            lines.append("\t\treturn []testField{}")
            continue
        lines.append("\t\treturn []testField{")
        lines += [f"\t\t\t{{{quoted(f.name)}, {test_type(f.type)}}}," for f in s.value_fields]
        lines.append("\t\t}")
    lines += ["\t}", "\treturn nil", "}"]
    return "\n".join(lines) + "\n"


def generate(schema: S.Schema) -> dict[str, str]:
    return {OUT: source(schema), OUT_TEST: test_source(schema)}


class _Backend:
    name = "go"

    def generate(self, schema: S.Schema) -> dict[str, str]:
        return generate(schema)


BACKEND = _Backend()
