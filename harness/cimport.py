"""`python -m harness import-c HEADER`: a schema from the structs, enums and fixed arrays of a
C header, for a team whose source of truth is a header.

The header is preprocessed by the C preprocessor (`cpp`, with a small stdint.h/stdbool.h of
our own so no system header reaches the parser) and parsed by pycparser. Each struct becomes a
`[structs.X]`; the structs no other struct contains become `[messages.X]` (ids in order, or
as `--messages` names them); enums become `[enums.X]` of their C type, int (i32). Fields keep
their order; `--natural` lays them out as the compiler does (`layout = "c"`), `--packed` back
to back. What has no fixed wire form is refused with the line it is on: a pointer, a flexible
array member, a bit-field, a C union (no discriminator), `long` and `size_t` (4 or 8 bytes
depending on the platform), plain `char` outside an array (its signedness is the compiler's).
"""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .errors import CrosswireError

FAKE_HEADERS = {
    "stdint.h": """
typedef signed char int8_t; typedef unsigned char uint8_t;
typedef short int16_t; typedef unsigned short uint16_t;
typedef int int32_t; typedef unsigned int uint32_t;
typedef long long int64_t; typedef unsigned long long uint64_t;
typedef struct __cw_size_t__ __cw_size_t; typedef __cw_size_t size_t; typedef __cw_size_t uintptr_t;
typedef __cw_size_t intptr_t; typedef __cw_size_t ptrdiff_t; typedef __cw_size_t ssize_t;
""",
    "stdbool.h": "typedef _Bool bool;\n#define true 1\n#define false 0\n",
    "stddef.h": "#include <stdint.h>\n#define NULL 0\n#define offsetof(t, m) 0\n",
    "inttypes.h": "#include <stdint.h>\n",
    "stdalign.h": "",
}

# C type names (as pycparser joins them) -> schema types; `long` and friends are refused below.
SCALARS = {
    "int8_t": "i8", "uint8_t": "u8", "int16_t": "i16", "uint16_t": "u16", "int32_t": "i32", "uint32_t": "u32",
    "int64_t": "i64", "uint64_t": "u64", "float": "f32", "double": "f64", "_Bool": "bool", "bool": "bool",
    "signed char": "i8", "unsigned char": "u8", "short": "i16", "short int": "i16", "signed short": "i16",
    "unsigned short": "u16", "unsigned short int": "u16", "int": "i32", "signed": "i32", "signed int": "i32",
    "unsigned": "u32", "unsigned int": "u32", "long long": "i64", "long long int": "i64", "signed long long": "i64",
    "unsigned long long": "u64", "unsigned long long int": "u64",
}
AMBIGUOUS = {
    "long": "4 bytes on 32-bit platforms and Windows, 8 on 64-bit Unix",
    "long int": "4 bytes on 32-bit platforms and Windows, 8 on 64-bit Unix",
    "unsigned long": "4 bytes on 32-bit platforms and Windows, 8 on 64-bit Unix",
    "unsigned long int": "4 bytes on 32-bit platforms and Windows, 8 on 64-bit Unix",
    "signed long": "4 bytes on 32-bit platforms and Windows, 8 on 64-bit Unix",
    "long double": "8, 12 or 16 bytes depending on the platform",
    "size_t": "the width of a pointer", "uintptr_t": "the width of a pointer", "intptr_t": "the width of a pointer",
    "ptrdiff_t": "the width of a pointer", "ssize_t": "the width of a pointer",
}


class ImportError_(CrosswireError):
    """A header that cannot become a schema: one line naming the file and line."""


@dataclass
class _Struct:
    name: str
    fields: list[str] = field(default_factory=list)
    uses: set[str] = field(default_factory=set)
    line: str = ""


def camel(name: str) -> str:
    """A C tag or typedef as a schema type name: `my_msg_t` -> `MyMsg`."""
    base = re.sub(r"_t$", "", name.strip("_")) or name
    out = "".join(part[:1].upper() + part[1:] for part in re.split(r"[_\W]+", base) if part)
    return out if re.fullmatch(r"[A-Z][A-Za-z0-9]*", out or "") else "T" + out


def snake(name: str) -> str:
    """A C member as a schema field name: `sensorId` -> `sensor_id`."""
    out = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
    return out if re.fullmatch(r"[a-z_][a-z0-9_]*", out) else "f_" + re.sub(r"\W", "_", out)


def preprocess(header: Path, defines: list[str]) -> str:
    cpp = shutil.which("cpp") or shutil.which("gcc")
    if cpp is None:
        raise CrosswireError("import-c needs a C preprocessor (cpp or gcc) on PATH; on Debian: apt-get install cpp")
    with tempfile.TemporaryDirectory(prefix="cw-cimport-") as fake:
        for name, text in FAKE_HEADERS.items():
            (Path(fake) / name).write_text(text)
        argv = [cpp] + (["-E"] if cpp.endswith("gcc") else []) + [
            "-nostdinc", "-I", fake, "-D__attribute__(x)=", "-D__extension__=", "-D__restrict=", "-D__inline=inline",
            "-D_Alignas(x)=", "-D__asm__(x)=", *[f"-D{d}" for d in defines], str(header)]
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            raise CrosswireError(f"{header}: the C preprocessor did not finish in 60 s") from None
    if proc.returncode != 0:
        first = (proc.stderr.strip().splitlines() or ["(no message)"])[0]
        raise CrosswireError(f"{header}: the C preprocessor failed: {first}")
    return proc.stdout


def convert(header: Path, natural: bool, messages: list[str] | None = None, order: str = "little",
            defines: list[str] | None = None, max_payload: int | None = None) -> str:
    """The schema text for a header."""
    try:
        from pycparser import c_ast, c_parser
    except ImportError:
        raise CrosswireError("import-c needs pycparser: pip install pycparser") from None
    if not header.is_file():
        raise CrosswireError(f"{header}: no such file")
    text = preprocess(header, defines or [])
    try:
        ast = c_parser.CParser().parse(text, filename=str(header))
    except Exception as exc:       # pycparser raises ParseError (and, on odd input, others): one line
        raise CrosswireError(f"{header}: not C that import-c reads: {str(exc).splitlines()[0]}") from None
    return _Converter(header, natural, order, c_ast).run(ast, messages, max_payload)


class _Converter:
    def __init__(self, header: Path, natural: bool, order: str, c_ast: object) -> None:
        self.header, self.natural, self.order, self.c = header, natural, order, c_ast
        self.typedefs: dict[str, object] = {}
        self.structs: dict[str, _Struct] = {}
        self.enums: dict[str, list[tuple[str, int]]] = {}
        self.struct_names: dict[int, str] = {}   # id(c struct node) -> schema name

    def fail(self, node: object, message: str) -> CrosswireError:
        coord = getattr(node, "coord", None)
        where = f"{coord.file}:{coord.line}" if coord else str(self.header)
        return ImportError_(f"{where}: {message}")

    def run(self, ast: object, messages: list[str] | None, max_payload: int | None) -> str:
        c = self.c
        for ext in ast.ext:
            if isinstance(ext, c.Typedef):
                self.typedefs[ext.name] = ext.type
                inner = ext.type.type if isinstance(ext.type, c.TypeDecl) else None
                if isinstance(inner, c.Struct) and inner.decls is not None:
                    self.struct(inner, ext.name)
                elif isinstance(inner, c.Enum) and inner.values is not None:
                    self.enum(inner, ext.name)
                elif isinstance(inner, c.Union):
                    raise self.fail(ext, f"union {ext.name}: a C union has no discriminator; declare the "
                                    "alternatives as a schema union with an `on` field")
            elif isinstance(ext, c.Decl) and isinstance(ext.type, c.Struct) and ext.type.decls is not None:
                self.struct(ext.type, ext.type.name)
            elif isinstance(ext, c.Decl) and isinstance(ext.type, c.Enum) and ext.type.values is not None:
                self.enum(ext.type, ext.type.name)
            elif isinstance(ext, c.Decl) and isinstance(ext.type, c.Union) and ext.type.decls is not None:
                raise self.fail(ext, f"union {ext.type.name}: a C union has no discriminator; declare the "
                                "alternatives as a schema union with an `on` field")
        if not self.structs:
            raise ImportError_(f"{self.header}: no struct to import")
        used = set().union(*(s.uses for s in self.structs.values()))
        names = messages if messages is not None else [n for n in self.structs if n not in used]
        for n in names:
            if n not in self.structs:
                raise ImportError_(f"{self.header}: --messages names {n}, but the header's structs are "
                                   f"{', '.join(self.structs)}")
        return self.render(names, max_payload)

    def enum(self, node: object, cname: str | None) -> str:
        if not cname:
            raise self.fail(node, "an anonymous enum: give it a tag or a typedef name")
        name = camel(cname)
        values, nxt = [], 0
        for e in node.values.enumerators:
            if e.value is not None:
                nxt = self.const_int(e.value)
            values.append((snake(e.name), nxt))
            nxt += 1
        self.enums[name] = values
        return name

    def const_int(self, node: object) -> int:
        c = self.c
        if isinstance(node, c.Constant) and node.type in ("int", "unsigned int", "long int", "unsigned long int",
                                                          "long long int", "unsigned long long int"):
            return int(node.value.rstrip("uUlL"), 0)
        if isinstance(node, c.UnaryOp) and node.op == "-":
            return -self.const_int(node.expr)
        if isinstance(node, c.BinaryOp) and node.op in ("+", "-", "*", "<<", "|"):
            a, b = self.const_int(node.left), self.const_int(node.right)
            return {"+": a + b, "-": a - b, "*": a * b, "<<": a << b, "|": a | b}[node.op]
        raise self.fail(node, "not a constant integer import-c can evaluate")

    def struct(self, node: object, cname: str | None) -> str:
        if id(node) in self.struct_names:
            return self.struct_names[id(node)]
        if not cname:
            raise self.fail(node, "an anonymous struct: give it a tag or a typedef name")
        name = camel(cname)
        self.struct_names[id(node)] = name
        s = _Struct(name, line=f"{node.coord.line}" if node.coord else "")
        decls = node.decls or []
        for i, d in enumerate(decls):
            if d.bitsize is not None:
                raise self.fail(d, f"{cname}.{d.name}: a bit-field has no portable layout; make it a whole "
                                "integer (or flags) field")
            if isinstance(d.type, self.c.ArrayDecl) and d.type.dim is None:
                raise self.fail(d, f"{cname}.{d.name}: a flexible array member has no fixed size; declare it "
                                "as vec<T> with a max in the schema")
            t = self.type_of(d.type, f"{cname}.{d.name}", s)
            s.fields.append(f'{{ name = "{snake(d.name)}", type = "{t}" }}')
        self.structs[name] = s
        return name

    def type_of(self, node: object, what: str, owner: _Struct) -> str:
        c = self.c
        if isinstance(node, c.PtrDecl):
            raise self.fail(node, f"{what}: a pointer has no meaning on the wire; send the data it points to")
        if isinstance(node, c.ArrayDecl):
            dims = []
            while isinstance(node, c.ArrayDecl):
                if node.dim is None:
                    raise self.fail(node, f"{what}: an array without a size")
                dims.append(self.const_int(node.dim))
                node = node.type
            inner = self.type_of(node, what, owner) if not self.is_char(node) else "char"
            if inner == "char":
                if len(dims) == 1:
                    return f"char[{dims[0]}]"
                return f"char[{dims[-1]}]" + "".join(f"[{n}]" for n in reversed(dims[:-1]))
            return inner + "".join(f"[{n}]" for n in reversed(dims))
        if isinstance(node, c.TypeDecl):
            inner = node.type
            if isinstance(inner, c.IdentifierType):
                return self.named(" ".join(inner.names), node, what, owner)
            if isinstance(inner, c.Struct):
                if inner.decls is not None:
                    name = self.struct(inner, inner.name)
                else:
                    name = self.struct_by_tag(inner.name, node, what)
                owner.uses.add(name)
                return name
            if isinstance(inner, c.Enum):
                return self.enum(inner, inner.name) if inner.values is not None else camel(inner.name)
            if isinstance(inner, c.Union):
                raise self.fail(node, f"{what}: a C union has no discriminator; declare it as a schema union "
                                "with an `on` field")
        raise self.fail(node, f"{what}: a type import-c does not translate")

    def is_char(self, node: object) -> bool:
        c = self.c
        return isinstance(node, c.TypeDecl) and isinstance(node.type, c.IdentifierType) and \
            node.type.names == ["char"]

    def named(self, cname: str, node: object, what: str, owner: _Struct) -> str:
        if cname in AMBIGUOUS:
            raise self.fail(node, f"{what}: {cname} is {AMBIGUOUS[cname]}; use a fixed-width type "
                            "(int32_t, uint64_t, ...)")
        if cname == "char":
            raise self.fail(node, f"{what}: plain char is signed on some compilers and unsigned on others; "
                            "use int8_t, uint8_t, signed char or unsigned char (char[N] is text)")
        if cname in SCALARS:
            return SCALARS[cname]
        if cname in self.typedefs:
            target = self.typedefs[cname]
            c = self.c
            inner = target.type if isinstance(target, c.TypeDecl) else None
            if isinstance(inner, c.Struct):
                name = self.struct(inner, cname) if inner.decls is not None else self.struct_by_tag(inner.name, node, what)
                owner.uses.add(name)
                return name
            if isinstance(inner, c.Enum):
                return self.enum(inner, cname) if inner.values is not None else camel(inner.name)
            return self.type_of(target, what, owner)
        raise self.fail(node, f"{what}: unknown type {cname}")

    def struct_by_tag(self, tag: str, node: object, what: str) -> str:
        name = camel(tag)
        if name not in self.structs:
            raise self.fail(node, f"{what}: struct {tag} is declared after its use or not at all")
        return name

    def render(self, messages: list[str], max_payload: int | None) -> str:
        layout = "c" if self.natural else "packed"
        out = [f"# Imported from {self.header.name} by `python -m harness import-c` "
               f"({'--natural: the C compiler layout' if self.natural else '--packed: fields back to back'}).",
               "# Check the byte order, add the frame your transport uses, and give each message its real id.", "",
               "[format]", f'name = "{self.header.stem}"', f'byte_order = "{self.order}"',
               f"max_payload = {max_payload or 65536}", f'layout = "{layout}"', ""]
        for name, values in self.enums.items():
            out += [f"[enums.{name}]", 'type = "i32"',
                    "values = { " + ", ".join(f"{k} = {v}" for k, v in values) + " }", ""]
        for name, s in self.structs.items():
            if name in messages:
                continue
            out += [f"[structs.{name}]", "fields = [", *[f"  {f}," for f in s.fields], "]", ""]
        for i, name in enumerate(messages):
            s = self.structs[name]
            out += [f"[messages.{name}]", f"id = {i}", "fields = [", *[f"  {f}," for f in s.fields], "]", ""]
        return "\n".join(out)
