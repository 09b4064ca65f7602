"""Crosswire in someone else's repository, from a clean venv: `pip install` of this checkout gives
the `crosswire` command, `crosswire init` makes a project in a folder outside the checkout, a
two-message schema gets a Python and a C adapter whose stubs are filled with a "library" of the
team's own, and `crosswire matrix` and `pytest` (the plugin) run green against the reference peers.
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
    run([cw, "build", "--peers", "pylib,python"], repo, env)
    r = run([cw, "matrix", "--peers", "pylib,python"], repo, env)
    assert " fail" not in r.stdout and " skip" not in r.stdout and "pass" in r.stdout, r.stdout[-2000:]
    r = run([str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_interop.py",
             "--cw-peers", "pylib,python", "--cw-transports", "uds,shm"], repo, env)
    assert " passed" in r.stdout and "failed" not in r.stdout, r.stdout[-2000:]
    assert not (ROOT / "kits").exists() and "team-repo" not in str(ROOT)
