"""Generated code: present, fresh against the schema, marked as generated; and a schema change
needs no hand-written codec change: a new message in a copy of the checkout is generated,
built and passes the matrix in every peer."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

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


# ------------------------------------------------------------------ the C backend on every schema

SCHEMAS = sorted(p for p in (*(ROOT / "tests/schemas").iterdir(), *(ROOT / "examples").iterdir())
                 if (p / "protocols/schema.toml").is_file())
C_COMPILERS = ["cc", "clang", "i686-linux-gnu-gcc", "s390x-linux-gnu-gcc"]


@pytest.mark.parametrize("compiler", C_COMPILERS)
def test_generated_c_compiles_for_every_schema(compiler, tmp_path):
    """The C backend's code for every schema of tests/schemas and examples/ compiles with
    -Wall -Wextra -Werror -pedantic, natively, 32-bit and big-endian: its _Static_asserts (every
    size and offset, a layout "c" struct's wire offsets) hold on each target."""
    from harness.codegen import c as cgen
    if shutil.which(compiler) is None:
        pytest.skip(f"{compiler} is not installed (.ci/run installs it)")
    flags = ["-std=c11", "-D_POSIX_C_SOURCE=200809L", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O2", "-c",
             f"-I{ROOT / 'peers/c/kit/include'}"]
    r = subprocess.run([compiler, *flags, "-o", tmp_path / "rt.o", ROOT / "peers/c/kit/src/cw_runtime.c"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    for project in SCHEMAS:
        gen = tmp_path / project.name
        gen.mkdir()
        for rel, text in cgen.BACKEND.generate(S.load(project / "protocols/schema.toml")).items():
            (gen / Path(rel).name).write_text(text)
        r = subprocess.run([compiler, *flags, f"-I{gen}", "-o", gen / "schema.o", gen / "cw_schema.c"],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, f"{project.name}: {r.stderr}"


# ------------------------------------------------------------------ the Rust backend on every schema

KEYWORD_SCHEMA = """
[format]
name = "names"
byte_order = "little"
max_payload = 64

[enums.Ok]
type = "u8"
values = { self = 0, type = 1 }

[structs.From]
fields = [{ name = "self", type = "u8" }, { name = "_", type = "Ok" }]

[messages.Some]
fields = [{ name = "type", type = "From" }, { name = "match", type = "i24" }, { name = "crate", type = "u8" }]
"""


def test_rust_names_keep_clear_of_keywords_and_the_prelude(tmp_path):
    """Fields named like Rust keywords are r#type, or self_ where r# cannot be used; types
    named like what the generated code uses unqualified (Ok, From, Some) get a Type suffix;
    the text form and the paths keep the schema's names."""
    from harness.codegen import rust as rgen
    path = tmp_path / "schema.toml"
    path.write_text(KEYWORD_SCHEMA)
    text = rgen.generate(S.load(path))[rgen.OUT]
    for decl in ("pub enum OkType", "pub struct FromType", "pub struct SomeType", "pub self_: u8",
                 "pub __: OkType", "pub r#type: FromType", "pub r#match: i32", "pub crate_: u8",
                 "SelfValue = 0", 'e.at_field("self")', 't.field("match"', 'const NAME: &\'static str = "Some";'):
        assert decl in text, decl


@pytest.mark.timeout(1800)
def test_generated_rust_builds_clean_and_passes_each_schemas_vectors(tmp_path):
    """The Rust peer, with the code generated for every schema of tests/schemas and examples/,
    is clippy-clean (-D warnings) and passes its own tests, which read that schema's golden
    and malformed vectors (the peer builds for any schema, with or without a frame or Blob)."""
    from harness.codegen import rust as rgen
    if shutil.which("cargo") is None:
        pytest.skip("cargo is not installed")
    env = {**os.environ, "CARGO_TARGET_DIR": str(tmp_path / "target")}
    src = ROOT / "peers/rust"
    for project in SCHEMAS:
        crate = tmp_path / project.name / "peers/rust"
        shutil.copytree(src, crate, ignore=shutil.ignore_patterns("target"))
        (tmp_path / project.name / "protocols").symlink_to(project / "protocols", target_is_directory=True)
        for rel, text in rgen.BACKEND.generate(S.load(project / "protocols/schema.toml")).items():
            (tmp_path / project.name / rel).write_text(text)
        for step in (["clippy", "--release", "--locked", "--all-targets", "--quiet", "--", "-D", "warnings"],
                     ["test", "--release", "--locked", "--quiet"]):
            r = subprocess.run(["cargo", *step], cwd=crate, capture_output=True, text=True, env=env, timeout=900)
            assert r.returncode == 0, f"{project.name}: cargo {step[0]}: {r.stdout[-3000:]}\n{r.stderr[-3000:]}"
