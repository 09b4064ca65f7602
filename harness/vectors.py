"""Test cases: systematic special values and seeded random values per message, frozen with
their exact bytes in protocols/vectors/golden.json, each with its value twice: as JSON and in the
contract's text form ("text", what ENCODE takes and DECODE replies), so a peer's own unit tests
can use the file without knowing the schema.

Cases are derived from the schema: for a message, every special name that one of its leaf
types knows ("max", "neg_zero", "snan_payload", "multibyte", "pow127", ...) gives a case in
which each leaf takes that special (or its plain "one" value when its type has no such
special). Hand-written cases (values only) live in protocols/vectors/extra.json.

The golden file is generated once and committed: a codec that no longer reproduces its bytes
fails loudly instead of silently re-baselining (`python -m harness vectors`).
"""
from __future__ import annotations

import json
import random
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import codec
from . import schema as S
from .errors import CrosswireError
from .textform import format_message
from .values import F32, F64

RANDOM_PER_MESSAGE = 4
SEED = 20261124

# ------------------------------------------------------------------ special values

F32_SPECIALS = {
    "zero": 0x00000000, "neg_zero": 0x80000000, "one": 0x3F800000, "minus_one": 0xBF800000,
    "inf": 0x7F800000, "neg_inf": 0xFF800000, "qnan": 0x7FC00000, "qnan_payload": 0xFFC12345,
    "snan_payload": 0x7FA00001, "snan_min": 0x7F800001, "min_subnormal": 0x00000001,
    "max_subnormal": 0x007FFFFF, "min_normal": 0x00800000, "max": 0x7F7FFFFF, "min": 0xFF7FFFFF,
    "pi": 0x40490FDB,
}
F64_SPECIALS = {
    "zero": 0x0, "neg_zero": 0x8000000000000000, "one": 0x3FF0000000000000,
    "minus_one": 0xBFF0000000000000, "inf": 0x7FF0000000000000, "neg_inf": 0xFFF0000000000000,
    "qnan": 0x7FF8000000000000, "qnan_payload": 0xFFF80000DEADBEEF,
    "snan_payload": 0x7FF4000000000001, "snan_min": 0x7FF0000000000001,
    "min_subnormal": 0x1, "max_subnormal": 0x000FFFFFFFFFFFFF, "min_normal": 0x0010000000000000,
    "max": 0x7FEFFFFFFFFFFFFF, "min": 0xFFEFFFFFFFFFFFFF, "pi": 0x400921FB54442D18,
}
MULTIBYTE = "é€😀ж✓"  # 2, 3, 4, 2 and 3 bytes of UTF-8


def _bigint_specials(t: S.BigInt) -> dict[str, int]:
    top = 8 * t.max - 1
    out = {"zero": 0, "one": 1, "minus_one": -1, "min": -(1 << top), "max": (1 << top) - 1}
    for p in (63, 64, 127, 128, 200):
        if p < top:
            out[f"pow{p}"], out[f"neg_pow{p}"] = 1 << p, -(1 << p)
    if 64 < top:
        out["pow64_minus_one"] = (1 << 64) - 1
    return out


def _fill(unit: str, limit: int) -> str:
    """As many whole characters of `unit`, repeated, as fit in `limit` UTF-8 bytes."""
    out, size = [], 0
    while True:
        for ch in unit:
            n = len(ch.encode())
            if size + n > limit:
                return "".join(out)
            out.append(ch)
            size += n


def specials(t: S.Type) -> dict[str, Any]:
    """The named special values of a leaf type (always with "zero" and "one")."""
    if isinstance(t, S.Prim):
        if t.kind == "float":
            cls, table = (F32, F32_SPECIALS) if t.size == 4 else (F64, F64_SPECIALS)
            return {k: cls(v) for k, v in table.items()}
        if t.kind == "bool":
            return {"zero": False, "one": True}
        out = {"zero": 0, "one": 1, "min": t.min, "max": t.max}
        out["minus_one"] = -1 if t.signed else t.max  # all bits set
        return out
    if isinstance(t, S.Enum):
        vals = list(t.values.values())
        out = {"zero": 0 if 0 in vals else min(vals), "one": 1 if 1 in vals else max(vals),
               "minus_one": -1 if -1 in vals else max(vals), "min": min(vals), "max": max(vals)}
        if t.open:   # a value no name is given: it must pass, as it is
            out["unknown"] = next(v for v in (t.base.max, t.base.min, t.base.max - 1, 3, 2, 1, 0)
                                  if t.base.min <= v <= t.base.max and v not in vals)
        return out
    if isinstance(t, S.Flags):
        bits = sorted(t.bits.values())
        out = {"zero": 0, "one": 1 << bits[0], "max": t.mask, "min": 1 << bits[-1],
               "minus_one": t.base.max if t.keep_unknown else t.mask}
        if t.keep_unknown and t.mask != t.base.max:
            out["unknown"] = t.base.max & ~t.mask
        return out
    if isinstance(t, S.CharArray):
        return {"zero": b"", "one": b"a", "max": bytes(0x41 + i % 26 for i in range(t.n)),
                "multibyte": _fill(MULTIBYTE, t.n).encode(), "high_bytes": b"\xff\x80"[: t.n]}
    if isinstance(t, S.Bytes):
        if t.utf8:
            return {"zero": "", "one": "a", "max": _fill("abcdefghijklmnopqrstuvwxyz", t.max),
                    "multibyte": _fill(MULTIBYTE, t.max), "nul": "\0"[: t.max]}
        return {"zero": b"", "one": b"\x01", "max": bytes(range(256)) * (t.max // 256) + bytes(range(t.max % 256)),
                "nul": b"\0" * min(t.max, 3), "high_bytes": b"\xff" * min(t.max, 8)}
    if isinstance(t, S.BigInt):
        return _bigint_specials(t)
    raise TypeError(f"not a leaf type: {t!r}")


def special_names(t: S.Type, seen: set[str] | None = None) -> list[str]:
    """Every special name some leaf of `t` knows, in first-seen order; a union adds one name per
    case ("case_<name>"), in which it takes that case."""
    names: list[str] = []
    if isinstance(t, S.Struct):
        for f in t.value_fields:
            names += special_names(f.type)
    elif isinstance(t, (S.Array, S.Vec)):
        names += special_names(t.elem)
    elif isinstance(t, S.Union):
        for c in t.cases:
            if c.type is not None:
                names += special_names(c.type)
        names += [f"case_{c.name}" for c in t.cases]
    else:
        names += list(specials(t))
    return list(dict.fromkeys(names))


def pick_case(t: S.Union, name: str) -> S.UnionCase:
    """The case a union takes in the special case `name`: the one it names, else a fixed
    choice spread over the cases."""
    for c in t.cases:
        if name == f"case_{c.name}":
            return c
    return t.cases[zlib.crc32(name.encode()) % len(t.cases)]


def _with_unions(t: S.Struct, value: dict, choose: Any) -> dict:
    """Set each union of a struct value (and its discriminator) to the case `choose` picks."""
    for f in t.value_fields:
        if isinstance(f.type, S.Union):
            case, inner = choose(f.type)
            value[f.type.on] = case.tag
            value[f.name] = inner
    return value


def _struct_value(t: S.Struct, value_of: Any, pick: Any) -> dict:
    """A struct's value: value_of(type) for each field in order, then each union's case as
    pick(union) chooses it (and its value, by value_of), its discriminator set to match."""
    value = {f.name: value_of(f.type) for f in t.value_fields if not isinstance(f.type, S.Union)}

    def choose(u: S.Union) -> tuple[S.UnionCase, Any]:
        c = pick(u)
        return c, None if c.type is None else value_of(c.type)
    value = _with_unions(t, value, choose)
    return {f.name: value[f.name] for f in t.value_fields}


def special_value(t: S.Type, name: str) -> Any:
    if isinstance(t, S.Struct):
        value = {f.name: special_value(f.type, name) for f in t.value_fields if not isinstance(f.type, S.Union)}

        def choose(u: S.Union) -> tuple[S.UnionCase, Any]:
            c = pick_case(u, name)
            return c, None if c.type is None else special_value(c.type, "one" if name.startswith("case_") else name)
        value = _with_unions(t, value, choose)
        return {f.name: value[f.name] for f in t.value_fields}
    if isinstance(t, S.Array):
        return [special_value(t.elem, name) for _ in range(t.n)]
    if isinstance(t, S.Vec):
        if name == "zero":
            return []
        count = t.max if name == "max" else min(t.max, 2)
        return [special_value(t.elem, name) for _ in range(count)]
    table = specials(t)
    return table.get(name, table["one"])


# ------------------------------------------------------------------ distinct values

def distinct_value(t: S.Type, counter: list[int] | None = None) -> Any:
    """A value whose every field and element holds a different value, each with a byte pattern
    of its own that is not a palindrome (and, every other one, a high bit set; every fourth, a
    limit of its type): so that two fields written in swapped order, elements one width too wide
    or a field byte-swapped never look right by accident, as they do on all-equal specials."""
    k = counter if counter is not None else [0]
    if isinstance(t, S.Struct):
        def pick(u: S.Union) -> S.UnionCase:
            k[0] += 1
            return u.cases[(k[0] - 1) % len(u.cases)]
        return _struct_value(t, lambda ft: distinct_value(ft, k), pick)
    if isinstance(t, S.Array):
        return [distinct_value(t.elem, k) for _ in range(t.n)]
    if isinstance(t, S.Vec):
        return [distinct_value(t.elem, k) for _ in range(min(t.max, 3))]
    n = k[0]
    k[0] += 1
    if isinstance(t, S.Prim) and t.kind in ("int", "uint"):
        if n % 4 == 3:
            return t.max - n if n % 8 == 3 else t.min + n
        raw = bytearray((0x11 * (n % 15 + 1) + i) & 0xFF for i in range(t.size))
        if n % 2:
            raw[-1] |= 0x80
        return int.from_bytes(raw, "little", signed=t.signed)
    if isinstance(t, S.Prim) and t.kind == "float":
        x = (n + 1) * 1.25 + n / 1024
        x = -x if n % 2 else x
        if n % 4 == 3:
            x *= 1e300 if t.size == 8 else 1e35
        return (F32 if t.size == 4 else F64).from_float(x)
    if isinstance(t, S.Prim):
        return bool(n % 2)
    if isinstance(t, S.Enum):
        vals = list(t.values.values())
        return vals[n % len(vals)]
    if isinstance(t, S.Flags):
        bits = sorted(t.bits.values())
        return (1 << bits[n % len(bits)]) | (1 << bits[(n + 1) % len(bits)])
    if isinstance(t, S.CharArray):
        return bytes(0x41 + (n + i) % 26 for i in range(min(t.n, 2 + n % 3)))
    if isinstance(t, S.Bytes):
        size = min(t.max, 2 + n % 4)
        if t.utf8:
            return "".join(chr(0x61 + (n + i) % 26) for i in range(size))
        return bytes((0x37 * n + 1 + i) & 0xFF for i in range(size))
    assert isinstance(t, S.BigInt)
    bits = min(8 * t.max - 1, 70)
    v = (1 << (bits - 1)) + 0x1234 + n
    return -v if n % 2 else v


# ------------------------------------------------------------------ random values


def random_value(t: S.Type, rng: random.Random) -> Any:
    """A value of `t`, drawn to reach edges often: limits, NaNs, empty and full lengths."""
    if isinstance(t, S.Struct):
        return _struct_value(t, lambda ft: random_value(ft, rng), lambda u: rng.choice(u.cases))
    if isinstance(t, S.Array):
        return [random_value(t.elem, rng) for _ in range(t.n)]
    if isinstance(t, S.Vec):
        return [random_value(t.elem, rng) for _ in range(_length(rng, t.max))]
    if isinstance(t, S.Prim) and t.kind == "float":
        return (F32 if t.size == 4 else F64)(rng.getrandbits(8 * t.size))  # every pattern, NaNs too
    if isinstance(t, S.Prim) and t.kind in ("int", "uint"):
        return rng.choice([t.min, t.max, 0]) if rng.random() < 0.25 else rng.randint(t.min, t.max)
    if isinstance(t, S.Prim):
        return rng.random() < 0.5
    if isinstance(t, S.Enum):
        if t.open and rng.random() < 0.25:
            return rng.randint(t.base.min, t.base.max)
        return rng.choice(list(t.values.values()))
    if isinstance(t, S.Flags):
        if t.keep_unknown:
            return rng.randint(0, t.base.max)
        return rng.getrandbits(8 * t.base.size) & t.mask
    if isinstance(t, S.CharArray):
        return bytes(rng.randint(1, 255) for _ in range(_length(rng, t.n)))
    if isinstance(t, S.Bytes):
        n = _length(rng, t.max)
        if not t.utf8:
            return rng.randbytes(n)
        chars, size = [], 0
        while True:
            ch = chr(rng.choice([rng.randint(0x20, 0x7E), rng.randint(0x80, 0x7FF),
                                 rng.randint(0xE000, 0xFFFF), rng.randint(0x10000, 0x10FFFF)]))
            size += len(ch.encode())
            if size > n:
                return "".join(chars)
            chars.append(ch)
    assert isinstance(t, S.BigInt)
    bits = rng.randint(0, 8 * t.max - 1)
    return rng.choice([1, -1]) * rng.getrandbits(bits) if bits else 0


def _length(rng: random.Random, limit: int) -> int:
    """Empty, full or in between; for huge limits (a 1 MiB blob) the full length is left to
    the "max" special case, so that the golden file holds one such value, not several."""
    if limit > 4096:
        return rng.choice([0, rng.randint(0, 4096), rng.randint(0, 256)])
    return rng.choice([0, limit, rng.randint(0, limit)])


# ------------------------------------------------------------------ cases


@dataclass(frozen=True)
class Case:
    id: str
    message: S.Message
    value: Any
    payload: bytes
    note: str = ""
    seq: int = 0                                            # the frame's, when the schema has a frame
    header: dict[str, int] = field(default_factory=dict)    # the frame's plain header fields
    frame: bytes = b""                                      # the whole frame (b"" without a frame)
    versions: dict[int, bytes] = field(default_factory=dict)   # older versions' payloads
    refuse: tuple[str, str] = ()    # a malformed payload (reject cells): the (code, path) of its ERR decode
    hostile: Any = None             # a hostile frame (hostile cells): harness/hostile.py's entry


def splitmix64(x: int) -> int:
    """PEER_CONTRACT.md's mixer: spreads a seed over all 64 bits."""
    m = (1 << 64) - 1
    x = (x + 0x9E3779B97F4A7C15) & m
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & m
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & m
    return x ^ (x >> 31)


def _field_value(p: S.Prim, seed: int) -> int:
    """A value of every byte distinct-ish, in the range of p (so a swapped byte shows)."""
    v = splitmix64(seed) & ((1 << (8 * p.size)) - 1)
    return v - (1 << (8 * p.size)) if p.signed and v > p.max else v


def frame_fields(schema: S.Schema, case_id: str) -> tuple[int, dict[str, int]]:
    """The seq and plain header values a case's frame carries: fixed by its id."""
    if schema.frame is None:
        return 0, {}
    seed = zlib.crc32(case_id.encode())
    seqf = schema.frame.role("seq")
    seq = _field_value(seqf.type, seed) if seqf else 0
    header = {h.name: _field_value(h.type, seed + 1 + i) for i, h in enumerate(schema.frame.plain)}
    return seq, header


def make_case(schema: S.Schema, cid: str, msg: S.Message, value: Any, note: str = "",
              seq: int | None = None, header: dict[str, int] | None = None) -> Case:
    """A case with its bytes computed by the reference codec: the payload, the frame, and the
    payload at each older version of the message."""
    payload = codec.encode(msg, value)
    dseq, dheader = frame_fields(schema, cid)
    seq = dseq if seq is None else seq
    header = dheader if header is None else header
    frame = codec.frame_bytes(schema, msg, seq, payload, header) if schema.frame is not None else b""
    versions = {v: codec.encode(msg, value, v) for v in msg.groups[:-1]}
    return Case(cid, msg, value, payload, note, seq, header, frame, versions)

def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def generate(schema: S.Schema, extra: Path | None = None, seed: int = SEED,
             per_message: int = RANDOM_PER_MESSAGE) -> list[Case]:
    """Every case, with its bytes computed by the reference codec."""
    cases: list[Case] = []
    for msg in schema.messages.values():
        for name in dict.fromkeys(["zero", *special_names(msg)]):
            value = special_value(msg, name)
            cases.append(make_case(schema, f"{snake(msg.name)}.{name}", msg, value))
        if msg.value_fields:
            cases.append(make_case(schema, f"{snake(msg.name)}.distinct", msg, distinct_value(msg),
                                   "every field and element a different value"))
        for i in range(per_message if msg.value_fields else 0):
            value = random_value(msg, random.Random(f"{seed}:{msg.name}:{i}"))
            cases.append(make_case(schema, f"{snake(msg.name)}.random{i}", msg, value, f"seeded random, seed {seed}"))
    if extra is not None and extra.exists():
        for item in extra_items(schema, extra):
            cases.append(item)
    ids = [c.id for c in cases]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise CrosswireError(f"duplicate case ids: {', '.join(dupes)}")
    return cases


def extra_items(schema: S.Schema, path: Path) -> list[Case]:
    """Hand-written cases: a value, maybe the frame's seq and header values, and maybe the bytes
    a specification gives for them ("expect": payload and/or frame hex), which must agree."""
    rows = _read_json(path)
    if not isinstance(rows, list):
        raise CrosswireError(f"{path}: must be a JSON list of cases")
    out = []
    for i, item in enumerate(rows):
        where = f"{path}: case {i}"
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or "message" not in item or "value" not in item:
            raise CrosswireError(f"{where}: each case is an object with id, message and value")
        where = f"{path}: {item['id']}"
        unknown = sorted(item.keys() - {"id", "message", "value", "note", "seq", "header", "expect"})
        if unknown:
            raise CrosswireError(f"{where}: unknown key(s) {', '.join(unknown)}")
        msg = schema.message(item["message"])
        value = from_json(msg, item["value"], where)
        try:
            case = make_case(schema, item["id"], msg, value, item.get("note", ""), item.get("seq"), item.get("header"))
        except CrosswireError as exc:
            raise CrosswireError(f"{where}: {exc}") from None
        for key, got in (("payload", case.payload), ("frame", case.frame)):
            want = (item.get("expect") or {}).get(key)
            if want is not None and bytes.fromhex(want.replace(" ", "")) != got:
                raise CrosswireError(f"{where}: the {key} is {got.hex(' ')}, but the case expects "
                                     f"{want} ({item.get('note', 'its note')})")
        out.append(case)
    return out


# ------------------------------------------------------------------ JSON form of values


def _field_type(t: S.Struct, f: S.Field, value: Any) -> S.Type | None:
    """A field's type in a struct value: a union's is the case its discriminator picks."""
    if isinstance(f.type, S.Union):
        case = f.type.case(value.get(f.type.on)) if isinstance(value, dict) else None
        return None if case is None else case.type
    return f.type


def to_json(t: S.Type, v: Any) -> Any:
    if isinstance(t, S.Struct):
        out = {}
        for f in t.value_fields:
            ft = _field_type(t, f, v)
            out[f.name] = None if ft is None else to_json(ft, v[f.name])
        return out
    if isinstance(t, (S.Array, S.Vec)):
        return [to_json(t.elem, x) for x in v]
    if isinstance(t, S.Prim) and t.kind == "float":
        return f"0x{v.bits:0{2 * t.size}x}"
    if isinstance(t, (S.CharArray, S.Bytes)) and isinstance(v, bytes):
        return v.hex()
    if isinstance(t, S.BigInt):
        return f"-0x{-v:x}" if v < 0 else f"0x{v:x}"
    return v  # int, bool, enum value, str


def from_json(t: S.Type, j: Any, where: str) -> Any:
    try:
        if isinstance(t, S.Struct):
            out: dict = {}
            extra = sorted(j.keys() - {f.name for f in t.value_fields})
            if extra:
                raise ValueError(f"no field(s) {', '.join(extra)}")
            for f in t.value_fields:
                ft = _field_type(t, f, out) if isinstance(f.type, S.Union) else f.type
                out[f.name] = None if ft is None else from_json(ft, j[f.name], f"{where}.{f.name}")
            return out
        if isinstance(t, (S.Array, S.Vec)):
            return [from_json(t.elem, x, f"{where}[{i}]") for i, x in enumerate(j)]
        if isinstance(t, S.Prim) and t.kind == "float":
            return (F32 if t.size == 4 else F64)(int(j, 16))
        if isinstance(t, S.CharArray) or (isinstance(t, S.Bytes) and not t.utf8):
            return bytes.fromhex(j)
        if isinstance(t, S.BigInt):
            return int(j, 16)
        return j
    except (KeyError, TypeError, ValueError) as exc:
        raise CrosswireError(f"{where}: bad value {j!r} for {S.type_name(t)}: {exc}") from None


# ------------------------------------------------------------------ the golden file


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CrosswireError(f"{path}: cannot read: {exc}") from None
    except RecursionError:
        raise CrosswireError(f"{path}: cannot read: nested too deeply") from None


def dump(cases: list[Case], schema: S.Schema | None = None) -> str:
    framed = schema is not None and schema.frame is not None
    rows = []
    for c in cases:
        r: dict[str, Any] = {"id": c.id, "message": c.message.name, **({"note": c.note} if c.note else {}),
                             "value": to_json(c.message, c.value), "text": format_message(c.message, c.value),
                             "payload": c.payload.hex()}
        if c.versions:
            r["versions"] = {str(v): p.hex() for v, p in c.versions.items()}
        if framed:
            hs, ts = schema.frame.header_size, schema.frame.trailer_size  # type: ignore[union-attr]
            r["frame"] = {"seq": c.seq, **({"header": c.header} if c.header else {}),
                          "head": c.frame[:hs].hex(), "tail": c.frame[len(c.frame) - ts:].hex() if ts else ""}
        rows.append(r)
    body = ",\n".join("  " + json.dumps(r, ensure_ascii=False) for r in rows)
    return "[\n" + body + "\n]\n"


def load(schema: S.Schema, path: Path) -> list[Case]:
    """The frozen cases, exactly as committed (bytes are not recomputed)."""
    return _cases(schema, path, _read_json(path))


def _cases(schema: S.Schema, path: Path, rows: Any) -> list[Case]:
    """The cases of a golden file, every row checked for shape: a bad file is one clear error."""
    if not isinstance(rows, list):
        raise CrosswireError(f"{path}: must be a JSON list of cases, got {type(rows).__name__}")
    cases = []
    seen: set[str] = set()
    for i, r in enumerate(rows):
        if not isinstance(r, dict) or not isinstance(r.get("id"), str):
            raise CrosswireError(f"{path}: row {i} is not an object with an id")
        where = f"{path}: {r['id']}"
        if r["id"] in seen:
            raise CrosswireError(f"{where}: duplicate case id")
        seen.add(r["id"])
        for key in ("message", "value", "payload"):
            if key not in r:
                raise CrosswireError(f"{where}: missing {key!r}")
        try:
            msg = schema.message(r["message"])
        except CrosswireError as exc:
            raise CrosswireError(f"{where}: {exc}") from None
        value = from_json(msg, r["value"], where)
        payload = _hex(r["payload"], f"{where}: payload")
        versions = {int(v): _hex(p, f"{where}: versions.{v}") for v, p in (r.get("versions") or {}).items()}
        seq, header, frame = 0, {}, b""
        if schema.frame is not None:
            fr = r.get("frame")
            if not isinstance(fr, dict):
                raise CrosswireError(f"{where}: missing \"frame\" (the schema declares a frame)")
            seq, header = fr.get("seq", 0), fr.get("header", {})
            if type(seq) is not int or not isinstance(header, dict):
                raise CrosswireError(f"{where}: frame.seq must be an integer and frame.header an object")
            frame = _hex(fr.get("head", ""), f"{where}: frame.head") + payload + _hex(fr.get("tail", ""), f"{where}: frame.tail")
        cases.append(Case(r["id"], msg, value, payload, r.get("note", ""), seq, header, frame, versions))
    return cases


def _hex(text: Any, where: str) -> bytes:
    if not isinstance(text, str):
        raise CrosswireError(f"{where}: must be a hex string, got {type(text).__name__}")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise CrosswireError(f"{where}: not hex: {text[:40]!r}") from None


def check(schema: S.Schema, golden: Path, extra: Path | None) -> list[str]:
    """Problems with the golden file: bytes the codec no longer produces, values it no longer
    decodes, cases the schema now implies but the file lacks (or the reverse)."""
    problems: list[str] = []
    rows = _read_json(golden)
    frozen = _cases(schema, golden, rows)
    texts = {row["id"]: row.get("text") for row in rows}
    for c in frozen:
        if texts[c.id] != format_message(c.message, c.value):
            problems.append(f"{c.id}: its \"text\" is not the contract's text form of its value")
        try:
            now = make_case(schema, c.id, c.message, c.value, c.note, c.seq, c.header)
        except CrosswireError as exc:
            problems.append(f"{c.id}: encoding the frozen value fails: {exc}")
            continue
        got = now.payload
        if got != c.payload:
            problems.append(f"{c.id}: encoding changed: frozen {c.payload.hex()} now {got.hex()}")
        if now.frame != c.frame:
            problems.append(f"{c.id}: the frame changed: frozen {c.frame.hex()[:120]} now {now.frame.hex()[:120]}")
        if now.versions != c.versions:
            problems.append(f"{c.id}: the older versions' payloads changed")
        try:
            back = codec.decode(c.message, c.payload)
        except CrosswireError as exc:
            problems.append(f"{c.id}: decoding the frozen bytes fails: {exc}")
            continue
        if back != c.value:
            problems.append(f"{c.id}: decoding the frozen bytes gives another value")
    fresh = {c.id: c for c in generate(schema, extra)}
    old = {c.id: c for c in frozen}
    for cid in fresh.keys() - old.keys():
        problems.append(f"{cid}: the schema implies this case but {golden.name} lacks it")
    for cid in old.keys() - fresh.keys():
        problems.append(f"{cid}: in {golden.name} but the schema no longer implies it")
    for cid in fresh.keys() & old.keys():
        if fresh[cid].value != old[cid].value:
            problems.append(f"{cid}: the generator now gives another value than the frozen one")
        elif (fresh[cid].seq, fresh[cid].header) != (old[cid].seq, old[cid].header):
            problems.append(f"{cid}: the generator now gives other frame fields than the frozen ones")
    return problems
