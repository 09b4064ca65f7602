"""Say where two encodings differ and most likely why.

`diagnose(schema, message, expected, actual)` walks the schema over the expected bytes (and as
far as it can over the actual ones), lines the fields up (path, offset, width, type, bytes and
values on both sides), marks the first divergence, draws an annotated hex dump, and runs the
heuristics below; each names a cause, the field, and its evidence:

| cause           | the classic bug                                                       |
|-----------------|-----------------------------------------------------------------------|
| byteswap        | a field written big-endian (htonl, a BE host, `>` in struct.pack)      |
| width           | a field written with another width (i32 where i64 is declared): every later offset shifts |
| float_width     | f32 written where f64 is declared (or the reverse)                     |
| signedness      | a value zero-extended where it should be sign-extended, or the reverse |
| padding         | C alignment padding sent (`write(fd, &s, sizeof s)` of a host struct)  |
| missing_field   | a field left out                                                       |
| extra_bytes     | bytes that no field declares                                           |
| nul_counted     | a string's length counts its NUL terminator (or drops its last byte)   |
| msg_type        | the frame's message type id is another message's                      |
| version         | the frame's format version differs                                    |
| truncated       | the bytes stop early                                                   |

Also `diff_values`: where two decoded values differ, field by field.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from . import schema as S
from .codec import HEADER
from .values import F32, F64, _Bits

# ------------------------------------------------------------------ showing values


def show(t: S.Type | None, v: Any) -> str:
    """A value as a person reads it: floats with their bits, enums with their names."""
    if isinstance(v, _Bits):
        return v.describe()
    if isinstance(t, S.Enum) and isinstance(v, int):
        return f"{v} ({t.name_of(v) or 'unknown'})"
    if isinstance(v, bytes):
        return f"x{v.hex()} ({len(v)} bytes)"
    if isinstance(v, str):
        return f"{v!r} ({len(v.encode('utf-8', 'surrogatepass'))} bytes UTF-8)"
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 0xFFFF:
        return f"{v} ({'-' if v < 0 else ''}{abs(v):#x})"
    return repr(v)


def diff_values(t: S.Type, expected: Any, actual: Any, path: str) -> list[str]:
    """Every leaf where `actual` differs from `expected`, as 'path: expected X, got Y'."""
    if isinstance(t, S.Struct):
        if not isinstance(actual, dict):
            return [f"{path}: expected a {t.name}, got {actual!r}"]
        out: list[str] = []
        for f in t.value_fields:
            out += diff_values(f.type, expected[f.name], actual.get(f.name), f"{path}.{f.name}")
        return out
    if isinstance(t, (S.Array, S.Vec)):
        if not isinstance(actual, list):
            return [f"{path}: expected a list, got {actual!r}"]
        out = []
        if len(actual) != len(expected):
            out.append(f"{path}: expected {len(expected)} elements, got {len(actual)}")
        for i, (e, a) in enumerate(zip(expected, actual)):
            out += diff_values(t.elem, e, a, f"{path}[{i}]")
        return out
    if type(expected) is not type(actual) or expected != actual:
        return [f"{path}: expected {show(t, expected)}, got {show(t, actual)}{_value_hint(t, expected, actual)}"]
    return []


def _value_hint(t: S.Type, e: Any, a: Any) -> str:
    """A likely cause read from two values alone (when no bytes are at hand)."""
    base = t.base if isinstance(t, S.Enum) else t
    if isinstance(base, S.Prim) and base.kind in ("int", "uint") and isinstance(a, int) and isinstance(e, int):
        raw = e.to_bytes(base.size, "little", signed=base.signed)
        if base.size > 1 and int.from_bytes(raw[::-1], "little", signed=base.signed) == a:
            return "  <- byte-swapped"
        if a != e and (a - e) % (1 << (8 * base.size)) == 0:
            return "  <- same bits read with the other signedness"
    if isinstance(e, _Bits) and isinstance(a, _Bits) and type(e) is type(a):
        width = e.WIDTH // 8
        if int.from_bytes(e.bits.to_bytes(width, "little")[::-1], "little") == a.bits:
            return "  <- byte-swapped"
        if isinstance(e, F64) and F64.from_float(float(F32.from_float(float(e)))) == a:
            return "  <- rounded through f32"
    return ""


# ------------------------------------------------------------------ walking bytes


@dataclass(frozen=True)
class Span:
    """One leaf on the wire: a scalar, a length prefix, a run of bytes, or padding."""
    path: str
    offset: int
    size: int
    type: str              # the schema's spelling: "u32", "char[8]", "len", "count", "pad[3]", ...
    value: Any
    schema_type: S.Type | None = None


class _Stop(Exception):
    def __init__(self, path: str, offset: int, why: str) -> None:
        super().__init__(why)
        self.path, self.offset, self.why = path, offset, why


def walk(schema: S.Schema | None, msg: S.Message, data: bytes, frame: bool = False) -> tuple[list[Span], _Stop | None]:
    """The spans of `data` read as `msg` (after a frame header if `frame`), as far as they go."""
    spans: list[Span] = []
    prefix = msg.name
    try:
        off = 0
        if frame:
            for (name, tname), fmt in zip(S.HEADER, "IHHIIQ"):
                size = struct.calcsize("<" + fmt)
                _need(data, off, size, f"frame.{name}")
                spans.append(Span(f"frame.{name}", off, size, tname, struct.unpack_from("<" + fmt, data, off)[0]))
                off += size
            prefix = "frame.payload"
        end = _walk(msg, data, off, prefix, spans)
        if end < len(data):
            raise _Stop(prefix, end, f"{len(data) - end} bytes after the message")
        return spans, None
    except _Stop as stop:
        return spans, stop


def _need(data: bytes, off: int, size: int, path: str) -> None:
    if off + size > len(data):
        raise _Stop(path, off, f"needs {size} bytes, {max(0, len(data) - off)} left")


def _walk(t: S.Type, data: bytes, off: int, path: str, spans: list[Span]) -> int:
    if isinstance(t, S.Struct):
        for f in t.fields:
            off = _walk(f.type, data, off, f"{path}.{f.name}", spans)
        return off
    if isinstance(t, S.Array):
        for i in range(t.n):
            off = _walk(t.elem, data, off, f"{path}[{i}]", spans)
        return off
    if isinstance(t, (S.Vec, S.Bytes, S.BigInt)):
        _need(data, off, 4, path)
        (n,) = struct.unpack_from("<I", data, off)
        spans.append(Span(f"{path}.{'count' if isinstance(t, S.Vec) else 'len'}", off, 4, "u32", n))
        limit = t.max
        if n > limit:
            raise _Stop(path, off, f"length {n} is more than max {limit}")
        off += 4
        if isinstance(t, S.Vec):
            for i in range(n):
                off = _walk(t.elem, data, off, f"{path}[{i}]", spans)
            return off
        _need(data, off, n, path)
        raw = bytes(data[off:off + n])
        value: Any = raw
        if isinstance(t, S.BigInt):
            value = int.from_bytes(raw, "little", signed=True)
        elif t.utf8:
            value = raw.decode("utf-8", "replace")
        spans.append(Span(path, off, n, S.type_name(t), value, t))
        return off + n
    size = S.max_size(t)
    _need(data, off, size, path)
    raw = bytes(data[off:off + size])
    spans.append(Span(path, off, size, S.type_name(t), _leaf_value(t, raw), t))
    return off + size


def _leaf_value(t: S.Type, raw: bytes) -> Any:
    base = t.base if isinstance(t, S.Enum) else t
    if isinstance(base, S.Prim):
        n = int.from_bytes(raw, "little", signed=base.signed)
        if base.kind == "float":
            return (F32 if base.size == 4 else F64)(n)
        return bool(n) if base.kind == "bool" and n in (0, 1) else n
    if isinstance(t, S.CharArray):
        return raw.split(b"\0", 1)[0]
    return raw


# ------------------------------------------------------------------ findings


@dataclass(frozen=True)
class Finding:
    cause: str
    field: str
    evidence: str
    score: int = 50      # how specific the evidence is; findings are listed best first


@dataclass
class Row:
    path: str
    offset: int
    size: int
    type: str
    expected: bytes
    actual: bytes
    expected_value: Any
    actual_value: Any

    @property
    def same(self) -> bool:
        return self.expected == self.actual


@dataclass
class Diagnosis:
    message: str
    expected: bytes
    actual: bytes
    rows: list[Row]
    findings: list[Finding] = field(default_factory=list)
    actual_stop: str = ""

    @property
    def first(self) -> Row | None:
        return next((r for r in self.rows if not r.same), None)

    @property
    def likely(self) -> Finding | None:
        return self.findings[0] if self.findings else None

    def summary(self) -> str:
        if self.expected == self.actual:
            return "the bytes are equal"
        f = self.likely
        where = self.first
        head = f"likely cause: {f.cause} at {f.field}: {f.evidence}" if f else "no known cause matches"
        at = f"; first difference at {where.path} (offset {where.offset})" if where else ""
        return head + at

    def render(self, max_rows: int = 60) -> str:
        out = [f"diagnosis of {self.message}: expected {len(self.expected)} bytes, actual {len(self.actual)}"]
        if self.expected == self.actual:
            out.append("the bytes are equal")
        elif self.findings:
            best, *others = self.findings
            out.append(f"likely cause: {best.cause} at {best.field}: {best.evidence}")
            out += [f"  also possible: {f.cause} at {f.field}: {f.evidence}" for f in others]
        else:
            out.append("likely cause: none of the known patterns matches")
        first = self.first
        out.append("fields (offset, width, type, expected | actual):")
        for r in self.rows[:max_rows]:
            mark = ">>" if r is first else ("  " if r.same else " *")
            out.append(f"{mark} {r.path:<28} @{r.offset:<5} {r.size:>3}B {r.type:<10} "
                       f"{r.expected.hex(' ') or '-':<24} | {r.actual.hex(' ') or '-'}")
            if not r.same:
                out.append(f"{'':5}values: {_short(r.expected_value)} | {_short(r.actual_value)}")
        if len(self.rows) > max_rows:
            out.append(f"   ... {len(self.rows) - max_rows} more fields")
        if self.actual_stop:
            out.append(f"reading the actual bytes as {self.message} stops: {self.actual_stop}")
        out.append("hex dump, expected (fields marked at their first byte):")
        out += hexdump(self.expected, self.rows, lambda r: r.offset)
        out.append("hex dump, actual (differences marked ^):")
        out += hexdump(self.actual, [], None, against=self.expected)
        return "\n".join(out)


def _short(v: Any) -> str:
    text = show(None, v) if v is not None else "-"
    return text if len(text) <= 60 else text[:57] + "..."


def hexdump(data: bytes, rows: list[Row], where: Any, against: bytes | None = None) -> list[str]:
    starts = {r.offset: r.path.rsplit(".", 1)[-1] for r in rows} if where else {}
    lines = []
    for base in range(0, max(len(data), 1), 16):
        chunk = data[base:base + 16]
        line = f"  {base:06x}  " + " ".join(f"{b:02x}" for b in chunk)
        labels = [f"{o - base}:{starts[o]}" for o in range(base, base + 16) if o in starts]
        if labels:
            line = f"{line:<58}  " + " ".join(labels)
        lines.append(line)
        if against is not None:
            marks = "".join("^^ " if (i >= len(against) or against[i] != b) else "   "
                            for i, b in enumerate(chunk, start=base))
            if marks.strip():
                lines.append("          " + marks.rstrip())
    return lines


def diagnose(schema: S.Schema | None, msg: S.Message, expected: bytes, actual: bytes, frame: bool = False) -> Diagnosis:
    """Line two encodings of `msg` up field by field and name the likely causes of the difference.
    With `frame`, both start with a frame header (then `schema` names the message ids)."""
    exp_spans, stop = walk(schema, msg, expected, frame)
    if stop is not None:
        raise ValueError(f"the expected bytes are not a valid {msg.name}: {stop.path} at {stop.offset}: {stop.why}")
    act_spans, act_stop = walk(schema, msg, actual, frame)
    act_by_path = {s.path: s for s in act_spans}
    rows = []
    for s in exp_spans:
        a = act_by_path.get(s.path)
        rows.append(Row(s.path, s.offset, s.size, s.type, expected[s.offset:s.offset + s.size],
                        actual[s.offset:s.offset + s.size] if a is None else actual[a.offset:a.offset + a.size],
                        s.value, None if a is None else a.value))
    d = Diagnosis(msg.name, expected, actual, rows,
                  actual_stop=f"{act_stop.path} at offset {act_stop.offset}: {act_stop.why}" if act_stop else "")
    if expected != actual:
        d.findings = sorted(_findings(schema, msg, exp_spans, expected, actual, frame),
                            key=lambda f: -f.score)
    return d


def _findings(schema: S.Schema | None, msg: S.Message, spans: list[Span], exp: bytes, act: bytes,
              frame: bool) -> list[Finding]:
    out: list[Finding] = []
    if frame and schema is not None and len(act) >= HEADER.size:
        out += _frame_findings(schema, exp, act)
    if len(act) < len(exp) and exp.startswith(act):
        s = next((s for s in spans if s.offset + s.size > len(act)), spans[-1] if spans else None)
        out.append(Finding("truncated", s.path if s else msg.name,
                           f"the actual bytes are the first {len(act)} of the {len(exp)} expected; "
                           f"they stop inside {s.path if s else 'the message'}", 86))
    delta = len(act) - len(exp)
    for s in spans:
        e = exp[s.offset:s.offset + s.size]
        a = act[s.offset:s.offset + s.size]
        head, tail = exp[:s.offset], exp[s.offset + s.size:]
        out += _nul(s, exp, act, spans, delta)
        if not act.startswith(head):
            continue  # something earlier already differs: later causes would be guesses
        if delta == 0 and a != e and s.size > 1 and a == e[::-1] and act[s.offset + s.size:] == tail:
            out.append(Finding("byteswap", s.path, f"{s.type} bytes {a.hex(' ')} are the expected "
                               f"{e.hex(' ')} reversed: written big-endian", 90))
        if delta == 0 and a != e and s.schema_type is not None:
            out += _signedness(s, e, a, act[s.offset + s.size:] == tail)
        if delta == -s.size and act == head + tail and not s.path.endswith((".len", ".count")):
            out.append(Finding("missing_field", s.path, f"the actual bytes are the expected ones without "
                               f"the {s.size} bytes of {s.path} ({s.type}) at offset {s.offset}", 85))
        out += _width(s, e, act, tail, delta)
    out += _extra(spans, exp, act, delta)
    out += _padding(spans, exp, act)
    return _dedupe(out)


def _frame_findings(schema: S.Schema, exp: bytes, act: bytes) -> list[Finding]:
    out = []
    e, a = HEADER.unpack_from(exp), HEADER.unpack_from(act)
    if a[0] != e[0]:
        swapped = int.from_bytes(act[:4], "big") == e[0]
        out.append(Finding("byteswap" if swapped else "magic", "frame.magic",
                           f"magic {a[0]:#010x}, expected {e[0]:#010x}" +
                           (": the header was written big-endian" if swapped else ": not a crosswire frame"), 92))
    if a[1] != e[1]:
        out.append(Finding("version", "frame.version", f"format version {a[1]}, expected {e[1]}", 90))
    if a[2] != e[2]:
        other = schema.by_id.get(a[2])
        out.append(Finding("msg_type", "frame.msg_type",
                           f"message type id {a[2]} ({other.name if other else 'no such message'}), "
                           f"expected {e[2]} ({schema.by_id[e[2]].name})", 90))
    if a[4] != e[4] and a[:4] == e[:4]:
        out.append(Finding("length", "frame.payload_len", f"payload_len {a[4]}, expected {e[4]}; "
                           f"{len(act) - HEADER.size} payload bytes follow", 60))
    return out


def _signedness(s: Span, e: bytes, a: bytes, rest_same: bool) -> list[Finding]:
    t = s.schema_type.base if isinstance(s.schema_type, S.Enum) else s.schema_type
    if not (isinstance(t, S.Prim) and t.kind in ("int", "uint")) or not rest_same:
        return []
    for k in range(1, t.size):  # the low k bytes agree, the high ones are 00.. on one side, ff.. on the other
        if a[:k] == e[:k] and {a[k:], e[k:]} == {bytes(t.size - k), b"\xff" * (t.size - k)}:
            zero_ext = a[k:] == bytes(t.size - k)
            ev = int.from_bytes(e, "little", signed=t.signed)
            av = int.from_bytes(a, "little", signed=t.signed)
            how = "zero-extended (read as unsigned)" if zero_ext else "sign-extended (read as signed)"
            return [Finding("signedness", s.path, f"expected {ev}, got {av}: the low {8 * k} bits agree and "
                            f"the value was {how} from {8 * k} bits", 80)]
    return []


def _width(s: Span, e: bytes, act: bytes, tail: bytes, delta: int) -> list[Finding]:
    t = s.schema_type.base if isinstance(s.schema_type, S.Enum) else s.schema_type
    if not isinstance(t, S.Prim) or delta == 0 or not act.endswith(tail) or t.kind == "bool":
        return []
    other = t.size + delta
    if other not in (1, 2, 4, 8):
        return []
    got = act[s.offset:s.offset + other]
    if len(got) != other or len(act) != s.offset + other + len(tail):
        return []
    if t.kind == "float":
        value = float((F32 if t.size == 4 else F64)(int.from_bytes(e, "little")))
        fmt = "<f" if other == 4 else "<d"
        if struct.pack(fmt, value) == got or (value != value and other in (4, 8)):
            return [Finding("float_width", s.path, f"{'f32' if other == 4 else 'f64'} written where {t.name} "
                            f"is declared ({got.hex(' ')}): every later offset shifts by {delta:+d}", 88)]
        return []
    value = int.from_bytes(e, "little", signed=t.signed)
    for signed in (True, False):
        if int.from_bytes(got, "little", signed=signed) == value:
            kind = f"{'i' if signed else 'u'}{8 * other}"
            return [Finding("width", s.path, f"{kind} written where {t.name} is declared: {other} bytes instead "
                            f"of {t.size}, so every later offset shifts by {delta:+d}", 88)]
    return []


def _nul(s: Span, exp: bytes, act: bytes, spans: list[Span], delta: int) -> list[Finding]:
    if not isinstance(s.schema_type, S.Bytes) or abs(delta) != 1:
        return []
    prefix_at = s.offset - 4
    head, data, tail = exp[:prefix_at], exp[s.offset:s.offset + s.size], exp[s.offset + s.size:]
    if delta == 1 and act == head + struct.pack("<I", s.size + 1) + data + b"\0" + tail:
        return [Finding("nul_counted", s.path, f"length {s.size + 1} where {s.size} is expected, and the "
                        "extra byte is a NUL: the terminator was counted and sent", 90)]
    if delta == -1 and s.size > 0 and act == head + struct.pack("<I", s.size - 1) + data[:-1] + tail:
        return [Finding("nul_counted", s.path, f"length {s.size - 1} where {s.size} is expected and the last "
                        f"byte ({data[-1:].hex()}) is missing: a length off by one", 85)]
    return []


def _extra(spans: list[Span], exp: bytes, act: bytes, delta: int) -> list[Finding]:
    if delta <= 0:
        return []
    for s in spans:
        b = s.offset + s.size
        if act[:b] == exp[:b] and act[b + delta:] == exp[b:]:
            extra = act[b:b + delta]
            return [Finding("extra_bytes", s.path, f"{delta} bytes ({extra.hex(' ')}) that no field declares "
                            f"follow {s.path} at offset {b}", 70)]
    if act.startswith(exp):
        return [Finding("extra_bytes", spans[-1].path if spans else "-",
                        f"{delta} bytes after the end of the message", 75)]
    return []


def _padding(spans: list[Span], exp: bytes, act: bytes) -> list[Finding]:
    """Re-lay the expected fields at their C natural alignment; if that is the actual bytes
    (whatever the padding holds), a host struct was sent raw."""
    rebuilt, inserted, base = bytearray(), [], 0
    align_of = {"u16": 2, "i16": 2, "u32": 4, "i32": 4, "f32": 4, "u64": 8, "i64": 8, "f64": 8}
    for s in spans:
        a = align_of.get(s.type, 1)
        pad = (-(s.offset + base)) % a
        if pad:
            inserted.append((s.path, s.offset + base, pad))
            rebuilt += act[len(rebuilt):len(rebuilt) + pad] if len(act) >= len(rebuilt) + pad else bytes(pad)
            base += pad
        rebuilt += exp[s.offset:s.offset + s.size]
    widest = max((align_of.get(s.type, 1) for s in spans), default=1)
    trailing = (-len(rebuilt)) % widest
    if not inserted or len(act) not in (len(rebuilt), len(rebuilt) + trailing):
        return []
    if bytes(rebuilt) != act[:len(rebuilt)]:
        return []
    where = ", ".join(f"{p} bytes before {path} (offset {o})" for path, o, p in inserted[:4])
    return [Finding("padding", inserted[0][0], f"the fields sit at C's natural alignment: {where}"
                    f"{' and more' if len(inserted) > 4 else ''}: a host struct sent with write(fd, &s, sizeof s)", 93)]


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen, out = set(), []
    for f in findings:
        if (f.cause, f.field) not in seen:
            seen.add((f.cause, f.field))
            out.append(f)
    return out


def diff_bytes(expected: bytes, actual: bytes, context: int = 8) -> str:
    """Where two byte strings first differ, with a few bytes of context on each side."""
    if expected == actual:
        return "bytes are equal"
    n = next((i for i, (a, b) in enumerate(zip(expected, actual)) if a != b), min(len(expected), len(actual)))
    lo = max(0, n - context)
    return (f"first difference at offset {n} (expected {len(expected)} bytes, got {len(actual)}):\n"
            f"  expected [{lo}:] {expected[lo:n + context].hex(' ')}\n"
            f"  actual   [{lo}:] {actual[lo:n + context].hex(' ')}")


__all__ = ["Diagnosis", "Finding", "Row", "Span", "diagnose", "diff_bytes", "diff_values", "hexdump", "show", "walk"]
