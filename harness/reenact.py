"""Explain a mismatch by re-enacting it: encode the expected value again under each hypothesis of
a classic bug, and keep the hypotheses that give the actual bytes exactly.

A hypothesis rewrites the message's schema (and, where the bug changes values, the value) and
the reference codec does the rest, so every feature of the schema language (byte orders per
field, prefixes of any width and unit, nested structs, unions, arrays, versions) is covered
without a second encoder. Each bug class is tried over the whole message (every field of that
type, as a shared helper would get it wrong) and over each field alone:

| cause          | the bug re-enacted                                                   |
|----------------|----------------------------------------------------------------------|
| byteswap       | a multi-byte integer or float (or an enum, flags, a length prefix) written in the other byte order |
| width          | an integer written with another width (the value cut or extended as a C cast does) |
| float_width    | an f64 written as an f32 (rounded), or an f32 as an f64              |
| through_double | a 64-bit integer passed through a double (exact only up to 2^53)     |
| prefix_width   | a length prefix of another width than declared                       |
| length_unit    | a prefix counting elements where bytes are declared, or the reverse  |
| nul_counted    | a string sent with its NUL terminator, counted in its length         |
| field_order    | two adjacent fields written in swapped order                          |
| missing_field  | a field left out                                                      |
| bigint_form    | a bigint not in minimal two's complement (a fixed 8 bytes, or one sign byte too many) |
| char_garbage   | a char[N] whose bytes after the NUL are not zero (garbage from the sender's buffer) |
| signedness     | a negative value zero-extended from a narrower type (its low 8, 16 or 32 bits), not sign-extended; or (a reader's bug replayed) the same bits read with the other signedness |
| padding        | the message laid out like a C struct (natural alignment, padding written), or a `layout = "c"` struct sent packed |

A hypothesis that reproduces the bytes is the cause; several that do are indistinguishable on
this case and are all named. Nothing here raises: a hypothesis the codec cannot encode is simply
not the cause, and the search stops at a budget of encodings.
"""
from __future__ import annotations

import math
import struct
import time
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterator

from . import codec
from . import schema as S
from .values import F32, F64

BUDGET = 4000           # encodings tried per mismatch, at most
BUDGET_BYTES = 1 << 24  # bytes encoded per mismatch, at most (a 1 MiB message gets 16 tries)
BUDGET_S = 1.0          # seconds, at most
INT_WIDTHS = (1, 2, 4, 8)


@dataclass(frozen=True)
class Explanation:
    cause: str
    fields: tuple[str, ...]     # the paths the hypothesis changes
    says: str                   # what the sender did, in words

    @property
    def where(self) -> str:
        return self.fields[0] if len(self.fields) == 1 else ", ".join(self.fields[:4]) + (
            f" and {len(self.fields) - 4} more" if len(self.fields) > 4 else "")


# ------------------------------------------------------------------ rewriting a type and its value

# A rule sees one leaf (path, type, value) and returns its replacement (type, value), or None to
# leave it as it is. Leaves are scalars (Prim, Enum, Flags), Bytes, BigInt, CharArray and the
# prefixes of counted fields, which the rule sees as ("<path>.len", Prim, None).
Rule = Callable[[str, Any, Any], "tuple[Any, Any] | None"]


def _rewrite(t: Any, v: Any, path: str, rule: Rule) -> tuple[Any, Any]:
    if isinstance(t, S.Struct):
        return _rewrite_struct(t, v, path, rule)
    if isinstance(t, S.Array):
        return _rewrite_seq(t, v, path, rule)
    if isinstance(t, S.Vec):
        t2, v2 = _rewrite_seq(t, v, path, rule)
        return _rewrite_count(t2, v2, path, rule)
    if isinstance(t, S.Union):
        return t, v      # the case is rewritten where the struct holds it (it needs the tag)
    got = rule(path, t, v)
    t2, v2 = got if got is not None else (t, v)
    if isinstance(t2, (S.Bytes, S.BigInt)):
        return _rewrite_count(t2, v2, path, rule)
    return t2, v2


def _rewrite_count(t: Any, v: Any, path: str, rule: Rule) -> tuple[Any, Any]:
    count = getattr(t, "count", None)
    if count is None or count.prefix is None:
        return t, v
    got = rule(f"{path}.{'count' if isinstance(t, S.Vec) else 'len'}", count, None)   # diagnose.walk's names
    return (replace(t, count=got[0]), v) if got is not None else (t, v)


def _rewrite_seq(t: S.Array | S.Vec, v: Any, path: str, rule: Rule) -> tuple[Any, Any]:
    if not isinstance(v, list) or not v:
        return t, v
    elem_t, out, key = None, [], ""
    for i, e in enumerate(v):
        et, ev = _rewrite(t.elem, e, f"{path}[{i}]", rule)
        if elem_t is None:
            elem_t, key = et, ("" if et is t.elem else repr(et))
        elif et is not elem_t and (et is t.elem or elem_t is t.elem or repr(et) != key):
            raise _Skip()   # elements would need different types (structs compare by their text): not one bug
        out.append(ev)
    return (t if elem_t is t.elem else replace(t, elem=elem_t)), out


def _rewrite_struct(t: S.Struct, value: Any, path: str, rule: Rule) -> tuple[S.Struct, Any]:
    if not isinstance(value, dict):
        raise _Skip()
    fields, out, changed = [], dict(value), False
    for f in t.fields:
        sub = f"{path}.{f.name}"
        if isinstance(f.type, S.Union):
            case = f.type.case(value.get(f.type.on)) if f.type.on in value else None
            if case is None or case.type is None:
                fields.append(f)
                continue
            ct, cv = _rewrite(case.type, value.get(f.name), sub, rule)
            out[f.name] = cv
            if ct is not case.type:
                cases = tuple(replace(c, type=ct) if c is case else c for c in f.type.cases)
                f, changed = replace(f, type=replace(f.type, cases=cases)), True
            fields.append(f)
        elif f.has_value:
            ft, fv = _rewrite(f.type, value.get(f.name), sub, rule)
            out[f.name] = fv
            if ft is not f.type:
                f, changed = replace(f, type=ft), True
            fields.append(f)
        else:
            got = rule(sub, f.type, None) if isinstance(f.type, S.Prim) else None
            if got is not None:
                f, changed = replace(f, type=got[0]), True
            fields.append(f)
    return (replace(t, fields=tuple(fields)) if changed else t), out


class _Skip(Exception):
    """This hypothesis does not apply to this value."""


def leaves(t: Any, v: Any, path: str) -> Iterator[tuple[str, Any, Any]]:
    """Every leaf a rule sees, in wire order, with its value."""
    seen: list[tuple[str, Any, Any]] = []

    def note(p: str, lt: Any, lv: Any) -> None:
        seen.append((p, lt, lv))
        return None
    try:
        _rewrite(t, v, path, note)
    except Exception:   # noqa: BLE001 - a value that does not fit its type: the leaves seen so far
        pass
    return iter(seen)


# ------------------------------------------------------------------ the bug classes

def _prim_of(t: Any) -> S.Prim | None:
    if isinstance(t, S.Prim):
        return t
    if isinstance(t, (S.Enum, S.Flags)):
        return t.base
    if isinstance(t, S.Count):
        return t.prefix
    return None


def _with_prim(t: Any, p: S.Prim) -> Any:
    if isinstance(t, S.Prim):
        return p
    if isinstance(t, (S.Enum, S.Flags)):
        return replace(t, base=p)
    if isinstance(t, S.Count):
        return replace(t, prefix=p)
    return t


def _other(order: str) -> str:
    return "big" if order == "little" else "little"


def _prim(name: str, order: str) -> S.Prim:
    return S.PRIMS[name].as_order(order)


def _wrap(v: int, p: S.Prim) -> int:
    """v cut (or extended) to p as a C cast does."""
    bits = 8 * p.size
    v &= (1 << bits) - 1
    return v - (1 << bits) if p.signed and v >> (bits - 1) else v


def _f32(x: float) -> F32:
    try:
        return F32.from_float(x)
    except (OverflowError, struct.error):
        return F32.from_float(math.copysign(math.inf, x))


def _kind(t: Any) -> str:
    """The name a hypothesis over "every field of this kind" groups leaves by."""
    p = _prim_of(t)
    if isinstance(t, S.Count) and p is not None:
        return f"{p.name} length prefix"
    if p is not None:
        return p.name
    return type(t).__name__


@dataclass(frozen=True)
class _Class:
    cause: str
    applies: Callable[[str, Any, Any], bool]
    variants: Callable[[str, Any, Any], list[tuple[str, Rule]]]   # (what it says, the leaf's rewrite)


def _byteswap(path: str, t: Any, v: Any) -> list[tuple[str, Rule]]:
    order = t.order if isinstance(t, S.BigInt) else _prim_of(t).order     # type: ignore[union-attr]

    def rule(_p: str, lt: Any, lv: Any) -> tuple[Any, Any]:
        if isinstance(lt, S.BigInt):
            return replace(lt, order=_other(lt.order)), lv
        return _with_prim(lt, _prim_of(lt).as_order(_other(_prim_of(lt).order))), lv   # type: ignore[union-attr]
    return [(f"written {_other(order)}-endian where {order}-endian is declared", rule)]


def _swappable(p: str, t: Any, v: Any) -> bool:
    q = _prim_of(t)
    return (q is not None and q.size > 1) or (isinstance(t, S.BigInt) and isinstance(v, int) and
                                              len(codec.bigint_bytes(v)) > 1)


def _width(path: str, t: Any, v: Any) -> list[tuple[str, Rule]]:
    p = _prim_of(t)
    assert p is not None
    out = []
    for w in INT_WIDTHS:
        if w == p.size:
            continue
        name = ("i" if p.signed else "u") + str(8 * w)

        def rule(_p: str, lt: Any, lv: Any, name: str = name) -> tuple[Any, Any]:
            lp = _prim_of(lt)
            q = _prim(name, lp.order)     # type: ignore[union-attr]
            return _with_prim(lt, q), (_wrap(lv, q) if isinstance(lv, int) and not isinstance(lt, S.Count) else lv)
        out.append((f"written as {name} where {p.name} is declared", rule))
    return out


def _float_width(path: str, t: Any, v: Any) -> list[tuple[str, Rule]]:
    p = t
    if p.size == 8:
        def rule(_p: str, lt: Any, lv: Any) -> tuple[Any, Any]:
            return _prim("f32", lt.order), _f32(float(lv))
        return [("an f64 written as an f32", rule)]

    def rule4(_p: str, lt: Any, lv: Any) -> tuple[Any, Any]:
        return _prim("f64", lt.order), F64.from_float(float(lv))
    return [("an f32 written as an f64", rule4)]


def _through_double(path: str, t: Any, v: Any) -> list[tuple[str, Rule]]:
    def rule(_p: str, lt: Any, lv: Any) -> tuple[Any, Any]:
        return lt, _wrap(int(float(lv)), lt) if abs(int(float(lv))) < (1 << 64) else lv
    return [("passed through a double (64-bit integers are exact only up to 2^53)", rule)]


def _prefix_width(path: str, t: Any, v: Any) -> list[tuple[str, Rule]]:
    p = t.prefix
    out = []
    for w in INT_WIDTHS:
        if w == p.size:
            continue
        name = f"u{8 * w}"

        def rule(_p: str, lt: Any, lv: Any, name: str = name) -> tuple[Any, Any]:
            return replace(lt, prefix=_prim(name, lt.prefix.order)), lv
        out.append((f"a {name} length prefix where {p.name} is declared", rule))
    return out


def _length_unit(path: str, t: Any, v: Any) -> list[tuple[str, Rule]]:
    other = "bytes" if t.unit == "elements" else "elements"

    def rule(_p: str, lt: Any, lv: Any) -> tuple[Any, Any]:
        return replace(lt, unit=other), lv
    said = "a count of elements where a byte count is declared" if t.unit == "bytes" else \
        "a count of bytes where a count of elements is declared"
    return [(said, rule)]


def _nul(path: str, t: Any, v: Any) -> list[tuple[str, Rule]]:
    def rule(_p: str, lt: Any, lv: Any) -> tuple[Any, Any]:
        return replace(lt, max=lt.max + 1), lv + ("\0" if isinstance(lv, str) else b"\0")
    return [("sent with its NUL terminator, counted in its length", rule)]


def _bigint(path: str, t: Any, v: Any) -> list[tuple[str, Rule]]:
    def fixed(n: int) -> Rule:
        def rule(_p: str, lt: Any, lv: Any) -> tuple[Any, Any]:
            raw = codec.bigint_bytes(lv, lt.order)
            size = n if n else len(raw) + 1
            if size < len(raw):
                raise _Skip()
            pad = (b"\xff" if lv < 0 else b"\x00") * (size - len(raw))
            return S.Bytes(max=max(lt.max, size), utf8=False, count=lt.count), (
                raw + pad if lt.order == "little" else pad + raw)
        return rule
    return [("written in a fixed 8 bytes, not minimal two's complement", fixed(8)),
            ("written with one sign byte too many", fixed(0))]


def _signedness(path: str, t: Any, v: Any) -> list[tuple[str, Rule]]:
    out = []
    for w in INT_WIDTHS:
        if w >= t.size:
            continue

        def rule(_p: str, lt: Any, lv: Any, w: int = w) -> tuple[Any, Any]:
            return lt, (lv & ((1 << (8 * w)) - 1) if isinstance(lv, int) and lv < 0 else lv)
        out.append((f"a negative value zero-extended from {8 * w} bits where {t.name} is declared "
                    f"(not sign-extended)", rule))
    return out


def _other_sign(path: str, t: Any, v: Any) -> list[tuple[str, Rule]]:
    """A value beyond its type's range that the same width with the other signedness holds: the
    decode side's bug replayed (an i16 read as a u16 reports 65535 for -1)."""
    name = ("u" if t.signed else "i") + str(8 * t.size)

    def rule(_p: str, lt: Any, lv: Any) -> tuple[Any, Any]:
        return _prim(name, lt.order), lv
    return [(f"{name} where {t.name} is declared (the same bits read with the other signedness)", rule)]


def _is_int(t: Any) -> bool:
    p = _prim_of(t)
    return p is not None and p.kind in ("int", "uint") and not isinstance(t, S.Count)


CLASSES = [
    _Class("byteswap", _swappable, _byteswap),
    _Class("width", lambda p, t, v: _is_int(t) and isinstance(t, S.Prim), _width),
    _Class("float_width", lambda p, t, v: isinstance(t, S.Prim) and t.kind == "float", _float_width),
    _Class("through_double", lambda p, t, v: isinstance(t, S.Prim) and t.kind in ("int", "uint") and t.size == 8
           and isinstance(v, int) and abs(v) > (1 << 53), _through_double),
    _Class("prefix_width", lambda p, t, v: isinstance(t, S.Count) and t.prefix is not None, _prefix_width),
    _Class("length_unit", lambda p, t, v: isinstance(t, S.Count) and t.prefix is not None, _length_unit),
    _Class("nul_counted", lambda p, t, v: isinstance(t, S.Bytes) and isinstance(v, (str, bytes)), _nul),
    _Class("bigint_form", lambda p, t, v: isinstance(t, S.BigInt) and isinstance(v, int), _bigint),
    _Class("signedness", lambda p, t, v: isinstance(t, S.Prim) and t.kind == "int" and t.signed and t.size > 1
           and isinstance(v, int) and v < 0, _signedness),
    _Class("signedness", lambda p, t, v: isinstance(t, S.Prim) and t.kind == "int" and isinstance(v, int)
           and not t.min <= v <= t.max, _other_sign),
]


# ------------------------------------------------------------------ the search

class _Search:
    def __init__(self, msg: S.Message, value: Any, actual: bytes, version: int | None) -> None:
        self.msg, self.value, self.actual, self.version = msg, value, actual, version
        self.tries, self.start = 0, time.monotonic()

    @property
    def spent(self) -> bool:
        return (self.tries >= min(BUDGET, BUDGET_BYTES // max(len(self.actual), 1)) or
                time.monotonic() - self.start > BUDGET_S)

    def encodes(self, msg: S.Message, value: Any) -> bool:
        """Whether msg carrying value encodes to the actual bytes."""
        self.tries += 1
        try:
            return codec.encode(msg, value, self.version) == self.actual
        except Exception:     # a hypothesis the codec refuses is not the cause
            return False

    def attempt(self, rule: Rule, only: set[str] | None) -> tuple[str, ...] | None:
        """The leaves the rule rewrote (within `only`) when that gives the actual bytes, else None."""
        touched: list[str] = []

        def scoped(p: str, lt: Any, lv: Any) -> tuple[Any, Any] | None:
            if only is not None and p not in only:
                return None
            got = rule(p, lt, lv)
            if got is not None:
                touched.append(p)
            return got
        try:
            t, v = _rewrite(self.msg, self.value, self.msg.name, scoped)
        except Exception:
            return None
        if not touched or not self.encodes(t, v):
            return None
        return tuple(touched)


def _effective(touched: tuple[str, ...], expected: bytes, actual: bytes,
               spans: dict[str, tuple[int, int]] | None) -> tuple[str, ...]:
    """The touched fields whose bytes the bug changed (a zero swapped is still zero), when the
    sizes are the same and the walk says where each field is."""
    if not spans or len(expected) != len(actual):
        return touched
    out = tuple(p for p in touched if p not in spans or
                expected[spans[p][0]:sum(spans[p])] != actual[spans[p][0]:sum(spans[p])])
    return out or touched


def _fields_of(touched: tuple[str, ...]) -> tuple[str, ...]:
    """The paths an explanation names: the elements of one array as `a[]`, unless only one is."""
    groups: dict[str, list[str]] = {}
    for p in touched:
        groups.setdefault(_seq_elem(p), []).append(p)
    return tuple(g if len(ps) > 1 else ps[0] for g, ps in groups.items())


def _seq_elem(path: str) -> str:
    """The field a leaf belongs to: array elements are one field (a[3] -> a[])."""
    out, depth = [], 0
    for ch in path:
        if ch == "[":
            depth += 1
            out.append("[]")
        elif ch == "]":
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def explain(msg: S.Message, value: Any, actual: bytes, version: int | None = None,
            spans: dict[str, tuple[int, int]] | None = None) -> list[Explanation]:
    """Every bug class, over every field of one kind or over one field, that turns `value`'s
    encoding into `actual`. Narrow first: a class that reproduces the bytes on one field is not
    also reported over all fields of its kind. `spans` (path -> offset, size in the expected
    bytes, as diagnose.walk gives them) lets the search skip the scopes that cannot reproduce
    the bytes: a bug changes nothing before its first field, and nothing after its last but
    where the rest lands."""
    s = _Search(msg, value, actual, version)
    found: dict[tuple[str, tuple[str, ...]], Explanation] = {}
    viable = _viability(msg, value, actual, version, spans)
    try:
        value_bytes = codec.encode(msg, value, version)
    except Exception:
        value_bytes = b""
    try:
        all_leaves = list(leaves(msg, value, msg.name))
        for cls in CLASSES:
            apt = [(p, t, v) for p, t, v in all_leaves if _safe(cls.applies, p, t, v)]
            if not apt:
                continue
            groups: dict[str, set[str]] = {}
            for p, t, _ in apt:
                groups.setdefault(_seq_elem(p), set()).add(p)
            kinds: dict[str, set[str]] = {}
            for p, t, _ in apt:     # every field of one type, with or without the length prefixes of that type
                kinds.setdefault(_kind(t), set()).add(p)
                if _prim_of(t) is not None:
                    kinds.setdefault(_prim_of(t).name, set()).add(p)   # type: ignore[union-attr]
            scopes = list(groups.values())
            for k in kinds.values():
                if len(k) > 1 and k not in scopes:
                    scopes.append(k)
            everything = {x[0] for x in apt}
            if cls.cause == "byteswap" and len(apt) > 1 and everything not in scopes:
                scopes.append(everything)   # the whole message in the other byte order
            first = {p: (t, v) for p, t, v in apt}
            for scope in scopes:
                if s.spent:
                    break
                if not viable(scope):
                    continue
                p0 = min(scope, key=lambda p: [x[0] for x in apt].index(p))
                t0, v0 = first[p0]
                try:
                    variants = cls.variants(p0, t0, v0)
                except Exception:
                    continue
                for says, rule in variants:
                    touched = s.attempt(rule, scope)
                    if touched:
                        fields = _fields_of(_effective(touched, value_bytes, actual, spans))
                        if cls.cause in ("prefix_width", "length_unit"):     # the field whose length it is
                            fields = tuple(f.rsplit(".", 1)[0] for f in fields)
                        found.setdefault((cls.cause, fields), Explanation(cls.cause, fields, says))
        if not s.spent:
            for e in _field_orders(s, msg, value) + _missing(s, msg, value, viable) + _layouts(s, msg, value):
                found.setdefault((e.cause, e.fields), e)
    except Exception:   # never let an explanation break a diagnosis
        pass
    order = {p: i for i, p in enumerate(spans or {})}
    return sorted(_narrowest(list(found.values())),
                  key=lambda e: (len(e.fields), min(order.get(p, order.get(p.replace("[]", "[0]"), len(order)))
                                                    for p in e.fields)))


def first_difference(a: bytes, b: bytes, step: int = 4096) -> int:
    """The offset of the first byte where a and b differ (the shorter length when one is a prefix
    of the other), comparing slices a page at a time: a megabyte payload costs microseconds."""
    n = min(len(a), len(b))
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        if a[lo:hi] != b[lo:hi]:
            return next(i for i in range(lo, hi) if a[i] != b[i])
    return n


def _viability(msg: S.Message, value: Any, actual: bytes, version: int | None,
               spans: dict[str, tuple[int, int]] | None) -> Callable[[set[str]], bool]:
    if not spans:
        return lambda scope: True
    try:
        expected = codec.encode(msg, value, version)
    except Exception:
        return lambda scope: True
    first = first_difference(expected, actual)
    same_tail = first_difference(expected[::-1], actual[::-1])

    def viable(scope: set[str]) -> bool:
        parts = []
        for p in scope:
            base = p.rsplit("[", 1)[0] if p.endswith("]") else p
            for q in (p, f"{p}.len", f"{p}.count", f"{base}.count", f"{base}.len"):
                if q in spans:
                    parts.append(spans[q])
            if p not in spans:
                return True    # a path the walk names otherwise: no judgement
        start = min(o for o, _ in parts)
        end = max(o + n for o, n in parts)
        return start <= first and len(expected) - end <= same_tail
    return viable


def _safe(fn: Callable[..., bool], *args: Any) -> bool:
    try:
        return bool(fn(*args))
    except Exception:
        return False


def _narrowest(found: list[Explanation]) -> list[Explanation]:
    """Per cause, drop an explanation whose fields include another's of the same cause."""
    return [e for e in found
            if not any(o is not e and o.cause == e.cause and set(o.fields) < set(e.fields) for o in found)]


def _field_orders(s: _Search, msg: S.Message, value: Any) -> list[Explanation]:
    """Two adjacent fields of a struct written in swapped order (at the top level and one level in)."""
    out = []
    for path, struct_t, holder in _structs(msg, value, msg.name):
        fields = list(struct_t.fields)
        for i in range(len(fields) - 1):
            if s.spent:
                return out
            a, b = fields[i], fields[i + 1]
            if not (a.has_value and b.has_value):
                continue
            swapped = fields[:i] + [b, a] + fields[i + 2:]
            new_t = _replace_struct(msg, path, replace(struct_t, fields=tuple(swapped)), msg.name)
            if new_t is not None and s.encodes(new_t, value):
                out.append(Explanation("field_order", (f"{path}.{a.name}", f"{path}.{b.name}"),
                                       f"{a.name} and {b.name} written in swapped order"))
    return out


def _missing(s: _Search, msg: S.Message, value: Any, viable: Callable[[set[str]], bool]) -> list[Explanation]:
    """A field left out (at the top level and one level in)."""
    out = []
    for path, struct_t, holder in _structs(msg, value, msg.name):
        for i, f in enumerate(struct_t.fields):
            if s.spent:
                return out
            if not f.has_value or not viable({f"{path}.{f.name}"}):
                continue
            new_t = _replace_struct(msg, path, replace(struct_t, fields=struct_t.fields[:i] + struct_t.fields[i + 1:]),
                                    msg.name)
            if new_t is not None and s.encodes(new_t, _without(value, path[len(msg.name):], f.name)):
                out.append(Explanation("missing_field", (f"{path}.{f.name}",), f"{f.name} left out"))
    return out


def _layouts(s: _Search, msg: S.Message, value: Any) -> list[Explanation]:
    """The message laid out like a C struct (a sender that writes its host struct), or a C-layout
    one sent packed; named at the fields whose padding differs."""
    out = []
    host = ("laid out like a C struct: each field at its natural alignment, padding written (the sender wrote its "
            "host struct, write(fd, &s, sizeof s))")
    for convert, says in ((lambda t, p, pads: _as_c(t, p, pads, tail=True), host),
                          (lambda t, p, pads: _as_c(t, p, pads, tail=False), host + ", but not the tail padding"),
                          (_as_packed, "sent packed: the padding of the C layout left out")):
        if s.spent:
            break
        pads: list[str] = []
        new = convert(msg, msg.name, pads)
        if new is not None and pads and s.encodes(replace(msg, fields=new.fields, layout=new.layout), value):
            out.append(Explanation("padding", tuple(pads), says))
    return out


def _as_c(t: S.Struct, path: str, pads: list[str], tail: bool = True) -> S.Struct | None:
    """t (and the structs in it) laid out as a C compiler would: padding before each field to its
    natural alignment and (tail) at the end; None when a field has no fixed size (no C member)."""
    fields: list[S.Field] = []
    off, align = 0, 1
    for f in t.fields:
        if f.implicit:
            return None     # already C
        ft = f.type
        inner, dims = ft, []
        while isinstance(inner, S.Array):
            dims.append(inner)
            inner = inner.elem
        if isinstance(inner, S.Struct):
            sub = _as_c(inner, f"{path}.{f.name}", pads)
            if sub is None:
                return None
            for a in reversed(dims):
                sub = replace(a, elem=sub)
            ft = sub
        size = S.fixed_size(ft)
        if size is None or isinstance(ft, (S.Union, S.BigInt)):
            return None
        a = S.alignment(ft)
        gap = -off % a
        if gap:
            fields.append(S.Field(f.name, S.Pad(gap), implicit=True))
            pads.append(f"{path}.{f.name}")
        fields.append(replace(f, type=ft))
        off += gap + size
        align = max(align, a)
    if tail and -off % align:
        fields.append(S.Field("", S.Pad(-off % align), implicit=True))
    return replace(t, fields=tuple(fields), layout="c")


def _as_packed(t: S.Struct, path: str, pads: list[str]) -> S.Struct | None:
    """t (and the structs in it) without the implicit padding of their C layout."""
    if t.layout != "c":
        return None
    fields: list[S.Field] = []
    for f in t.fields:
        if f.implicit:
            pads.append(f"{path}.{f.name}" if f.name else f"{path}.(end)")
            continue
        ft, dims = f.type, []
        while isinstance(ft, S.Array):
            dims.append(ft)
            ft = ft.elem
        if isinstance(ft, S.Struct) and ft.layout == "c":
            sub = _as_packed(ft, f"{path}.{f.name}", pads)
            if sub is not None:
                for a in reversed(dims):
                    sub = replace(a, elem=sub)
                f = replace(f, type=sub)
        fields.append(f)
    return replace(t, fields=tuple(fields), layout="packed")


def _without(value: Any, path: str, name: str) -> Any:
    """value without the key `name` of the struct at `path` (".a.b" below the message)."""
    if not path:
        return {k: v for k, v in value.items() if k != name}
    head, _, rest = path[1:].partition(".")
    return {**value, head: _without(value[head], "." + rest if rest else "", name)}


def _structs(t: S.Struct, value: Any, path: str, depth: int = 0) -> Iterator[tuple[str, S.Struct, Any]]:
    yield path, t, value
    if depth >= 2 or not isinstance(value, dict):
        return
    for f in t.fields:
        if isinstance(f.type, S.Struct) and f.name in value:
            yield from _structs(f.type, value[f.name], f"{path}.{f.name}", depth + 1)


def _replace_struct(t: S.Struct, path: str, new: S.Struct, here: str) -> S.Struct | None:
    if here == path:
        return new
    fields = []
    hit = False
    for f in t.fields:
        if isinstance(f.type, S.Struct) and path.startswith(f"{here}.{f.name}"):
            sub = _replace_struct(f.type, path, new, f"{here}.{f.name}")
            if sub is not None:
                f, hit = replace(f, type=sub), True
        fields.append(f)
    return replace(t, fields=tuple(fields)) if hit else None


def char_garbage(msg: S.Message, expected: bytes, actual: bytes, spans: list) -> Explanation | None:
    """The actual bytes are the expected ones but for non-zero bytes after the NUL of char[N]
    fields (spans: diagnose.walk's over the expected bytes)."""
    if len(expected) != len(actual) or expected == actual:
        return None
    touched, masked = [], bytearray(actual)
    for sp in spans:
        if not sp.type.startswith("char["):
            continue
        e = expected[sp.offset:sp.offset + sp.size]
        nul = e.find(b"\0")
        if nul < 0:
            continue
        a = actual[sp.offset:sp.offset + sp.size]
        if a[:nul + 1] == e[:nul + 1] and a[nul + 1:] != e[nul + 1:]:
            touched.append(sp.path)
            masked[sp.offset + nul + 1:sp.offset + sp.size] = e[nul + 1:]
    if touched and bytes(masked) == expected:
        return Explanation("char_garbage", tuple(touched), "bytes after the NUL terminator are not zero "
                           "(the rest of the sender's buffer went out with the text)")
    return None


def clear_caches() -> None:
    """The codec caches its plans by type; the re-enacted types are one-offs."""
    for fn in (codec.codec_for, getattr(codec, "_message_codec", None), getattr(codec, "_group_codec", None)):
        if fn is not None and hasattr(fn, "cache_info") and fn.cache_info().currsize > 20000:
            fn.cache_clear()
