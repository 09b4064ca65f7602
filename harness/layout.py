"""The in-memory layout of the generated C types, computed from the schema.

This is the schema's side of "the compiler's word, not ours": the C generator emits
`_Static_assert`s with these numbers, and tests/test_native.py reads sizeof/offsetof/alignof
from the compiler (cffi) and compares them with these, field by field.

The C representation (the same on every ABI: 8-byte fields are declared _Alignas(8), so
i386, whose ABI aligns uint64_t and double to 4 inside structs, lays them out like x86-64):

| schema type        | C member                                              | size, align |
|--------------------|-------------------------------------------------------|-------------|
| u8..u64, i8..i64   | uint8_t..int64_t                                      | w, w        |
| u24 / i24          | uint32_t / int32_t (the encoder checks the range)     | 4, 4        |
| f32 / f64          | float / double                                        | 4,4 / 8,8   |
| bool               | bool (stdbool.h; asserted to be 1 byte)               | 1, 1        |
| enum, flags        | its underlying integer type (cw_<Name>)               | as the base |
| char[N]            | char name[N]                                          | N, 1        |
| pad[N]             | uint8_t name[N] (always zero)                         | N, 1        |
| bytes / string     | struct { uint32_t len; uint8_t data[max]; }           | up(4+max,4), 4 |
| bigint             | struct { uint32_t len; uint8_t data[max]; } (minimal two's complement, little-endian in memory) | as bytes |
| T[N]               | T name[N]                                             | N*size(T), align(T) |
| vec<T>             | struct { uint32_t count; T items[max]; }              | see vec()   |
| union              | union cw_<Name> { <case type> <case name>; ... }     | C rules     |
| struct, message    | struct cw_<Name>                                      | C rules     |

Every field is a member, constants and count fields included (the decoder stores what it
read; the encoder writes the constant, and the count from the field it counts), except the
implicit padding of layout "c", which the C compiler inserts itself: a C-layout struct's
members sit at exactly their wire offsets (`wire_offsets`), and the generator asserts it.
A member named like a C keyword is escaped (`c_name`: `int` -> `int_`); paths keep the name.
A struct is its members in schema order, each at the next offset that is a multiple of its
alignment; its alignment is the largest member alignment; its size is rounded up to that.
A message without members gets one member `uint8_t _empty` (C has no empty structs); so does a
union whose every case is empty.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import schema as S

# C11's keywords, and lower-case names the standard headers the generated code includes may
# define as macros (stdbool's bool/true/false, errno, the std streams, assert, and the
# predefined unix/linux/i386 of GNU modes): a field so named gets a trailing underscore.
# Two fields differing only in underscores are refused by the schema, so `int_` is free.
C_RESERVED = frozenset("""
auto break case char const continue default do double else enum extern float for goto if inline
int long register restrict return short signed sizeof static struct switch typedef union unsigned
void volatile while bool true false errno stdin stdout stderr assert offsetof unix linux i386
alignas alignof noreturn static_assert thread_local complex imaginary
""".split())


def c_name(name: str) -> str:
    """A field's C member name: the schema's, escaped when C would not take it."""
    return name + "_" if name in C_RESERVED else name


def case_name(case: S.UnionCase) -> str:
    """A union case's C member name: its enum value name, or _<tag> (_m<tag> if negative)."""
    if case.name[:1].isalpha() or case.name[:1] == "_":
        return c_name(case.name)
    return f"_m{-case.tag}" if case.tag < 0 else f"_{case.tag}"


@dataclass(frozen=True)
class Member:
    name: str                # the C member name
    offset: int
    size: int
    align: int
    type: S.Type | None      # None for the placeholder of an empty message or union


@dataclass(frozen=True)
class Layout:
    size: int
    align: int
    members: tuple[Member, ...] = ()      # for structs, unions, and the inner struct of bytes/vec


def up(n: int, align: int) -> int:
    return (n + align - 1) // align * align


def members_of(st: S.Struct) -> list[S.Field]:
    """The fields that are C members: all but layout "c"'s implicit padding."""
    return [f for f in st.fields if not f.implicit]


def of(t: S.Type) -> Layout:
    """Size, alignment and (for structs and unions) member offsets of the C representation of `t`."""
    if isinstance(t, S.Prim):
        return Layout(4, 4) if t.size == 3 else Layout(t.size, t.size)
    if isinstance(t, (S.Enum, S.Flags)):
        return of(t.base)
    if isinstance(t, (S.CharArray, S.Pad)):
        return Layout(t.n, 1)
    if isinstance(t, (S.Bytes, S.BigInt)):
        u8 = S.PRIMS["u8"]
        return _record([("len", S.PRIMS["u32"]), ("data", S.Array(u8, t.max))])
    if isinstance(t, S.Array):
        inner = of(t.elem)
        return Layout(inner.size * t.n, inner.align)
    if isinstance(t, S.Vec):
        return _record([("count", S.PRIMS["u32"]), ("items", S.Array(t.elem, t.max))])
    if isinstance(t, S.Union):
        cases = [(case_name(c), c.type) for c in t.cases if c.type is not None]
        if not cases:
            return Layout(1, 1, (Member("_empty", 0, 1, 1, None),))
        lays = [(name, ctype, of(ctype)) for name, ctype in cases]
        align = max(lay.align for _, _, lay in lays)
        size = up(max(lay.size for _, _, lay in lays), align)
        return Layout(size, align, tuple(Member(n, 0, lay.size, lay.align, ct) for n, ct, lay in lays))
    fields = members_of(t)
    if not fields:
        return Layout(1, 1, (Member("_empty", 0, 1, 1, None),))
    return _record([(c_name(f.name), f.type) for f in fields])


def _record(fields: list[tuple[str, S.Type]]) -> Layout:
    offset, align, members = 0, 1, []
    for name, ftype in fields:
        lay = of(ftype)
        offset = up(offset, lay.align)
        members.append(Member(name, offset, lay.size, lay.align, ftype))
        offset += lay.size
        align = max(align, lay.align)
    return Layout(up(offset, align), align, tuple(members))


def wire_offsets(st: S.Struct) -> tuple[dict[str, int], int]:
    """({C member name: its offset on the wire}, the wire size) of a fixed-size struct: for a
    C-layout struct, what the C struct's offsets and size must be."""
    out, off = {}, 0
    for f in st.fields:
        if not f.implicit:
            out[c_name(f.name)] = off
        size = S.fixed_size(f.type)
        assert size is not None, f"{st.name}.{f.name} has no fixed size"
        off += size
    return out, off


def c_layout_problems(st: S.Struct) -> list[str]:
    """Where the C rules (`of`) and the wire (`wire_offsets`) disagree for a C-layout struct:
    nothing, as long as both follow natural alignment."""
    lay = of(st)
    wire, size = wire_offsets(st)
    out = [f"cw_{st.name}.{m.name}: C offset {m.offset}, wire offset {wire[m.name]}"
           for m in lay.members if m.type is not None and wire[m.name] != m.offset]
    if lay.size != size:
        out.append(f"cw_{st.name}: C size {lay.size}, wire size {size}")
    return out
