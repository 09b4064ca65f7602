"""The cross-built peers really are other platforms: c@s390x and go@s390x run big-endian with
64-bit pointers, c@i686 and go@386 little-endian with 32-bit ones (HELLO measures both at run
time), and all of them write the golden bytes for every golden case: the wire is little-endian
whatever the host. Without the cross toolchain or qemu-user a peer is skipped with the reason
naming the Debian packages to install."""
from __future__ import annotations

import os
import time

import pytest

from harness import transports
from harness.driver import PeerProcess
from harness.errors import PeerReplyError
from harness.project import Project
from harness.textform import blob, format_message

from .conftest import ROOT

PROJECT = Project(ROOT)
# What each qemu-user target emulates: (ptr_bits, byte_order). A variant whose run command starts
# with qemu-<arch> is found in the registry and checked against this table.
QEMU = {"s390x": ("64", "big"), "i386": ("32", "little"), "aarch64": ("64", "little"), "arm": ("32", "little"),
        "ppc64": ("64", "big"), "ppc": ("32", "big"), "mips": ("32", "big"), "riscv64": ("64", "little")}
EMULATED = {s.name: s.run[0].removeprefix("qemu-") for s in PROJECT.registry.values() if s.run[0].startswith("qemu-")}
PLATFORMS = {name: QEMU.get(arch, ("?", "?")) for name, arch in EMULATED.items()}   # peer: (ptr_bits, byte_order)


def test_the_emulated_peers_are_found_and_known():
    assert {"c@s390x", "c@i686", "go@s390x", "go@386"} <= set(PLATFORMS)
    unknown = {name: arch for name, arch in EMULATED.items() if arch not in QEMU}
    assert not unknown, f"add these qemu targets to QEMU in {__file__}: {unknown}"


@pytest.fixture(scope="module", params=sorted(PLATFORMS))
def cross(request):
    name = request.param
    spec = PROJECT.registry.get(name)
    if spec is None:
        base, variant = name.split("@")
        pytest.fail(f"peers/{base}/peer.toml has no variant {variant}")
    reason = spec.unavailable()
    if reason:
        pytest.skip(f"{name}: {reason}")
    with PeerProcess(spec, "platforms", timeout=30.0) as proc:
        proc.handshake()
        yield proc


def test_manifest_names_the_packages_to_install():
    for name in PLATFORMS:
        spec = PROJECT.registry[name]
        arch = name.split("@")[1]
        if spec.language == "c":    # a cross compiler; Go cross-compiles with its own toolchain
            assert any(p.startswith("gcc-") and arch in p for p in spec.packages), spec.packages
        assert "qemu-user" in spec.packages and spec.argv()[0].startswith("qemu-")
        hint = spec.missing_reason(["x-gcc"])
        assert hint.startswith("x-gcc not found on PATH; on Debian: apt-get install ") and "qemu-user" in hint


def test_hello_reports_the_emulated_platform(cross):
    assert (cross.hello["ptr_bits"], cross.hello["byte_order"]) == PLATFORMS[cross.spec.name], cross.hello
    assert cross.hello["name"] == cross.spec.program


def test_encode_writes_the_golden_bytes(cross):
    """Every golden case, pipelined: one request each, the replies compared in order."""
    cases = [c for c in PROJECT.cases if cross.spec.supports_message(c.message.name)]
    assert cases
    wrong = []
    for chunk in range(0, len(cases), 32):
        batch = cases[chunk:chunk + 32]
        for c in batch:
            cross.send(f"ENCODE {c.message.name} {format_message(c.message, c.value)}".rstrip())
        for c in batch:
            tokens = cross.reply()
            if tokens != [blob(c.payload)]:
                wrong.append(f"{c.id}: {' '.join(tokens)[:120]} != {blob(c.payload)[:120]}")
    assert not wrong, f"{len(wrong)} of {len(cases)} cases differ:\n" + "\n".join(wrong[:20])


def test_decode_reads_the_golden_bytes(cross):
    cases = [c for c in PROJECT.cases if cross.spec.supports_message(c.message.name)]
    wrong = []
    for chunk in range(0, len(cases), 32):
        batch = cases[chunk:chunk + 32]
        for c in batch:
            cross.send(f"DECODE {c.message.name} {blob(c.payload)}")
        for c in batch:
            text = " ".join(cross.reply())
            if text != format_message(c.message, c.value):
                wrong.append(f"{c.id}: {text[:120]}")
    assert not wrong, f"{len(wrong)} of {len(cases)} cases differ:\n" + "\n".join(wrong[:20])


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="reads CPU time from /proc (Linux)")
def test_an_emulated_waiter_sleeps_in_the_futex_and_is_woken(cross):
    """SHM.md's futex words between an emulated and a native process: qemu hands FUTEX_WAIT on the
    translated address (and the value byte-swapped to the host's order) to the host kernel. Were the
    value wrong, FUTEX_WAIT would fail at once with EAGAIN and the waiter would spin at 100% CPU."""
    native = PROJECT.registry["c"]
    if native.unavailable():
        pytest.skip(native.unavailable())
    shm = transports.get("shm")
    name = shm.address()
    try:
        with PeerProcess(native, "platforms-native", timeout=30.0) as other:
            other.handshake()
            for proc in (cross, other):
                proc.request("WAIT futex")
            cross.request(f"LISTEN shm {name}")
            other.request(f"CONNECT shm {name} 5000", 10)
            cross.request("ACCEPT 5000", 10)
            before, start = _cpu_seconds(cross.proc.pid), time.monotonic()
            with pytest.raises(PeerReplyError, match="timeout"):
                cross.request("RECV 2000", 10)                       # nothing comes: it sleeps
            idle, used = time.monotonic() - start, _cpu_seconds(cross.proc.pid) - before
            assert idle >= 1.9 and used < 0.5 * idle, f"{used:.2f} s of CPU in {idle:.2f} s of waiting"
            cross.send("RECV 10000")
            time.sleep(0.3)
            other.request("SEND Integers 7 1 2 3 4 5 6 7 8")
            assert cross.reply(10) == ["Integers", "7", "1", "2", "3", "4", "5", "6", "7", "8"]
            cross.request("CLOSE")
    finally:
        shm.release(name)
        shm.cleanup()


def _cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
