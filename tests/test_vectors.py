"""Golden vectors: frozen, complete, reproduced by the codec, and in step with WIRE.md."""
from __future__ import annotations

import json
import re
import shutil
import struct

import pytest

from harness import vectors

from .conftest import ROOT


@pytest.fixture(scope="module")
def golden(project):
    return {c.id: c for c in project.cases}


def test_golden_file_is_reproduced_and_complete(project):
    assert vectors.check(project.schema, project.golden_path, project.extra_path) == []


def test_a_changed_encoding_fails_loudly(project, tmp_path):
    rows = json.loads(project.golden_path.read_text())
    rows[0]["payload"] = "ff" + rows[0]["payload"][2:]
    tampered = tmp_path / "golden.json"
    tampered.write_text(json.dumps(rows))
    problems = vectors.check(project.schema, tampered, project.extra_path)
    assert any("encoding changed" in p for p in problems)
    del rows[-1]
    tampered.write_text(json.dumps(rows))
    assert any("lacks it" in p for p in vectors.check(project.schema, tampered, project.extra_path))


def test_every_case_carries_its_text_form_and_a_wrong_one_is_caught(project, tmp_path):
    rows = json.loads(project.golden_path.read_text())
    track = next(r for r in rows if r["id"] == "track.contract_example")
    # the example of PEER_CONTRACT.md, "Values as text"
    assert track["text"] == "7 0x3f800000 0x00000000 0x80000000 0x3fe0000000000000 x61 0 x6869 2"
    track["text"] = track["text"].replace("0x80000000", "0x00000000")     # -0.0 written as +0.0
    tampered = tmp_path / "golden.json"
    tampered.write_text(json.dumps(rows))
    assert vectors.check(project.schema, tampered, project.extra_path) == [
        "track.contract_example: its \"text\" is not the contract's text form of its value"]


@pytest.mark.parametrize("case_id, field, bits", [
    ("integers.min", "val_u8", 0), ("integers.max", "val_u64", 2**64 - 1),
    ("integers.min", "val_i64", -2**63), ("integers.max", "val_i8", 127),
    ("integers.minus_one", "val_i32", -1), ("integers.minus_one", "val_u16", 0xFFFF),
    ("integers.zero", "val_i16", 0),
])
def test_integer_limits_present(golden, case_id, field, bits):
    assert golden[case_id].value[field] == bits


@pytest.mark.parametrize("special, f32, f64", [
    ("zero", 0, 0), ("neg_zero", 0x80000000, 1 << 63), ("inf", 0x7F800000, 0x7FF0000000000000),
    ("neg_inf", 0xFF800000, 0xFFF0000000000000), ("qnan", 0x7FC00000, 0x7FF8000000000000),
    ("snan_payload", 0x7FA00001, 0x7FF4000000000001), ("min_subnormal", 1, 1),
    ("max_subnormal", 0x007FFFFF, 0x000FFFFFFFFFFFFF), ("max", 0x7F7FFFFF, 0x7FEFFFFFFFFFFFFF),
])
def test_float_specials_present(golden, special, f32, f64):
    value = golden[f"floats.{special}"].value
    assert (value["val_f32"].bits, value["val_f64"].bits) == (f32, f64)


def test_lengths_and_big_integers_present(golden):
    assert golden["text.zero"].value["label"] == ""
    assert len(golden["text.max"].value["label"].encode()) == 64
    assert len(golden["text.max"].value["name"]) == 16
    assert any(len(ch.encode()) == 4 for ch in golden["text.multibyte"].value["label"])
    assert len(golden["arrays.max"].value["samples"]) == 16 and golden["arrays.zero"].value["samples"] == []
    big = {golden[f"big_number.{k}"].value["value"] for k in
           ("pow63", "neg_pow63", "pow64", "neg_pow64", "pow127", "neg_pow127", "pow200", "max", "min")}
    assert {2**63, -2**63, 2**64, -2**64, 2**127, -2**127, 2**200, 2**511 - 1, -2**511} == big


def test_random_cases_are_seeded(project):
    again = {c.id: c for c in vectors.generate(project.schema, project.extra_path)}
    assert all(again[c.id].payload == c.payload for c in project.cases if ".random" in c.id)


def test_seed_document_bytes(golden):
    seed = b'fff?\x00`\xeaG\x9a\x99Y?\xcd\xccLA\xcd\xcc\xcc=\x00\x00\xe0A\x00\x00\x80A\x80J\xf3G\xecQ8?\x9a\x99y@'
    assert golden["sample10f.seed"].payload == seed
    assert seed == struct.pack("<10f", 0.9, 120000, 0.85, 12.8, 0.1, 28, 16, 124565, 0.72, 3.9)


def _hex_blocks(doc: str) -> set[str]:
    """Every run of hex byte pairs in WIRE.md's code blocks, annotations stripped."""
    out = set()
    for block in re.findall(r"```[a-z]*\n(.*?)```", doc, re.S):
        pairs = []
        for line in block.splitlines():
            for token in line.split():
                if not re.fullmatch(r"[0-9a-f]{2}", token):
                    break  # the rest of the line is a label
                pairs.append(token)
        out.add("".join(pairs))
    return out


@pytest.mark.parametrize("case_id", ["integers.max", "floats.wire_example", "text.wire_example",
                                     "arrays.wire_example", "sample10f.seed", "padded.wire_example"])
def test_wire_md_examples_match_golden(golden, case_id):
    blocks = _hex_blocks((ROOT / "protocols/WIRE.md").read_text())
    assert golden[case_id].payload.hex() in blocks


def test_wire_md_inline_examples(golden):
    doc = (ROOT / "protocols/WIRE.md").read_text()
    assert "`01  02  ff ff`" in doc and golden["choices.wire_example"].payload.hex() == "0102ffff"


def test_regenerate_writes_the_same_file(project, tmp_path):
    root = tmp_path / "p"
    shutil.copytree(ROOT / "protocols", root / "protocols")
    (root / "protocols/vectors/golden.json").unlink()
    cases = vectors.generate(project.schema, root / "protocols/vectors/extra.json")
    assert vectors.dump(cases, project.schema) == project.golden_path.read_text()
