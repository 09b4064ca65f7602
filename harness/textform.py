"""The contract's text form of values (PEER_CONTRACT.md, "Values as text").

One token per leaf, in schema order, depth first: exact (floats as bit patterns, bytes and
big integers in hex) and simple enough for a C peer to parse without a library.
"""
from __future__ import annotations

import re
from typing import Any, Iterator

from . import schema as S
from .errors import TextFormError
from .values import F32, F64

_DEC = re.compile(r"-?(0|[1-9][0-9]*)\Z")
_HEX_BITS = {4: re.compile(r"0x[0-9a-fA-F]{8}\Z"), 8: re.compile(r"0x[0-9a-fA-F]{16}\Z")}
_BIG = re.compile(r"-?0x[0-9a-fA-F]+\Z")


def blob(data: bytes) -> str:
    """A blob token: x + lowercase hex."""
    return "x" + data.hex()


def parse_blob(token: str, what: str = "blob") -> bytes:
    # bytes.fromhex, not a regular expression: a 1 MiB payload is a 2 MB token, and matching it
    # cost more than the rest of a matrix cell. fromhex skips whitespace, which the length
    # check refuses; it refuses everything else that is not pairs of hex digits.
    if token[:1] == "x":
        try:
            data = bytes.fromhex(token[1:])
        except ValueError:
            data = None
        if data is not None and 2 * len(data) == len(token) - 1:
            return data
    raise TextFormError(f"{what}: expected x followed by pairs of hex digits, got {_show(token)}")


def _show(token: str) -> str:
    return repr(token if len(token) <= 40 else token[:40] + "...")


# ------------------------------------------------------------------ values -> tokens


def format_value(t: S.Type, v: Any, out: list[str]) -> None:
    if isinstance(t, S.Prim):
        if t.kind == "float":
            out.append(f"0x{v.bits:0{2 * t.size}x}")
        elif t.kind == "bool":
            out.append("true" if v else "false")
        else:
            out.append(str(v))
    elif isinstance(t, (S.Enum, S.Flags)):
        out.append(str(v))
    elif isinstance(t, S.CharArray):
        out.append(blob(v))
    elif isinstance(t, S.Bytes):
        out.append(blob(v.encode("utf-8", "surrogatepass") if t.utf8 else v))
    elif isinstance(t, S.BigInt):
        out.append(f"-0x{-v:x}" if v < 0 else f"0x{v:x}")
    elif isinstance(t, S.Array):
        for item in v:
            format_value(t.elem, item, out)
    elif isinstance(t, S.Vec):
        out.append(str(len(v)))
        for item in v:
            format_value(t.elem, item, out)
    elif isinstance(t, S.Union):
        raise AssertionError("a union is formatted by its struct, which knows the tag")
    elif isinstance(t, S.Struct):
        for f in t.value_fields:
            if isinstance(f.type, S.Union):
                case = f.type.case(v[f.type.on])
                if case is not None and case.type is not None:
                    format_value(case.type, v[f.name], out)
            else:
                format_value(f.type, v[f.name], out)
    # Pad, constants, counts: no token


def format_message(msg: S.Message, value: Any) -> str:
    out: list[str] = []
    format_value(msg, value, out)
    return " ".join(out)


# ------------------------------------------------------------------ tokens -> values


class _Tokens:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens, self.i = tokens, 0

    def next(self, path: str, what: str) -> str:
        if self.i >= len(self.tokens):
            raise TextFormError(f"{path}: expected {what}, the value ended after {self.i} tokens")
        self.i += 1
        return self.tokens[self.i - 1]


def parse_value(t: S.Type, toks: _Tokens, path: str) -> Any:
    if isinstance(t, (S.Prim, S.Enum, S.Flags)):
        base = t.base if isinstance(t, (S.Enum, S.Flags)) else t
        tok = toks.next(path, base.name)
        if base.kind == "float":
            if not _HEX_BITS[base.size].match(tok):
                raise TextFormError(f"{path}: {base.name} must be 0x + {2 * base.size} hex digits "
                                    f"(its bit pattern), got {_show(tok)}")
            return (F32 if base.size == 4 else F64)(int(tok, 16))
        if base.kind == "bool":
            if tok not in ("true", "false"):
                raise TextFormError(f"{path}: bool must be true or false, got {_show(tok)}")
            return tok == "true"
        if not _DEC.match(tok):
            raise TextFormError(f"{path}: {base.name} must be a decimal integer, got {_show(tok)}")
        return int(tok)  # range is the codec's business: a text value may be out of range on purpose
    if isinstance(t, S.CharArray):
        return parse_blob(toks.next(path, "x<hex>"), path)
    if isinstance(t, S.Bytes):
        raw = parse_blob(toks.next(path, "x<hex>"), path)
        if not t.utf8:
            return raw
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("utf-8", "surrogateescape")  # kept so that the codec can refuse it
    if isinstance(t, S.BigInt):
        tok = toks.next(path, "0x<hex>")
        if not _BIG.match(tok):
            raise TextFormError(f"{path}: bigint must be 0x<hex> or -0x<hex>, got {_show(tok)}")
        return int(tok, 16)
    if isinstance(t, S.Array):
        return [parse_value(t.elem, toks, f"{path}[{i}]") for i in range(t.n)]
    if isinstance(t, S.Vec):
        tok = toks.next(path, "a count")
        if not _DEC.match(tok) or tok.startswith("-"):
            raise TextFormError(f"{path}: vec count must be a decimal count, got {_show(tok)}")
        n = int(tok)
        if n > t.max + len(toks.tokens) - toks.i:  # bounded even when the items take no token
            raise TextFormError(f"{path}: count {n} is more than max {t.max} and the tokens left")
        return [parse_value(t.elem, toks, f"{path}[{i}]") for i in range(n)]
    assert isinstance(t, S.Struct)
    value: dict = {}
    for f in t.value_fields:
        if isinstance(f.type, S.Union):
            value[f.name] = parse_union(f.type, value[f.type.on], toks, f"{path}.{f.name}")
        else:
            value[f.name] = parse_value(f.type, toks, f"{path}.{f.name}")
    return value


def parse_union(t: S.Union, tag: int, toks: _Tokens, path: str) -> Any:
    """The tokens of the case the tag picks; a tag that picks none reads no token (the codec
    refuses the value: `encode union`)."""
    case = t.case(tag)
    if case is None or case.type is None:
        return None
    return parse_value(case.type, toks, path)


def parse_message(msg: S.Message, tokens: list[str]) -> Any:
    """The value written by `tokens`; every token must be used."""
    toks = _Tokens(tokens)
    value = parse_value(msg, toks, msg.name)
    if toks.i != len(tokens):
        raise TextFormError(f"{msg.name}: {len(tokens) - toks.i} tokens left over after the value "
                            f"(first: {_show(tokens[toks.i])})")
    return value


def iter_leaves(t: S.Type, v: Any, path: str) -> Iterator[tuple[str, S.Type, Any]]:
    """(path, type, value) of every leaf, in wire order: for reports and diagnosis."""
    if isinstance(t, S.Struct):
        for f in t.value_fields:
            ft = f.type
            if isinstance(ft, S.Union):
                case = ft.case(v[ft.on])
                if case is None or case.type is None:
                    continue
                ft = case.type
            yield from iter_leaves(ft, v[f.name], f"{path}.{f.name}")
    elif isinstance(t, (S.Array, S.Vec)):
        for i, item in enumerate(v):
            yield from iter_leaves(t.elem, item, f"{path}[{i}]")
    else:
        yield path, t, v


# ------------------------------------------------------------------ frames


def format_frame(frame: S.Frame | None, seq: int, header: dict[str, int]) -> str:
    """The tokens SEND takes before the value and RECV replies after the message name: the seq,
    then the plain header fields in header order (PEER_CONTRACT.md, SEND)."""
    out = [str(seq)]
    if frame is not None:
        out += [str(header[h.name]) for h in frame.plain]
    return " ".join(out)


def parse_frame(frame: S.Frame | None, tokens: list[str]) -> tuple[int, dict[str, int], list[str]]:
    """(seq, plain header values, the value's tokens) of RECV's reply after the message name."""
    names = ["seq"] + ([h.name for h in frame.plain] if frame is not None else [])
    if len(tokens) < len(names):
        raise TextFormError(f"expected {', '.join(names)} before the value, got {len(tokens)} tokens")
    got = []
    for name, tok in zip(names, tokens):
        if not _DEC.match(tok):
            raise TextFormError(f"frame.{name} must be a decimal integer, got {_show(tok)}")
        got.append(int(tok))
    return got[0], dict(zip(names[1:], got[1:])), tokens[len(names):]
