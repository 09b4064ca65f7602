"""The Python peer's codec against a bare, precompiled struct.Struct doing the same message.

For every message whose layout is fixed (no length prefixes), the bare baseline is one
`struct.Struct` of the message's whole little-endian format, packing the flat tuple of leaves
and unpacking the payload; the peer's codec encodes its own value form and decodes a payload
with every check the contract asks for. Both are timed in this process with timeit (the
codec is a library, not a transport: there is no data path to stay out of).
"""
from __future__ import annotations

import importlib.util
import struct
import sys
import timeit
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from .. import schema as S
from ..errors import CrosswireError


def bare_format(t: S.Type) -> str:
    """The struct format of a fixed-size type (bit patterns for floats, as on the wire)."""
    if isinstance(t, S.Prim):
        return t.fmt
    if isinstance(t, S.Enum):
        return t.base.fmt
    if isinstance(t, S.CharArray):
        return f"{t.n}s"
    if isinstance(t, S.Pad):
        return f"{t.n}x"
    if isinstance(t, S.Array):
        return bare_format(t.elem) * t.n
    if isinstance(t, S.Struct):
        return "".join(bare_format(f.type) for f in t.fields)
    raise CrosswireError(f"{S.type_name(t)} has no fixed layout")


def load_peer_codec(root: Path) -> ModuleType:
    from ..reference import home
    path = root / "peers" / "python" / "kit" / "codec.py"
    if not path.is_file():      # a project other than the checkout: its copy of the reference peer
        path = home(root) / "peers" / "python" / "kit" / "codec.py"
    spec = importlib.util.spec_from_file_location("crosswire_python_peer_codec", path)
    if spec is None or spec.loader is None:
        raise CrosswireError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def per_call_ns(fn, repeat: int) -> float:
    """The best of `repeat` timeit runs, each long enough to be measured (autorange)."""
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    return min(timer.repeat(repeat, number)) / number * 1e9


@dataclass(frozen=True)
class CodecFigure:
    message: str
    payload_bytes: int
    encode_ns: float
    bare_pack_ns: float
    decode_ns: float
    bare_unpack_ns: float

    @property
    def encode_ratio(self) -> float:
        return self.encode_ns / self.bare_pack_ns

    @property
    def decode_ratio(self) -> float:
        return self.decode_ns / self.bare_unpack_ns

    def record(self) -> dict:
        return {"message": self.message, "payload_bytes": self.payload_bytes, "encode_ns": self.encode_ns,
                "bare_pack_ns": self.bare_pack_ns, "encode_ratio": self.encode_ratio,
                "decode_ns": self.decode_ns, "bare_unpack_ns": self.bare_unpack_ns,
                "decode_ratio": self.decode_ratio}


def measure(root: Path, schema: S.Schema, cases: list, repeat: int = 5) -> list[CodecFigure]:
    """One figure per fixed-layout message with fields, on its first golden case."""
    peer = load_peer_codec(root).Schema()
    out = []
    for msg in schema.messages.values():
        if not msg.value_fields or S.fixed_size(msg) is None:
            continue
        case = next((c for c in cases if c.message.name == msg.name), None)
        if case is None:
            continue
        bare = struct.Struct("<" + bare_format(msg))
        payload = case.payload
        leaves = bare.unpack(payload)
        value = peer.decode(msg.name, payload)
        if peer.encode(msg.name, value) != payload or bare.pack(*leaves) != payload:
            raise CrosswireError(f"{msg.name}: the codecs do not round-trip {case.id}; fix that before timing it")
        name = msg.name
        out.append(CodecFigure(
            name, len(payload),
            per_call_ns(lambda: peer.encode(name, value), repeat), per_call_ns(lambda: bare.pack(*leaves), repeat),
            per_call_ns(lambda: peer.decode(name, payload), repeat), per_call_ns(lambda: bare.unpack(payload), repeat)))
    return out
