"""Peer discovery and build: manifests are the only list of peers."""
from __future__ import annotations

import pytest

from harness import peers
from harness.errors import ManifestError
from harness.peers import load_manifest
from harness.project import Project

from .conftest import ROOT


def write(d, text):
    d.mkdir(parents=True)
    (d / "peer.toml").write_text(text)


GOOD = 'name = "{n}"\nlanguage = "x"\ncontract = 3\n[run]\ncommand = ["true"]\n[supports]\ntransports = ["uds"]\n'


def test_discovery_is_by_folder(tmp_path):
    write(tmp_path / "a", GOOD.format(n="alpha"))
    write(tmp_path / "b", GOOD.format(n="beta") + 'messages = ["Integers"]\n')
    reg = peers.discover(tmp_path)
    assert list(reg) == ["alpha", "beta"]
    assert reg["beta"].supports_message("Integers") and not reg["beta"].supports_message("Text")
    assert reg["alpha"].supports_message("Text")


def test_real_checkout_has_the_python_peer(project):
    assert project.registry["python"].transports == ("uds", "shm", "tcp")


@pytest.mark.parametrize("text, words", [
    ('name = "x"\n', "missing key 'language'"),
    (GOOD.format(n="x") + "colour = 1\n", "unknown key(s) colour"),
    (GOOD.format(n="a b"), "name must be a word"),
    (GOOD.format(n="x").replace("contract = 3", "contract = 9"), "contract 9; this harness speaks 3"),
    (GOOD.format(n="x").replace('["true"]', "[]"), "run.command is empty"),
    (GOOD.format(n="x").replace('["uds"]', '"uds"'), "supports.transports must be a list"),
    ("name = [", "cannot read"),
])
def test_bad_manifest(tmp_path, text, words):
    write(tmp_path / "p", text)
    with pytest.raises(ManifestError, match=None) as info:
        peers.discover(tmp_path)
    assert words in str(info.value) and "peer.toml" in str(info.value)


def test_duplicate_names(tmp_path):
    write(tmp_path / "a", GOOD.format(n="same"))
    write(tmp_path / "b", GOOD.format(n="same"))
    with pytest.raises(ManifestError, match="already used"):
        peers.discover(tmp_path)


def test_build_skips_a_missing_toolchain_and_reports_failures(tmp_path):
    write(tmp_path / "a", GOOD.format(n="a") + '[build]\nrequires = ["no-such-cc-xyz"]\ncommand = ["no-such-cc-xyz"]\n')
    write(tmp_path / "b", GOOD.format(n="b") + '[build]\ncommand = ["sh", "-c", "echo broken >&2; exit 4"]\n')
    write(tmp_path / "c", GOOD.format(n="c") + '[build]\ncommand = ["sh", "-c", "mkdir -p out && touch out/bin"]\noutputs = ["out/bin"]\n')
    reg = peers.discover(tmp_path)
    a, b, c = (peers.build(reg[n]) for n in "abc")
    assert (a.status, a.detail) == ("skipped", "no-such-cc-xyz not found on PATH")
    assert b.status == "failed" and "exited 4" in b.detail and "broken" in b.detail
    assert c.status == "built" and reg["c"].unavailable() is None
    assert "toolchain missing: no-such-cc-xyz" in reg["a"].unavailable()


def test_select_unknown(project):
    with pytest.raises(ManifestError, match="unknown peer 'nope'; known peers: .*python"):
        peers.select(project.registry, ["nope"])


def test_variants_are_peers_of_their_own(tmp_path):
    write(tmp_path / "c", GOOD.format(n="c") + '[build]\nrequires = ["sh"]\ncommand = ["sh", "-c", "true"]\n'
          '[variants.asan]\nbuild = ["sh", "-c", "touch asan-bin"]\noutputs = ["asan-bin"]\nrun = ["./asan-bin"]\n')
    reg = peers.discover(tmp_path)
    assert list(reg) == ["c", "c@asan"]
    v = reg["c@asan"]
    assert (v.base, v.program, v.transports, v.requires) == ("c", "c", ("uds",), ("sh",))
    assert "not built" in v.unavailable()
    assert peers.build(v).status == "built" and (tmp_path / "c" / "asan-bin").exists()


def test_bad_variant(tmp_path):
    write(tmp_path / "c", GOOD.format(n="c") + '[variants.x]\nrun = ["a"]\ncolour = 1\n')
    with pytest.raises(ManifestError, match="variants.x: unknown key"):
        peers.discover(tmp_path)


def test_a_variant_names_the_packages_to_install(tmp_path):
    write(tmp_path / "c", GOOD.format(n="c") + '[build]\nrequires = ["sh"]\npackages = ["dash"]\n'
          '[variants.s390x]\nbuild = ["make", "s390x"]\noutputs = ["x"]\nrun = ["no-such-qemu-xyz", "x"]\n'
          'requires = ["no-such-gcc-xyz", "no-such-qemu-xyz"]\npackages = ["gcc-xyz", "qemu-user"]\n')
    reg = peers.discover(tmp_path)
    v = reg["c@s390x"]
    assert v.packages == ("dash", "gcc-xyz", "qemu-user") and reg["c"].packages == ("dash",)
    assert v.unavailable().startswith("toolchain missing: no-such-gcc-xyz, no-such-qemu-xyz not found on PATH; "
                                      "on Debian: apt-get install dash gcc-xyz qemu-user (needed by ")
    result = peers.build(v)
    assert result.status == "skipped" and result.detail.endswith("apt-get install dash gcc-xyz qemu-user")
    write(tmp_path / "bad" / "c", GOOD.format(n="c") + '[variants.x]\npackages = "qemu-user"\n')
    with pytest.raises(ManifestError, match="packages must be a list of strings"):
        peers.discover(tmp_path / "bad")


OWN_TESTS = [s for s in Project(ROOT).registry.values() if s.check]


@pytest.mark.timeout(900)
@pytest.mark.parametrize("spec", OWN_TESTS, ids=[s.name for s in OWN_TESTS])
def test_each_peers_own_unit_tests_pass(spec):
    """A manifest's [check] command (the peer's own unit tests) passes in its folder."""
    missing = spec.missing_tools()
    if missing:
        pytest.skip(spec.missing_reason(missing))
    from harness.conformance import run_own_tests
    assert run_own_tests(spec) is None


def test_a_failing_check_command_is_reported(tmp_path):
    d = tmp_path / "p"
    d.mkdir()
    (d / "peer.toml").write_text('name = "p"\nlanguage = "sh"\ncontract = 3\n[run]\ncommand = ["true"]\n'
                                 '[supports]\n[check]\ncommand = ["sh", "-c", "echo one test failed; exit 3"]\n')
    from harness.conformance import run_own_tests
    out = run_own_tests(load_manifest(d / "peer.toml"))
    assert out is not None and "exited 3" in out and "one test failed" in out
