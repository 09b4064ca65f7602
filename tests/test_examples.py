"""Every reference peer on protocols that are not crosswire's: the examples (Modbus TCP,
MAVLink 2) and the feature-zoo schemas of tests/schemas, each with the reference peers built
for its schema (harness/reference.py). The whole matrix (encode, decode, send, echo, version
skew) over uds, tcp and shm must pass, and every peer must refuse every malformed payload with
the code and path the reference codec gives."""
from __future__ import annotations

import subprocess
import sys

import pytest

from harness import malformed, matrix
from harness.errors import PeerReplyError
from harness.driver import PeerProcess
from harness.project import Project

from .conftest import ROOT

PROJECTS = ["examples/modbus", "examples/mavlink", "tests/schemas/demo", "tests/schemas/zoo", "tests/schemas/fixed",
            "tests/schemas/streams",
            "tests/schemas/noid",
            "tests/schemas/payloads"]
PEERS = [spec.name for spec in Project(ROOT).registry.values()]


def ready(proj) -> list[str]:
    names = [n for n in PEERS if n in proj.registry and proj.registry[n].unavailable() is None]
    assert "python" in names, f"the reference python peer did not build for {proj.root}"
    return names


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("rel", PROJECTS)
def test_the_whole_matrix(built_project, rel):
    proj = built_project(rel, PEERS)
    names = ready(proj)
    specs = [proj.registry[n] for n in names]
    cells = matrix.plan(specs, ["uds", "tcp", "shm"], proj.cases)
    results = matrix.run(cells, proj.registry, jobs=2, schema=proj.schema)
    failed = [r for r in results if r.status == "fail"]
    assert not failed, f"{len(failed)} of {len(results)} cells failed in {rel} ({', '.join(names)}); first:\n" + \
        "\n\n".join(f"{r.cell.id}: {r.detail[:1500]}" for r in failed[:3])
    assert sum(r.status == "pass" for r in results) > 0


@pytest.mark.timeout(900)
@pytest.mark.parametrize("rel", PROJECTS)
def test_every_peer_refuses_every_malformed_payload(built_project, rel):
    proj = built_project(rel, PEERS)
    rows = malformed.load(proj.malformed_path)
    assert rows, f"{rel} has no malformed vectors"
    wrong = []
    for name in ready(proj):
        if "@" in name and name.split("@")[1] in ("i686", "s390x", "386"):
            continue           # the emulated builds run the same codec: the matrix covers them
        with PeerProcess(proj.registry[name], "malformed") as proc:
            proc.handshake()
            for row in rows:
                try:
                    reply = proc.request(f"DECODE {row['message']} x{row['payload']}")
                    wrong.append(f"{name} {row['id']}: OK {' '.join(reply)[:80]}, expected ERR decode {row['code']}")
                except PeerReplyError as exc:
                    got = (exc.kind, *exc.detail.split(" ")[:2])
                    if got != ("decode", row["code"], row["path"]):
                        wrong.append(f"{name} {row['id']}: ERR {exc.kind} {exc.detail[:80]}, expected "
                                     f"ERR decode {row['code']} {row['path']}")
    assert not wrong, "\n".join(wrong[:20])


@pytest.mark.timeout(1200)
def test_streams_through_a_frame_of_its_own(built_project):
    """BLAST/DRAIN between every pair of native peers, over every transport, behind a big-endian
    frame with a 32-bit seq and a CRC-32C (tests/schemas/streams): the stream does not depend on
    crosswire's frame."""
    from harness import stress
    proj = built_project("tests/schemas/streams", PEERS)
    names = [n for n in ready(proj) if "@" not in n]
    bad = []
    for t in ("uds", "tcp", "shm"):
        for a in names:
            for b in names:
                r = stress.run_pair(proj.registry[a], proj.registry[b], t, 3000, proj.stream, 4096, freeze=0)
                if not r.ok:
                    bad.append(r.line())
    assert not bad, "\n".join(bad)


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("rel", ["tests/schemas/noid", "tests/schemas/demo", "examples/modbus"])
def test_streams_of_any_message(built_project, rel):
    """BLAST/DRAIN of each schema's own stream message (noid: a vec<u32> behind a u8 prefix;
    demo: a big-endian vec<u16> behind a count of bytes; modbus: the coils of ReadCoilsResponse
    behind a byte count) between every pair of native peers over uds and shm."""
    from harness import stress
    proj = built_project(rel, PEERS)
    names = [n for n in ready(proj) if "@" not in n]
    count = min(2000, proj.schema.frame.role("seq").type.max)     # demo's seq is a u8
    bad = []
    for t in ("uds", "shm"):
        for a in names:
            for b in names:
                r = stress.run_pair(proj.registry[a], proj.registry[b], t, count, proj.stream, 4096, freeze=0)
                if not r.ok:
                    bad.append(r.line())
    assert not bad, "\n".join(bad)


def test_streams_refuse_a_count_their_seq_cannot_hold(built_project):
    """noid's seq is a u16: a BLAST of 65536 frames is refused by the peer, and by `stress`."""
    proj = built_project("tests/schemas/noid", PEERS)
    for name in ready(proj):
        with PeerProcess(proj.registry[name], "seq") as proc:
            proc.handshake()
            proc.request(proj.stream.request)
            with pytest.raises(PeerReplyError) as info:
                proc.request("BLAST 65536 1 0 10")
            assert info.value.kind == "request", (name, info.value)
    r = subprocess.run([sys.executable, "-m", "harness", "stress", "--project", str(proj.root), "--count", "65536"],
                       capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode != 0 and "holds: at most 65535" in r.stderr + r.stdout, r.stderr + r.stdout
