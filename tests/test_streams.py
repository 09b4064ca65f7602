"""The stream message (harness/streams.py): which message the streams and the bench carry, and
the layout STREAM describes, checked against the reference codec on crosswire's schema, the
test schemas, the real protocols of examples/ and generated schemas."""
from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings

from harness import codec, streams
from harness import schema as S
from harness.errors import CrosswireError
from harness.project import Project
from harness.vectors import special_value

from .conftest import ROOT
from .test_schemas import schema_texts

PROJECTS = ["", "tests/schemas/demo", "tests/schemas/zoo", "tests/schemas/noid", "tests/schemas/streams",
            "examples/modbus"]


def encoded(layout: streams.Layout, seq: int, n: int) -> bytes:
    """The reference codec's payload of the stream message: zero but its data."""
    value = special_value(layout.message, "zero")
    octets = [(seq + j) & 0xFF for j in range(n)]
    t = next(f.type for f in layout.message.value_fields if f.name == layout.field)
    if isinstance(t, S.Bytes):
        value[layout.field] = bytes(octets)
    else:
        value[layout.field] = [v - 256 if t.elem.signed and t.elem.size == 1 and v > 127 else v for v in octets]
    return codec.encode(layout.message, value)


def check_layout(layout: streams.Layout, rng: random.Random) -> None:
    for n in {0, 1, layout.max, *(rng.randint(0, layout.max) for _ in range(5))}:
        seq = rng.choice([0, 1, 255, 256, rng.getrandbits(32)])
        assert layout.payload(seq, n) == encoded(layout, seq, n), (layout.request[:100], seq, n)
        assert layout.elements(layout.size(n)) == n
    assert len(layout.template) + layout.max * layout.width <= 65536 * 1024


@pytest.mark.parametrize("rel", PROJECTS, ids=[p or "crosswire" for p in PROJECTS])
def test_layout_matches_the_reference_codec(rel):
    layout = Project.at(ROOT / rel).stream
    check_layout(layout, random.Random(rel))
    words = layout.request.split()
    assert words[0] == "STREAM" and words[1] == layout.message.name and int(words[7]) == len(layout.patches)
    assert len(words) == 8 + 5 * len(layout.patches)


def test_crosswire_streams_blob_with_its_length_patched():
    layout = Project.at(ROOT).stream
    assert layout.request == "STREAM Blob x0000000000000000 8 1 le 1048568 1 4 4 le 1 0"


def test_a_vec_of_big_endian_integers_with_a_count_field():
    """demo: vec<u16> big-endian behind a u8 count field that counts bytes (mul 2)."""
    layout = Project.at(ROOT / "tests/schemas/demo").stream
    assert (layout.width, layout.order) == (2, "be")
    assert [(p.mul, p.add) for p in layout.patches] == [(2, 0)]


@pytest.mark.parametrize("rel, why", [
    ("tests/schemas/fixed", "no message with a bytes or vec-of-integers field"),
    ("tests/schemas/payloads", "no frame with a seq field"),
    ("examples/mavlink", "no message with a bytes or vec-of-integers field"),
])
def test_a_schema_without_a_stream_message_says_why(rel, why):
    project = Project.at(ROOT / rel)
    with pytest.raises(streams.NoStream) as info:
        project.stream
    assert why in str(info.value) and "\n" not in str(info.value)
    assert why in project.streams_unsupported() and why in project.streams_unsupported(bench=True)


def test_the_config_names_the_stream_message(tmp_path):
    src = ROOT / "tests/schemas/zoo"
    (tmp_path / "protocols").mkdir()
    (tmp_path / "protocols/schema.toml").write_text((src / "protocols/schema.toml").read_text())
    (tmp_path / "peers").mkdir()
    default = Project.at(tmp_path).stream
    others = [m for m in Project.at(tmp_path).schema.messages.values()
              if m is not default.message and streams._data_fields(m)]
    assert others, "zoo has several messages with data"
    for m in others:
        for f, _ in streams._data_fields(m):
            (tmp_path / "crosswire.toml").write_text(f'stream = "{m.name}.{f.name}"\n')
            layout = Project(tmp_path).stream
            assert (layout.message.name, layout.field) == (m.name, f.name)
            check_layout(layout, random.Random(0))
    for bad, why in (('"Nope"', "no message Nope"), ('"Nothing"', "no bytes or vec-of-integers field"),
                     (f'"{default.message.name}.nope"', "not a bytes or vec-of-integers field"),
                     ("3", "must be a non-empty string")):
        (tmp_path / "crosswire.toml").write_text(f"stream = {bad}\n")
        with pytest.raises(CrosswireError) as info:
            Project(tmp_path).stream
        assert why in str(info.value), str(info.value)


def test_the_bench_needs_a_frame_without_a_checksum():
    project = Project.at(ROOT / "tests/schemas/streams")     # a CRC-32C trailer
    assert project.streams_unsupported() == ""
    assert "checksum" in project.streams_unsupported(bench=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema_texts())
def test_generated_schemas_stream_exactly_or_say_why(text):
    schema = S.loads(text)
    try:
        layout = streams.layout(schema)
    except streams.NoStream as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    check_layout(layout, random.Random(len(text)))
