"""Hypothesis strategies for values of any schema type: every bit pattern for floats, the full
range of every integer, lengths from empty to the limit, any Unicode scalar for strings."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from hypothesis import strategies as st

from . import schema as S
from .values import F32, F64


@lru_cache(maxsize=None)
def for_type(t: S.Type) -> st.SearchStrategy[Any]:
    if isinstance(t, S.Struct):
        return _struct(t)
    if isinstance(t, S.Array):
        return st.lists(for_type(t.elem), min_size=t.n, max_size=t.n)
    if isinstance(t, S.Vec):
        return st.lists(for_type(t.elem), max_size=t.max)
    if isinstance(t, S.Enum):
        known = st.sampled_from(list(t.values.values()))
        return st.one_of(known, st.integers(t.base.min, t.base.max)) if t.open else known
    if isinstance(t, S.Flags):
        any_bits = st.integers(0, t.base.max)
        return any_bits if t.keep_unknown else any_bits.map(lambda v: v & t.mask)
    if isinstance(t, S.CharArray):
        return st.binary(max_size=t.n).map(lambda b: b.replace(b"\0", b"\1"))
    if isinstance(t, S.Bytes):
        if not t.utf8:
            return st.binary(max_size=t.max)
        return st.text(max_size=t.max).filter(lambda s: len(s.encode("utf-8", "surrogatepass")) <= t.max
                                              ).filter(_encodable)
    if isinstance(t, S.BigInt):
        top = 8 * t.max - 1
        return st.integers(min_value=-(1 << top), max_value=(1 << top) - 1)
    assert isinstance(t, S.Prim)
    if t.kind == "float":
        cls = F32 if t.size == 4 else F64
        return st.integers(min_value=0, max_value=(1 << (8 * t.size)) - 1).map(cls)
    if t.kind == "bool":
        return st.booleans()
    return st.integers(min_value=t.min, max_value=t.max)


def _struct(t: S.Struct) -> st.SearchStrategy[Any]:
    """The fields' values; each union takes a case, and its discriminator that case's tag."""
    plain = st.fixed_dictionaries({f.name: for_type(f.type) for f in t.value_fields
                                   if not isinstance(f.type, S.Union)})
    unions = [f for f in t.value_fields if isinstance(f.type, S.Union)]
    if not unions:
        return plain

    def alternative(u: S.Union) -> st.SearchStrategy[tuple[int, Any]]:
        return st.one_of([st.just((c.tag, None)) if c.type is None else for_type(c.type).map(lambda v, c=c: (c.tag, v))
                          for c in u.cases])

    def build(parts: tuple) -> dict:
        value, chosen = parts
        for f, (tag, v) in zip(unions, chosen):
            value[f.type.on] = tag  # type: ignore[union-attr]
            value[f.name] = v
        return {f.name: value[f.name] for f in t.value_fields}
    return st.tuples(plain, st.tuples(*[alternative(f.type) for f in unions])).map(build)  # type: ignore[arg-type]


def _encodable(s: str) -> bool:
    try:
        s.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def message_values(msg: S.Message) -> st.SearchStrategy[Any]:
    return for_type(msg)
