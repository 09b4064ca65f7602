"""`python -m harness new-peer`: every skeleton builds, passes the contract items of check-peer,
and joins the matrix at once with its cells skipped (harness/scaffold.py)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from harness import scaffold
from harness.peers import load_manifest

from .conftest import ROOT

TOOL = {"python": "python3", "c": "cc", "go": "go", "rust": "cargo", "javascript": "node"}


@pytest.fixture
def checkout(tmp_path):
    """A checkout with the protocols and the reference peer only (built), so that a new peer is
    checked against it as a user's would be."""
    root = tmp_path / "checkout"
    shutil.copytree(ROOT / "protocols", root / "protocols")
    shutil.copytree(ROOT / "peers" / "python", root / "peers" / "python",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return root


def harness(root, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *args, "--root", str(root)], capture_output=True,
                          text=True, timeout=600, cwd=root)


def test_every_skeleton_is_listed():
    assert set(scaffold.languages()) == set(TOOL)
    out = subprocess.run([sys.executable, "-m", "harness", "new-peer", "x", "--list"], capture_output=True,
                         text=True, cwd=ROOT, timeout=60).stdout
    assert all(lang in out for lang in TOOL)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("lang", sorted(TOOL))
def test_a_skeleton_passes_the_contract_and_lists_what_is_next(checkout, lang, tmp_path):
    if shutil.which(TOOL[lang]) is None:
        pytest.skip(f"{TOOL[lang]} not found on PATH")
    name = f"my{lang}"
    r = harness(checkout, "new-peer", name, "--lang", lang)
    assert r.returncode == 0, r.stderr
    assert f"check-peer peers/{name}" in r.stdout
    spec = load_manifest(checkout / "peers" / name / "peer.toml")
    assert (spec.name, spec.transports, spec.messages) == (name, (), ())
    assert "scaffolded by `crosswire new-peer`" in (checkout / "peers" / name / "peer.toml").read_text()

    lint = {"go": ["gofmt", "-l", "."], "rust": ["cargo", "fmt", "--check"],
            "c": ["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-fsyntax-only", "peer.c"]}.get(lang)
    if lint and shutil.which(lint[0]) and (lang != "rust" or subprocess.run(
            ["cargo", "fmt", "--version"], capture_output=True).returncode == 0):
        r = subprocess.run(lint, cwd=checkout / "peers" / name, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0 and not r.stdout.strip(), f"{' '.join(lint)}: {r.stdout}{r.stderr}"

    out = tmp_path / "check.json"
    r = harness(checkout, "check-peer", f"peers/{name}", "--json", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    items = json.loads(out.read_text())["items"]
    contract = {i["name"]: i["status"] for i in items if i["area"] == "contract"}
    assert contract == {"HELLO 3": "pass", "bad requests refused, peer stays usable": "pass",
                        "over-long line": "pass", "QUIT": "pass"}, items
    todo = [(i["area"], i["next"]) for i in items if i["status"] == "missing"]
    assert [a for a, _ in todo] == ["codec", "uds", "tcp", "shm"]
    assert all("docs/adding-a-peer.md, step" in n for _, n in todo)

    # it joins the matrix at once: every cell that needs it is skipped with its manifest's word
    r = harness(checkout, "matrix", "--peers", f"{name},python", "--transports", "uds", "--cases", "integers.*",
                "--json", str(tmp_path / "m.json"))
    assert r.returncode == 0, r.stdout + r.stderr
    mine = [c for c in json.loads((tmp_path / "m.json").read_text())["results"] if name in (c["sender"], c["receiver"])]
    assert mine and all(c["status"] == "skip" and "its manifest" in c["detail"] for c in mine)


def test_new_peer_refuses_to_overwrite_or_guess(checkout):
    assert harness(checkout, "new-peer", "mine", "--lang", "python").returncode == 0
    again = harness(checkout, "new-peer", "mine", "--lang", "c")
    assert again.returncode == 2 and "already" in again.stderr
    assert harness(checkout, "new-peer", "python").returncode == 2            # the reference peer's name
    bad = harness(checkout, "new-peer", "My-Peer", "--lang", "c")
    assert bad.returncode == 2 and "lower-case" in bad.stderr
    unknown = harness(checkout, "new-peer", "cobol")
    assert unknown.returncode == 2 and "no skeleton for language 'cobol'" in unknown.stderr
    assert not (checkout / "peers" / "cobol").exists()
