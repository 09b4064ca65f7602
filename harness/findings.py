"""Root causes: failing cells whose diagnoses share the peer at fault, the direction, the cause
and the field are one finding, shown once with its count, one example and the command that
reruns that example (issue 18). One byte-swapped field in one peer is one finding, not the
hundreds of cells it breaks.

The key of a cell comes from its diagnosis (matrix.py writes it): the first sentence that names
the peer at fault ("<peer> encodes the value wrongly", "<peer> frames the value wrongly", ...)
and the first "likely cause: <cause> at <field>:". A failure with neither (a peer that died or
timed out) is keyed by its first line with the numbers taken out, so one dead peer is one
finding too.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from .matrix import Result

FAILED = ("fail", "xpass")

# (pattern naming the peer at fault, direction); the first match in a detail wins
_BLAME = [
    (re.compile(r"^(\S+) encoded other bytes than the golden ones", re.M), "encode"),
    (re.compile(r"^(\S+) encodes the value wrongly", re.M), "encode"),
    (re.compile(r"^(\S+) cannot ENCODE the value: (.*)", re.M), "encode"),
    (re.compile(r"^(\S+) frames the value wrongly", re.M), "framing"),
    (re.compile(r"^(\S+) wrote another frame", re.M), "framing"),
    (re.compile(r"^(\S+) decoded the golden bytes", re.M), "decode"),
    (re.compile(r"^(\S+) cannot DECODE the golden bytes: (.*)", re.M), "decode"),
]
_LIKELY = re.compile(r"likely cause: (\w+) at (\S+?):")
_RECEIVING = "wrote the golden frame byte for byte: the fault is on the receiving side"
_TRANSPORT = "each peer alone encodes and decodes this case right"
_PEER = re.compile(r"^peer (\S+?)(?:/\S+)?: ")
_REQUEST = re.compile(r" \(request: (\w+).*$")
_BREAKER = "; the first: "         # the circuit breaker's refusal quotes the first error
_VERB = {"ENCODE": "encode", "DECODE": "decode"}


@dataclass(frozen=True)
class Key:
    peer: str           # the peer at fault ("a->b" when only the pair can be blamed)
    direction: str      # encode, decode, framing, refusal, transport, runtime; xpass (a stale list line)
    cause: str          # a bug class (byteswap, width, ...), or the error in words
    field: str          # the field path, or "-"

    def __str__(self) -> str:
        if self.direction == "xpass":      # a listed failure that passes: the line to remove says it all
            return self.cause
        at = f" at {self.field}" if self.field != "-" else ""
        return f"{self.cause}{at} in peer {self.peer} ({self.direction})"


@dataclass
class Finding:
    key: Key
    results: list[Result] = field(default_factory=list)

    @property
    def example(self) -> Result:
        return self.results[0]

    def spread(self) -> str:
        """How many cells of each kind, and over which transports: "send 40, echo 80 over uds"."""
        kinds = Counter(r.cell.kind for r in self.results)
        where = sorted({r.cell.transport for r in self.results} - {"-"})
        return ", ".join(f"{k} {n}" for k, n in kinds.items()) + (f" over {', '.join(where)}" if where else "")


def _generic(line: str) -> str:
    """A first line with what changes from cell to cell taken out (numbers, hex, quoted values)."""
    line = re.sub(r"'[^']*'|\"[^\"]*\"", "…", line)
    line = re.sub(r"\b(0x)?[0-9a-f]*\d[0-9a-f.]*\b", "#", line)
    return line[:160]


def _error(text: str) -> str:
    """A peer's error without its peer label and request: what the same bug says every time."""
    text = text.split("\n", 1)[0].split(_BREAKER, 1)[-1]
    text = _PEER.sub("", text, count=1)
    return _generic(_REQUEST.sub("", text))


def key(result: Result) -> Key:
    """The root-cause key of one failing cell."""
    c, detail = result.cell, result.detail
    likely = _LIKELY.search(detail)
    cause, where = (likely.group(1), likely.group(2)) if likely else ("", "-")
    if result.status == "xpass":
        return Key("-", "xpass", detail.split("\n", 1)[0], "-")
    if c.kind == "reject":
        return Key(c.sender, "refusal", cause or _generic(detail.split("\n", 1)[0]), where)
    if c.kind == "hostile":
        return Key(c.receiver, "refusal", (likely and detail[likely.end():].split(":", 1)[0].strip()) or "hostile",
                   where)
    for pattern, direction in _BLAME:
        m = pattern.search(detail)
        if m and m.group(1) in (c.sender, c.receiver):
            said = _error(m.group(2)) if m.groups()[1:] else ""
            return Key(m.group(1), direction, cause or said or "unexplained difference", where)
    if _RECEIVING in detail:
        return Key(c.receiver, "decode", cause or "reads the golden frame wrongly", where)
    m = _PEER.match(detail)
    if m:
        verb = _REQUEST.search(detail.split("\n", 1)[0].split(_BREAKER, 1)[-1])
        return Key(m.group(1), _VERB.get(verb.group(1) if verb else "", "runtime"), _error(detail), "-")
    if _TRANSPORT in detail:
        return Key(f"{c.sender}->{c.receiver}", "transport", cause or _generic(detail.split("\n", 1)[0]), where)
    pair = c.sender if c.sender == c.receiver or c.transport == "-" else f"{c.sender}->{c.receiver}"
    return Key(pair, c.kind, cause or _generic(detail.split("\n", 1)[0]), where)


def group(results: list[Result]) -> list[Finding]:
    """The failing cells as findings, the largest first (ties in the order they ran)."""
    out: dict[Key, Finding] = {}
    for r in results:
        if r.status in FAILED:
            k = key(r)
            out.setdefault(k, Finding(k)).results.append(r)
    return sorted(out.values(), key=lambda f: -len(f.results))
