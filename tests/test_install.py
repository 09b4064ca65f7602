"""Crosswire in someone else's repository, from a clean venv: `pip install` of this checkout gives
the `crosswire` command, `crosswire init` makes a project in a folder outside the checkout, a
two-message schema gets a Python and a C adapter whose stubs are filled with a "library" of the
team's own, and `crosswire matrix` and `pytest` (the plugin) run green against each other and
against the reference peers (Python and C, built from the wheel's copy for this schema).
Nothing here points at the checkout: the wheel carries the kits and the reference peers."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SCHEMA = """\
[format]
name = "thermo"
byte_order = "little"
max_payload = 64

[frame]
header = [
  { name = "magic", type = "u16", const = 0x7E7E },
  { name = "type",  type = "u8",  role = "id" },
  { name = "len",   type = "u8",  role = "length" },
  { name = "seq",   type = "u16", role = "seq" },
]

[messages.Ping]
id = 1
fields = [{ name = "token", type = "u32" }]

[messages.Temp]
id = 2
fields = [
  { name = "sensor", type = "u8" },
  { name = "milli_c", type = "i32" },
  { name = "label", type = "char[8]" },
]
"""

PY_LIBRARY = '''
import struct


def encode_Ping(value):
    return struct.pack("<I", value["token"])


def decode_Ping(payload):
    (token,) = struct.unpack("<I", payload)
    return {"token": token}


def encode_Temp(value):
    return struct.pack("<Bi8s", value["sensor"], value["milli_c"], value["label"])


def decode_Temp(payload):
    sensor, milli_c, label = struct.unpack("<Bi8s", payload)
    return {"sensor": sensor, "milli_c": milli_c, "label": label.rstrip(b"\\0")}
'''


C_LIBRARY = r"""
#include "cw_adapter.h"

#include <string.h>

/* The team's own C codec, little-endian whatever the host. */
static void put32(uint8_t *p, uint32_t x) { p[0] = (uint8_t)x; p[1] = (uint8_t)(x >> 8); p[2] = (uint8_t)(x >> 16); p[3] = (uint8_t)(x >> 24); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

int adapter_encode_Ping(const cw_Ping *v, uint8_t *out, size_t cap, size_t *out_len, cw_ctx *c)
{
    if (cap < 4) return cw_adapter_fail(c, "no room for 4 bytes");
    put32(out, v->token);
    *out_len = 4;
    return 0;
}

int adapter_decode_Ping(const uint8_t *buf, size_t len, cw_Ping *v, cw_ctx *c)
{
    if (len != 4) return cw_adapter_fail(c, "a Ping is 4 bytes, got %zu", len);
    v->token = get32(buf);
    return 0;
}

int adapter_encode_Temp(const cw_Temp *v, uint8_t *out, size_t cap, size_t *out_len, cw_ctx *c)
{
    if (cap < 13) return cw_adapter_fail(c, "no room for 13 bytes");
    out[0] = v->sensor;
    put32(out + 1, (uint32_t)v->milli_c);
    memcpy(out + 5, v->label, 8);
    *out_len = 13;
    return 0;
}

int adapter_decode_Temp(const uint8_t *buf, size_t len, cw_Temp *v, cw_ctx *c)
{
    size_t i, nul = 8;
    if (len != 13) return cw_adapter_fail(c, "a Temp is 13 bytes, got %zu", len);
    for (i = 0; i < 8; i++) {       /* the text, then NUL padding: nothing after the first NUL */
        if (buf[5 + i] == 0 && nul == 8) nul = i;
        else if (buf[5 + i] != 0 && nul != 8) return cw_adapter_fail(c, "label: a byte after its NUL");
    }
    v->sensor = buf[0];
    v->milli_c = (int32_t)get32(buf + 1);
    memcpy(v->label, buf + 5, 8);
    return 0;
}
"""


def run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 900) -> subprocess.CompletedProcess:
    r = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"{' '.join(argv)} exited {r.returncode}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


def fill_python(peer: Path) -> None:
    text = peer.joinpath("peer.py").read_text()
    head, _, _ = text.partition("\n\ndef encode_")
    peer.joinpath("peer.py").write_text(head + "\n" + PY_LIBRARY + textwrap.dedent('''

        if __name__ == "__main__":
            sys.exit(cwkit.run(HERE, adapter=sys.modules[__name__]))
        '''))


@pytest.mark.timeout(1800)
def test_a_project_outside_the_checkout_from_a_clean_venv(tmp_path):
    if shutil.which("cc") is None:
        pytest.skip("no C compiler")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CROSSWIRE", "PYTEST", "VIRTUAL_ENV"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(ROOT)], tmp_path, env)
    cw = str(venv / "bin" / "crosswire")
    repo = tmp_path / "team-repo"
    run([cw, "init", str(repo)], tmp_path, env)
    (repo / "protocols" / "schema.toml").write_text(SCHEMA)
    run([cw, "vectors", "--regenerate"], repo, env)
    run([cw, "new-peer", "pylib", "--lang", "python", "--adapter"], repo, env)
    fill_python(repo / "peers" / "pylib")
    run([cw, "new-peer", "clib", "--lang", "c", "--adapter"], repo, env)
    (repo / "peers" / "clib" / "adapter.c").write_text(C_LIBRARY)
    run([cw, "build", "--peers", "pylib,clib,python,c"], repo, env)
    r = run([cw, "matrix", "--peers", "pylib,clib,python,c"], repo, env)
    assert " fail" not in r.stdout and " skip" not in r.stdout and "pass" in r.stdout, r.stdout[-2000:]
    r = run([str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_interop.py",
             "--cw-peers", "pylib,clib,python", "--cw-transports", "uds,shm"], repo, env)
    assert " passed" in r.stdout and "failed" not in r.stdout, r.stdout[-2000:]
    assert not (ROOT / "kits").exists() and "team-repo" not in str(ROOT)


def test_every_python_dependency_is_pinned_in_the_lock():
    """requirements.lock (`make lock`) pins every dependency pyproject.toml and lock.in name, at a
    version their ranges accept, and the venv and tox install with it."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    from .conftest import ROOT
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"]) + [r for extra in ("test", "bench")
                                              for r in project["optional-dependencies"][extra]]
    wanted += [line.strip() for line in (ROOT / "lock.in").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if "==" in line and not line.lstrip().startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name.strip())] = version.split()[0]
    for text in wanted:
        req = Requirement(text)
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not pinned in requirements.lock: run `make lock`"
        assert req.specifier.contains(pins[name], prereleases=True), \
            f"requirements.lock pins {req.name}=={pins[name]}, outside {req.specifier}: run `make lock`"
    assert "-c requirements.lock" in (ROOT / "Makefile").read_text()
    assert "PIP_CONSTRAINT = {toxinidir}/requirements.lock" in (ROOT / "tox.ini").read_text()
