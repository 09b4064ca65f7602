"""import-c: a C header becomes a schema whose layout is the compiler's (checked by compiling the
header and asking gcc for every offset), and what has no wire form is one line naming the line."""
from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from harness import schema as S

from .conftest import ROOT

pytestmark = pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler (cc) to check offsets")

HEADER = """\
#include <stdint.h>
#include <stdbool.h>
#define NAME_LEN 12

typedef enum { MODE_IDLE = 0, MODE_RUN, MODE_FAULT = 7 } mode_t;

struct point { int16_t x; int16_t y; };

typedef struct {
    uint8_t version;
    uint32_t sensorId;
    double reading;
    struct point corners[2][3];
    char name[NAME_LEN];
    bool valid;
    mode_t mode;
    uint64_t stamp;
    unsigned short crc;
} sensor_report_t;
"""
FIELDS = ["version", "sensorId", "reading", "corners", "name", "valid", "mode", "stamp", "crc"]


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", "import-c", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=120)


def compiler_offsets(tmp_path, header) -> tuple[int, list[int]]:
    src = tmp_path / "probe.c"
    src.write_text(f'#include <stdio.h>\n#include <stddef.h>\n#include "{header}"\nint main(void) {{\n'
                   '    printf("%zu", sizeof(sensor_report_t));\n'
                   + "".join(f'    printf(" %zu", offsetof(sensor_report_t, {f}));\n' for f in FIELDS)
                   + "    return 0;\n}\n")
    subprocess.run(["cc", "-std=c11", "-o", str(tmp_path / "probe"), str(src)], check=True, timeout=120)
    out = subprocess.run([str(tmp_path / "probe")], capture_output=True, text=True, check=True).stdout.split()
    return int(out[0]), [int(x) for x in out[1:]]


def wire_offsets(msg: S.Message) -> tuple[int, list[int]]:
    offsets, off = {}, 0
    for f in msg.fields:
        if not f.implicit:
            offsets[f.name] = off
        off += S.fixed_size(f.type)
    return off, [offsets[n] for n in ["version", "sensor_id", "reading", "corners", "name", "valid", "mode", "stamp",
                                       "crc"]]


def test_natural_layout_is_the_compilers(tmp_path):
    header = tmp_path / "sensor.h"
    header.write_text(HEADER)
    r = run(str(header), "-o", str(tmp_path / "schema.toml"))
    assert r.returncode == 0, r.stderr
    s = S.load(tmp_path / "schema.toml")
    msg = s.message("SensorReport")
    assert msg.layout == "c" and s.structs["Point"].layout == "c"
    assert [f.type for f in msg.fields if f.name == "corners"][0] == S.Array(S.Array(s.structs["Point"], 3), 2)
    assert s.enums["Mode"].values == {"mode_idle": 0, "mode_run": 1, "mode_fault": 7}
    assert wire_offsets(msg) == compiler_offsets(tmp_path, header)


def test_packed_has_no_padding(tmp_path):
    header = tmp_path / "sensor.h"
    header.write_text(HEADER)
    r = run(str(header), "--packed", "--byte-order", "big")
    assert r.returncode == 0, r.stderr
    s = S.loads(r.stdout)
    msg = s.message("SensorReport")
    assert s.byte_order == "big" and not any(f.implicit for f in msg.fields)
    assert S.fixed_size(msg) == 1 + 4 + 8 + 24 + 12 + 1 + 4 + 8 + 2


@pytest.mark.parametrize("body, line, words", [
    ("struct a { uint32_t n;\n uint8_t *p; };", 3, "a.p: a pointer has no meaning on the wire"),
    ("struct a { uint32_t n;\n long x; };", 3, "a.x: long is 4 bytes on 32-bit platforms"),
    ("struct a { uint32_t n;\n uint8_t data[]; };", 3, "a.data: a flexible array member has no fixed size"),
    ("struct a { uint32_t n : 3; };", 2, "a.n: a bit-field has no portable layout"),
    ("struct a { size_t n; };", 2, "a.n: size_t is the width of a pointer"),
    ("struct a { char c; };", 2, "a.c: plain char is signed on some compilers"),
    ("union u { int32_t a; float b; };", 2, "union u: a C union has no discriminator"),
    ("struct a { int32_t n; ", None, "not C that import-c reads"),
])
def test_what_has_no_wire_form_is_one_line(tmp_path, body, line, words):
    header = tmp_path / "bad.h"
    header.write_text("#include <stdint.h>\n" + body + "\n")
    r = run(str(header))
    assert r.returncode == 2 and r.stdout == ""
    err = r.stderr.strip()
    assert "\n" not in err and "Traceback" not in err and words in err, err
    if line is not None:
        assert f"bad.h:{line}:" in err


def test_needs_no_crosswire_project(tmp_path):
    header = tmp_path / "p.h"
    header.write_text("#include <stdint.h>\nstruct ping { uint32_t seq; };\n")
    r = run(str(header), cwd=tmp_path)
    assert r.returncode == 0 and "[messages.Ping]" in r.stdout, r.stderr
