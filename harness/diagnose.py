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
from dataclasses import dataclass, field, replace
from typing import Any

from . import schema as S
from .memo import Memo
from .reenact import first_difference
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
    """A likely cause read from two values alone (when no bytes are at hand); "" when none, and
    never an exception, whatever the values."""
    try:
        return _hint(t, e, a)
    except Exception:       # noqa: BLE001 - a hint is optional; the values are anything a peer said
        return ""


def _hint(t: S.Type, e: Any, a: Any) -> str:
    base = t.base if isinstance(t, (S.Enum, S.Flags)) else t
    if isinstance(base, S.Prim) and base.kind in ("int", "uint") and isinstance(a, int) and isinstance(e, int):
        raw = e.to_bytes(base.size, "little", signed=base.signed)
        if base.size > 1 and int.from_bytes(raw[::-1], "little", signed=base.signed) == a:
            return "  <- byte-swapped"
        if a != e and (a - e) % (1 << (8 * base.size)) == 0:
            return "  <- same bits read with the other signedness"
        if a != e and abs(e) > (1 << 53) and a == int(float(e)):
            return "  <- passed through a double (exact only up to 2^53)"
        for w in (1, 2, 4):
            if w < base.size and a != e and a == e % (1 << (8 * w)):
                return f"  <- cut to its low {8 * w} bits"
    if isinstance(e, _Bits) and isinstance(a, _Bits) and type(e) is type(a):
        width = e.WIDTH // 8
        if int.from_bytes(e.bits.to_bytes(width, "little")[::-1], "little") == a.bits:
            return "  <- byte-swapped"
        if isinstance(e, F64):
            from .reenact import _f32
            if F64.from_float(float(_f32(float(e)))) == a:
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
    prim: S.Prim | None = None     # the scalar it holds (with its declared byte order), if one
    role: str = ""                 # "const" or "count" for such fields


class _Stop(Exception):
    def __init__(self, path: str, offset: int, why: str) -> None:
        super().__init__(why)
        self.path, self.offset, self.why = path, offset, why


def walk(schema: S.Schema | None, msg: S.Message, data: bytes, frame: bool = False) -> tuple[list[Span], _Stop | None]:
    """The spans of `data` read as `msg` (after the declared frame header if `frame`), as far
    as they go."""
    spans: list[Span] = []
    prefix = msg.name
    try:
        off = 0
        end = len(data)
        if frame and schema is not None and schema.frame is not None:
            for h in schema.frame.header:
                _need(data, off, h.type.size, f"frame.{h.name}")
                spans.append(Span(f"frame.{h.name}", off, h.type.size, h.type.name,
                                  int.from_bytes(data[off:off + h.type.size], h.type.order, signed=h.type.signed),
                                  h.type, h.type))
                off += h.type.size
            prefix = msg.name
            if schema.frame.checksum is not None:
                c = schema.frame.checksum
                end = len(data) - c.type.size
                if end >= off:
                    spans_tail = Span(f"frame.{c.name}", end, c.type.size, c.type.name,
                                      int.from_bytes(data[end:], c.type.order), c.type, c.type)
                else:
                    spans_tail = None
        stop_at = _walk(msg, data[:end], off, prefix, spans, {})
        if frame and schema is not None and schema.frame is not None and schema.frame.checksum is not None \
                and spans_tail is not None:
            spans.append(spans_tail)
            stop_at = len(data)
        if stop_at < len(data):
            raise _Stop(prefix, stop_at, f"{len(data) - stop_at} bytes after the message")
        return spans, None
    except _Stop as stop:
        return spans, stop


def _need(data: bytes, off: int, size: int, path: str) -> None:
    if off + size > len(data):
        raise _Stop(path, off, f"needs {size} bytes, {max(0, len(data) - off)} left")


def _walk(t: S.Type, data: bytes, off: int, path: str, spans: list[Span], vals: dict) -> int:
    if isinstance(t, S.Struct):
        mine: dict = {}
        for f in t.fields:
            if f.implicit:   # C layout's padding: named after what it precedes
                where = f"{path}.(pad before {f.name})" if f.name else f"{path}.(trailing pad)"
            else:
                where = f"{path}.{f.name}"
            ft = f.type
            if isinstance(ft, S.Union):
                case = ft.case(mine.get(ft.on))
                if case is None:
                    raise _Stop(where, off, f"{ft.on} = {mine.get(ft.on)!r} picks no case of {ft.name}")
                if case.type is None:
                    continue
                ft = case.type
            before = len(spans)
            off = _walk(ft, data, off, where, spans, mine)
            if len(spans) == before + 1:
                if isinstance(spans[-1].value, int):
                    mine[f.name] = spans[-1].value
                if f.const is not None or f.count_of:
                    spans[-1] = replace(spans[-1], role="const" if f.const is not None else "count")
        return off
    if isinstance(t, S.Array):
        for i in range(t.n):
            off = _walk(t.elem, data, off, f"{path}[{i}]", spans, {})
        return off
    if isinstance(t, (S.Vec, S.Bytes, S.BigInt)):
        if t.count.prefix is not None:
            p = t.count.prefix
            _need(data, off, p.size, path)
            n = int.from_bytes(data[off:off + p.size], p.order)
            spans.append(Span(f"{path}.{'count' if isinstance(t, S.Vec) else 'len'}", off, p.size, p.name, n, t, p))
            off += p.size
            if isinstance(t, S.Vec) and t.count.unit == "bytes":
                n //= max(1, S.fixed_size(t.elem) or 1)
        else:
            fname, unit = t.count.fields[0]
            n = vals.get(fname, 0)
            if isinstance(t, S.Vec) and unit == "bytes":
                n //= max(1, S.fixed_size(t.elem) or 1)
        limit = t.max
        if n > limit:
            raise _Stop(path, off, f"length {n} is more than max {limit}")
        if isinstance(t, S.Vec):
            for i in range(n):
                off = _walk(t.elem, data, off, f"{path}[{i}]", spans, {})
            return off
        _need(data, off, n, path)
        raw = bytes(data[off:off + n])
        value: Any = raw
        if isinstance(t, S.BigInt):
            value = int.from_bytes(raw, t.order, signed=True)
        elif t.utf8:
            value = raw.decode("utf-8", "replace")
        spans.append(Span(path, off, n, S.type_name(t), value, t))
        return off + n
    size = S.max_size(t)
    _need(data, off, size, path)
    raw = bytes(data[off:off + size])
    spans.append(Span(path, off, size, S.type_name(t), _leaf_value(t, raw), t, _prim(t)))
    return off + size


def _prim(t: S.Type) -> S.Prim | None:
    base = t.base if isinstance(t, (S.Enum, S.Flags)) else t
    return base if isinstance(base, S.Prim) else None


def _leaf_value(t: S.Type, raw: bytes) -> Any:
    base = _prim(t)
    if base is not None:
        n = int.from_bytes(raw, base.order, signed=base.signed)
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
    fields: tuple[str, ...] = ()    # every field the cause touches (the re-enactment's), if more than `field`


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
    failed: str = ""            # a part of the diagnosis that could not run, and why

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
        return head + at + (f"; {self.failed}" if self.failed else "")

    @property
    def named(self) -> Row | None:
        """The row of the field the likely cause names (else the first difference): where >> goes."""
        f = self.likely
        if f is not None:
            for r in self.rows:
                if not r.same and (r.path == f.field or r.path.startswith(f.field + ".") or
                                   r.path.startswith(f.field + "[")):
                    return r
        return self.first

    def render(self, max_rows: int = 60) -> str:
        out = [f"diagnosis of {self.message}: expected {len(self.expected)} bytes, actual {len(self.actual)}"]
        if self.expected == self.actual:
            out.append("the bytes are equal")
        elif self.findings:
            best, *others = self.findings
            out.append(f"likely cause: {best.cause} at {best.field}: {best.evidence}")
            out += [f"  also possible: {f.cause} at {f.field}: {f.evidence}" for f in others]
        else:
            first = self.first
            out.append("likely cause: none of the known bug classes reproduces these bytes" +
                       (f"; they first differ at {first.path} (offset {first.offset})" if first else "") +
                       (f"; the receiver's reading stops at {self.actual_stop}" if self.actual_stop else ""))
        if self.failed:
            out.append(f"note: {self.failed}")
        first = self.named
        out.append("fields (offset, width, type, expected | actual):")
        for r in self.rows[:max_rows]:
            mark = ">>" if r is first else ("  " if r.same else " *")
            out.append(f"{mark} {r.path:<28} @{r.offset:<5} {r.size:>3}B {r.type:<10} "
                       f"{_hex(r.expected):<24} | {_hex(r.actual)}")
            if not r.same:
                out.append(f"{'':5}values: {_short(r.expected_value)} | {_short(r.actual_value)}")
        if len(self.rows) > max_rows:
            out.append(f"   ... {len(self.rows) - max_rows} more fields")
        if self.actual_stop:
            out.append(f"reading the actual bytes as {self.message} stops: {self.actual_stop}")
        lines = dump_lines(self.expected, self.actual)
        out.append("hex dump, expected (fields marked at their first byte):")
        out += hexdump(self.expected, self.rows, lambda r: r.offset, lines=lines)
        out.append("hex dump, actual (differences marked ^):")
        out += hexdump(self.actual, [], None, against=self.expected, lines=lines)
        return "\n".join(out)


def _hex(b: bytes, most: int = 16) -> str:
    """A field's bytes in hex, the first `most` of a longer one."""
    if not b:
        return "-"
    return b.hex(" ") if len(b) <= most else f"{b[:most].hex(' ')} ... ({len(b)} B)"


def _short(v: Any) -> str:
    text = show(None, v) if v is not None else "-"
    return text if len(text) <= 60 else text[:57] + "..."


DUMP_LINES = 64         # a dump longer than this many 16-byte lines shows the lines around the differences


def dump_lines(expected: bytes, actual: bytes, context: int = 2, most: int = DUMP_LINES) -> list[int] | None:
    """The 16-byte lines a hex dump of these two shows: all of them when they are short, else the
    first ones and those around the first differences (with `context` lines either side), at most
    `most` lines; None for all."""
    total = (max(len(expected), len(actual)) + 15) // 16
    if total <= most:
        return None
    keep = set(range(min(4, total)))
    at = 0
    while len(keep) < most:
        d = at + first_difference(expected[at:], actual[at:])
        if d >= max(len(expected), len(actual)):
            break
        line = d // 16
        keep |= {i for i in range(line - context, line + context + 1) if 0 <= i < total}
        at = (line + context + 1) * 16
        while at < min(len(expected), len(actual)) and expected[at:at + 16] != actual[at:at + 16] and len(keep) < most:
            keep.add(at // 16)      # a run of differing lines: keep on
            at += 16
        if at >= min(len(expected), len(actual)):
            keep |= {i for i in range(at // 16, min(total, at // 16 + context + 1))}
            break
    return sorted(i for i in keep if i < total)[:most]


def hexdump(data: bytes, rows: list[Row], where: Any, against: bytes | None = None,
            lines: list[int] | None = None) -> list[str]:
    """A hex dump, 16 bytes a line: `lines` (line numbers, from dump_lines) picks the lines shown,
    a gap between them shown as `...`."""
    starts = {r.offset: r.path.rsplit(".", 1)[-1] for r in rows} if where else {}
    out, last = [], -1
    for n in (range((max(len(data), 1) + 15) // 16) if lines is None else lines):
        base = n * 16
        if base >= max(len(data), 1):
            break
        if n != last + 1:
            out.append(f"  ... {(n - last - 1) * 16} bytes")
        last = n
        chunk = data[base:base + 16]
        line = f"  {base:06x}  " + " ".join(f"{b:02x}" for b in chunk)
        labels = [f"{o - base}:{starts[o]}" for o in range(base, base + 16) if o in starts]
        if labels:
            line = f"{line:<58}  " + " ".join(labels)
        out.append(line)
        if against is not None:
            marks = "".join("^^ " if (i >= len(against) or against[i] != b) else "   "
                            for i, b in enumerate(chunk, start=base))
            if marks.strip():
                out.append("          " + marks.rstrip())
    if lines is not None and last + 1 < (len(data) + 15) // 16:
        out.append(f"  ... {len(data) - (last + 1) * 16} bytes")
    return out


def diagnose(schema: S.Schema | None, msg: S.Message, expected: bytes, actual: bytes, frame: bool = False,
             value: Any = None) -> Diagnosis:
    """Line two encodings of `msg` up field by field and name the likely causes of the difference.
    With `frame`, both start with a frame header (then `schema` names the message ids). `value`
    is the expected value (else decoded from the expected bytes) for the re-enactment. Never
    raises on what the actual bytes hold: a diagnosis that fails says so."""
    exp_spans, stop = walk(schema, msg, expected, frame)
    if stop is not None:
        raise ValueError(f"the expected bytes are not a valid {msg.name}: {stop.path} at {stop.offset}: {stop.why}")
    try:
        act_spans, act_stop = walk(schema, msg, actual, frame)
    except Exception as exc:    # noqa: BLE001 - the actual bytes are anything a peer sent
        act_spans, act_stop = [], _Stop(msg.name, 0, f"the diagnosis could not read them ({type(exc).__name__}: {exc})")
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
        found: list[Finding] = []
        try:
            found += _reenacted(schema, msg, exp_spans, expected, actual, frame, value)
        except Exception as exc:    # noqa: BLE001
            d.failed = f"the re-enactment failed ({type(exc).__name__}: {exc})"
        try:
            found += _findings(schema, msg, exp_spans, expected, actual, frame)
        except Exception as exc:    # noqa: BLE001
            d.failed = f"the diagnosis failed ({type(exc).__name__}: {exc})"
        d.findings = sorted(_dedupe(found), key=lambda f: -f.score)
    return d


_REENACTED = Memo()     # (message, expected payload, actual payload) -> explanations


def _reenacted(schema: S.Schema | None, msg: S.Message, spans: list[Span], exp: bytes, act: bytes, frame: bool,
               value: Any) -> list[Finding]:
    """The bug classes that, re-enacted on the expected value, give the actual bytes exactly
    (harness/reenact.py); several are indistinguishable on this case and say so."""
    from . import codec, reenact
    payload_e, payload_a, base = exp, act, 0
    if frame:
        fr = schema.frame if schema is not None else None
        if fr is None or len(act) < fr.header_size + fr.trailer_size or len(act) == len(exp) and \
                act[:fr.header_size] != exp[:fr.header_size]:
            return []
        base = fr.header_size
        payload_e, payload_a = exp[base:len(exp) - fr.trailer_size], act[base:len(act) - fr.trailer_size]
    def search() -> list:
        offsets = {sp.path: (sp.offset - base, sp.size) for sp in spans}
        found = reenact.explain(msg, codec.decode(msg, payload_e) if value is None else value, payload_a,
                                spans=offsets)
        garbage = reenact.char_garbage(msg, exp, act, spans)
        if garbage is not None:
            found.append(garbage)
        reenact.clear_caches()
        return found
    # a frame's payload is re-enacted once, not again for the frame around it
    found = _REENACTED.get((id(msg), payload_e, payload_a), search, len(payload_e) + len(payload_a))
    out = []
    for e in found:
        others = [o for o in found if o is not e]
        alike = ("; on this case indistinguishable from " + "; ".join(f"{o.cause} at {o.where}" for o in others[:3])
                 if others else "")
        out.append(Finding(e.cause, e.fields[0], f"re-encoding the expected value with {e.where} {e.says} gives "
                           f"the actual bytes exactly{alike}", 97 if not others else 95, e.fields))
    return out


def explain_reading(msg: S.Message, golden: bytes, reported: Any) -> str:
    """A decoder's bug named by the same engine, replayed: the bug classes under which the
    reported value encodes to the golden bytes exactly (a reader with that bug reads the golden
    bytes as that value). "" when none does, or on any failure (a hint never breaks a cell)."""
    from . import codec, reenact
    try:
        try:
            spans: dict[str, tuple[int, int]] | None = {
                sp.path: (sp.offset, sp.size) for sp in walk(None, msg, codec.encode(msg, reported))[0]}
        except Exception:   # noqa: BLE001 - a value out of its declared range (the bug replayed makes it fit)
            spans = None
        found = reenact.explain(msg, reported, golden, spans=spans)
        reenact.clear_caches()
    except Exception:   # noqa: BLE001 - a hint never breaks a cell
        return ""
    if not found:
        return ""
    best, others = found[0], found[1:]
    alike = ("; on this case indistinguishable from " + "; ".join(f"{o.cause} at {o.where}" for o in others[:3])
             if others else "")
    return (f"likely cause: {best.cause} at {best.fields[0]}: the value reported, re-encoded with {best.where} "
            f"{best.says}, gives the golden bytes exactly: the peer reads with that mistake{alike}")


def _findings(schema: S.Schema | None, msg: S.Message, spans: list[Span], exp: bytes, act: bytes,
              frame: bool) -> list[Finding]:
    out: list[Finding] = []
    if frame and schema is not None and schema.frame is not None and len(act) >= schema.frame.header_size:
        out += _frame_findings(schema, msg, exp, act)
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
            declared = s.prim.order if s.prim is not None else "little"
            wrong = "little" if declared == "big" else "big"
            out.append(Finding("byteswap", s.path, f"{s.type} bytes {a.hex(' ')} are the expected "
                               f"{e.hex(' ')} reversed: written {wrong}-endian where {declared}-endian is declared", 90))
        if delta == 0 and a != e and s.schema_type is not None:
            out += _signedness(s, e, a, act[s.offset + s.size:] == tail)
            out += _units(s, e, a, act[s.offset + s.size:] == tail)
        if delta == -s.size and act == head + tail and not s.path.endswith((".len", ".count")):
            out.append(Finding("missing_field", s.path, f"the actual bytes are the expected ones without "
                               f"the {s.size} bytes of {s.path} ({s.type}) at offset {s.offset}", 85))
        out += _width(s, e, act, tail, delta)
    out += _extra(spans, exp, act, delta)
    packed = _packed(msg, spans, exp, act)
    out += packed or _padding(spans, exp, act)
    return _dedupe(out)


def _frame_findings(schema: S.Schema, msg: S.Message, exp: bytes, act: bytes) -> list[Finding]:
    """The declared header field by field: a constant, the id, the length or the seq that
    differs, and a field written in the other byte order."""
    frame = schema.frame
    assert frame is not None
    out = []
    for h in frame.header:
        e = exp[h.offset:h.offset + h.type.size]
        a = act[h.offset:h.offset + h.type.size]
        if e == a:
            continue
        ev, av = int.from_bytes(e, h.type.order), int.from_bytes(a, h.type.order)
        path = f"frame.{h.name}"
        if h.type.size > 1 and a == e[::-1]:
            wrong = "little" if h.type.order == "big" else "big"
            out.append(Finding("byteswap", path, f"{h.name} {av} ({a.hex(' ')}), expected {ev}: the bytes reversed, "
                               f"written {wrong}-endian where {h.type.order}-endian is declared", 92))
        elif h.role == "const":
            out.append(Finding("const", path, f"{h.name} {av:#x}, expected the constant {ev:#x}", 90))
        elif h.role == "id":
            other = schema.lookup(av, msg.direction)
            out.append(Finding("msg_type", path, f"message id {av} ({other[0].name if other else 'no such message'}), "
                               f"expected {ev} ({msg.name})", 90))
        elif h.role == "length":
            out.append(Finding("length", path, f"{h.name} {av}, expected {ev}; "
                               f"{len(act) - frame.header_size - frame.trailer_size} payload bytes follow", 60))
        elif h.role == "seq":
            out.append(Finding("seq", path, f"seq {av}, expected {ev}", 55))
    if frame.checksum is not None and len(act) == len(exp) and act[:-frame.trailer_size] == exp[:-frame.trailer_size]:
        c = frame.checksum
        e, a = exp[-c.type.size:], act[-c.type.size:]
        why = _checksum_cause(frame, msg, act) or \
            f"not the {c.algorithm.name} of the frame: no other algorithm, range, seed or byte order gives it"
        out.append(Finding("checksum", f"frame.{c.name}", f"{a.hex(' ')}, expected {e.hex(' ')}: {why}", 88))
    return out


def _checksum_cause(frame: S.Frame, msg: S.Message, act: bytes) -> str:
    """Re-enact the checksum with each likely mistake; the one that gives the actual value."""
    from . import crc
    from .codec import checksum as compute
    c = frame.checksum
    assert c is not None
    size = c.type.size
    got = act[-size:]
    parts = {h.name: act[h.offset:h.offset + h.type.size] for h in frame.header}
    parts["payload"] = act[frame.header_size:len(act) - size]
    names = [h.name for h in frame.header] + ["payload"]

    def value(**change: object) -> int:
        variant = S.Checksum(c.name, change.get("algorithm", c.algorithm), c.type,  # type: ignore[arg-type]
                             change.get("covers", c.covers), change.get("seed", c.seed))  # type: ignore[arg-type]
        return compute(S.Frame(frame.header, variant, frame.length_counts), msg, parts)

    def same(v: int, order: str = c.type.order) -> bool:
        return v.to_bytes(size, order) == got
    if c.seed and same(value(seed="")):
        return f"computed without the message's seed byte (checksum_seed {msg.seed}, fed {c.seed} the data)"
    if c.seed and same(value(seed="before" if c.seed == "after" else "after")):
        return f"the seed byte fed {'before' if c.seed == 'after' else 'after'} the data, where {c.seed} is declared"
    if same(value(), "big" if c.type.order == "little" else "little"):
        return f"written in the other byte order ({c.type.order}-endian is declared)"
    for other in crc.ALGORITHMS.values():
        if other.width == c.algorithm.width and other is not c.algorithm and same(value(algorithm=other)):
            return f"the {other.name} of the frame, where {c.algorithm.name} is declared"
    first, last = names.index(c.covers[0]), names.index(c.covers[-1])
    for i in range(len(names)):
        for j in range(i, len(names)):
            if (i, j) != (first, last) and same(value(covers=tuple(names[i:j + 1]))):
                return (f"computed over {names[i]}..{names[j]}, where the schema says "
                        f"{c.covers[0]}..{c.covers[-1]}")
    return ""


def _units(s: Span, e: bytes, a: bytes, rest_same: bool) -> list[Finding]:
    """A length prefix that counts elements where the schema counts bytes, or the reverse."""
    t, p = s.schema_type, s.prim
    if not isinstance(t, S.Vec) or p is None or not rest_same:
        return []
    width = S.fixed_size(t.elem) or 1
    if width == 1:
        return []
    ev, av = int.from_bytes(e, p.order), int.from_bytes(a, p.order)
    field = s.path.rsplit(".", 1)[0]
    if t.count.unit == "bytes" and av * width == ev:
        return [Finding("length_unit", field, f"the prefix says {av}, the number of {width}-byte elements, where the "
                        f"schema counts bytes ({ev}): a count of elements where a byte count is declared", 92)]
    if t.count.unit == "elements" and ev * width == av:
        return [Finding("length_unit", field, f"the prefix says {av}, the size in bytes, where the schema counts "
                        f"elements ({ev})", 92)]
    return []


def _signedness(s: Span, e: bytes, a: bytes, rest_same: bool) -> list[Finding]:
    t = s.prim
    if not (isinstance(t, S.Prim) and t.kind in ("int", "uint")) or not rest_same:
        return []
    if t.order == "big":   # compare least significant bytes first
        e, a = e[::-1], a[::-1]
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
    t = s.prim
    if not isinstance(t, S.Prim) or s.schema_type is None or delta == 0 or not act.endswith(tail) or t.kind == "bool":
        return []
    other = t.size + delta
    if other not in (1, 2, 4, 8):
        return []
    got = act[s.offset:s.offset + other]
    if len(got) != other or len(act) != s.offset + other + len(tail):
        return []
    order = t.order
    if t.kind == "float":
        value = float((F32 if t.size == 4 else F64)(int.from_bytes(e, order)))
        fmt = ("<" if order == "little" else ">") + ("f" if other == 4 else "d")
        if struct.pack(fmt, value) == got or (value != value and other in (4, 8)):
            return [Finding("float_width", s.path, f"{'f32' if other == 4 else 'f64'} written where {t.name} "
                            f"is declared ({got.hex(' ')}): every later offset shifts by {delta:+d}", 88)]
        return []
    value = int.from_bytes(e, order, signed=t.signed)
    for signed in (True, False):
        if int.from_bytes(got, order, signed=signed) == value:
            kind = f"{'i' if signed else 'u'}{8 * other}"
            return [Finding("width", s.path, f"{kind} written where {t.name} is declared: {other} bytes instead "
                            f"of {t.size}, so every later offset shifts by {delta:+d}", 88)]
    return []


def _nul(s: Span, exp: bytes, act: bytes, spans: list[Span], delta: int) -> list[Finding]:
    t = s.schema_type
    if not isinstance(t, S.Bytes) or abs(delta) != 1 or t.count.prefix is None:
        return []
    p = t.count.prefix
    prefix_at = s.offset - p.size
    head, data, tail = exp[:prefix_at], exp[s.offset:s.offset + s.size], exp[s.offset + s.size:]

    def length(n: int) -> bytes:
        return n.to_bytes(p.size, p.order) if 0 <= n <= p.max else b"?"
    if delta == 1 and act == head + length(s.size + 1) + data + b"\0" + tail:
        return [Finding("nul_counted", s.path, f"length {s.size + 1} where {s.size} is expected, and the "
                        "extra byte is a NUL: the terminator was counted and sent", 90)]
    if delta == -1 and s.size > 0 and act == head + length(s.size - 1) + data[:-1] + tail:
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


def _packed(msg: S.Message, spans: list[Span], exp: bytes, act: bytes) -> list[Finding]:
    """A C-layout struct sent without its padding (a packed struct, or field-by-field writes):
    the expected bytes with the implicit padding of one struct value (or of all) removed are the
    actual ones."""
    pads = [s for s in spans if s.type.startswith("pad[") and s.path.endswith(")")]
    groups: dict[str, list[Span]] = {}
    for p in pads:
        groups.setdefault(p.path.rpartition(".(")[0], []).append(p)
    for owner, group in [*groups.items(), ("every C-layout struct", pads)]:
        if not group:
            continue
        out, at = bytearray(), 0
        for p in group:
            out += exp[at:p.offset]
            at = p.offset + p.size
        out += exp[at:]
        if bytes(out) != act:
            continue
        where = ", ".join(f"{p.size} bytes {p.path.rsplit('(', 1)[1].rstrip(')')}" for p in group[:4])
        head, _, tail = group[0].path.rpartition(".(")
        field = f"{head}.{tail[len('pad before '):-1]}" if tail.startswith("pad before ") else head
        return [Finding("padding", field, f"the implicit padding of layout \"c\" is missing from {owner} ({where}): "
                        "the sender packed the struct", 93)]
    return []


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


__all__ = ["Diagnosis", "Finding", "Row", "Span", "diagnose", "diff_bytes", "diff_values", "dump_lines", "explain_reading", "hexdump", "show", "walk"]
