"""Malformed payloads, derived from the schema: one per way a field of each message can be
broken (a bool byte of 2, an enum value not listed, a flag bit not named, a constant changed,
padding not zero, a NUL inside char[N], a length over its max or not a whole number of
elements, a union tag with no case, bytes that are not UTF-8, a bigint longer than minimal, a
cut, a byte too many), each with the error code and field path the reference codec gives.

They are written into protocols/vectors/malformed.json beside the hand-written entries (the
generated ids start with "auto."), so every peer's decoder is held to the same refusals, for
every schema, whatever types it uses.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterator

from . import codec
from . import schema as S
from .diagnose import Span, walk
from .errors import CrosswireError, DecodeError
from .vectors import Case, snake

AUTO = "auto."


def _mutations(t: S.Type | None, span: Span) -> Iterator[tuple[str, Callable[[bytearray], bytes | None]]]:
    """(what, how) for one span of a payload: how turns the payload into a broken one."""
    o, n = span.offset, span.size

    def put(raw: bytes) -> Callable[[bytearray], bytes]:
        return lambda b: bytes(b[:o] + raw + b[o + n:])

    p = span.prim
    if span.type.startswith("pad["):
        yield "padding", put(b"\x01" + bytes(n - 1))
        return
    if span.path.endswith((".len", ".count")) and p is not None:
        yield "length", put((p.max).to_bytes(p.size, p.order))
        return
    if span.role == "count" and p is not None:
        yield "length", put((p.max).to_bytes(p.size, p.order))
        if span.value < p.max:
            yield "length", put((span.value + 1).to_bytes(p.size, p.order))
        return
    if isinstance(t, S.Prim) and t.kind == "bool":
        yield "bool", put(b"\x02")
    elif isinstance(t, S.Enum) and not t.open:
        bad = next((v for v in range(t.base.min, t.base.max + 1) if v not in t.values.values()), None)
        if bad is not None:
            yield "enum", put(bad.to_bytes(n, t.base.order, signed=t.base.signed))
    elif isinstance(t, S.Flags) and not t.keep_unknown and t.mask != t.base.max:
        yield "flags", put((t.base.max & ~t.mask).to_bytes(n, t.base.order))
    elif isinstance(t, S.CharArray) and t.n >= 2:
        yield "char", put(b"\x00a" + bytes(n - 2))
    elif isinstance(t, S.Bytes) and t.utf8 and n >= 1:
        yield "utf8", lambda b: bytes(b[:o]) + b"\xff" + bytes(b[o + 1:])
    elif isinstance(t, S.BigInt) and t.count.prefix is not None and n + 1 <= t.max:
        pre = t.count.prefix
        ext = b"\xff" if (span.value < 0) else b"\x00"

        def longer(b: bytearray) -> bytes:
            raw = bytes(b[o:o + n])
            raw = raw + ext if t.order == "little" else ext + raw
            return bytes(b[:o - pre.size]) + (n + 1).to_bytes(pre.size, pre.order) + raw + bytes(b[o + n:])
        yield "bigint", longer


def _const_mutations(msg: S.Message, spans: list[Span]) -> Iterator[tuple[str, Callable[[bytearray], bytes]]]:
    for s in spans:
        if s.role == "const" and s.size:
            if isinstance(s.schema_type, S.CharArray) and s.size > len(s.value) + 1:   # a byte after the NUL
                end = s.offset + s.size - 1
                yield "const", lambda b, end=end: bytes(b[:end]) + b"\x01" + bytes(b[end + 1:])
            o = s.offset
            yield "const", lambda b, o=o: bytes(b[:o]) + bytes([b[o] ^ 0x01]) + bytes(b[o + 1:])


def generate(schema: S.Schema, cases: list[Case]) -> list[dict[str, Any]]:
    """Malformed payloads for every message, from one whole case each ("one" or the first)."""
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str, str]] = set()
    for msg in schema.messages.values():
        mine = [c for c in cases if c.message is msg]
        base = next((c for c in mine if c.id.endswith(".one")), mine[0] if mine else None)
        if base is None:
            continue
        payload = base.payload
        spans, stop = walk(schema, msg, payload)
        if stop is not None:
            continue
        tries: list[tuple[str, Callable[[bytearray], bytes | None]]] = list(_const_mutations(msg, spans))
        for s in spans:
            tries += list(_mutations(s.schema_type, s))
        tries += _union_mutations(msg, spans)
        if payload:
            tries.append(("cut", lambda b: bytes(b[:-1])))
        tries.append(("extra", lambda b: bytes(b) + b"\x00"))
        for what, how in tries:
            bad = how(bytearray(payload))
            if bad is None or bad == payload:
                continue
            try:
                codec.decode(msg, bad)
                continue            # not malformed after all (an open enum, a trimmed payload, ...)
            except DecodeError as caught:
                exc = caught
            key = (msg.name, exc.code, exc.path)
            if key in seen:
                continue
            seen.add(key)
            out.append({"id": f"{AUTO}{snake(msg.name)}.{exc.code}.{_slug(exc.path, msg.name)}",
                        "message": msg.name, "payload": bad.hex(), "code": exc.code, "path": exc.path,
                        "note": f"generated: {what} from case {base.id}"})
    ids = [e["id"] for e in out]
    for i, e in enumerate(out):
        if ids.count(e["id"]) > 1:
            e["id"] += f".{i}"
    return out


def _union_mutations(msg: S.Message, spans: list[Span]) -> list[tuple[str, Callable[[bytearray], bytes]]]:
    out = []
    for f in msg.fields:
        if not isinstance(f.type, S.Union):
            continue
        disc = next((s for s in spans if s.path == f"{msg.name}.{f.type.on}"), None)
        base = f.type.base.base if isinstance(f.type.base, S.Enum) else f.type.base
        if disc is None or not isinstance(base, S.Prim):
            continue
        tags = {c.tag for c in f.type.cases}
        allowed = (lambda v: f.type.base.allows(v)) if isinstance(f.type.base, S.Enum) else (lambda v: True)
        free = next((v for v in range(base.min, min(base.max, base.min + 4096) + 1) if v not in tags and allowed(v)), None)
        if free is None:
            continue
        raw = free.to_bytes(base.size, base.order, signed=base.signed)
        o, n = disc.offset, disc.size
        out.append(("union", lambda b, o=o, n=n, raw=raw: bytes(b[:o]) + raw + bytes(b[o + n:])))
    return out


def _slug(path: str, msg: str) -> str:
    rest = path[len(msg) + 1:] if path.startswith(msg + ".") else ("msg" if path == msg else path)
    return "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in rest).strip("_") or "msg"


def load(path: Path) -> list[dict[str, Any]]:
    """The malformed vectors of a file; a missing file is none."""
    if not path.exists():
        return []
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CrosswireError(f"{path}: cannot read: {exc}") from None
    except RecursionError:
        raise CrosswireError(f"{path}: cannot read: nested too deeply") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise CrosswireError(f"{path}: must be a JSON list of objects")
    for r in rows:
        missing = [k for k in ("id", "message", "payload", "code", "path") if k not in r]
        if missing:
            raise CrosswireError(f"{path}: {r.get('id', '?')}: missing {', '.join(missing)}")
    return rows


def dump(rows: list[dict[str, Any]]) -> str:
    return "[\n" + ",\n".join("  " + json.dumps(r, ensure_ascii=False) for r in rows) + "\n]\n"


def merged(path: Path, schema: S.Schema, cases: list[Case]) -> list[dict[str, Any]]:
    """The hand-written entries of the file, then freshly generated ones."""
    kept = [r for r in load(path) if not str(r["id"]).startswith(AUTO)]
    return kept + generate(schema, cases)


def check(schema: S.Schema, path: Path, cases: list[Case]) -> list[str]:
    """Entries the reference codec does not refuse as they say, and generated entries that are
    stale (the schema or the golden cases now give other ones)."""
    problems = []
    rows = load(path)
    for r in rows:
        try:
            msg = schema.message(r["message"])
            codec.decode(msg, bytes.fromhex(r["payload"]))
            problems.append(f"{r['id']}: the reference codec accepts it")
        except DecodeError as exc:
            if (exc.code, exc.path) != (r["code"], r["path"]):
                problems.append(f"{r['id']}: the reference codec says {exc.code} {exc.path}, "
                                f"the file {r['code']} {r['path']}")
        except (CrosswireError, ValueError) as exc:
            problems.append(f"{r['id']}: {exc}")
    fresh = {r["id"]: r for r in generate(schema, cases)}
    old = {r["id"]: r for r in rows if str(r["id"]).startswith(AUTO)}
    if fresh.keys() != old.keys() or any(fresh[k]["payload"] != old[k]["payload"] for k in fresh):
        problems.append(f"{path.name}: its generated entries are stale; run `python -m harness vectors --regenerate`")
    return problems
