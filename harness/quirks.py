"""Quirks: behaviours of real libraries a peer's manifest declares, turned into expected failures.

A library under test may not carry every value the schema allows: Python's float quiets a
signalling NaN, a library may take text as ASCII only, or refuse the values an open enum leaves
unnamed. Its peer says so in its manifest, with the side of the codec where it shows:

    [quirks]
    quiets-snan = "decode"      # "encode", "decode" or "both"
    ascii-text = "both"
    ranges = { "ReadCoilsRequest.quantity" = [1, 2000] }   # refuses other values (both sides; or
                                                            # [0, 2000, "encode"], or a list of those)

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
            entries = _ranges(side)
            if entries is None:
                raise ManifestError(f"{where}: quirks.ranges maps \"Message.field\" to [low, high] (both sides), "
                                    "[low, high, \"encode\" | \"decode\"], or a list of those, e.g. "
                                    "{ \"ReadCoilsRequest.quantity\" = [[0, 2000, \"encode\"], [1, 2000, \"decode\"]] }")
            out.append((RANGES, entries))
            continue
        if name not in CATALOGUE:
            raise ManifestError(f"{where}: unknown quirk {name!r}; known: {', '.join(CATALOGUE)}")
        if side not in SIDES:
            raise ManifestError(f"{where}: quirks.{name} must be one of {', '.join(SIDES)}, got {side!r}")
        out.append((name, side))
    return tuple(out)


def _ranges(table: object) -> tuple[tuple[str, int, int, str], ...] | None:
    """quirks.ranges, checked: ((path, low, high, side), ...), or None when malformed."""
    if not isinstance(table, dict):
        return None
    out = []
    for path, value in table.items():
        if not isinstance(path, str) or "." not in path or not isinstance(value, list) or not value:
            return None
        for entry in value if isinstance(value[0], list) else [value]:
            if not isinstance(entry, list) or len(entry) not in (2, 3):
                return None
            low, high, *side = entry
            side = side[0] if side else "both"
            if not all(isinstance(x, int) and not isinstance(x, bool) for x in (low, high)) or low > high \
                    or side not in SIDES:
                return None
            out.append((path, low, high, side))
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


def _counted(message: S.Message, value: Any, path: list[str]) -> list[int]:
    """A count field (no value of its own: `count = "quantity"` on a later vec) as the number of
    elements it carries in this value."""
    if len(path) != 1 or not isinstance(value, dict):
        return []
    f = next((f for f in message.fields if f.name == path[0]), None)
    if f is None or not f.count_of:
        return []
    target = next((t for t in message.fields if t.name == f.count_of), None)
    counts = getattr(getattr(target, "type", None), "count", None)
    unit = dict(getattr(counts, "fields", ())).get(f.name, "elements")
    items = value.get(f.count_of)
    return [len(items)] if unit == "elements" and isinstance(items, (list, bytes, str)) else []


def out_of_range(message: S.Message, value: Any, ranges: tuple[tuple[str, int, int, str], ...],
                 sides: set[str] | None = None) -> str | None:
    """The first declared range this value breaks on one of `sides` of the codec (None: any side)."""
    for path, low, high, side in ranges:
        if sides is not None and not ({"encode", "decode"} if side == "both" else {side}) & sides:
            continue
        head, *rest = path.split(".")
        if head != message.name:
            continue
        bad = [v for v in _at(value, rest) + _counted(message, value, rest)
               if isinstance(v, int) and not low <= v <= high]
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
    plays: dict[str, set[str]] = {}          # peer -> the sides of the codec it does in this cell
    for role, name in (("sender", cell.sender), ("receiver", cell.receiver)):
        if cell.kind in ("encode", "decode") and role == "receiver":
            continue
        plays.setdefault(name, set()).update(sides(cell.kind, role))
    for name, done in plays.items():
        spec = registry.get(name)
        for quirk, side in getattr(spec, "quirks", ()):
            if quirk == RANGES:
                hit = out_of_range(cell.case.message, cell.case.value, side, done)
                if hit:
                    return f"peer {name} refuses {hit} (quirks.ranges in {spec.manifest})"
                continue
            wanted = {"encode", "decode"} if side == "both" else {side}
            if wanted & done and triggered(cell.case.message, cell.case.value, quirk):
                return f"peer {name} {CATALOGUE[quirk][0]} (quirks.{quirk} in {spec.manifest})"
    return None
