"""The C backend: peers/c/gen/cw_schema.h and cw_schema.c from the schema.

The header declares one C type per enum, struct and message in the representation of
harness/layout.py (its docstring table), with `_Static_assert`s on every size, alignment and
offset that layout.py computes, so a compiler that lays a type out differently fails the build.
The source holds, per struct and message, four functions that walk the fields in schema order:
encode (struct -> bytes), decode (bytes -> struct, validating), parse (text tokens -> struct)
and format (struct -> text tokens), plus the message table and the generic entry points.
Everything these functions share (bytes by shifts, UTF-8, hex, errors and paths, the text
tokens) is hand-written, once, in peers/c/cw_runtime.c.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .. import layout as L
from .. import schema as S
from . import generated_banner

GEN = "peers/c/gen"


# ------------------------------------------------------------------ names and C types


def upper_snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).upper()


def int_c_type(p: S.Prim) -> str:
    return f"{'u' if p.kind == 'uint' else ''}int{8 * p.size}_t"


def c_type(t: S.Type, owner: str, field: str) -> tuple[str, str]:
    """(base type, declarator suffix) of a member: ("uint16_t", "[4]"), ("cw_Text_label", "")."""
    if isinstance(t, S.Prim):
        return {"f32": "float", "f64": "double", "bool": "bool"}.get(t.name) or int_c_type(t), ""
    if isinstance(t, S.Enum):
        return f"cw_{t.name}", ""
    if isinstance(t, S.CharArray):
        return "char", f"[{t.n}]"
    if isinstance(t, S.Pad):
        return "uint8_t", f"[{t.n}]"
    if isinstance(t, (S.Bytes, S.BigInt, S.Vec)):
        return f"cw_{owner}_{field}", ""
    if isinstance(t, S.Array):
        base, suffix = c_type(t.elem, owner, field)
        return base, f"[{t.n}]{suffix}"
    return f"cw_{t.name}", ""


def needs_align8(t: S.Type) -> bool:
    """Members whose scalar is 8 bytes get _Alignas(8): i386 would align them to 4."""
    while isinstance(t, S.Array):
        t = t.elem
    if isinstance(t, S.Prim):
        return t.size == 8
    return isinstance(t, S.Enum) and t.base.size == 8


def member(t: S.Type, owner: str, field: str, name: str) -> str:
    base, suffix = c_type(t, owner, field)
    return f"{'_Alignas(8) ' if needs_align8(t) else ''}{base} {name}{suffix};"


def int_literal(v: int, p: S.Prim) -> str:
    """A C constant expression for v of integer type p."""
    if -(1 << 31) < v < (1 << 31):
        return f"({v})" if v < 0 else str(v)
    if p.kind == "uint":
        return f"UINT{8 * p.size}_C({v})"
    if v == -(1 << 63):
        return "(-INT64_C(9223372036854775807) - 1)"
    return f"(-INT64_C({-v}))" if v < 0 else f"INT64_C({v})"


def limits(p: S.Prim) -> tuple[str, str]:
    """(min, max) macros of an integer type: ("INT8_MIN", "INT8_MAX")."""
    bits = 8 * p.size
    return (f"INT{bits}_MIN", f"INT{bits}_MAX") if p.kind == "int" else ("0", f"UINT{bits}_MAX")


def inner_types(st: S.Struct) -> list[tuple[str, S.Type]]:
    """The named helper types of a struct's bytes/string/bigint/vec fields: (C name, type)."""
    return [(f"cw_{st.name}_{f.name}", f.type) for f in st.fields if isinstance(f.type, (S.Bytes, S.BigInt, S.Vec))]


# ------------------------------------------------------------------ sizes of the text form


def text_max(t: S.Type) -> int:
    """The most characters the tokens of a value of t take, one separator per token counted."""
    if isinstance(t, S.Prim):
        if t.kind == "float":
            return 2 + 2 * t.size + 1
        if t.kind == "bool":
            return 6
        return max(len(str(t.min)), len(str(t.max))) + 1
    if isinstance(t, S.Enum):
        return max(len(str(v)) for v in t.values.values()) + 1
    if isinstance(t, S.CharArray):
        return 1 + 2 * t.n + 1
    if isinstance(t, S.Pad):
        return 0
    if isinstance(t, S.Bytes):
        return 1 + 2 * t.max + 1
    if isinstance(t, S.BigInt):
        return 3 + 2 * t.max + 1
    if isinstance(t, S.Array):
        return t.n * text_max(t.elem)
    if isinstance(t, S.Vec):
        return len(str(t.max)) + 1 + t.max * text_max(t.elem)
    return sum(text_max(f.type) for f in t.fields)


# ------------------------------------------------------------------ the four walks


@dataclass
class Walk:
    """Statements for one value of a type, for one of the four functions."""
    op: str        # enc, dec, prs, fmt
    lines: list[str]

    def emit(self, depth: int, text: str) -> None:
        self.lines.append("    " * depth + text)

    def value(self, t: S.Type, lv: str, ind: int, loop: int) -> None:
        """Statements for the value lv (a C lvalue) of type t, at indent ind, loop depth loop."""
        e = self.emit
        op = self.op
        if isinstance(t, S.Pad):
            if op == "enc":
                e(ind, f"if (cw_wr_pad(w, c, {t.n})) return -1;")
            elif op == "dec":
                e(ind, f"if (cw_rd_pad(r, c, {lv}, {t.n})) return -1;")
            return  # parse leaves the zeroed struct alone; format writes nothing
        if isinstance(t, S.Prim) and t.kind in ("uint", "int"):
            suffix = ("u" if t.kind == "uint" else "i") + str(8 * t.size)
            lo, hi = limits(t)
            if op == "enc":
                e(ind, f"if (cw_wr_{suffix}(w, c, {lv})) return -1;")
            elif op == "dec":
                e(ind, f"if (cw_rd_{suffix}(r, c, &{lv})) return -1;")
            elif op == "prs" and t.kind == "uint":
                e(ind, "{")
                e(ind + 1, "uint64_t u = 0;")
                e(ind + 1, f"if (cw_take_uint(t, c, {hi}, NULL, &u)) return -1;")
                e(ind + 1, f"{lv} = ({int_c_type(t)})u;")
                e(ind, "}")
            elif op == "prs":
                e(ind, "{")
                e(ind + 1, "int64_t s = 0;")
                e(ind + 1, f"if (cw_take_int(t, c, {lo}, {hi}, NULL, &s)) return -1;")
                e(ind + 1, f"{lv} = ({int_c_type(t)})s;")
                e(ind, "}")
            else:
                e(ind, f"if (cw_fmt_{t.kind[0] if t.kind == 'uint' else 's'}(o, c, {lv})) return -1;")
        elif isinstance(t, S.Prim) and t.kind == "float":
            fn = {"enc": "cw_wr", "dec": "cw_rd", "prs": "cw_take", "fmt": "cw_fmt"}[op]
            ctx = {"enc": "w", "dec": "r", "prs": "t", "fmt": "o"}[op]
            e(ind, f"if ({fn}_{t.name}({ctx}, c, &{lv})) return -1;")
        elif isinstance(t, S.Prim):  # bool
            e(ind, {"enc": f"if (cw_wr_bool(w, c, {lv})) return -1;",
                    "dec": f"if (cw_rd_bool(r, c, &{lv})) return -1;",
                    "prs": f"if (cw_take_bool(t, c, &{lv})) return -1;",
                    "fmt": f"if (cw_fmt_bool(o, c, {lv})) return -1;"}[op])
        elif isinstance(t, S.Enum):
            self.enum(t, lv, ind)
        elif isinstance(t, S.CharArray):
            e(ind, {"enc": f"if (cw_wr_char(w, c, {lv}, {t.n})) return -1;",
                    "dec": f"if (cw_rd_char(r, c, {lv}, {t.n})) return -1;",
                    "prs": f"if (cw_take_char(t, c, {lv}, {t.n})) return -1;",
                    "fmt": f"if (cw_fmt_char(o, c, {lv}, {t.n})) return -1;"}[op])
        elif isinstance(t, S.Bytes):
            u = 1 if t.utf8 else 0
            e(ind, {"enc": f"if (cw_wr_bytes(w, c, {lv}.data, {lv}.len, {t.max}u, {u})) return -1;",
                    "dec": f"if (cw_rd_bytes(r, c, {lv}.data, &{lv}.len, {t.max}u, {u})) return -1;",
                    "prs": f"if (cw_take_bytes(t, c, {lv}.data, &{lv}.len, {t.max}u, {u})) return -1;",
                    "fmt": f"if (cw_fmt_bytes(o, c, {lv}.data, {lv}.len, {t.max}u)) return -1;"}[op])
        elif isinstance(t, S.BigInt):
            e(ind, {"enc": f"if (cw_wr_bigint(w, c, {lv}.data, {lv}.len, {t.max}u)) return -1;",
                    "dec": f"if (cw_rd_bigint(r, c, {lv}.data, &{lv}.len, {t.max}u)) return -1;",
                    "prs": f"if (cw_take_bigint(t, c, {lv}.data, &{lv}.len, {t.max}u)) return -1;",
                    "fmt": f"if (cw_fmt_bigint(o, c, {lv}.data, {lv}.len, {t.max}u)) return -1;"}[op])
        elif isinstance(t, S.Array):
            i = f"i{loop}"
            e(ind, f"for (uint32_t {i} = 0; {i} < {t.n}u; {i}++) {{")
            e(ind + 1, f"size_t m{loop} = cw_push_index(c, {i});")
            self.value(t.elem, f"{lv}[{i}]", ind + 1, loop + 1)
            e(ind + 1, f"cw_pop(c, m{loop});")
            e(ind, "}")
        elif isinstance(t, S.Vec):
            self.vec(t, lv, ind, loop)
        else:
            ctx = {"enc": "w", "dec": "r", "prs": "t", "fmt": "o"}[op]
            e(ind, f"if ({op}_{t.name}({ctx}, c, &{lv})) return -1;")

    def enum(self, t: S.Enum, lv: str, ind: int) -> None:
        e, p = self.emit, t.base
        signed = p.kind == "int"
        suffix = ("i" if signed else "u") + str(8 * p.size)
        bad = f"cw_bad_enum_{'s' if signed else 'u'}(c, {lv}, \"{t.name}\")"
        if self.op == "enc":
            e(ind, f"if (!cw_{t.name}_valid({lv})) return {bad};")
            e(ind, f"if (cw_wr_{suffix}(w, c, {lv})) return -1;")
        elif self.op == "dec":
            e(ind, f"if (cw_rd_{suffix}(r, c, &{lv})) return -1;")
            e(ind, f"if (!cw_{t.name}_valid({lv})) return {bad};")
        elif self.op == "prs":
            lo, hi = limits(p)
            e(ind, "{")
            if signed:
                e(ind + 1, "int64_t s = 0;")
                e(ind + 1, f"if (cw_take_int(t, c, {lo}, {hi}, \"{t.name}\", &s)) return -1;")
                e(ind + 1, f"{lv} = (cw_{t.name})s;")
            else:
                e(ind + 1, "uint64_t u = 0;")
                e(ind + 1, f"if (cw_take_uint(t, c, {hi}, \"{t.name}\", &u)) return -1;")
                e(ind + 1, f"{lv} = (cw_{t.name})u;")
            e(ind + 1, f"if (!cw_{t.name}_valid({lv})) cw_defer_enum(t, c, \"{t.name}\");")
            e(ind, "}")
        else:
            e(ind, f"if (cw_fmt_{'s' if signed else 'u'}(o, c, {lv})) return -1;")

    def vec(self, t: S.Vec, lv: str, ind: int, loop: int) -> None:
        e, i, m = self.emit, f"i{loop}", f"m{loop}"
        if self.op == "prs":
            # Items past max are parsed too (their tokens must be good) into the last slot;
            # the deferred length error makes the value fail anyway.
            n = f"n{loop}"
            e(ind, "{")
            e(ind + 1, f"uint64_t {n} = 0;")
            e(ind + 1, f"if (cw_take_count(t, c, {t.max}u, &{n})) return -1;")
            e(ind + 1, f"for (uint64_t {i} = 0; {i} < {n}; {i}++) {{")
            e(ind + 2, f"size_t at{loop} = t->pos, {m} = cw_push_index(c, {i});")
            self.value(t.elem, f"{lv}.items[{i} < {t.max}u ? {i} : {t.max - 1}u]", ind + 2, loop + 1)
            e(ind + 2, f"cw_pop(c, {m});")
            e(ind + 2, f"if ({i} >= {t.max}u && t->pos == at{loop}) break; /* items without tokens */")
            e(ind + 1, "}")
            e(ind + 1, f"{lv}.count = {n} < {t.max}u ? (uint32_t){n} : {t.max}u;")
            e(ind, "}")
            return
        e(ind, {"enc": f"if (cw_wr_count(w, c, {lv}.count, {t.max}u)) return -1;",
                "dec": f"if (cw_rd_count(r, c, {t.max}u, &{lv}.count)) return -1;",
                "fmt": f"if (cw_fmt_count(o, c, {lv}.count, {t.max}u)) return -1;"}[self.op])
        e(ind, f"for (uint32_t {i} = 0; {i} < {lv}.count; {i}++) {{")
        e(ind + 1, f"size_t {m} = cw_push_index(c, {i});")
        self.value(t.elem, f"{lv}.items[{i}]", ind + 1, loop + 1)
        e(ind + 1, f"cw_pop(c, {m});")
        e(ind, "}")


SIGNATURES = {
    "enc": ("cw_writer *w", "const void *value", "const"),
    "dec": ("cw_reader *r", "void *value", ""),
    "prs": ("cw_tokens *t", "void *value", ""),
    "fmt": ("cw_out *o", "const void *value", "const"),
}


def function(op: str, st: S.Struct) -> list[str]:
    """One of the four functions of a struct or message."""
    first, value, const = SIGNATURES[op]
    walk = Walk(op, [])
    for f in st.fields:
        before = len(walk.lines)
        walk.value(f.type, f"v->{f.name}", 1, 0)
        if len(walk.lines) > before:
            walk.lines.insert(before, f"    cw_push(c, \".{f.name}\");")
            walk.emit(1, "cw_pop(c, m);")
    body = walk.lines
    text = "\n".join(body)
    head = [f"static int {op}_{st.name}({first}, cw_ctx *c, {value})", "{"]
    if "v->" in text:
        head.append(f"    {const + ' ' if const else ''}cw_{st.name} *v = value;")
    else:
        head.append("    (void)value;")
    if "cw_pop(c, m)" in text:
        head.append("    size_t m = c->path_len;")
    arg = first.split("*")[1]
    if f"{arg}," not in text and f"{arg}->" not in text:
        head.append(f"    (void){arg};")
    if not body:
        head.append("    (void)c;")
    return head + ([""] if body else []) + body + ["    return 0;", "}", ""]


# ------------------------------------------------------------------ the files


def reachable(schema: S.Schema) -> list[S.Struct]:
    """Structs used by some message, in schema (dependency) order: only these get functions."""
    used: set[str] = set()

    def visit(t: S.Type) -> None:
        if isinstance(t, (S.Array, S.Vec)):
            visit(t.elem)
        elif isinstance(t, S.Struct) and not isinstance(t, S.Message):
            if t.name not in used:
                used.add(t.name)
                for f in t.fields:
                    visit(f.type)

    for msg in schema.messages.values():
        for f in msg.fields:
            visit(f.type)
    return [st for st in schema.structs.values() if st.name in used]


def header(schema: S.Schema) -> str:
    out = [generated_banner("//").rstrip("\n"), """/* cw_schema.h -- the C types and codec of protocols/schema.toml.
 *
 * Every struct and message is a C struct in the layout of harness/layout.py, checked below
 * by _Static_assert. bytes, string and bigint fields are { len, data[max] }, vec<T> fields
 * { count, items[max] }: a value needs no allocation. Multi-byte values go on the wire
 * little-endian whatever the host; floats move as bit patterns only.
 *
 * Per message M: cw_encode_M, cw_decode_M, cw_parse_M (text tokens in) and cw_format_M
 * (text tokens out) return 0, or -1 with the contract's error text in the cw_ctx (see
 * cw_runtime.h). cw_messages[] lists every message for dispatch by name or id.
 */
#ifndef CW_SCHEMA_H
#define CW_SCHEMA_H

#include "cw_runtime.h"
"""]
    msgs = list(schema.messages.values())
    out += [
        f"#define CW_FORMAT_VERSION {schema.version}",
        f"#define CW_MAGIC UINT32_C({schema.magic:#010x})",
        f"#define CW_MAX_PAYLOAD {schema.max_payload}u",
        f"#define CW_HEADER_SIZE {S.HEADER_SIZE}u",
        f"#define CW_MESSAGE_COUNT {len(msgs)}u",
        f"#define CW_MAX_VALUE_SIZE {max(L.of(m).size for m in msgs)}u   /* the largest sizeof of a message struct */",
        f"#define CW_MAX_TEXT {max(text_max(m) for m in msgs) + 1}u   /* the longest text of a value, NUL included */",
        f"#define CW_MAX_NAME {max(len(m.name) for m in msgs)}u   /* the longest message name */",
        "",
    ]
    macros: dict[str, str] = {}
    for en in schema.enums.values():
        base = int_c_type(en.base)
        out += [f"/* enum {en.name}: {en.base.name} */", f"typedef {base} cw_{en.name};"]
        for vname, v in en.values.items():
            macro = f"CW_{upper_snake(en.name)}_{vname.upper()}"
            if macro in macros:
                raise ValueError(f"C backend: {en.name}.{vname} and {macros[macro]} both make the macro {macro}")
            macros[macro] = f"{en.name}.{vname}"
            out.append(f"#define {macro} {int_literal(v, en.base)}")
        out += [f"int cw_{en.name}_valid(cw_{en.name} v);   /* 1 if v is a listed value */", ""]
    for st in (*schema.structs.values(), *msgs):
        kind = "message" if isinstance(st, S.Message) else "struct"
        for cname, t in inner_types(st):
            if isinstance(t, S.Vec):
                base, suffix = c_type(t.elem, st.name, "items")
                items = f"{'_Alignas(8) ' if needs_align8(t.elem) else ''}{base} items[{t.max}]{suffix};"
                out.append(f"typedef struct {cname} {{ uint32_t count; {items} }} {cname};")
            else:
                out.append(f"typedef struct {cname} {{ uint32_t len; uint8_t data[{t.max}]; }} {cname};")
        extra = f" (id {st.id})" if isinstance(st, S.Message) else ""
        out.append(f"/* {kind} {st.name}{extra} */")
        out.append(f"typedef struct cw_{st.name} {{")
        for f in st.fields:
            out.append(f"    {member(f.type, st.name, f.name, f.name)}")
        if not st.fields:
            out.append("    uint8_t _empty;   /* C has no empty structs */")
        out += [f"}} cw_{st.name};", ""]

    out.append("/* The layout of harness/layout.py, asserted: the compiler's word against the schema's. */")
    out.append('_Static_assert(sizeof(bool) == 1, "bool must be one byte");')
    for st in (*schema.structs.values(), *msgs):
        for cname, lay in [(f"cw_{st.name}", L.of(st)), *[(n, L.of(t)) for n, t in inner_types(st)]]:
            out.append(f'_Static_assert(sizeof({cname}) == {lay.size}, "sizeof {cname}");')
            out.append(f'_Static_assert(_Alignof({cname}) == {lay.align}, "_Alignof {cname}");')
            for m in lay.members:
                out.append(f'_Static_assert(offsetof({cname}, {m.name}) == {m.offset}, "offsetof {cname}.{m.name}");')
    out.append("")

    out.append("/* Messages: their ids, and encode/decode/parse/format for each (see cw_runtime.h). */")
    for m in msgs:
        n = m.name
        out += [
            f"#define CW_ID_{n} {m.id}u",
            f"int cw_encode_{n}(const cw_{n} *v, uint8_t *out, size_t cap, size_t *out_len, cw_ctx *c);",
            f"int cw_decode_{n}(const uint8_t *buf, size_t len, cw_{n} *v, cw_ctx *c);",
            f"int cw_parse_{n}(const char *text, size_t len, cw_{n} *v, cw_ctx *c);",
            f"int cw_format_{n}(const cw_{n} *v, char *out, size_t cap, size_t *out_len, cw_ctx *c);",
        ]
    out += ["""
/* The table of every message, in schema order, and lookups into it (NULL if unknown). */
extern const cw_message_info cw_messages[CW_MESSAGE_COUNT];
const cw_message_info *cw_message_by_name(const char *name, size_t len);
const cw_message_info *cw_message_by_id(uint32_t id);

/* Frames (WIRE.md): cw_frame_header writes the 24-byte header at out. cw_frame_check reads
 * one at in, checking magic, version, flags, msg_type and payload_len in that order; it
 * returns 0 with *msg, *payload_len and *seq set, or -1 with a decode error at frame.<field>. */
void cw_frame_header(uint8_t *out, uint16_t msg_type, uint32_t payload_len, uint64_t seq);
int cw_frame_check(const uint8_t *in, const cw_message_info **msg, uint32_t *payload_len, uint64_t *seq,
                   cw_ctx *c);

/* Generic entry points, by message name, text in the contract's form (value tokens separated
 * by single spaces, maybe none). Return 0, or -1 with err set to the contract's error text
 * without "ERR " (e.g. "decode utf8 Text.label invalid UTF-8 at byte 0"). The caller owns
 * every buffer; the value struct in between is allocated and freed inside. */
int cw_text_to_wire(const char *message, const char *text, uint8_t *out, size_t cap, size_t *out_len,
                    char *err, size_t err_cap);
int cw_wire_to_text(const char *message, const uint8_t *buf, size_t len, char *out, size_t cap,
                    char *err, size_t err_cap);

#endif /* CW_SCHEMA_H */
"""]
    return "\n".join(out)


def source(schema: S.Schema) -> str:
    msgs = list(schema.messages.values())
    out = [generated_banner("//").rstrip("\n"), """/* cw_schema.c -- the codec of protocols/schema.toml: per struct and message, encode,
 * decode, parse and format walk the fields in schema order with the helpers of cw_runtime.c. */
#include "cw_schema.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
"""]
    for en in schema.enums.values():
        out.append(f"int cw_{en.name}_valid(cw_{en.name} v)\n{{\n    switch (v) {{")
        out.append("\n".join(f"    case {int_literal(v, en.base)}:" for v in en.values.values()))
        out.append("        return 1;\n    default:\n        return 0;\n    }\n}\n")
    for st in (*reachable(schema), *msgs):
        out.append(f"/* ---------------------------------------------------------------- {st.name} */\n")
        for op in ("enc", "dec", "prs", "fmt"):
            out += function(op, st)
    out.append("/* ---------------------------------------------------------------- messages */\n")
    for i, m in enumerate(msgs):
        n, row = m.name, f"&cw_messages[{i}]"
        out.append(f"""int cw_encode_{n}(const cw_{n} *v, uint8_t *out, size_t cap, size_t *out_len, cw_ctx *c)
{{
    return cw_encode_message({row}, v, out, cap, out_len, c);
}}

int cw_decode_{n}(const uint8_t *buf, size_t len, cw_{n} *v, cw_ctx *c)
{{
    return cw_decode_message({row}, buf, len, v, c);
}}

int cw_parse_{n}(const char *text, size_t len, cw_{n} *v, cw_ctx *c)
{{
    return cw_parse_message({row}, text, len, v, c);
}}

int cw_format_{n}(const cw_{n} *v, char *out, size_t cap, size_t *out_len, cw_ctx *c)
{{
    return cw_format_message({row}, v, out, cap, out_len, c);
}}
""")
    out.append("const cw_message_info cw_messages[CW_MESSAGE_COUNT] = {")
    for m in msgs:
        n = m.name
        out.append(f"    {{\"{n}\", {m.id}, sizeof(cw_{n}), enc_{n}, dec_{n}, prs_{n}, fmt_{n}}},")
    out.append("};\n")
    out.append("""const cw_message_info *cw_message_by_name(const char *name, size_t len)
{
    size_t i;
    for (i = 0; i < CW_MESSAGE_COUNT; i++)
        if (strlen(cw_messages[i].name) == len && memcmp(cw_messages[i].name, name, len) == 0)
            return &cw_messages[i];
    return NULL;
}

const cw_message_info *cw_message_by_id(uint32_t id)
{
    size_t i;
    for (i = 0; i < CW_MESSAGE_COUNT; i++)
        if (cw_messages[i].id == id) return &cw_messages[i];
    return NULL;
}

/* ---------------------------------------------------------------- frames */

void cw_frame_header(uint8_t *out, uint16_t msg_type, uint32_t payload_len, uint64_t seq)
{
    cw_put32(out, CW_MAGIC);
    cw_put16(out + 4, CW_FORMAT_VERSION);
    cw_put16(out + 6, msg_type);
    cw_put32(out + 8, 0);
    cw_put32(out + 12, payload_len);
    cw_put64(out + 16, seq);
}

int cw_frame_check(const uint8_t *in, const cw_message_info **msg, uint32_t *payload_len, uint64_t *seq,
                   cw_ctx *c)
{
    uint32_t magic = cw_get32(in), flags = cw_get32(in + 8), len = cw_get32(in + 12);
    uint16_t version = cw_get16(in + 4), type = cw_get16(in + 6);

    cw_begin(c, "decode", "frame.magic");
    if (magic != CW_MAGIC) return cw_fail(c, "magic", "0x%08" PRIx32 " is not 0x%08" PRIx32, magic, CW_MAGIC);
    cw_begin(c, "decode", "frame.version");
    if (version != CW_FORMAT_VERSION) return cw_fail(c, "version", "%u is not %u", (unsigned)version, CW_FORMAT_VERSION);
    cw_begin(c, "decode", "frame.flags");
    if (flags != 0) return cw_fail(c, "flags", "0x%" PRIx32 " is not 0", flags);
    cw_begin(c, "decode", "frame.msg_type");
    if ((*msg = cw_message_by_id(type)) == NULL) return cw_fail(c, "type", "no message has id %u", (unsigned)type);
    cw_begin(c, "decode", "frame.payload_len");
    if (len > CW_MAX_PAYLOAD) return cw_fail(c, "length", "%" PRIu32 " bytes, at most %u", len, CW_MAX_PAYLOAD);
    *payload_len = len;
    *seq = cw_get64(in + 16);
    return 0;
}

/* ---------------------------------------------------------------- generic entry points */

/* Copies the error of c into err[0..err_cap) and returns -1. */
static int report(const cw_ctx *c, char *err, size_t err_cap)
{
    size_t n = strlen(c->err);
    if (err_cap == 0) return -1;
    if (n >= err_cap) n = err_cap - 1;
    memcpy(err, c->err, n);
    err[n] = '\\0';
    return -1;
}

int cw_text_to_wire(const char *message, const char *text, uint8_t *out, size_t cap, size_t *out_len,
                    char *err, size_t err_cap)
{
    const cw_message_info *m = cw_message_by_name(message, strlen(message));
    cw_ctx c;
    void *value;
    int rc;

    cw_begin(&c, "encode", "-");
    if (m == NULL) {
        cw_fail_kind(&c, "request", "unknown message '%.40s'", message);
        return report(&c, err, err_cap);
    }
    if ((value = malloc(m->size)) == NULL) {
        cw_fail_kind(&c, "runtime", "out of memory");
        return report(&c, err, err_cap);
    }
    rc = cw_parse_message(m, text, strlen(text), value, &c);
    if (rc == 0) rc = cw_encode_message(m, value, out, cap, out_len, &c);
    free(value);
    return rc ? report(&c, err, err_cap) : 0;
}

int cw_wire_to_text(const char *message, const uint8_t *buf, size_t len, char *out, size_t cap,
                    char *err, size_t err_cap)
{
    const cw_message_info *m = cw_message_by_name(message, strlen(message));
    cw_ctx c;
    void *value;
    size_t n;
    int rc;

    cw_begin(&c, "decode", "-");
    if (m == NULL) {
        cw_fail_kind(&c, "request", "unknown message '%.40s'", message);
        return report(&c, err, err_cap);
    }
    if ((value = malloc(m->size)) == NULL) {
        cw_fail_kind(&c, "runtime", "out of memory");
        return report(&c, err, err_cap);
    }
    rc = cw_decode_message(m, buf, len, value, &c);
    if (rc == 0) rc = cw_format_message(m, value, out, cap, &n, &c);
    free(value);
    return rc ? report(&c, err, err_cap) : 0;
}
""")
    return "\n".join(out)


class CBackend:
    name = "c"

    def generate(self, schema: S.Schema) -> dict[str, str]:
        return {f"{GEN}/cw_schema.h": header(schema), f"{GEN}/cw_schema.c": source(schema)}


BACKEND = CBackend()
