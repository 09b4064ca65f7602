"""The Python backend: adapter peers on the Python kit (docs/kits.md).

The Python reference peer generates nothing here: its codec reads the schema at run time and
its build step writes its own fast plans (peers/python/kit/build_codec.py). An adapter peer gets
`cw_messages.py` (generated: what each message's value looks like, for the stubs) and, once,
`peer.py` (the stubs to fill in), `peer.toml` and `build_peer.py`.
"""
from __future__ import annotations

from typing import Any

from .. import schema as S
from . import generated_banner

KIT = "peers/python/kit"

VALUES = '''Values are plain Python: a message or struct is a dict of field name -> value (padding,
constants and count/size fields have no value: the codec writes them); integers, enums, flags
and bigints are int; f32 and f64 are int bit patterns (exact: NaN payloads, -0.0; cwkit.f32(bits)
and cwkit.f64(bits) give a float, cwkit.f32_bits(x) and cwkit.f64_bits(x) the reverse); bool is
bool; char[N], bytes and string are bytes (string: its UTF-8); T[N] and vec<T> are lists; a
union field holds the value of the case its discriminator field picks (None for a case
without a value).'''


def _type(t: Any) -> str:
    if isinstance(t, S.Prim):
        if t.kind == "float":
            return f"{t.name} (int: the bit pattern)"
        return f"{t.name} (bool)" if t.kind == "bool" else f"{t.name} (int)"
    if isinstance(t, S.Enum):
        names = ", ".join(f"{k}={v}" for k, v in t.values.items())
        return f"enum {t.name} (int: {names}{'; others allowed' if t.open else ''})"
    if isinstance(t, S.Flags):
        return f"flags {t.name} (int: bits {', '.join(f'{k}={v}' for k, v in t.bits.items())})"
    if isinstance(t, S.CharArray):
        return f"char[{t.n}] (bytes, no NUL padding)"
    if isinstance(t, S.Bytes):
        return f"{'string' if t.utf8 else 'bytes'} (bytes, at most {t.max})"
    if isinstance(t, S.BigInt):
        return f"bigint (int, at most {t.max} bytes)"
    if isinstance(t, S.Array):
        return f"list of {t.n}: {_type(t.elem)}"
    if isinstance(t, S.Vec):
        return f"list of at most {t.max}: {_type(t.elem)}"
    if isinstance(t, S.Union):
        cases = ", ".join(f"{c.name}: {_type(c.type) if c.type is not None else 'None'}" for c in t.cases)
        return f"union {t.name} on {t.on} ({cases})"
    if isinstance(t, S.Struct):
        return f"struct {t.name} (dict)"
    return type(t).__name__


def _fields(struct: S.Struct, indent: str, seen: set[str]) -> list[str]:
    out = []
    for f in struct.value_fields:
        since = f" (since version {f.since})" if f.since > 1 else ""
        out.append(f"{indent}{f.name}: {_type(f.type)}{since}")
        inner = f.type.elem if isinstance(f.type, (S.Array, S.Vec)) else f.type
        if isinstance(inner, S.Struct) and inner.name not in seen:
            out += _fields(inner, indent + "    ", seen | {inner.name})
    return out


def _doc(m: S.Message) -> list[str]:
    direction = f", {m.direction}" if m.direction else ""
    return [f"{m.name} (id {m.id:#x}{direction}):", *(_fields(m, "    ", {m.name}) or ["    (no fields: the value is {})"])]


def adapter_generated(schema: S.Schema, frames: bool) -> dict[str, str]:
    lines = [generated_banner("#").rstrip("\n"), '"""The messages of the schema ' + schema.name + ', as an adapter sees them.', "",
             *VALUES.splitlines(), ""]
    for m in schema.messages.values():
        lines += _doc(m) + [""]
    lines += ['"""', "", f"MESSAGES = {[m for m in schema.messages]!r}", f"FRAMES = {frames!r}", ""]
    return {"cw_messages.py": "\n".join(lines)}


def adapter_files(schema: S.Schema, name: str, kit: str, frames: bool) -> dict[str, str]:
    stubs = []
    for m in schema.messages.values():
        doc = "\n".join("    # " + line for line in _doc(m))
        if frames:
            stubs.append(f'''def encode_{m.name}(value, seq, header):
{doc}
    # -> bytes: the whole frame (header, payload, checksum) your library writes for `value`,
    #    with this seq and these plain header values (in the frame's order).
    raise cwkit.Unimplemented


def decode_{m.name}(frame):
    # -> the value your library reads from this whole frame (a dict, as above). The frame is as it
    #    came: the kit found it by its length and chose this function by its id, and checked
    #    nothing else (constants, checksum, seq): refuse (raise) whatever your library refuses.
    raise cwkit.Unimplemented
''')
        else:
            stubs.append(f'''def encode_{m.name}(value):
{doc}
    # -> bytes: the payload your library writes for `value`.
    raise cwkit.Unimplemented


def decode_{m.name}(payload):
    # -> the value your library reads from these payload bytes (a dict, as above).
    raise cwkit.Unimplemented
''')
    what = "whole frames (header, payload, checksum)" if frames else "payloads (the kit writes the frame)"
    peer = f'''"""The {name} peer: crosswire's Python kit around your library. Yours to edit.

Scaffolded by `crosswire new-peer {name} --lang python --adapter{' --frames' if frames else ''}`. Fill in one
encode_<Message> and one decode_<Message> per message, calling the library under test on
{what}. A stub left as it is skips its message (with the reason); an exception is reported as
the adapter's error for that message, and the matrix goes on. The shape of each message's value
is in cw_messages.py (generated from the schema, rewritten by `crosswire build`).
"""
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "{kit}"))
import cwkit  # noqa: E402  (the Python kit: `crosswire kit --lang python`)

FRAMES = {frames!r}   # {'the library writes and reads whole frames' if frames else 'payloads only'}

# import your_library


''' + "\n\n".join(stubs) + '''

if __name__ == "__main__":
    sys.exit(cwkit.run(HERE, adapter=sys.modules[__name__]))
'''
    manifest = f'''# The {name} peer: an adapter around a library (`crosswire new-peer --adapter`); yours to edit.
name = "{name}"
language = "python"
contract = 3

[adapter]   # crosswire build rewrites cw_messages.py from the schema before the build step
lang = "python"
frames = {'true' if frames else 'false'}

[build]     # the kit's codec plans and shared-memory helper, into build/
command = ["{{python}}", "{kit}/build_kit.py"]
outputs = ["build/cw_plans.py", "build/_cwshm.stamp"]

[run]
command = ["{{python}}", "peer.py"]   # {{python}}: crosswire's interpreter (your venv, with your library)

[supports]
transports = ["uds", "tcp", "shm"]
messages = "*"

# [quirks]  # what your library does not carry, as expected failures (harness/quirks.py):
# quiets-snan = "decode"
'''
    return {"peer.py": peer, "peer.toml": manifest}


class _Backend:
    name = "python"

    def generate(self, schema: S.Schema) -> dict[str, str]:
        return {}     # the reference peer reads the schema at run time


BACKEND = _Backend()
