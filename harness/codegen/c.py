"""The C backend: peers/c/gen/cw_schema.h and cw_schema.c from the schema.

The header declares one C type per enum, flag set, union, struct and message in the
representation of harness/layout.py (its docstring table), with `_Static_assert`s on every size,
alignment and offset that layout.py computes (and, for layout "c", on the wire offsets), so a
compiler that lays a type out differently fails the build. The source holds, per struct and
message, four functions that walk the fields in schema order: encode (struct -> bytes), decode
(bytes -> struct, validating), parse (text tokens -> struct) and format (struct -> text tokens);
the message table; and the frame: cw_frame_write (header, length, seq, plain values, checksum),
cw_frame_head (checks a header, says the frame's size), cw_frame_find (the same without the
constants' checks, for framing libraries) and cw_frame_verify (the checksum), with
the CRC's 256-entry table. Everything these functions share (bytes by shifts, UTF-8, hex,
errors and paths, the text tokens, the CRC loop) is hand-written, once, in the C kit: peers/c/kit/src/cw_runtime.c.
"""
from __future__ import annotations

import re

from .. import layout as L
from .. import schema as S
from ..layout import c_name, case_name
from . import generated_banner

GEN = "peers/c/gen"
DIRECTIONS = {"": "CW_EITHER", "request": "CW_REQUEST", "response": "CW_RESPONSE"}


# ------------------------------------------------------------------ names and C types


def upper_snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).upper()


def int_c_type(p: S.Prim) -> str:
    bits = 32 if p.size == 3 else 8 * p.size
    return f"{'u' if p.kind == 'uint' else ''}int{bits}_t"


def scalar_c_type(p: S.Prim) -> str:
    return {"f32": "float", "f64": "double", "bool": "bool"}.get(p.name) or int_c_type(p)


def c_type(t: S.Type, owner: str, field: str) -> tuple[str, str]:
    """(base type, declarator suffix) of a member: ("uint16_t", "[4]"), ("cw_Text_label", "")."""
    if isinstance(t, S.Prim):
        return scalar_c_type(t), ""
    if isinstance(t, (S.Enum, S.Flags, S.Struct, S.Union)):
        return f"cw_{t.name}", ""
    if isinstance(t, S.CharArray):
        return "char", f"[{t.n}]"
    if isinstance(t, S.Pad):
        return "uint8_t", f"[{t.n}]"
    if isinstance(t, (S.Bytes, S.BigInt, S.Vec)):
        return f"cw_{owner}_{field}", ""
    assert isinstance(t, S.Array)
    base, suffix = c_type(t.elem, owner, field)
    return base, f"[{t.n}]{suffix}"


def leaf(t: S.Type) -> S.Type:
    while isinstance(t, S.Array):
        t = t.elem
    return t


def base_of(t: S.Type) -> S.Prim | None:
    """The integer or float type a scalar leaf is carried as."""
    t = leaf(t)
    if isinstance(t, (S.Enum, S.Flags)):
        return t.base
    return t if isinstance(t, S.Prim) else None


def needs_align8(t: S.Type) -> bool:
    """Members whose scalar is 8 bytes get _Alignas(8): i386 would align them to 4."""
    b = base_of(t)
    return b is not None and b.size == 8


def member(t: S.Type, owner: str, field: str) -> str:
    base, suffix = c_type(t, owner, field)
    return f"{'_Alignas(8) ' if needs_align8(t) else ''}{base} {c_name(field)}{suffix};"


def int_literal(v: int, p: S.Prim | None = None) -> str:
    """A C constant expression for the integer v."""
    if -(1 << 31) < v < (1 << 31):
        return f"({v})" if v < 0 else str(v)
    if v >= 1 << 63 or (p is not None and p.kind == "uint"):
        return f"UINT64_C({v})"
    if v == -(1 << 63):
        return "(-INT64_C(9223372036854775807) - 1)"
    return f"(-INT64_C({-v}))" if v < 0 else f"INT64_C({v})"


def u64(v: int) -> str:
    return f"UINT64_C({v:#x})" if v > 0xFFFF else str(v)


def c_string(data: bytes) -> str:
    """A C string literal of exactly these bytes (octal escapes: never run into the next char)."""
    return '"' + "".join(f"\\{b:03o}" for b in data) + '"'


def big(p: S.Prim) -> int:
    return 1 if p.order == "big" and p.size > 1 else 0


def raw_bits(v: int, p: S.Prim) -> int:
    """The unsigned bit pattern of v in p's width."""
    return v & ((1 << (8 * p.size)) - 1)


def inner_types(st: S.Struct) -> list[tuple[str, S.Type]]:
    """The named helper types of a struct's bytes/string/bigint/vec fields: (C name, type)."""
    return [(f"cw_{st.name}_{f.name}", f.type) for f in st.fields if isinstance(f.type, (S.Bytes, S.BigInt, S.Vec))]


def unit_width(t: S.Vec | S.Bytes | S.BigInt, unit: str) -> int:
    """Bytes per unit of a count: an element's size for a vec counted in bytes, else 1."""
    return S.fixed_size(t.elem) or 1 if isinstance(t, S.Vec) and unit == "bytes" else 1  # type: ignore[return-value]


# ------------------------------------------------------------------ sizes of the text form


def text_max(t: S.Type) -> int:
    """The most characters the tokens of a value of t take, one separator per token counted."""
    if isinstance(t, S.Prim):
        if t.kind == "float":
            return 2 + 2 * t.size + 1
        if t.kind == "bool":
            return 6
        return max(len(str(t.min)), len(str(t.max))) + 1
    if isinstance(t, (S.Enum, S.Flags)):
        return text_max(t.base)
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
    if isinstance(t, S.Union):
        return max((text_max(c.type) for c in t.cases if c.type is not None), default=0)
    return sum(text_max(f.type) for f in t.value_fields)


# ------------------------------------------------------------------ the four walks


class Walk:
    """The statements of one function (op: enc, dec, prs, fmt) of one struct or message. `d` is
    the C variable holding the struct's path depth: field k sets segment d, an array index at
    nesting level n inside it sets segment d + 1 + n."""

    def __init__(self, op: str, st: S.Struct) -> None:
        self.op, self.st, self.lines = op, st, []
        self.uses_u = False        # the scratch `uint64_t u` of dec
        self.uses_x = False        # the scratch `uint64_t x` of prs

    def emit(self, ind: int, text: str) -> None:
        self.lines.append("    " * ind + text)

    # -- one field

    def field(self, f: S.Field, ind: int) -> None:
        e, op = self.emit, self.op
        lv = f"v->{c_name(f.name)}"
        before = len(self.lines)
        if f.implicit:                                   # C layout's padding: the next field's path
            if op in ("enc", "dec"):
                e(ind, f'cw_field(c, d, ".{f.name}");' if f.name else "c->depth = d;")
                e(ind, f"if (cw_wr_zeros(w, c, {f.type.n})) return -1;" if op == "enc"   # type: ignore[union-attr]
                  else f"if (cw_rd_pad(r, c, NULL, {f.type.n})) return -1;")        # type: ignore[union-attr]
            return
        if isinstance(f.type, S.Pad):
            if op == "enc":
                e(ind, f"if (cw_wr_zeros(w, c, {f.type.n})) return -1;")
            elif op == "dec":
                e(ind, f"if (cw_rd_pad(r, c, {lv}, {f.type.n})) return -1;")
        elif f.const is not None:
            self.const(f, lv, ind)
        elif f.count_of:
            self.count_field(f, lv, ind)
        elif isinstance(f.type, S.Union):
            self.union(f, lv, ind)
        elif isinstance(f.type, (S.Bytes, S.BigInt, S.Vec)) and f.type.count.prefix is None:
            self.counted(f, lv, ind)
        else:
            self.value(f.type, lv, ind, 0)
        if len(self.lines) > before:
            self.lines.insert(before, "    " * ind + f'cw_field(c, d, ".{f.name}");')

    def const(self, f: S.Field, lv: str, ind: int) -> None:
        e, t = self.emit, f.type
        if isinstance(t, S.CharArray):
            raw: bytes = f.const
            if self.op == "enc":
                e(ind, f"if (cw_wr_raw(w, c, {c_string(raw + bytes(t.n - len(raw)))}, {t.n})) return -1;")
            elif self.op == "dec":
                e(ind, f"if (cw_rd_const_char(r, c, {lv}, {t.n}, {c_string(raw)}, {len(raw)})) return -1;")
            return
        p = base_of(t)
        assert p is not None
        bits = raw_bits(f.const, p)
        if self.op == "enc":
            e(ind, f"if (cw_wr(w, c, {p.size}, {big(p)}, {u64(bits)})) return -1;")
        elif self.op == "dec":
            self.uses_u = True
            e(ind, f"if (cw_rd(r, c, {p.size}, {big(p)}, &u)) return -1;")
            e(ind, f"if (u != {u64(bits)}) return cw_bad_const(c, u, {u64(bits)});")
            e(ind, f"{lv} = ({c_type(t, '', '')[0]}){int_literal(f.const, p)};")

    def count_field(self, f: S.Field, lv: str, ind: int) -> None:
        """A count or size field: written from the field it counts, read into its member."""
        p = f.type
        assert isinstance(p, S.Prim)
        if self.op == "dec":
            self.uses_u = True
            self.emit(ind, f"if (cw_rd(r, c, {p.size}, {big(p)}, &u)) return -1;")
            self.emit(ind, f"{lv} = ({int_c_type(p)})u;")
        elif self.op == "enc":
            target = next(x for x in self.st.fields if x.name == f.count_of)
            t = target.type
            assert isinstance(t, (S.Bytes, S.BigInt, S.Vec))
            tv = f"v->{c_name(target.name)}"
            unit = dict(t.count.fields)[f.name]
            if isinstance(t, S.Vec):
                n = f"(uint64_t){tv}.count * {unit_width(t, unit)}u"
            elif isinstance(t, S.BigInt):
                n = f"cw_bigint_len({tv}.data, {tv}.len > {t.max}u ? {t.max}u : {tv}.len)"
            else:
                n = f"{tv}.len"
            # too long: the counted field says so when it is written
            self.emit(ind, f"if (cw_wr(w, c, {p.size}, {big(p)}, {n} > {u64(p.max)} ? {u64(p.max)} : {n})) return -1;")

    def union(self, f: S.Field, lv: str, ind: int) -> None:
        e, t = self.emit, f.type
        assert isinstance(t, S.Union)
        on = f"v->{c_name(t.on)}"
        disc = t.base.base if isinstance(t.base, S.Enum) else t.base
        if self.op == "prs":
            e(ind, f"if (!tag_ok_{t.on}) {{")     # an out-of-range tag picks no case: no tokens
            e(ind + 1, f'cw_defer(c, "union", "{t.on} is out of range: no case of union {t.name}");')
            e(ind, "} else {")
            ind += 1
        e(ind, f"switch ({on}) {{")
        for case in t.cases:
            e(ind, f"case {int_literal(case.tag, disc)}:")
            if case.type is not None:
                self.value(case.type, f"{lv}.{case_name(case)}", ind + 1, 0)
            e(ind + 1, "break;")
        e(ind, "default:")
        signed = 1 if disc.signed else 0
        if self.op in ("enc", "dec"):
            e(ind + 1, f'return cw_bad_union(c, "{t.on}", (uint64_t){on}, {signed}, "{t.name}");')
        elif self.op == "prs":
            e(ind + 1, f'cw_defer(c, "union", "{t.on} picks no case of union {t.name}");')
            e(ind + 1, "break;")
        else:
            e(ind + 1, "break;")
        e(ind, "}")
        if self.op == "prs":
            e(ind - 1, "}")

    def counted(self, f: S.Field, lv: str, ind: int) -> None:
        """A bytes/string/bigint/vec whose length earlier fields carry (WIRE.md "Lengths")."""
        t = f.type
        assert isinstance(t, (S.Bytes, S.BigInt, S.Vec))
        if self.op != "dec":
            self.value(t, lv, ind, 0, prefix=False)
            return
        e = self.emit
        e(ind, "{")
        first = ""
        for i, (fname, unit) in enumerate(t.count.fields):
            n = "n" if i == 0 else f"n{i}"
            e(ind + 1, f"uint64_t {n} = v->{c_name(fname)};")
            width = unit_width(t, unit)
            if width > 1:
                e(ind + 1, f'if (cw_whole(c, "{fname}", &{n}, {width}u)) return -1;')
            if i == 0:
                first = fname
            else:
                e(ind + 1, f'if (cw_agree(c, "{fname}", {n}, "{first}", n)) return -1;')
        what = "elements" if isinstance(t, S.Vec) else "bytes"
        e(ind + 1, f'if (cw_at_most(c, n, {t.max}u, "{what}")) return -1;')
        self.contents(t, lv, "(uint32_t)n", ind + 1)
        e(ind, "}")

    # -- one value of a type

    def value(self, t: S.Type, lv: str, ind: int, level: int, prefix: bool = True) -> None:
        """Statements for the value lv (a C lvalue) of type t; `level` counts the array and vec
        loops around it within its field."""
        e, op = self.emit, self.op
        if isinstance(t, (S.Prim, S.Enum, S.Flags)):
            self.scalar(t, lv, ind)
        elif isinstance(t, S.CharArray):
            fn = {"enc": "cw_wr_char(w", "dec": "cw_rd_char(r", "prs": "cw_take_char(t", "fmt": "cw_fmt_char(o"}[op]
            e(ind, f"if ({fn}, c, {lv}, {t.n})) return -1;")
        elif isinstance(t, S.Array):
            i = f"i{level}"
            e(ind, f"for (uint32_t {i} = 0; {i} < {t.n}u; {i}++) {{")
            e(ind + 1, f"cw_index(c, d + {level + 1}, {i});")
            self.value(t.elem, f"{lv}[{i}]", ind + 1, level + 1)
            e(ind, "}")
        elif isinstance(t, S.Struct):
            ctx = {"enc": "w", "dec": "r", "prs": "t", "fmt": "o"}[op]
            e(ind, f"if ({op}_{t.name}({ctx}, c, &{lv})) return -1;")
        elif isinstance(t, (S.Bytes, S.BigInt, S.Vec)):
            self.variable(t, lv, ind, level, prefix)
        else:
            raise AssertionError(f"no {op} for {S.type_name(t)}")

    def scalar(self, t: S.Prim | S.Enum | S.Flags, lv: str, ind: int) -> None:
        e, op = self.emit, self.op
        p = t.base if isinstance(t, (S.Enum, S.Flags)) else t
        ctype = c_type(t, "", "")[0]
        closed = isinstance(t, S.Enum) and not t.open
        refuse = isinstance(t, S.Flags) and not t.keep_unknown
        mask = u64(t.mask) if isinstance(t, S.Flags) else ""
        if op == "dec":
            self.uses_u = True
            e(ind, f"if (cw_rd(r, c, {p.size}, {big(p)}, &u)) return -1;")
            if p.kind == "float":
                e(ind, f"cw_set_{p.name}(&{lv}, u);")
            elif p.kind == "bool":
                e(ind, "if (u > 1) return cw_bad_bool(c, u);")
                e(ind, f"{lv} = u != 0;")
            elif p.signed:
                e(ind, f"{lv} = ({ctype})cw_signed(u, {p.size});")
            else:
                if refuse:
                    e(ind, f'if (u & ~{mask}) return cw_bad_flags(c, u, {mask}, "{t.name}");')
                e(ind, f"{lv} = ({ctype})u;")
            if closed:
                bad = f"cw_bad_enum_s(c, {lv}, " if p.signed else f"cw_bad_enum_u(c, {lv}, "
                e(ind, f'if (!cw_{t.name}_valid({lv})) return {bad}"{t.name}");')
        elif op == "enc":
            if closed:
                bad = f"cw_bad_enum_s(c, {lv}, " if p.signed else f"cw_bad_enum_u(c, {lv}, "
                e(ind, f'if (!cw_{t.name}_valid({lv})) return {bad}"{t.name}");')
            elif p.size == 3 and p.signed:
                e(ind, f"if ({lv} < {p.min} || {lv} > {p.max}) return cw_bad_range_s(c, {lv}, {p.min}, {p.max});")
            elif p.size == 3:
                e(ind, f"if ({lv} > {p.max}u) return cw_bad_range_u(c, {lv}, {p.max}u);")
            if refuse:
                e(ind, f'if ({lv} & ~{mask}) return cw_bad_flags(c, {lv}, {mask}, "{t.name}");')
            value = {"float": f"cw_{p.name}_bits(&{lv})", "bool": f"{lv} ? 1 : 0"}.get(p.kind, f"(uint64_t){lv}")
            e(ind, f"if (cw_wr(w, c, {p.size}, {big(p)}, {value})) return -1;")
        elif op == "prs":
            if p.kind == "bool":
                e(ind, f"if (cw_take_bool(t, c, &{lv})) return -1;")
                return
            name = f'"{t.name}"' if closed else "NULL"
            self.uses_x = self.uses_x or not p.signed
            if p.kind == "float":
                e(ind, f"if (cw_take_bits(t, c, {p.size}, &x)) return -1;")
                e(ind, f"cw_set_{p.name}(&{lv}, x);")
            elif p.signed:
                e(ind, "{")
                e(ind + 1, "int64_t s = 0;")
                e(ind + 1, f"if (cw_take_int(t, c, {int_literal(p.min)}, {int_literal(p.max)}, {name}, &s)) return -1;")
                e(ind + 1, f"{lv} = ({ctype})s;")
                e(ind, "}")
            else:
                e(ind, f"if (cw_take_uint(t, c, {u64(p.max)}, {name}, &x)) return -1;")
                e(ind, f"{lv} = ({ctype})x;")
                if refuse:
                    e(ind, f'if (x & ~{mask}) cw_defer(c, "flags", "0x%" PRIx64 " sets bits that flags {t.name} '
                           f'does not name", x);')
            if closed:
                e(ind, f'if (!cw_{t.name}_valid({lv})) cw_defer_enum(t, c, "{t.name}");')
        else:
            if p.kind == "float":
                e(ind, f"if (cw_fmt_bits(o, c, cw_{p.name}_bits(&{lv}), {p.size})) return -1;")
            elif p.kind == "bool":
                e(ind, f"if (cw_fmt_bool(o, c, {lv})) return -1;")
            else:
                e(ind, f"if (cw_fmt_{'s' if p.signed else 'u'}(o, c, {lv})) return -1;")

    def variable(self, t: S.Bytes | S.BigInt | S.Vec, lv: str, ind: int, level: int, prefix: bool) -> None:
        """bytes, string, bigint, vec: the length (a prefix, unless counted by fields), then the
        contents."""
        e, op = self.emit, self.op
        vec = isinstance(t, S.Vec)
        n = f"{lv}.count" if vec else f"{lv}.len"
        pre = t.count.prefix if prefix else None
        if op == "dec":
            assert pre is not None
            width = unit_width(t, t.count.unit)
            e(ind, f"if (cw_rd_length(r, c, {pre.size}, {big(pre)}, {width}u, {t.max}u, &{n})) return -1;")
            self.contents(t, lv, n, ind, level)
            return
        if op == "enc":
            if isinstance(t, S.Bytes):
                e(ind, f"if (cw_check_bytes(c, {lv}.data, {lv}.len, {t.max}u, {int(t.utf8)})) return -1;")
                count = n
            elif isinstance(t, S.BigInt):
                e(ind, "{")
                ind += 1
                e(ind, f"uint32_t n = {lv}.len > {t.max}u ? {lv}.len : cw_bigint_len({lv}.data, {lv}.len);")
                e(ind, f'if (cw_at_most(c, n, {t.max}u, "bytes")) return -1;')
                count = "n"
            else:
                e(ind, f'if (cw_at_most(c, {n}, {t.max}u, "elements")) return -1;')
                count = f"(uint64_t){n} * {unit_width(t, t.count.unit)}u"
            if pre is not None:
                e(ind, f"if (cw_wr(w, c, {pre.size}, {big(pre)}, {count})) return -1;")
            if isinstance(t, S.Bytes):
                e(ind, f"if (cw_wr_raw(w, c, {lv}.data, {lv}.len)) return -1;")
            elif isinstance(t, S.BigInt):
                e(ind, f"if (cw_wr_bigint(w, c, {lv}.data, n, {int(t.order == 'big')})) return -1;")
                e(ind - 1, "}")
            else:
                self.items(t, lv, n, ind, level)
            return
        if op == "prs":
            if isinstance(t, S.Bytes):
                e(ind, f"if (cw_take_bytes(t, c, {lv}.data, &{lv}.len, {t.max}u, {int(t.utf8)})) return -1;")
            elif isinstance(t, S.BigInt):
                e(ind, f"if (cw_take_bigint(t, c, {lv}.data, &{lv}.len, {t.max}u)) return -1;")
            else:
                self.parse_vec(t, lv, ind, level)
            return
        if isinstance(t, S.Bytes):
            e(ind, f"if (cw_fmt_bytes(o, c, {lv}.data, {lv}.len, {t.max}u)) return -1;")
        elif isinstance(t, S.BigInt):
            e(ind, f"if (cw_fmt_bigint(o, c, {lv}.data, {lv}.len, {t.max}u)) return -1;")
        else:
            e(ind, f"if (cw_fmt_count(o, c, {n}, {t.max}u)) return -1;")
            self.items(t, lv, n, ind, level)

    def contents(self, t: S.Bytes | S.BigInt | S.Vec, lv: str, n: str, ind: int, level: int = 0) -> None:
        """dec: the contents of a value whose length n (elements, or bytes) is known."""
        e = self.emit
        if isinstance(t, S.Vec):
            if n != f"{lv}.count":
                e(ind, f"{lv}.count = {n};")
            self.items(t, lv, f"{lv}.count", ind, level)
        else:
            if n != f"{lv}.len":
                e(ind, f"{lv}.len = {n};")
            if isinstance(t, S.Bytes):
                e(ind, f"if (cw_rd_bytes(r, c, {lv}.data, {lv}.len, {int(t.utf8)})) return -1;")
            else:
                e(ind, f"if (cw_rd_bigint(r, c, {lv}.data, {lv}.len, {int(t.order == 'big')})) return -1;")

    def items(self, t: S.Vec, lv: str, n: str, ind: int, level: int) -> None:
        i = f"i{level}"
        self.emit(ind, f"for (uint32_t {i} = 0; {i} < {n}; {i}++) {{")
        self.emit(ind + 1, f"cw_index(c, d + {level + 1}, {i});")
        self.value(t.elem, f"{lv}.items[{i}]", ind + 1, level + 1)
        self.emit(ind, "}")

    def parse_vec(self, t: S.Vec, lv: str, ind: int, level: int) -> None:
        # Items past max are parsed too (their tokens must be good) into the last slot; the
        # deferred length error makes the value fail anyway.
        e, i, n = self.emit, f"i{level}", f"n{level}"
        e(ind, "{")
        e(ind + 1, f"uint64_t {n} = 0;")
        e(ind + 1, f"if (cw_take_count(t, c, {t.max}u, &{n})) return -1;")
        e(ind + 1, f"for (uint64_t {i} = 0; {i} < {n}; {i}++) {{")
        e(ind + 2, f"size_t at{level} = t->pos;")
        e(ind + 2, f"cw_index(c, d + {level + 1}, {i});")
        self.value(t.elem, f"{lv}.items[{i} < {t.max}u ? {i} : {t.max - 1}u]", ind + 2, level + 1)
        e(ind + 2, f"if ({i} >= {t.max}u && t->pos == at{level}) break; /* items without tokens */")
        e(ind + 1, "}")
        e(ind + 1, f"{lv}.count = {n} < {t.max}u ? (uint32_t){n} : {t.max}u;")
        e(ind, "}")

    # -- defaults of extension fields

    def default(self, f: S.Field, ind: int) -> None:
        e, t, v = self.emit, f.type, f.default
        lv = f"v->{c_name(f.name)}"
        p = base_of(t) if not isinstance(t, S.Array) else None
        if isinstance(t, S.CharArray) and v:
            e(ind, f"memset({lv}, 0, {t.n});")
            e(ind, f"memcpy({lv}, {c_string(v)}, {len(v)});")
        elif isinstance(t, S.Bytes) and v:
            raw = v.encode("utf-8") if isinstance(v, str) else v
            e(ind, f"{lv}.len = {len(raw)};")
            e(ind, f"memcpy({lv}.data, {c_string(raw)}, {len(raw)});")
        elif p is not None and p.kind == "float" and v.bits:
            e(ind, f"cw_set_{p.name}(&{lv}, {u64(v.bits)});")
        elif p is not None and p.kind in ("uint", "int") and v and not f.count_of:
            e(ind, f"{lv} = ({c_type(t, '', '')[0]}){int_literal(v, p)};")
        elif p is not None and p.kind == "bool" and v:
            e(ind, f"{lv} = true;")
        else:
            e(ind, f"memset(&{lv}, 0, sizeof {lv});")


SIGNATURES = {
    "enc": ("cw_writer *w", "const void *value", "const "),
    "dec": ("cw_reader *r", "void *value", ""),
    "prs": ("cw_tokens *t", "void *value", ""),
    "fmt": ("cw_out *o", "const void *value", "const "),
}


def body(op: str, st: S.Struct, walk: Walk) -> None:
    """The fields of st in order; a message's extension groups as WIRE.md "Versions" says."""
    groups = st.groups if isinstance(st, S.Message) else (1,)
    base = [f for f in st.fields if f.since == 1]
    tag_fields = {f.type.on for f in st.fields if isinstance(f.type, S.Union)}

    def fields(group: list[S.Field], ind: int) -> None:
        for f in group:
            if op == "prs" and f.name in tag_fields:
                walk.emit(ind, f"size_t oor_{f.name} = t->out_of_range;")
            walk.field(f, ind)
            if op == "prs" and f.name in tag_fields:
                walk.emit(ind, f"int tag_ok_{f.name} = t->out_of_range == oor_{f.name};")

    fields(base, 1)
    later = [g for g in groups if g > 1]
    if not later:
        return
    by_group = {g: [f for f in st.fields if f.since == g] for g in later}
    if op == "dec":     # a payload that ends where a group starts: that group and the later ones at their defaults
        def nest(k: int, ind: int) -> None:
            g = later[k]
            walk.emit(ind, f"if (cw_version >= {g} && r->pos != r->len) {{")
            fields(by_group[g], ind + 1)
            if k + 1 < len(later):
                nest(k + 1, ind + 1)
            walk.emit(ind, "} else {")
            for h in later[k:]:
                for f in by_group[h]:
                    walk.default(f, ind + 1)
            walk.emit(ind, "}")
        nest(0, 1)
    elif op == "enc":    # the fields of the version spoken, and older
        for g in later:
            walk.emit(1, f"if (cw_version >= {g}) {{")
            fields(by_group[g], 2)
            walk.emit(1, "}")
    elif op == "prs":    # newer fields' values are not looked at: their encode errors do not count
        for g in later:
            walk.emit(1, "{")
            walk.emit(2, "int was = c->state;")
            fields(by_group[g], 2)
            walk.emit(2, f"if (cw_version < {g}) c->state = was;")
            walk.emit(1, "}")
    else:
        for g in later:
            fields(by_group[g], 1)


def function(op: str, st: S.Struct) -> list[str]:
    """One of the four functions of a struct or message."""
    first, value, const = SIGNATURES[op]
    walk = Walk(op, st)
    body(op, st, walk)
    text = "\n".join(walk.lines)
    head = [f"static int {op}_{st.name}({first}, cw_ctx *c, {value})", "{"]
    if "v->" in text:
        head.append(f"    {const}cw_{st.name} *v = value;")
    else:
        head.append("    (void)value;")
    if re.search(r"\bd\b", text):
        head.append("    size_t d = c->depth;")
    if walk.uses_u:
        head.append("    uint64_t u = 0;")
    if walk.uses_x:
        head.append("    uint64_t x = 0;")
    arg = first.split("*")[1]
    if not re.search(rf"(?<![>.\"])\b{arg}\b", text):
        head.append(f"    (void){arg};")
    if not re.search(r"(?<![>.\"])\bc\b", text):
        head.append("    (void)c;")
    tail = ["    c->depth = d;"] if re.search(r"\bd\b", text) else []
    return head + ([""] if walk.lines else []) + walk.lines + tail + ["    return 0;", "}", ""]


# ------------------------------------------------------------------ the files


def dependencies(t: S.Type) -> list[S.Type]:
    """The declared types (structs, unions) that the C type of t needs declared before it."""
    t = leaf(t)
    if isinstance(t, (S.Vec,)):
        return dependencies(t.elem)
    if isinstance(t, S.Union):
        return [t]
    if isinstance(t, S.Struct):
        return [t]
    return []


def declared_order(schema: S.Schema) -> list[S.Struct | S.Union]:
    """Structs and unions, each after the types it contains (C needs them complete)."""
    out: list[S.Struct | S.Union] = []
    seen: set[str] = set()

    def visit(t: S.Struct | S.Union) -> None:
        if t.name in seen:
            return
        seen.add(t.name)
        if isinstance(t, S.Union):
            decl = schema.unions[t.name]
            for c in decl.cases:
                if c.type is not None:
                    for dep in dependencies(c.type):
                        visit(dep)      # type: ignore[arg-type]
            out.append(decl)
        else:
            for f in t.fields:
                for dep in dependencies(f.type):
                    visit(dep)          # type: ignore[arg-type]
            out.append(t)

    for st in schema.structs.values():
        visit(st)
    for u in schema.unions.values():
        visit(u)
    for m in schema.messages.values():
        for f in m.fields:
            for dep in dependencies(f.type):
                visit(dep)              # type: ignore[arg-type]
    return out


def reachable(schema: S.Schema) -> list[S.Struct]:
    """Structs used by some message, in declaration order: only these get functions."""
    used: set[str] = set()

    def visit(t: S.Type) -> None:
        if isinstance(t, (S.Array, S.Vec)):
            visit(t.elem)
        elif isinstance(t, S.Union):
            for c in t.cases:
                if c.type is not None:
                    visit(c.type)
        elif isinstance(t, S.Struct) and t.name not in used:
            used.add(t.name)
            for f in t.fields:
                visit(f.type)

    for msg in schema.messages.values():
        for f in msg.fields:
            visit(f.type)
    return [t for t in declared_order(schema) if isinstance(t, S.Struct) and t.name in used]


def type_decls(schema: S.Schema) -> list[str]:
    out: list[str] = []
    macros: dict[str, str] = {}

    def macro(name: str, what: str) -> str:
        if name in macros:
            raise ValueError(f"C backend: {what} and {macros[name]} both make the macro {name}")
        macros[name] = what
        return name

    for en in schema.enums.values():
        base = int_c_type(en.base)
        out += [f"/* enum {en.name}: {en.base.name}{', open' if en.open else ''} */", f"typedef {base} cw_{en.name};"]
        for vname, v in en.values.items():
            out.append(f"#define {macro(f'CW_{upper_snake(en.name)}_{vname.upper()}', f'{en.name}.{vname}')} "
                       f"{int_literal(v, en.base)}")
        out += [f"int cw_{en.name}_valid(cw_{en.name} v);   /* 1 if v is {'in range' if en.open else 'a listed value'} */",
                ""]
    for fl in schema.flags.values():
        out += [f"/* flags {fl.name}: {fl.base.name}, unknown bits {'kept' if fl.keep_unknown else 'refused'} */",
                f"typedef {int_c_type(fl.base)} cw_{fl.name};"]
        for bname, bit in fl.bits.items():
            out.append(f"#define {macro(f'CW_{upper_snake(fl.name)}_{bname.upper()}', f'{fl.name}.{bname}')} "
                       f"{u64(1 << bit)}")
        out += [f"#define {macro(f'CW_{upper_snake(fl.name)}_MASK', f'{fl.name} mask')} {u64(fl.mask)}", ""]
    for t in declared_order(schema):
        if isinstance(t, S.Union):
            out.append(f"/* union {t.name}: by a {S.type_name(t.base)} */")
            out.append(f"typedef union cw_{t.name} {{")
            cases = [c for c in t.cases if c.type is not None]
            for case in cases:
                base, suffix = c_type(case.type, t.name, case_name(case))  # type: ignore[arg-type]
                align = "_Alignas(8) " if needs_align8(case.type) else ""  # type: ignore[arg-type]
                out.append(f"    {align}{base} {case_name(case)}{suffix};   /* case {case.name} */")
            if not cases:
                out.append("    uint8_t _empty;   /* every case is empty */")
            out += [f"}} cw_{t.name};", ""]
        else:
            out += struct_decl(t)
    for m in schema.messages.values():
        out += struct_decl(m)
    return out


def struct_decl(st: S.Struct) -> list[str]:
    out = []
    for cname, t in inner_types(st):
        if isinstance(t, S.Vec):
            base, suffix = c_type(t.elem, st.name, "items")
            items = f"{'_Alignas(8) ' if needs_align8(t.elem) else ''}{base} items[{t.max}]{suffix};"
            out.append(f"typedef struct {cname} {{ uint32_t count; {items} }} {cname};")
        else:
            out.append(f"typedef struct {cname} {{ uint32_t len; uint8_t data[{t.max}]; }} {cname};")
    kind = "message" if isinstance(st, S.Message) else "struct"
    extra = f" (id {st.id:#x})" if isinstance(st, S.Message) else ""
    layout = ', layout "c": members at their wire offsets' if st.layout == "c" else ""
    out.append(f"/* {kind} {st.name}{extra}{layout} */")
    out.append(f"typedef struct cw_{st.name} {{")
    members = L.members_of(st)
    for f in members:
        note = " /* constant */" if f.const is not None else f" /* counts {f.count_of} */" if f.count_of else ""
        out.append(f"    {member(f.type, st.name, f.name)}{note}")
    if not members:
        out.append("    uint8_t _empty;   /* C has no empty structs */")
    out += [f"}} cw_{st.name};", ""]
    return out


def asserts(schema: S.Schema) -> list[str]:
    out = ["/* The layout of harness/layout.py, asserted: the compiler's word against the schema's. */",
           '_Static_assert(sizeof(bool) == 1, "bool must be one byte");']
    for t in [*declared_order(schema), *schema.messages.values()]:
        owner = [] if isinstance(t, S.Union) else [(n, L.of(x)) for n, x in inner_types(t)]
        wire = isinstance(t, S.Struct) and t.layout == "c" and bool(L.members_of(t))
        if wire:    # the C rules and the wire's natural alignment agree: one set of numbers is both
            problems = L.c_layout_problems(t)  # type: ignore[arg-type]
            if problems:
                raise ValueError(f"C backend: layout \"c\" of {t.name} does not match the C rules: {problems}")
            out.append(f"/* {t.name} is layout \"c\": these are its wire offsets and size too */")
        for cname, lay in [(f"cw_{t.name}", L.of(t)), *owner]:
            out.append(f'_Static_assert(sizeof({cname}) == {lay.size}, "sizeof {cname}");')
            out.append(f'_Static_assert(_Alignof({cname}) == {lay.align}, "_Alignof {cname}");')
            if not isinstance(t, S.Union) or cname != f"cw_{t.name}":
                for m in lay.members:
                    out.append(f'_Static_assert(offsetof({cname}, {m.name}) == {m.offset}, '
                               f'"offsetof {cname}.{m.name}");')
    return out + [""]


def frame_macros(schema: S.Schema) -> list[str]:
    fr = schema.frame
    if fr is None:
        return ["/* The schema declares no frame: payloads only (SEND, RECV, ECHO are unsupported). */",
                "#define CW_FRAME 0", "#define CW_HEADER_SIZE 0u", "#define CW_TRAILER_SIZE 0u",
                "#define CW_SEQ_OFFSET 0u", "#define CW_SEQ_SIZE 0u", "#define CW_SEQ_BIG 0",
                "#define CW_PLAIN_COUNT 0u", "#define CW_PLAIN_MAX 1u"]
    seq = fr.role("seq")
    plain = fr.plain
    parts = ", ".join(f"{h.name} {h.type.name}" + (f" = {h.const:#x}" if h.role == "const" else f" ({h.role})"
                                                   if h.role else "") for h in fr.header)
    ck = fr.checksum
    trailer = f", {ck.name} {ck.algorithm.name} over {ck.covers[0]}..{ck.covers[-1]}" if ck else ""
    out = [f"/* The frame (WIRE.md \"Frame\"): {parts}, the payload{trailer}. */",
           "#define CW_FRAME 1",
           f"#define CW_HEADER_SIZE {fr.header_size}u",
           f"#define CW_TRAILER_SIZE {fr.trailer_size}u   /* the checksum after the payload */",
           f"#define CW_SEQ_OFFSET {seq.offset if seq else 0}u   /* the seq field, where the bench rewrites it */",
           f"#define CW_SEQ_SIZE {seq.type.size if seq else 0}u   /* 0: the frame has no seq field */",
           f"#define CW_SEQ_BIG {big(seq.type) if seq else 0}",
           f"#define CW_PLAIN_COUNT {len(plain)}u   /* header values SEND takes and RECV reports */",
           f"#define CW_PLAIN_MAX {max(1, len(plain))}u"]
    return out


def header(schema: S.Schema) -> str:
    msgs = list(schema.messages.values())
    out = [generated_banner("//").rstrip("\n"), f"""/* cw_schema.h -- the C types and codec of the {schema.name} schema.
 *
 * Every struct and message is a C struct in the layout of harness/layout.py, checked below
 * by _Static_assert. bytes, string and bigint fields are {{ len, data[max] }}, vec<T> fields
 * {{ count, items[max] }}: a value needs no allocation. Multi-byte values go on the wire in the
 * byte order the schema gives each, whatever the host; floats move as bit patterns only.
 *
 * Per message M: cw_encode_M, cw_decode_M, cw_parse_M (text tokens in) and cw_format_M
 * (text tokens out) return 0, or -1 with the contract's error text in the cw_ctx (see
 * cw_runtime.h); they speak the version cw_version says. cw_messages[] lists every message for
 * dispatch by name or id. The frame: cw_frame_write, cw_frame_head, cw_frame_find, cw_frame_verify. All of it
 * for the C kit (cw_kit.h): cw_schema_protocol.
 */
#ifndef CW_SCHEMA_H
#define CW_SCHEMA_H

#include "cw_kit.h"
"""]
    out += [
        f"#define CW_FORMAT_VERSION {schema.version}u   /* the newest protocol version (VERSION 1..this) */",
        f"#define CW_MAX_PAYLOAD {schema.max_payload}u",
        f"#define CW_MESSAGE_COUNT {len(msgs)}u",
        f"#define CW_MAX_VALUE_SIZE {L.up(max(L.of(m).size for m in msgs), 8)}u   /* the largest sizeof of a message "
        "struct, rounded up to 8 */",
        f"#define CW_MAX_TEXT {max(text_max(m) for m in msgs) + 1}u   /* the longest text of a value, NUL included */",
        f"#define CW_MAX_NAME {max(len(m.name) for m in msgs)}u   /* the longest message name */",
        *frame_macros(schema),
        "#define CW_FRAME_MAX ((size_t)CW_HEADER_SIZE + CW_MAX_PAYLOAD + CW_TRAILER_SIZE)",
        "",
    ]
    out += type_decls(schema)
    out += asserts(schema)
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
/* The table of every message, in schema order, and lookups into it (NULL if unknown).
 * cw_message_by_id gives the message a frame with that id carries to a receiver reading
 * `direction` (CW_EITHER, CW_REQUEST, CW_RESPONSE); *other (if not NULL) gets a second one
 * when the direction would tell them apart. */
extern const cw_message_info cw_messages[CW_MESSAGE_COUNT];
const cw_message_info *cw_message_by_name(const char *name, size_t len);
const cw_message_info *cw_message_by_id(uint32_t id, int direction, const cw_message_info **other);

/* The header fields that carry a value chosen by the sender (SEND's <h>, RECV's report). */
extern const cw_hfield cw_plain_fields[CW_PLAIN_MAX];
_Static_assert(CW_PLAIN_COUNT <= CW_HEAD_PLAIN_MAX, "the kit's cw_head holds CW_HEAD_PLAIN_MAX plain values");

/* cw_frame_write frames the payload already at frame + CW_HEADER_SIZE: the header from the
 * declaration (constants, m's id, the length, seq, the plain values, which the caller has
 * checked against cw_plain_fields and CW_SEQ_SIZE), then the checksum. Returns the frame's size.
 * cw_frame_head checks the CW_HEADER_SIZE bytes at in: the constants in header order, the id
 * (a message of `direction`), the length; 0 with *h set, or -1 with a decode error at
 * frame.<field> (the stream is then out of step). cw_frame_find reads the same without checking
 * the constants: where the frame ends and which message it carries, for a framing library that
 * judges the rest itself. cw_frame_verify checks the checksum of the whole frame (h->size
 * bytes): 0, or -1 with `checksum` at frame.<name> (the stream is in step).
 * Without a frame (CW_FRAME 0) they fail `unsupported`. */
size_t cw_frame_write(uint8_t *frame, const cw_message_info *m, size_t payload_len, uint64_t seq,
                      const uint64_t *plain);
int cw_frame_head(const uint8_t *in, int direction, cw_head *h, cw_ctx *c);
int cw_frame_find(const uint8_t *in, int direction, cw_head *h, cw_ctx *c);
int cw_frame_verify(const uint8_t *frame, const cw_head *h, cw_ctx *c);

/* Generic entry points, by message name, text in the contract's form (value tokens separated
 * by single spaces, maybe none). Return 0, or -1 with err set to the contract's error text
 * without "ERR " (e.g. "decode utf8 Text.label invalid UTF-8 at byte 0"). The caller owns
 * every buffer; the value struct in between is allocated and freed inside. */
int cw_text_to_wire(const char *message, const char *text, uint8_t *out, size_t cap, size_t *out_len,
                    char *err, size_t err_cap);
int cw_wire_to_text(const char *message, const uint8_t *buf, size_t len, char *out, size_t cap,
                    char *err, size_t err_cap);

/* The schema for the C kit's cw_peer_main (cw_kit.h): name NULL, adapters NULL; a main sets them. */
extern const cw_protocol cw_schema_protocol;

#endif /* CW_SCHEMA_H */
"""]
    return "\n".join(out)


# ------------------------------------------------------------------ the frame, in C


def crc_table(algo) -> list[str]:
    rows = []
    t = algo.table
    for i in range(0, 256, 8):
        rows.append("    " + ", ".join(f"0x{v:0{algo.width // 4}x}u" for v in t[i:i + 8]) + ",")
    return rows


def frame_source(schema: S.Schema) -> str:
    fr = schema.frame
    if fr is None:
        return """/* ---------------------------------------------------------------- no frame */

const cw_hfield cw_plain_fields[CW_PLAIN_MAX] = {{"-", 0, 0}};

size_t cw_frame_write(uint8_t *frame, const cw_message_info *m, size_t payload_len, uint64_t seq,
                      const uint64_t *plain)
{
    (void)frame;
    (void)m;
    (void)payload_len;
    (void)seq;
    (void)plain;
    return 0;
}

int cw_frame_head(const uint8_t *in, int direction, cw_head *h, cw_ctx *c)
{
    (void)in;
    (void)direction;
    (void)h;
    return cw_fail_kind(c, "unsupported", "the schema declares no frame");
}

int cw_frame_find(const uint8_t *in, int direction, cw_head *h, cw_ctx *c)
{
    return cw_frame_head(in, direction, h, c);
}

int cw_frame_verify(const uint8_t *frame, const cw_head *h, cw_ctx *c)
{
    (void)frame;
    (void)h;
    return cw_fail_kind(c, "unsupported", "the schema declares no frame");
}
"""
    out = ["/* ---------------------------------------------------------------- the frame */", ""]
    plain = fr.plain
    rows = ", ".join(f'{{"{h.name}", {h.type.size}, {int(h.type.signed)}}}' for h in plain) or '{"-", 0, 0}'
    out += [f"const cw_hfield cw_plain_fields[CW_PLAIN_MAX] = {{{rows}}};", ""]
    ck = fr.checksum
    if ck is not None:
        a = ck.algorithm
        parts = [h.name for h in fr.header] + ["payload"]
        first, last = ck.covers[0], ck.covers[-1]
        start = fr.header_size if first == "payload" else next(h.offset for h in fr.header if h.name == first)
        end = "CW_HEADER_SIZE + payload_len" if last == "payload" else \
            str(next(h.offset + h.type.size for h in fr.header if h.name == last))
        assert parts.index(first) <= parts.index(last)
        step = "cw_crc_reflected(crc_table, crc, " if a.reflect else f"cw_crc_plain(crc_table, {a.width}, crc, "
        out += [f"/* {a.name}: poly {a.poly:#x}, init {a.init:#x}, {'reflected' if a.reflect else 'not reflected'}, "
                f"xorout {a.xorout:#x} (check {a.check:#x}) */",
                "static const uint32_t crc_table[256] = {", *crc_table(a), "};", "",
                f"/* The {ck.name} of a frame: over {first}..{last}"
                + (f", the message's seed byte fed {ck.seed} them" if ck.seed else "") + ". */",
                "static uint32_t frame_crc(const uint8_t *frame, size_t payload_len, uint8_t seed)",
                "{",
                f"    uint32_t crc = {a.init:#x}u;"]
        if ck.seed == "before":
            out.append(f"    crc = {step}&seed, 1);")
        out.append(f"    crc = {step}frame + {start}, ({end}) - {start});")
        if ck.seed == "after":
            out.append(f"    crc = {step}&seed, 1);")
        if not ck.seed:
            out.append("    (void)seed;")
        if last != "payload":
            out.append("    (void)payload_len;")
        out += [f"    return crc ^ {a.xorout:#x}u;", "}", ""]
    # cw_frame_write
    lenf, seqf, idf = fr.role("length"), fr.role("seq"), fr.role("id")
    out += ["size_t cw_frame_write(uint8_t *frame, const cw_message_info *m, size_t payload_len, uint64_t seq,",
            "                      const uint64_t *plain)", "{"]
    k = 0
    for h in fr.header:
        if h.role == "const":
            value = u64(raw_bits(h.const, h.type))
        elif h.role == "id":
            value = "m->id"
        elif h.role == "length":
            value = f"payload_len + {fr.length_adjust}u"
        elif h.role == "seq":
            value = "seq"
        else:
            value = f"plain[{k}]"
            k += 1
        out.append(f"    cw_store(frame + {h.offset}, {h.type.size}, {big(h.type)}, {value});   /* {h.name} */")
    for unused, name in ((idf is None, "m"), (seqf is None, "seq"), (not plain, "plain")):
        if unused and (name != "m" or ck is None):
            out.append(f"    (void){name};")
    if ck is not None:
        out.append(f"    cw_store(frame + CW_HEADER_SIZE + payload_len, {ck.type.size}, {big(ck.type)}, "
                   f"frame_crc(frame, payload_len, m->seed));   /* {ck.name} */")
    out += ["    return CW_HEADER_SIZE + payload_len + CW_TRAILER_SIZE;", "}", ""]
    # cw_frame_head and cw_frame_find: one reader, the constants checked or not
    consts = any(h.role == "const" for h in fr.header)
    out += ["/* The header at in; `consts` 0 skips the checks of the constants (cw_frame_find). */",
            "static int frame_header(const uint8_t *in, int direction, cw_head *h, cw_ctx *c, int consts)", "{",
            "    const cw_message_info *other = NULL;", "    uint64_t x;", "",
            '    cw_begin(c, "decode", "frame");']
    if not consts:
        out.append("    (void)consts;")
    for h in fr.header:
        if h.role == "const":
            bits = u64(raw_bits(h.const, h.type))
            out += [f"    x = cw_load(in + {h.offset}, {h.type.size}, {big(h.type)});",
                    f"    if (consts && x != {bits}) {{",
                    f'        cw_field(c, 1, ".{h.name}");',
                    f"        return cw_bad_const(c, x, {bits});",
                    "    }"]
    if idf is not None:
        out += [f"    x = cw_load(in + {idf.offset}, {idf.type.size}, {big(idf.type)});",
                "    h->msg = cw_message_by_id((uint32_t)x, direction, &other);",
                f'    cw_field(c, 1, ".{idf.name}");',
                '    if (h->msg == NULL) return cw_fail(c, "type", "no message%s has id %" PRIu64, direction == CW_REQUEST ? '
                '" sent as a request" : direction == CW_RESPONSE ? " sent as a response" : "", x);',
                '    if (other != NULL) return cw_fail(c, "type", "id %" PRIu64 " is %s and %s: the receiver must say which '
                'direction it reads (RECV ... request|response)", x, h->msg->name, other->name);']
    else:
        out += ["    h->msg = cw_message_by_id(0, direction, &other);",
                "    c->depth = 1;   /* the path is \"frame\" */",
                '    if (h->msg == NULL) return cw_fail(c, "type", "no message is sent as a %s", direction == CW_REQUEST ? '
                '"request" : "response");',
                '    if (other != NULL) return cw_fail(c, "type", "the frame has no id and %s and %s are both possible: the '
                'receiver must say which direction it reads", h->msg->name, other->name);']
    if lenf is not None:
        adj = fr.length_adjust
        out += [f"    x = cw_load(in + {lenf.offset}, {lenf.type.size}, {big(lenf.type)});",
                f'    cw_field(c, 1, ".{lenf.name}");']
        if adj:
            out.append(f'    if (x < {adj}u) return cw_fail(c, "length", "%" PRIu64 " is less than the {adj} bytes it counts '
                       f'besides the payload", x);')
        out += [f"    if (x - {adj}u > CW_MAX_PAYLOAD) return cw_fail(c, \"length\", \"%\" PRIu64 \" payload bytes, more than "
                f"max_payload %u\", x - {adj}u, CW_MAX_PAYLOAD);",
                f"    h->payload_len = (size_t)(x - {adj}u);"]
    else:
        sizes = ", ".join(str(S.fixed_size(m)) for m in schema.messages.values())
        out += [f"    static const uint32_t fixed[CW_MESSAGE_COUNT] = {{{sizes}}};   /* no length field: the id tells */",
                "    h->payload_len = fixed[h->msg - cw_messages];"]
    out.append(f"    h->seq = {f'cw_load(in + {seqf.offset}, {seqf.type.size}, {big(seqf.type)})' if seqf else '0'};")
    for i, h in enumerate(plain):
        out.append(f"    h->plain[{i}] = cw_load(in + {h.offset}, {h.type.size}, {big(h.type)});   /* {h.name} */")
    if not plain:
        out.append("    h->plain[0] = 0;")
    out += ["    h->size = CW_HEADER_SIZE + h->payload_len + CW_TRAILER_SIZE;", "    c->depth = 1;", "    return 0;", "}", "",
            "int cw_frame_head(const uint8_t *in, int direction, cw_head *h, cw_ctx *c)", "{",
            "    return frame_header(in, direction, h, c, 1);", "}", "",
            "int cw_frame_find(const uint8_t *in, int direction, cw_head *h, cw_ctx *c)", "{",
            "    return frame_header(in, direction, h, c, 0);", "}", ""]
    # cw_frame_verify
    out += ["int cw_frame_verify(const uint8_t *frame, const cw_head *h, cw_ctx *c)", "{"]
    if ck is None:
        out += ["    (void)frame;", "    (void)h;", "    (void)c;", "    return 0;", "}", ""]
    else:
        w = 2 * ck.type.size
        out += ["    uint64_t want = frame_crc(frame, h->payload_len, h->msg->seed);",
                f"    uint64_t got = cw_load(frame + CW_HEADER_SIZE + h->payload_len, {ck.type.size}, {big(ck.type)});",
                "    if (got == want) return 0;",
                '    cw_begin(c, "decode", "frame");',
                f'    cw_field(c, 1, ".{ck.name}");',
                f'    return cw_fail(c, "checksum", "0x%0{w}" PRIx64 " is not the {ck.algorithm.name} of the frame, '
                f'0x%0{w}" PRIx64, got, want);',
                "}", ""]
    return "\n".join(out)


def protocol_source() -> str:
    """cw_schema_protocol: the schema as the kit sees it (cw_kit.h); the macros say which."""
    return """/* ---------------------------------------------------------------- the protocol, for the kit */

const cw_protocol cw_schema_protocol = {
    NULL, "c", CW_FORMAT_VERSION, CW_MAX_PAYLOAD, cw_messages, CW_MESSAGE_COUNT, CW_MAX_VALUE_SIZE, CW_MAX_TEXT,
    CW_MAX_NAME,
    CW_FRAME, CW_HEADER_SIZE, CW_TRAILER_SIZE, CW_SEQ_OFFSET, CW_SEQ_SIZE, CW_SEQ_BIG, CW_PLAIN_COUNT, cw_plain_fields,
    cw_frame_write, cw_frame_head, cw_frame_find, cw_frame_verify, cw_message_by_id,
    NULL, 0,
};
"""


def source(schema: S.Schema) -> str:
    msgs = list(schema.messages.values())
    out = [generated_banner("//").rstrip("\n"), f"""/* cw_schema.c -- the codec of the {schema.name} schema: per struct and message, encode,
 * decode, parse and format walk the fields in schema order with the helpers of cw_runtime.c;
 * then the message table and the frame. */
#include "cw_schema.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
"""]
    for en in schema.enums.values():
        out.append(f"int cw_{en.name}_valid(cw_{en.name} v)\n{{")
        if en.open:
            p = en.base
            check = "(void)v;\n    return 1" if p.size != 3 else f"return v >= {p.min} && v <= {p.max}" if p.signed \
                else f"return v <= {p.max}u"
            out.append(f"    {check};\n}}\n")
            continue
        out.append("    switch (v) {")
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
    for m in msgs:
        if m.trim:
            sizes = ", ".join(str(S.size_at(m, v)) for v in range(1, m.newest + 1))
            out.append(f"static const uint32_t sizes_{m.name}[{m.newest}] = {{{sizes}}};   /* trimmed: its size by version */")
    out.append("")
    out.append("const cw_message_info cw_messages[CW_MESSAGE_COUNT] = {")
    for m in msgs:
        n = m.name
        sizes = f"sizes_{n}" if m.trim else "NULL"
        out.append(f"    {{\"{n}\", {m.id}u, {DIRECTIONS[m.direction]}, {m.seed or 0}, {m.newest}, {sizes}, "
                   f"sizeof(cw_{n}), enc_{n}, dec_{n}, prs_{n}, fmt_{n}}},")
    out.append("};\n")
    out.append("""const cw_message_info *cw_message_by_name(const char *name, size_t len)
{
    size_t i;
    for (i = 0; i < CW_MESSAGE_COUNT; i++)
        if (strlen(cw_messages[i].name) == len && memcmp(cw_messages[i].name, name, len) == 0)
            return &cw_messages[i];
    return NULL;
}
""")
    ids = schema.frame is not None and schema.frame.role("id") is not None
    out.append(f"""const cw_message_info *cw_message_by_id(uint32_t id, int direction, const cw_message_info **other)
{{
    const cw_message_info *found = NULL;
    size_t i;
    if (other != NULL) *other = NULL;
    for (i = 0; i < CW_MESSAGE_COUNT; i++) {{
        const cw_message_info *m = &cw_messages[i];
        if ({'m->id != id || ' if ids else ''}(direction != CW_EITHER && m->direction != CW_EITHER && m->direction != direction))
            continue;
        if (found == NULL) found = m;
        else if (other != NULL && *other == NULL) *other = m;
    }}{'' if ids else chr(10) + '    (void)id;'}
    return found;
}}
""")
    out.append(frame_source(schema))
    out.append(protocol_source())
    out.append("""/* ---------------------------------------------------------------- generic entry points */

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


# ------------------------------------------------------------------ adapter peers (docs/kits.md)

KIT = "peers/c/kit"     # the C kit in the checkout: a static library and headers, `make -C kit`


def _encode_params(frames: bool) -> str:
    extra = "uint64_t seq, const uint64_t *header, " if frames else ""
    return f"{extra}uint8_t *out, size_t cap, size_t *out_len, cw_ctx *c"


def _wrap(decl: str, width: int = 110) -> str:
    """A C declaration cut after its commas into lines of at most `width`, aligned on the `(`."""
    head, _, params = decl.partition("(")
    indent, lines, line = " " * (len(head) + 1), [], head + "("
    for i, p in enumerate(params.split(", ")):
        piece = p + ("," if i < params.count(", ") else "")
        if len(line) + len(piece) + 1 > width and not line.endswith("("):
            lines.append(line.rstrip())
            line = indent
        line += piece + " "
    return "\n".join([*lines, line.rstrip()])


def _prototypes(m: S.Message, frames: bool) -> tuple[str, str]:
    """The declarations of the adapter's encode and decode of m, without the `;`."""
    n, buf = m.name, "frame" if frames else "buf"
    return (_wrap(f"int adapter_encode_{n}(const cw_{n} *v, {_encode_params(frames)})"),
            _wrap(f"int adapter_decode_{n}(const uint8_t *{buf}, size_t len, cw_{n} *v, cw_ctx *c)"))


def _about(m: S.Message) -> str:
    direction = f", {m.direction}" if m.direction else ""
    return f"{m.name} (id {m.id:#04x}{direction})"


def adapter_generated(schema: S.Schema, frames: bool) -> dict[str, str]:
    """The generated files of a C adapter peer, relative to its folder: the schema's types, text
    form, frame and reference codec (gen/cw_schema.*, as the reference peer has them), and the
    table through which the kit calls the adapter's functions (gen/cw_adapter.*)."""
    msgs = list(schema.messages.values())
    what = ("whole frames: encode gets the value, the seq and the plain\n * header values in header order "
            "(their bits); decode gets a frame the kit found on the stream\n * from the declared header"
            if frames else "payloads (the frame is the kit's)")
    h = [generated_banner("//").rstrip("\n"), f"""/* cw_adapter.h -- the adapter peer's side of the C kit for the {schema.name} schema: per message,
 * the encode and decode you write in adapter.c around the library under test, and cw_adapter_main,
 * which runs the kit's contract loop over them.
 * The library handles {what}.
 * Each returns 0, or -1 after cw_unimplemented(c), cw_adapter_fail(c, ...) or a codec error
 * (cw_kit.h). */
#ifndef CW_ADAPTER_H
#define CW_ADAPTER_H

#include "cw_schema.h"

#define CW_ADAPTER_FRAMES {int(frames)}   /* 1: the library writes and reads whole frames */
"""]
    for m in msgs:
        enc, dec = _prototypes(m, frames)
        h += [f"/* {_about(m)} */", f"{enc};", f"{dec};", ""]
    h += ["/* Runs the peer named `name` (as in its peer.toml) with these adapters: the exit status. */",
          "int cw_adapter_main(const char *name, int argc, char **argv);", "", "#endif /* CW_ADAPTER_H */", ""]
    c = [generated_banner("//").rstrip("\n"),
         """/* cw_adapter.c -- the table the C kit calls the adapter's functions through (cw_kit.h). */
#include "cw_adapter.h"

#include <stddef.h>
"""]
    rows = []
    args = "v, seq, header, out, cap, out_len, c" if frames else "v, out, cap, out_len, c"
    for m in msgs:
        n = m.name
        c += [_wrap(f"static int enc_{n}(const void *v, {_encode_params(frames)})"), "{",
              f"    return adapter_encode_{n}({args});", "}", "",
              f"static int dec_{n}(const uint8_t *buf, size_t len, void *v, cw_ctx *c)", "{",
              f"    return adapter_decode_{n}(buf, len, v, c);", "}", ""]
        rows.append(f"    {{NULL, enc_{n}, dec_{n}}}," if frames else f"    {{enc_{n}, NULL, dec_{n}}},")
    c += ["static const cw_adapter adapters[CW_MESSAGE_COUNT] = {", *rows, "};", "",
          "int cw_adapter_main(const char *name, int argc, char **argv)", "{",
          "    cw_protocol p = cw_schema_protocol;",
          "    p.name = name;", "    p.adapters = adapters;", "    p.frames = CW_ADAPTER_FRAMES;",
          "    return cw_peer_main(&p, argc, argv);", "}", ""]
    return {"gen/cw_schema.h": header(schema), "gen/cw_schema.c": source(schema),
            "gen/cw_adapter.h": "\n".join(h), "gen/cw_adapter.c": "\n".join(c)}


def _field_lines(m: S.Message) -> list[str]:
    """The comment lines that show a message's fields: schema type, then the C member."""
    out = []
    inner = dict(inner_types(m))
    for f in m.fields:
        if not f.has_value:
            continue
        base, suffix = c_type(f.type, m.name, f.name)
        t = inner.get(f"cw_{m.name}_{f.name}")
        if isinstance(t, S.Vec):
            ebase, esuffix = c_type(t.elem, m.name, "items")
            cdecl = f"{{ uint32_t count; {ebase} items[{t.max}]{esuffix}; }}"
        elif t is not None:
            cdecl = f"{{ uint32_t len; uint8_t data[{t.max}]; }}"
        else:
            cdecl = f"{base}{suffix}"
        out.append(f" *   {f.name}: {S.type_name(f.type)}  (v->{c_name(f.name)}: {cdecl})")
    return out or [" *   (no fields)"]


def adapter_files(schema: S.Schema, name: str, kit: str, frames: bool) -> dict[str, str]:
    """The files of a C adapter peer that are the user's, written once: peer.toml, the Makefile
    (the kit at the relative path `kit`), main.c and adapter.c with one pair of stubs per message."""
    toml = f"""name = "{name}"
language = "c"
contract = 3

# An adapter peer: `crosswire build` rewrites gen/ from the schema, then runs the build command.
[adapter]
lang = "c"
frames = {str(frames).lower()}

[build]
requires = ["cc", "make"]
command = ["make"]
outputs = ["build/cw-peer"]

[run]
command = ["build/cw-peer"]

[supports]
transports = ["uds", "tcp", "shm"]
messages = "*"
"""
    make = f"""# The {name} peer: crosswire's C kit (KIT: a static library and headers), the code generated from the
# schema (gen/, rewritten by `crosswire build`) and main.c and adapter.c (yours). Put the library
# under test in LIBS (and its include flags in CFLAGS). Portable make (GNU and BSD).

KIT = {kit}
CFLAGS = -O2 -g
LIBS =
CW_FLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -pedantic -I$(KIT)/include -Igen
SRC = main.c adapter.c gen/cw_schema.c gen/cw_adapter.c
HEADERS = gen/cw_schema.h gen/cw_adapter.h $(KIT)/include/cw_kit.h $(KIT)/include/cw_runtime.h

all: kit-lib build/cw-peer

kit-lib:
	$(MAKE) -C $(KIT)

$(KIT)/build/libcwkit.a:
	$(MAKE) -C $(KIT)

build/cw-peer: $(SRC) $(HEADERS) $(KIT)/build/libcwkit.a
	mkdir -p build
	$(CC) $(CW_FLAGS) $(CFLAGS) -o build/cw-peer $(SRC) $(KIT)/build/libcwkit.a $(LIBS) $(LDFLAGS)

clean:
	rm -rf build

.PHONY: all kit-lib clean
"""
    main = f"""/* main.c -- the {name} peer: crosswire's C kit around the library under test (adapter.c). */
#include "cw_adapter.h"

int main(int argc, char **argv) {{
    return cw_adapter_main("{name}", argc, argv);   /* the name as in peer.toml */
}}
"""
    how = ("encode writes the whole frame (header, payload, checksum) of the value with the seq and the\n"
           " * plain header values (`header`, in header order); decode reads a whole frame."
           if frames else "encode writes the payload of the value; decode reads a payload.")
    src = [f"""/* adapter.c -- the {name} adapter: per message, encode and decode through the library under test:
 * {how}
 * Each stub returns cw_unimplemented(c) (the harness skips the message) until you fill it in:
 * return 0, or -1 after cw_adapter_fail(c, "what the library said") (`ERR runtime adapter ...`).
 * The value types are in gen/cw_schema.h, with crosswire's own codec (cw_encode_M, cw_decode_M)
 * should you want to compare. */
#include "cw_adapter.h"
"""]
    for m in schema.messages.values():
        enc, dec = _prototypes(m, frames)
        unused = "v, seq, header, out, cap, out_len" if frames else "v, out, cap, out_len"
        buf = "frame" if frames else "buf"
        src += [f"/* {_about(m)}:", *_field_lines(m), " */",
                enc, "{", *[f"    (void){a.strip()};" for a in unused.split(",")], "    return cw_unimplemented(c);", "}",
                "", dec, "{", f"    (void){buf};", "    (void)len;", "    (void)v;", "    return cw_unimplemented(c);", "}",
                ""]
    return {"peer.toml": toml, "Makefile": make, "main.c": main, "adapter.c": "\n".join(src)}


class CBackend:
    name = "c"

    def generate(self, schema: S.Schema) -> dict[str, str]:
        return {f"{GEN}/cw_schema.h": header(schema), f"{GEN}/cw_schema.c": source(schema)}


BACKEND = CBackend()
