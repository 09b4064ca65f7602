"""The C codec through cffi (API mode): the compiler's layout of every generated type equals
the schema's (and a layout "c" struct's offsets the wire's), and the C encoder/decoder and frame
functions agree with the Python reference codec on generated values, the golden vectors (at every
version) and every malformed payload; for crosswire's schema and for every schema of
tests/schemas and examples/, each generated and built here, in a temporary checkout."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from harness import codec, crc, layout, native, strategies
from harness import schema as S
from harness.codegen import c as cgen
from harness.errors import CrosswireError, DecodeError
from harness.project import Project

from .conftest import ROOT

EXAMPLES = int(os.environ.get("CW_NATIVE_EXAMPLES", "1000"))
MALFORMED = json.loads((ROOT / "protocols/vectors/malformed.json").read_text())
CC = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
OTHER = {p.name: p for p in (*sorted((ROOT / "tests/schemas").iterdir()), ROOT / "examples/modbus",
                             ROOT / "examples/mavlink") if (p / "protocols/schema.toml").is_file()}


@pytest.fixture(scope="module")
def ext(schema, tmp_path_factory):
    if not native.c_paths(ROOT)[2].exists():
        pytest.skip("the C peer is not built (no libcwcodec): run `make peers`")
    return native.build(schema, ROOT, tmp_path_factory.mktemp("cffi"))


@pytest.fixture(scope="module")
def c_codec(ext, schema):
    return native.NativeCodec(ext, schema)


def test_compiler_layout_equals_schema_layout(ext, schema):
    assert native.layout_problems(ext, schema) == []
    # and the numbers are the ones the generated _Static_asserts carry
    assert ext.ffi.sizeof("cw_Track") == layout.of(schema.message("Track")).size == 200
    assert ext.ffi.offsetof("cw_Integers", "val_u64") == 8


def test_layout_mismatch_is_reported_field_by_field(ext, schema):
    """An i386-style expectation (8-byte fields aligned to 4) against the compiler's layout."""
    def i386(t):
        real = layout.of(t)
        if t is schema.message("Integers"):
            members = tuple(layout.Member(m.name, 4 if m.name == "val_u64" else m.offset, m.size, m.align, m.type)
                            for m in real.members)
            return layout.Layout(real.size - 4, 4, members)
        return real
    problems = native.layout_problems(ext, schema, expected=i386)
    assert "cw_Integers.val_u64: offset 4 in the schema's layout, 8 from the compiler" in problems
    assert "cw_Integers: sizeof is 28 in the schema's layout, 32 from the compiler" in problems
    assert "cw_Integers: alignof is 4 in the schema's layout, 8 from the compiler" in problems


MESSAGES = ["Empty", "Integers", "Floats", "Choices", "Text", "Arrays", "BigNumber", "Sample10f", "Track", "Padded", "Blob"]


@pytest.mark.parametrize("name", MESSAGES)
def test_c_and_python_codecs_agree(c_codec, schema, name):
    msg = schema.message(name)

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    @given(strategies.message_values(msg))
    def check(value):
        py = codec.encode(msg, value)
        c = c_codec.encode(msg, value)
        assert c == py, f"C encoded {c.hex()}, Python {py.hex()}"
        assert c_codec.decode(msg, py) == value

    check()


def test_golden_vectors_through_c(c_codec, project):
    for case in project.cases:
        assert c_codec.encode(case.message, case.value) == case.payload, case.id
        assert c_codec.decode(case.message, case.payload) == case.value, case.id


@pytest.mark.parametrize("case", MALFORMED, ids=[c["id"] for c in MALFORMED])
def test_c_decoder_refuses_like_python(c_codec, schema, case):
    msg, payload = schema.message(case["message"]), bytes.fromhex(case["payload"])
    with pytest.raises(DecodeError) as c_err:
        c_codec.decode(msg, payload)
    with pytest.raises(DecodeError) as py_err:
        codec.decode(msg, payload)
    assert (c_err.value.code, c_err.value.path) == (py_err.value.code, py_err.value.path)


def test_golden_frames_through_c(c_codec, project):
    """crosswire's frame, declared in the schema: the C frame writer gives the golden bytes."""
    for case in project.cases[:20]:
        assert c_codec.frame(case.message, case.seq, case.header, case.payload) == case.frame, case.id
        assert c_codec.head(case.frame)[:2] == (case.message.name, case.seq), case.id


def test_missing_library_is_a_clear_error(schema, tmp_path):
    with pytest.raises(CrosswireError, match="run `make peers`"):
        native.build(schema, tmp_path, tmp_path / "w")


# ------------------------------------------------------------------ every other schema


def build_checkout(schema: S.Schema, root: Path) -> None:
    """A checkout of the C peer's codec for `schema` at root: the kit (its runtime), the generated
    code, and build/libcwcodec.so made by the peer's own Makefile (its warning flags included)."""
    cdir = root / "peers" / "c"
    cdir.mkdir(parents=True)
    for name in ("Makefile",):
        shutil.copy(ROOT / "peers" / "c" / name, cdir / name)
    shutil.copytree(ROOT / "peers" / "c" / "kit", cdir / "kit", ignore=shutil.ignore_patterns("build"))
    for rel, text in cgen.BACKEND.generate(schema).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    r = subprocess.run(["make", "build/libcwcodec.so", f"CC={CC}"], cwd=cdir, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.fixture(scope="module", params=sorted(OTHER))
def other(request, tmp_path_factory):
    """(project, its C codec) of one schema of tests/schemas or examples/."""
    if CC is None or shutil.which("make") is None:
        pytest.skip("no C compiler or make")
    project = Project(OTHER[request.param])
    root = tmp_path_factory.mktemp(f"c-{request.param}")
    build_checkout(project.schema, root)
    ext = native.build(project.schema, root, root / "cffi")
    return project, native.NativeCodec(ext, project.schema)


def test_other_schema_layout_equals_compiler_layout(other):
    project, c = other
    assert native.layout_problems(c.native, project.schema) == []


def test_layout_c_structs_are_the_wire_bytes(other):
    """A layout "c" struct's members sit at their wire offsets, natively (the cross builds
    assert the same through the generated _Static_asserts)."""
    project, c = other
    for t in (*project.schema.structs.values(), *project.schema.messages.values()):
        if t.layout == "c" and layout.members_of(t):
            wire, size = layout.wire_offsets(t)
            assert c.ffi.sizeof(f"cw_{t.name}") == size, t.name
            assert {n: c.ffi.offsetof(f"cw_{t.name}", n) for n in wire} == wire, t.name


def test_other_schema_golden_vectors(other):
    """Every golden payload both ways, and each older version's payload at that version."""
    project, c = other
    try:
        for case in project.cases:
            assert c.encode(case.message, case.value) == case.payload, case.id
            assert c.decode(case.message, case.payload) == case.value, case.id
            for v, payload in case.versions.items():
                c.speak(v)
                assert c.encode(case.message, case.value) == payload, f"{case.id} at version {v}"
                assert c.decode(case.message, payload) == codec.restrict(case.message, case.value, v), case.id
                assert c.decode(case.message, case.payload) == codec.decode(case.message, case.payload, v), case.id
                c.speak(None)
                assert c.decode(case.message, payload) == codec.decode(case.message, payload), case.id
    finally:
        c.speak(None)


def test_other_schema_golden_frames(other):
    """cw_frame_write gives the golden frame; cw_frame_head and cw_frame_verify read it back,
    and refuse it with its checksum broken."""
    project, c = other
    frame = project.schema.frame
    if frame is None:
        pytest.skip("the schema declares no frame")
    for case in project.cases:
        assert c.frame(case.message, case.seq, case.header, case.payload) == case.frame, case.id
        name, seq, plain, size = c.head(case.frame, case.message.direction)
        assert (name, seq, size) == (case.message.name, case.seq, len(case.frame)), case.id
        assert plain == [case.header[h.name] & ((1 << 8 * h.type.size) - 1) for h in frame.plain], case.id
        if frame.checksum is not None:
            broken = case.frame[:-1] + bytes([case.frame[-1] ^ 1])
            with pytest.raises(DecodeError) as err:
                c.head(broken, case.message.direction)
            assert (err.value.code, err.value.path) == ("checksum", f"frame.{frame.checksum.name}")


def test_other_schema_malformed_vectors(other):
    project, c = other
    for v in json.loads(project.malformed_path.read_text()):
        msg, payload = project.schema.message(v["message"]), bytes.fromhex(v["payload"])
        with pytest.raises(DecodeError) as err:
            c.decode(msg, payload)
        assert (err.value.code, err.value.path) == (v["code"], v["path"]), v["id"]


def test_other_schema_codecs_agree(other):
    project, c = other

    for msg in project.schema.messages.values():
        @settings(max_examples=max(20, EXAMPLES // 10), deadline=None, suppress_health_check=list(HealthCheck))
        @given(strategies.message_values(msg))
        def check(value):
            py = codec.encode(msg, value)
            assert c.encode(msg, value) == py, msg.name
            assert c.decode(msg, py) == value, msg.name

        check()


def test_every_crc_algorithm_through_the_c_loops(tmp_path):
    """The generated 256-entry table of each algorithm of harness/crc.py, run by the runtime's
    loops, gives the catalogue's check value of "123456789"."""
    if CC is None:
        pytest.skip("no C compiler")
    lines = ['#include "cw_runtime.h"', "#include <stdio.h>", "int main(void) {",
             '    const uint8_t *s = (const uint8_t *)"123456789";']
    for i, a in enumerate(crc.ALGORITHMS.values()):
        step = "cw_crc_reflected(t%d, " % i if a.reflect else f"cw_crc_plain(t{i}, {a.width}, "
        lines += [f"    static const uint32_t t{i}[256] = {{", *cgen.crc_table(a), "    };",
                  f'    printf("%s %lu\\n", "{a.name}", (unsigned long)({step}{a.init:#x}u, s, 9) ^ {a.xorout:#x}u));']
    lines += ["    return 0;", "}"]
    (tmp_path / "crc.c").write_text("\n".join(lines))
    exe = tmp_path / "crc"
    r = subprocess.run([CC, "-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", f"-I{ROOT / 'peers/c/kit/include'}",
                        "-o", exe, tmp_path / "crc.c", ROOT / "peers/c/kit/src/cw_runtime.c"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    got = dict(line.split() for line in subprocess.run([exe], capture_output=True, text=True).stdout.splitlines())
    assert {n: int(v) for n, v in got.items()} == {a.name: a.check for a in crc.ALGORITHMS.values()}


def test_keywords_are_escaped_in_c_and_kept_in_paths():
    """zoo's fields named like C keywords (`int`, `struct`, ...) compile as `int_`, `struct_`,
    while paths and the text form keep the schema's names."""
    zoo = S.load(ROOT / "tests/schemas/zoo/protocols/schema.toml")
    h = cgen.header(zoo)
    assert "double int_;" in h and "int8_t struct_;" in h and "bool range;" in h
    assert '".int"' in cgen.source(zoo) and '".int_"' not in cgen.source(zoo)
