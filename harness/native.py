"""The C codec in process, through cffi in API mode: the compiler's word, not ours.

`build()` compiles a small extension against the generated C header and links the C peer's
codec library (peers/c/build/libcwcodec.so). Its declarations are generated from the schema
with `...;` in every struct, so cffi asks the C compiler for the real sizeof, alignof and
offsetof of every generated type; `layout_problems()` compares them with harness/layout.py
field by field. `NativeCodec` calls the C encoder and decoder (through the generated
`cw_text_to_wire` / `cw_wire_to_text`) to cross-check the Python reference codec.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

from . import layout as L
from .codegen.c import c_type  # the generator's own naming: declarations cannot drift from it
from . import schema as S
from .errors import CrosswireError, DecodeError, EncodeError
from .textform import format_message, parse_message

MODULE = "_crosswire_native"


# ------------------------------------------------------------------ declarations from the schema


def inner_types(owner: str, st: S.Struct) -> list[tuple[str, S.Type]]:
    """The named helper types a struct's bytes/string/bigint/vec fields use: (C name, type)."""
    return [(f"cw_{owner}_{f.name}", f.type) for f in st.fields if isinstance(f.type, (S.Bytes, S.BigInt, S.Vec))]


def cdef(schema: S.Schema) -> str:
    """Declarations for cffi, every struct left open (`...;`) for the compiler to lay out."""
    out = [f"typedef {c_type(e.base, '', '')[0]} cw_{e.name};" for e in schema.enums.values()]
    for st in (*schema.structs.values(), *schema.messages.values()):  # structs come before their users
        for cname, t in inner_types(st.name, st):
            if isinstance(t, S.Vec):
                base, suffix = c_type(t.elem, st.name, "items")
                out.append(f"typedef struct {{ uint32_t count; {base} items[{t.max}]{suffix}; ...; }} {cname};")
            else:
                out.append(f"typedef struct {{ uint32_t len; uint8_t data[{t.max}]; ...; }} {cname};")
        members = [f"{c_type(f.type, st.name, f.name)[0]} {f.name}{c_type(f.type, st.name, f.name)[1]};"
                   for f in st.fields] or ["uint8_t _empty;"]
        out.append(f"typedef struct {{ {' '.join(members)} ...; }} cw_{st.name};")
    out.append("int cw_text_to_wire(const char *message, const char *text, uint8_t *out, size_t cap, "
               "size_t *out_len, char *err, size_t err_cap);")
    out.append("int cw_wire_to_text(const char *message, const uint8_t *buf, size_t len, char *out, "
               "size_t cap, char *err, size_t err_cap);")
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
    headers = [p.name for p in (cdir / "cw_runtime.h", *sorted(gen.glob("*.h"))) if p.exists()]
    ffi = cffi.FFI()
    ffi.cdef(cdef(schema))
    ffi.set_source(MODULE, "".join(f'#include "{h}"\n' for h in headers),
                   include_dirs=[str(cdir), str(gen)], extra_link_args=[str(lib), f"-Wl,-rpath,{lib.parent}"],
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
    """Every difference between the compiler's layout and the schema's, one line per field."""
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

    for st in (*schema.structs.values(), *schema.messages.values()):
        compare(f"cw_{st.name}", expected(st))
        for cname, t in inner_types(st.name, st):
            compare(cname, expected(t))
    return problems


# ------------------------------------------------------------------ the C codec in process


class NativeCodec:
    """The C encoder and decoder, value in and value out, for cross-checking."""

    def __init__(self, native: ModuleType, schema: S.Schema) -> None:
        self.ffi, self.lib, self.schema = native.ffi, native.lib, schema
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
