"""The in-memory layout of the generated C types, computed from the schema.

This is the schema's side of "the compiler's word, not ours": the C generator emits
`_Static_assert`s with these numbers, and tests/test_cffi.py reads sizeof/offsetof/alignof
from the compiler (cffi) and compares them with these, field by field.

The C representation (the same on every ABI: 8-byte fields are declared _Alignas(8), so
i386, whose ABI aligns uint64_t and double to 4 inside structs, lays them out like x86-64):

| schema type      | C member                                              | size, align |
|------------------|-------------------------------------------------------|-------------|
| u8..u64, i8..i64 | uint8_t..int64_t                                      | w, w        |
| f32 / f64        | float / double                                        | 4,4 / 8,8   |
| bool             | bool (stdbool.h; asserted to be 1 byte)               | 1, 1        |
| enum             | its underlying fixed-width integer type               | as the base |
| char[N]          | char name[N]                                          | N, 1        |
| pad[N]           | uint8_t name[N] (always zero)                         | N, 1        |
| bytes / string   | struct { uint32_t len; uint8_t data[max]; }           | up(4+max,4), 4 |
| bigint           | struct { uint32_t len; uint8_t data[max]; } (minimal two's complement, LE) | as bytes |
| T[N]             | T name[N]                                             | N*size(T), align(T) |
| vec<T>           | struct { uint32_t count; T items[max]; }              | see vec()   |
| struct           | struct cw_<Name>                                      | C rules     |

A struct is its members in schema order, each at the next offset that is a multiple of its
alignment; its alignment is the largest member alignment; its size is rounded up to that.
A message without fields gets one member `uint8_t _empty` (C has no empty structs).
"""
from __future__ import annotations

from dataclasses import dataclass

from . import schema as S


@dataclass(frozen=True)
class Member:
    name: str
    offset: int
    size: int
    align: int
    type: S.Type | None      # None for the placeholder of an empty message


@dataclass(frozen=True)
class Layout:
    size: int
    align: int
    members: tuple[Member, ...] = ()      # for structs, and for the inner struct of bytes/vec


def up(n: int, align: int) -> int:
    return (n + align - 1) // align * align


def of(t: S.Type) -> Layout:
    """Size, alignment and (for structs) member offsets of the C representation of `t`."""
    if isinstance(t, S.Prim):
        return Layout(t.size, t.size)
    if isinstance(t, S.Enum):
        return Layout(t.base.size, t.base.size)
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
    if not t.fields:
        return Layout(1, 1, (Member("_empty", 0, 1, 1, None),))
    return _record([(f.name, f.type) for f in t.fields])


def _record(fields: list[tuple[str, S.Type]]) -> Layout:
    offset, align, members = 0, 1, []
    for name, ftype in fields:
        lay = of(ftype)
        offset = up(offset, lay.align)
        members.append(Member(name, offset, lay.size, lay.align, ftype))
        offset += lay.size
        align = max(align, lay.align)
    return Layout(up(offset, align), align, tuple(members))
