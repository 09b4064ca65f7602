"""Generated code: present, fresh against the schema, marked as generated; and a schema change
needs no hand-written codec change: a new message in a copy of the checkout is generated,
built and passes the matrix in every peer."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from harness import codegen, schema as S
from harness.peers import discover

from .conftest import ROOT


def test_generated_files_are_fresh(schema):
    assert codegen.check(schema, ROOT) == []


def test_every_generated_file_says_so(schema):
    outputs = codegen.outputs(schema)
    assert outputs, "no codegen backend found"
    for rel, text in outputs.items():
        assert codegen.BANNER in text.splitlines()[0], rel


def test_a_hand_edit_is_caught(schema, tmp_path):
    outputs = codegen.outputs(schema)
    rel = sorted(outputs)[0]
    for name, text in outputs.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (tmp_path / rel).write_text(outputs[rel] + "\n/* tweak */\n")
    assert codegen.check(schema, tmp_path) == [f"{rel}: stale against protocols/schema.toml (or edited by hand); "
                                               "run `python -m harness codegen`"]


NEW_MESSAGE = """
[structs.Reading]
fields = [
  { name = "sensor", type = "u16" },
  { name = "value",  type = "f64" },
  { name = "ok",     type = "bool" },
]

[messages.Extra]
id = 42
fields = [
  { name = "when",     type = "i64" },
  { name = "unit",     type = "Color" },
  { name = "readings", type = "vec<Reading>", max = 3 },
  { name = "note",     type = "string", max = 20 },
  { name = "big",      type = "bigint", max = 24 },
  { name = "raw",      type = "u8[5]" },
]
"""


@pytest.mark.timeout(600)
def test_a_new_message_needs_no_hand_written_codec(tmp_path, project):
    root = tmp_path / "checkout"
    shutil.copytree(ROOT / "protocols", root / "protocols")
    ignore = shutil.ignore_patterns("build", "target", "__pycache__")
    for spec in project.registry.values():
        if not spec.base and not (root / "peers" / spec.dir.name).exists():
            shutil.copytree(spec.dir, root / "peers" / spec.dir.name, ignore=ignore)
    schema_file = root / "protocols/schema.toml"
    schema_file.write_text(schema_file.read_text() + NEW_MESSAGE)
    S.load(schema_file)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def run(*args: str) -> str:
        r = subprocess.run([sys.executable, "-m", "harness", *args, "--root", str(root)], capture_output=True,
                           text=True, env=env, timeout=540)
        assert r.returncode == 0, f"{args}: {r.stdout}\n{r.stderr}"
        return r.stdout

    run("codegen")
    run("vectors", "--regenerate")
    built = run("build")
    assert "FAILED" not in built
    copied = discover(root / "peers")    # the copy's peers and variants, as its own build left them
    ready = [spec.name for spec in copied.values() if spec.unavailable() is None]
    assert len(ready) > 1, f"only {ready} built in the copy: {built}"
    out = run("matrix", "--peers", ",".join(ready), "--cases", "extra.*")
    assert "fail" not in out.splitlines()[-1], out
