"""Say where two values or two byte strings differ, field by field.

This is the first layer of diagnosis: exact differences with their field paths and offsets.
"""
from __future__ import annotations

from typing import Any

from . import schema as S
from .values import _Bits


def show(t: S.Type, v: Any) -> str:
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
        return [f"{path}: expected {show(t, expected)}, got {show(t, actual)}"]
    return []


def diff_bytes(expected: bytes, actual: bytes, context: int = 8) -> str:
    """Where two byte strings first differ, with a few bytes of context on each side."""
    if expected == actual:
        return "bytes are equal"
    n = next((i for i, (a, b) in enumerate(zip(expected, actual)) if a != b), min(len(expected), len(actual)))
    lo = max(0, n - context)
    return (f"first difference at offset {n} (expected {len(expected)} bytes, got {len(actual)}):\n"
            f"  expected [{lo}:] {expected[lo:n + context].hex(' ')}\n"
            f"  actual   [{lo}:] {actual[lo:n + context].hex(' ')}")
