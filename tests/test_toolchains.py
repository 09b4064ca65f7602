"""The peers build cleanly with every toolchain they claim: the C peer warning-free with
-Wall -Wextra -Werror -pedantic under gcc and clang, the Rust peer clippy-clean with -D warnings.
Each build runs in a copy, so the checkout's own build outputs are untouched."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from .conftest import ROOT


def copy_of(name: str, tmp_path):
    src = ROOT / "peers" / name
    if not (src / "peer.toml").exists():
        pytest.skip(f"no peers/{name}")
    dst = tmp_path / name
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("build", "target"))
    return dst


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_c_peer_builds_warning_free(cc, tmp_path):
    if shutil.which(cc) is None:
        pytest.skip(f"{cc} is not installed (.ci/run installs it)")
    d = copy_of("c", tmp_path)
    r = subprocess.run(["make", f"CC={cc}", "all", "asan"], cwd=d, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "warning:" not in (r.stdout + r.stderr).lower(), r.stderr   # the compilers' form ("x.c:3:1: warning: ...")
    flags = (d / "Makefile").read_text()
    for flag in ("-Wall", "-Wextra", "-Werror", "-pedantic", "-std=c11"):
        assert flag in flags
    assert (d / "build" / "cw-peer").exists() and (d / "build" / "cw-peer-asan").exists()


@pytest.mark.timeout(600)
def test_rust_peer_is_clippy_clean(tmp_path):
    if shutil.which("cargo") is None:
        pytest.skip("cargo is not installed")
    if subprocess.run(["cargo", "clippy", "--version"], capture_output=True).returncode != 0:
        pytest.skip("clippy is not installed (rustup component add clippy)")
    d = copy_of("rust", tmp_path)
    env = {**os.environ, "CARGO_TARGET_DIR": str(tmp_path / "target")}
    r = subprocess.run(["cargo", "clippy", "--release", "--locked", "--quiet", "--", "-D", "warnings"], cwd=d,
                       capture_output=True, text=True, timeout=540, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (d / "Cargo.lock").exists()


def test_rust_peer_is_rustfmt_clean():
    if shutil.which("cargo") is None:
        pytest.skip("cargo is not installed")
    if subprocess.run(["cargo", "fmt", "--version"], capture_output=True).returncode != 0:
        pytest.skip("rustfmt is not installed (rustup component add rustfmt)")
    r = subprocess.run(["cargo", "fmt", "--check"], cwd=ROOT / "peers" / "rust", capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, "run `cargo fmt` in peers/rust:\n" + r.stdout[-2000:]


def test_rust_unsafe_blocks_say_why():
    src = ROOT / "peers" / "rust" / "src"
    if not src.exists():
        pytest.skip("no peers/rust")
    for path in src.rglob("*.rs"):
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            if "unsafe {" in line or line.strip().startswith("unsafe fn") or " unsafe fn " in line:
                context = "\n".join(lines[max(0, i - 3):i + 1])
                assert "SAFETY:" in context, f"{path.name}:{i + 1}: unsafe without a // SAFETY: comment"
