"""The value model: what a decoded message is in Python.

| schema type        | Python value                                   |
|--------------------|------------------------------------------------|
| u*/i*, enum, bigint| int                                            |
| f32 / f64          | F32 / F64: the bit pattern, so NaN payloads and -0.0 compare exactly |
| bool               | bool                                           |
| char[N], bytes     | bytes (char[N]: without its NUL padding)       |
| string             | str                                            |
| T[N], vec<T>       | list                                           |
| struct, message    | dict of field name -> value (pad fields absent)|

Floats never pass through a Python float on their way between wire and model: converting an
f32 signalling NaN to a double quiets it on common hardware.
"""
from __future__ import annotations

import math
import struct


class _Bits:
    """A float held as its IEEE 754 bit pattern. Equal when the bits are equal."""

    __slots__ = ("bits",)
    WIDTH = 0
    _PACK = ""
    _UNPACK = ""

    def __init__(self, bits: int) -> None:
        if not 0 <= bits < (1 << self.WIDTH):
            raise ValueError(f"{type(self).__name__} bit pattern out of range: {bits:#x}")
        self.bits = bits

    @classmethod
    def from_float(cls, value: float) -> "_Bits":
        return cls(struct.unpack(cls._UNPACK, struct.pack(cls._PACK, value))[0])

    def __float__(self) -> float:
        return struct.unpack(self._PACK, struct.pack(self._UNPACK, self.bits))[0]

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.bits == self.bits  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.bits))

    @property
    def is_nan(self) -> bool:
        return math.isnan(float(self)) if self.WIDTH == 64 else self._nan32()

    def _nan32(self) -> bool:
        return (self.bits & 0x7F800000) == 0x7F800000 and (self.bits & 0x007FFFFF) != 0

    def describe(self) -> str:
        """A human reading: the float, and for NaN its quiet bit and payload."""
        digits = self.WIDTH // 4
        if self.WIDTH == 32:
            exp_mask, frac_bits = 0x7F800000, 23
        else:
            exp_mask, frac_bits = 0x7FF0000000000000, 52
        frac = self.bits & ((1 << frac_bits) - 1)
        if (self.bits & exp_mask) == exp_mask and frac:
            quiet = frac >> (frac_bits - 1)
            payload = frac & ((1 << (frac_bits - 1)) - 1)
            sign = "-" if self.bits >> (self.WIDTH - 1) else ""
            return f"{sign}{'q' if quiet else 's'}NaN(payload={payload:#x}) [{self.bits:#0{digits + 2}x}]"
        return f"{float(self)!r} [{self.bits:#0{digits + 2}x}]"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.describe()})"


class F32(_Bits):
    WIDTH, _PACK, _UNPACK = 32, "<f", "<I"


class F64(_Bits):
    WIDTH, _PACK, _UNPACK = 64, "<d", "<Q"
