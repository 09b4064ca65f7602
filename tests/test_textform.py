"""The contract's text form: every golden value survives format -> parse, and bad tokens are
refused with the field path."""
from __future__ import annotations

import pytest

from harness import textform
from harness.errors import TextFormError


def test_every_golden_value_round_trips(project):
    for case in project.cases:
        text = textform.format_message(case.message, case.value)
        assert "  " not in text and not text.startswith(" ")
        assert textform.parse_message(case.message, text.split(" ") if text else []) == case.value, case.id


def test_contract_example(schema, project):
    case = next(c for c in project.cases if c.id == "track.contract_example")
    assert textform.format_message(case.message, case.value) == \
        "7 0x3f800000 0x00000000 0x80000000 0x3fe0000000000000 x61 0 x6869 2"


@pytest.mark.parametrize("message, tokens, words", [
    ("Floats", ["1.0", "0x0000000000000000"], "Floats.val_f32: f32 must be 0x + 8 hex digits"),
    ("Floats", ["0x00000000"], "Floats.val_f64: expected f64, the value ended"),
    ("Choices", ["1", "0", "0"], "Choices.flag: bool must be true or false"),
    ("Integers", ["01"] + ["0"] * 7, "Integers.val_u8: u8 must be a decimal integer"),
    ("Text", ["x6", "x", "x"], "Text.name: expected x followed by pairs of hex digits"),
    ("Text", ["abc", "x", "x"], "Text.name: expected x followed by pairs"),
    ("BigNumber", ["123"], "BigNumber.value: bigint must be 0x<hex> or -0x<hex>"),
    ("Arrays", ["0"] * 4 + ["0x0000000000000000"] * 3 + ["-1"], "Arrays.samples: vec count must be"),
    ("Empty", ["1"], "Empty: 1 tokens left over"),
])
def test_bad_tokens(schema, message, tokens, words):
    with pytest.raises(TextFormError, match=None) as info:
        textform.parse_message(schema.message(message), tokens)
    assert words in str(info.value)


def test_blob():
    assert textform.blob(b"\x00\xff") == "x00ff" and textform.parse_blob("x00FF") == b"\x00\xff"
    assert textform.parse_blob("x") == b""
    big = "x" + "ab" * (1 << 20)                          # a 1 MiB payload, parsed at C speed
    assert textform.parse_blob(big) == b"\xab" * (1 << 20)
    for bad in ("", "00ff", "x0", "x00f", "x00\tff", "x00 ff", "x\n", "x0g", "X00", "x0x00", "xé0"):
        with pytest.raises(TextFormError, match="pairs of hex digits"):
            textform.parse_blob(bad)
