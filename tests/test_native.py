"""The C codec through cffi (API mode): the compiler's layout of every generated type equals
the schema's, and the C encoder/decoder agree with the Python reference codec on thousands of
generated values per message and on every malformed payload."""
from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings

from harness import codec, layout, native, strategies
from harness.errors import CrosswireError, DecodeError

from .conftest import ROOT

EXAMPLES = int(os.environ.get("CW_NATIVE_EXAMPLES", "1000"))
MALFORMED = json.loads((ROOT / "protocols/vectors/malformed.json").read_text())


@pytest.fixture(scope="module")
def ext(schema, tmp_path_factory):
    if not native.c_paths(ROOT)[2].exists():
        pytest.skip("the C peer is not built (no libcwcodec): run `make peers`")
    return native.build(schema, ROOT, tmp_path_factory.mktemp("cffi"))


@pytest.fixture(scope="module")
def c_codec(ext, schema):
    return native.NativeCodec(ext, schema)


def test_compiler_layout_equals_schema_layout(ext, schema):
    assert native.layout_problems(ext, schema) == []
    # and the numbers are the ones the generated _Static_asserts carry
    assert ext.ffi.sizeof("cw_Track") == layout.of(schema.message("Track")).size == 200
    assert ext.ffi.offsetof("cw_Integers", "val_u64") == 8


def test_layout_mismatch_is_reported_field_by_field(ext, schema):
    """An i386-style expectation (8-byte fields aligned to 4) against the compiler's layout."""
    def i386(t):
        real = layout.of(t)
        if t is schema.message("Integers"):
            members = tuple(layout.Member(m.name, 4 if m.name == "val_u64" else m.offset, m.size, m.align, m.type)
                            for m in real.members)
            return layout.Layout(real.size - 4, 4, members)
        return real
    problems = native.layout_problems(ext, schema, expected=i386)
    assert "cw_Integers.val_u64: offset 4 in the schema's layout, 8 from the compiler" in problems
    assert "cw_Integers: sizeof is 28 in the schema's layout, 32 from the compiler" in problems
    assert "cw_Integers: alignof is 4 in the schema's layout, 8 from the compiler" in problems


MESSAGES = ["Empty", "Integers", "Floats", "Choices", "Text", "Arrays", "BigNumber", "Sample10f", "Track", "Padded", "Blob"]


@pytest.mark.parametrize("name", MESSAGES)
def test_c_and_python_codecs_agree(c_codec, schema, name):
    msg = schema.message(name)

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    @given(strategies.message_values(msg))
    def check(value):
        py = codec.encode(msg, value)
        c = c_codec.encode(msg, value)
        assert c == py, f"C encoded {c.hex()}, Python {py.hex()}"
        assert c_codec.decode(msg, py) == value

    check()


def test_golden_vectors_through_c(c_codec, project):
    for case in project.cases:
        assert c_codec.encode(case.message, case.value) == case.payload, case.id
        assert c_codec.decode(case.message, case.payload) == case.value, case.id


@pytest.mark.parametrize("case", MALFORMED, ids=[c["id"] for c in MALFORMED])
def test_c_decoder_refuses_like_python(c_codec, schema, case):
    msg, payload = schema.message(case["message"]), bytes.fromhex(case["payload"])
    with pytest.raises(DecodeError) as c_err:
        c_codec.decode(msg, payload)
    with pytest.raises(DecodeError) as py_err:
        codec.decode(msg, payload)
    assert (c_err.value.code, c_err.value.path) == (py_err.value.code, py_err.value.path)


def test_missing_library_is_a_clear_error(schema, tmp_path):
    with pytest.raises(CrosswireError, match="run `make peers`"):
        native.build(schema, tmp_path, tmp_path / "w")
