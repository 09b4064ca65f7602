"""The schema, golden-vector and malformed-vector loaders fed hypothesis-generated documents
(issue 17): whatever the TOML or JSON, the answer is a schema, a list of cases, or one
CrosswireError line, never a traceback, a hang or a crash of the interpreter."""
from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness import malformed, vectors
from harness import schema as S
from harness.errors import CrosswireError
from harness.project import Project

from .conftest import ROOT

SCHEMA = Project(ROOT).schema
WORDS = ["u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64", "f32", "f64", "bool", "char[4]", "string", "bytes",
         "vec<u8>", "u8[3]", "bigint", "little", "big", "c", "packed", "id", "length", "seq", "crc-32", "Pose",
         "Integers", "Text", "x", "", "values", "fields", "type", "name", "prefix", "max", "since", "const", "role"]

scalars = st.one_of(st.integers(min_value=-(1 << 70), max_value=1 << 70), st.sampled_from(WORDS), st.booleans(),
                    st.floats(allow_nan=True), st.text(max_size=12))
keys = st.sampled_from(WORDS + ["format", "frame", "header", "checksum", "enums", "messages", "structs", "unions",
                                "flags", "byte_order", "max_payload", "covers", "algorithm", "on", "cases"])
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(keys, inner, max_size=5)), max_leaves=30)


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return json.dumps(v) if v == v and abs(v) != float("inf") else "nan"
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(x)}" for k, x in v.items()) + " }"


@st.composite
def schema_documents(draw) -> str:
    tables = draw(st.dictionaries(st.sampled_from(["format", "frame", "frame.checksum", "enums.E", "messages.M",
                                                   "messages.N", "structs.S", "unions.U", "flags.F"]),
                                  st.dictionaries(keys, values, max_size=6), max_size=6))
    return "\n".join(f"[{name}]\n" + "\n".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in body.items())
                     for name, body in tables.items())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema_documents())
def test_any_schema_document_loads_or_is_one_error(text):
    try:
        S.loads(text, "fuzzed.toml")
    except CrosswireError as exc:
        assert "\n" not in str(exc).strip(), str(exc)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_as_a_schema_loads_or_is_one_error(text):
    try:
        S.loads(text, "fuzzed.toml")
    except CrosswireError as exc:
        assert "\n" not in str(exc).strip(), str(exc)


rows = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                     st.dictionaries(st.sampled_from(
                                                         ["id", "message", "value", "payload", "frame", "text", "seq",
                                                          "header", "code", "path", "note", "x"]), inner, max_size=6)),
                    max_leaves=30)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(rows)
def test_any_json_as_golden_or_malformed_vectors_loads_or_is_one_error(tmp_path, doc):
    path = tmp_path / "v.json"
    path.write_text(json.dumps(doc))
    for load in (lambda: vectors.load(SCHEMA, path), lambda: malformed.load(path)):
        try:
            load()
        except CrosswireError as exc:
            assert str(exc).strip(), "an error says what"
