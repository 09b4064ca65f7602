"""Quirks: behaviours of real libraries a peer's manifest declares, turned into expected failures.

A library under test may not carry every value the schema allows: Python's float quiets a
signalling NaN, a library may take text as ASCII only, or refuse the values an open enum leaves
unnamed. Its peer says so in its manifest, with the side of the codec where it shows:

    [quirks]
    quiets-snan = "decode"      # "encode", "decode" or "both"
    ascii-text = "both"
    ranges = { "ReadCoilsRequest.quantity" = [1, 2000] }   # refuses other values (both sides)

A cell in which that peer does that side of the codec on a case whose value holds such a value
is an expected failure (xfail), its reason naming the quirk and the manifest; if it passes, it
is an unexpected pass and fails the run, like a listed cell (harness/expected.py), so a
declaration that is no longer true does not stay. Cells whose values do not touch the quirk run
as usual: the rest of the library is checked in full.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator

from . import schema as S
from .values import F32, F64

SIDES = ("encode", "decode", "both")


def _snan(t: Any, v: Any) -> bool:
    if isinstance(v, F32):
        return (v.bits & 0x7F800000) == 0x7F800000 and (v.bits & 0x007FFFFF) != 0 and not v.bits >> 22 & 1
    if isinstance(v, F64):
        exp, frac = 0x7FF0000000000000, (1 << 52) - 1
        return (v.bits & exp) == exp and (v.bits & frac) != 0 and not v.bits >> 51 & 1
    return False


def _unnamed_enum(t: Any, v: Any) -> bool:
    return isinstance(t, S.Enum) and t.open and isinstance(v, int) and t.name_of(v) is None


def _text(t: Any, v: Any) -> bool:
    is_text = isinstance(t, S.CharArray) or (isinstance(t, S.Bytes) and t.utf8)
    if not is_text or not isinstance(v, (bytes, str)):
        return False
    data = v.encode("utf-8") if isinstance(v, str) else v
    return any(b >= 0x80 for b in data)


# name -> (what it means, the test on one (type, value) leaf)
CATALOGUE: dict[str, tuple[str, Callable[[Any, Any], bool]]] = {
    "quiets-snan": ("quiets signalling NaNs (a float that passes through the language's double)", _snan),
    "ascii-text": ("carries text fields (char[N], string) as ASCII only", _text),
    "closed-enums": ("refuses the values an open enum leaves unnamed", _unnamed_enum),
}


RANGES = "ranges"   # the quirk with a table: field path -> [low, high], checked on both sides


def parse(table: object, where: str) -> tuple[tuple[str, Any], ...]:
    """A manifest's [quirks] table, checked: ((quirk, side), ...); ranges: ("ranges", ((path, low, high), ...))."""
    from .errors import ManifestError
    if not isinstance(table, dict):
        raise ManifestError(f"{where}: [quirks] must be a table of quirk = \"encode\" | \"decode\" | \"both\"")
    out: list[tuple[str, Any]] = []
    for name, side in table.items():
        if name == RANGES:
            ok = isinstance(side, dict) and all(
                isinstance(k, str) and "." in k and isinstance(v, list) and len(v) == 2
                and all(isinstance(x, int) and not isinstance(x, bool) for x in v) and v[0] <= v[1]
                for k, v in side.items())
            if not ok:
                raise ManifestError(f"{where}: quirks.ranges maps \"Message.field\" to [low, high], "
                                    "e.g. { \"ReadCoilsRequest.quantity\" = [1, 2000] }")
            out.append((RANGES, tuple((k, v[0], v[1]) for k, v in side.items())))
            continue
        if name not in CATALOGUE:
            raise ManifestError(f"{where}: unknown quirk {name!r}; known: {', '.join(CATALOGUE)}")
        if side not in SIDES:
            raise ManifestError(f"{where}: quirks.{name} must be one of {', '.join(SIDES)}, got {side!r}")
        out.append((name, side))
    return tuple(out)


def leaves(t: Any, v: Any) -> Iterator[tuple[Any, Any]]:
    """Every (type, value) pair in a value, the containers' too."""
    yield t, v
    if isinstance(t, S.Struct) and isinstance(v, dict):
        for f in t.value_fields:
            if f.name not in v:
                continue
            ft = f.type
            if isinstance(ft, S.Union):      # the case the discriminator (an earlier field) picks
                case = ft.case(v.get(ft.on))
                if case is None or case.type is None:
                    continue
                ft = case.type
            yield from leaves(ft, v[f.name])
    elif isinstance(t, (S.Array, S.Vec)) and isinstance(v, list):
        for item in v:
            yield from leaves(t.elem, item)


def triggered(message: S.Message, value: Any, quirk: str) -> bool:
    test = CATALOGUE[quirk][1]
    return any(test(t, v) for t, v in leaves(message, value))


def _at(value: Any, path: list[str]) -> list[Any]:
    """The values at a dotted path (through lists: every element)."""
    if not path:
        return value if isinstance(value, list) else [value]
    if isinstance(value, list):
        return [x for item in value for x in _at(item, path)]
    if isinstance(value, dict) and path[0] in value:
        return _at(value[path[0]], path[1:])
    return []


def out_of_range(message: S.Message, value: Any, ranges: tuple[tuple[str, int, int], ...]) -> str | None:
    for path, low, high in ranges:
        head, *rest = path.split(".")
        if head != message.name:
            continue
        bad = [v for v in _at(value, rest) if isinstance(v, int) and not low <= v <= high]
        if bad:
            return f"{path} = {bad[0]}, outside {low}..{high}"
    return None


def sides(kind: str, role: str) -> set[str]:
    """The sides of the codec a peer does in a cell of `kind` as `role` ("sender"/"receiver")."""
    if kind == "encode":
        return {"encode"}
    if kind == "decode":
        return {"decode"}
    if kind == "send":
        return {"encode"} if role == "sender" else {"decode"}
    return {"encode", "decode"}        # echo: both sides decode and encode


def reason(cell: Any, registry: dict[str, Any]) -> str | None:
    """Why this cell is expected to fail by a declared quirk, else None."""
    roles = [("sender", cell.sender)] + ([("receiver", cell.receiver)] if cell.receiver != cell.sender else [])
    for role, name in roles:
        spec = registry.get(name)
        for quirk, side in getattr(spec, "quirks", ()):
            if quirk == RANGES:
                hit = out_of_range(cell.case.message, cell.case.value, side)
                if hit:
                    return f"peer {name} refuses {hit} (quirks.ranges in {spec.manifest})"
                continue
            wanted = {"encode", "decode"} if side == "both" else {side}
            if wanted & sides(cell.kind, role) and triggered(cell.case.message, cell.case.value, quirk):
                return f"peer {name} {CATALOGUE[quirk][0]} (quirks.{quirk} in {spec.manifest})"
    return None
