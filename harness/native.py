"""The C codec in process, through cffi in API mode: the compiler's word, not ours.

`build()` compiles a small extension against the generated C header and links the C peer's
codec library (peers/c/build/libcwcodec.so). Its declarations are generated from the schema
with `...;` in every struct and union, so cffi asks the C compiler for the real sizeof,
alignof and offsetof of every generated type; `layout_problems()` compares them with
harness/layout.py field by field, and a layout "c" struct's offsets with the wire's.
`NativeCodec` calls the C encoder and decoder (through the generated `cw_text_to_wire` /
`cw_wire_to_text`, at any version) and the frame functions (`cw_frame_write`, `cw_frame_head`,
`cw_frame_verify`) to cross-check the Python reference codec.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

from . import layout as L
# the generator's own naming and order: declarations cannot drift from it
from .codegen.c import c_type, declared_order, int_c_type
from .layout import c_name, case_name
from . import schema as S
from .errors import CrosswireError, DecodeError, EncodeError
from .textform import format_message, parse_message

MODULE = "_crosswire_native"


# ------------------------------------------------------------------ declarations from the schema


def inner_types(owner: str, st: S.Struct) -> list[tuple[str, S.Type]]:
    """The named helper types a struct's bytes/string/bigint/vec fields use: (C name, type)."""
    return [(f"cw_{owner}_{f.name}", f.type) for f in st.fields if isinstance(f.type, (S.Bytes, S.BigInt, S.Vec))]


def _member(t: S.Type, owner: str, field: str, name: str) -> str:
    base, suffix = c_type(t, owner, field)
    return f"{base} {name}{suffix};"


def cdef(schema: S.Schema) -> str:
    """Declarations for cffi, every struct and union left open (`...;`) for the compiler to lay out."""
    out = [f"typedef {int_c_type(e.base)} cw_{e.name};" for e in (*schema.enums.values(), *schema.flags.values())]
    for t in (*declared_order(schema), *schema.messages.values()):  # each after the types it contains
        if isinstance(t, S.Union):
            members = [_member(c.type, t.name, case_name(c), case_name(c)) for c in t.cases if c.type is not None]
            out.append(f"typedef union {{ {' '.join(members) or 'uint8_t _empty;'} ...; }} cw_{t.name};")
            continue
        for cname, ft in inner_types(t.name, t):
            if isinstance(ft, S.Vec):
                base, suffix = c_type(ft.elem, t.name, "items")
                out.append(f"typedef struct {{ uint32_t count; {base} items[{ft.max}]{suffix}; ...; }} {cname};")
            else:
                out.append(f"typedef struct {{ uint32_t len; uint8_t data[{ft.max}]; ...; }} {cname};")
        members = [_member(f.type, t.name, f.name, c_name(f.name)) for f in L.members_of(t)] or ["uint8_t _empty;"]
        out.append(f"typedef struct {{ {' '.join(members)} ...; }} cw_{t.name};")
    out.append("int cw_text_to_wire(const char *message, const char *text, uint8_t *out, size_t cap, "
               "size_t *out_len, char *err, size_t err_cap);")
    out.append("int cw_wire_to_text(const char *message, const uint8_t *buf, size_t len, char *out, "
               "size_t cap, char *err, size_t err_cap);")
    out.append("extern uint32_t cw_version;")
    out += ["typedef struct { const char *name; uint32_t id; ...; } cw_message_info;",
            "typedef struct { char err[...]; ...; } cw_ctx;",
            "typedef struct { const cw_message_info *msg; size_t payload_len; size_t size; uint64_t seq; "
            "uint64_t plain[...]; ...; } cw_head;",
            "const cw_message_info *cw_message_by_name(const char *name, size_t len);",
            "size_t cw_frame_write(uint8_t *frame, const cw_message_info *m, size_t payload_len, uint64_t seq, "
            "const uint64_t *plain);",
            "int cw_frame_head(const uint8_t *in, int direction, cw_head *h, cw_ctx *c);",
            "int cw_frame_verify(const uint8_t *frame, const cw_head *h, cw_ctx *c);"]
    return "\n".join(out)


# ------------------------------------------------------------------ building and loading


def c_paths(root: Path) -> tuple[Path, Path, Path]:
    """(peer dir, generated dir, library) of the C peer."""
    c = root / "peers" / "c"
    return c, c / "gen", c / "build" / "libcwcodec.so"  # the same name on macOS: linked by its path


def build(schema: S.Schema, root: Path, workdir: Path) -> ModuleType:
    """Compile and import the extension in `workdir` (one per process: xdist workers do not share)."""
    try:
        import cffi
    except ImportError:
        raise CrosswireError("cffi is not installed: pip install cffi") from None
    cdir, gen, lib = c_paths(root)
    if not lib.exists():
        raise CrosswireError(f"{lib} is missing: run `make peers` (the C peer builds its codec library)")
    kit = cdir / "kit" / "include"          # the C kit's headers (cw_runtime.h, cw_kit.h)
    headers = [p.name for p in (kit / "cw_runtime.h", *sorted(gen.glob("*.h"))) if p.exists()]
    ffi = cffi.FFI()
    ffi.cdef(cdef(schema))
    ffi.set_source(MODULE, "".join(f'#include "{h}"\n' for h in headers),
                   include_dirs=[str(kit), str(gen)], extra_link_args=[str(lib), f"-Wl,-rpath,{lib.parent}"],
                   extra_compile_args=["-std=c11"])
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        built = ffi.compile(tmpdir=str(workdir), verbose=False)
    except Exception as exc:  # cffi raises distutils/setuptools errors of several kinds
        raise CrosswireError(f"compiling the cffi extension against {gen} failed: {exc}") from None
    spec = importlib.util.spec_from_file_location(MODULE, built)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------ the layout check


def layout_problems(native: ModuleType, schema: S.Schema,
                    expected: Callable[[S.Type], L.Layout] = L.of) -> list[str]:
    """Every difference between the compiler's layout and the schema's, one line per field; for a
    layout "c" struct, also between the compiler's offsets and the wire's."""
    ffi = native.ffi
    problems: list[str] = []

    def compare(cname: str, want: L.Layout) -> None:
        for what, got, exp in (("sizeof", ffi.sizeof(cname), want.size), ("alignof", ffi.alignof(cname), want.align)):
            if got != exp:
                problems.append(f"{cname}: {what} is {exp} in the schema's layout, {got} from the compiler")
        for m in want.members:
            got = ffi.offsetof(cname, m.name)
            if got != m.offset:
                problems.append(f"{cname}.{m.name}: offset {m.offset} in the schema's layout, {got} from the compiler")

    for t in (*declared_order(schema), *schema.messages.values()):
        compare(f"cw_{t.name}", expected(t))
        if isinstance(t, S.Union):
            continue
        for cname, ft in inner_types(t.name, t):
            compare(cname, expected(ft))
        if t.layout == "c" and L.members_of(t):
            wire, size = L.wire_offsets(t)
            cname = f"cw_{t.name}"
            if ffi.sizeof(cname) != size:
                problems.append(f"{cname}: {size} bytes on the wire, sizeof {ffi.sizeof(cname)} from the compiler")
            for name, off in wire.items():
                got = ffi.offsetof(cname, name)
                if got != off:
                    problems.append(f"{cname}.{name}: wire offset {off}, {got} from the compiler")
    return problems


# ------------------------------------------------------------------ the C codec in process


class NativeCodec:
    """The C encoder and decoder, value in and value out, for cross-checking."""

    def __init__(self, native: ModuleType, schema: S.Schema) -> None:
        self.native, self.ffi, self.lib, self.schema = native, native.ffi, native.lib, schema
        self._out = self.ffi.new("uint8_t[]", schema.max_payload)
        self._text = self.ffi.new("char[]", 8 * schema.max_payload + 65536)
        self._err = self.ffi.new("char[]", 1024)
        self._len = self.ffi.new("size_t *")

    def encode(self, msg: S.Message, value: Any) -> bytes:
        text = format_message(msg, value).encode("ascii")
        rc = self.lib.cw_text_to_wire(msg.name.encode(), text, self._out, len(self._out), self._len, self._err, 1024)
        if rc != 0:
            raise self._error()
        return bytes(self.ffi.buffer(self._out, self._len[0]))

    def decode(self, msg: S.Message, payload: bytes) -> Any:
        rc = self.lib.cw_wire_to_text(msg.name.encode(), payload, len(payload), self._text, len(self._text),
                                      self._err, 1024)
        if rc != 0:
            raise self._error()
        text = self.ffi.string(self._text).decode("ascii")
        return parse_message(msg, text.split(" ") if text else [])

    def speak(self, version: int | None) -> None:
        """Encode and decode as a peer speaking `version` does (None: the newest)."""
        self.lib.cw_version = 0xFFFFFFFF if version is None else version

    def frame(self, msg: S.Message, seq: int, header: dict[str, int], payload: bytes) -> bytes:
        """The C frame around a payload (cw_frame_write); header values in range."""
        frame = self.schema.frame
        assert frame is not None
        hs = frame.header_size
        buf = self.ffi.new("uint8_t[]", hs + len(payload) + frame.trailer_size)
        self.ffi.memmove(buf + hs, payload, len(payload))
        plain = self.ffi.new("uint64_t[]", [header[h.name] & ((1 << 64) - 1) for h in frame.plain] or [0])
        m = self.lib.cw_message_by_name(msg.name.encode(), len(msg.name))
        n = self.lib.cw_frame_write(buf, m, len(payload), seq, plain)
        return bytes(self.ffi.buffer(buf, n))

    def head(self, data: bytes, direction: str = "") -> tuple[str, int, list[int], int]:
        """(message name, seq, plain header values as unsigned bits, frame size) of a frame's
        header (cw_frame_head), then its checksum (cw_frame_verify): DecodeError when refused."""
        h, c = self.ffi.new("cw_head *"), self.ffi.new("cw_ctx *")
        side = {"": 0, "request": 1, "response": 2}[direction]
        if self.lib.cw_frame_head(data, side, h, c) != 0 or self.lib.cw_frame_verify(data, h, c) != 0:
            text = self.ffi.string(c.err).decode("utf-8", "replace")
            _kind, code, path, *rest = text.split(" ", 3) + [""]
            raise DecodeError(code, path, rest[0])
        frame = self.schema.frame
        assert frame is not None
        return (self.ffi.string(h.msg.name).decode(), h.seq, [h.plain[i] for i in range(len(frame.plain))], h.size)

    def _error(self) -> CrosswireError:
        text = self.ffi.string(self._err).decode("utf-8", "replace")
        kind, _, rest = text.partition(" ")
        code, _, rest = rest.partition(" ")
        path, _, message = rest.partition(" ")
        if kind == "decode":
            return DecodeError(code, path, message)
        if kind == "encode":
            return EncodeError(code, path, message)
        return CrosswireError(f"C codec: {text}")
