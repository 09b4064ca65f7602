package codec

// The codec against the project's vectors (protocols/vectors/*.json, read with encoding/json):
// every golden value, turned into text tokens here (independently of the codec's own format
// code), must encode to the golden payload byte for byte, and that payload must decode to the
// same tokens and re-encode to itself; every malformed payload must be refused with the code
// and field path the file gives. Then the errors of the text form, the frame header, strict
// UTF-8, bigint and the streams.
//
// CW_VECTORS names another directory of vectors (tests/test_codegen_go.py uses it for a schema
// with more type combinations than the project's); its malformed.json and extra.json are
// optional, the project's are not.

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// -- the generated description of the schema (schema_gen_test.go) is made of these

type testType struct {
	kind string // u8..i64, f32, f64, bool, enum, char, bytes, string, bigint, array, vec, struct
	elem *testType
	name string // of a struct
}

type testField struct {
	name string
	typ  *testType
}

func tLeaf(kind string) *testType               { return &testType{kind: kind} }
func tArray(elem *testType, n int) *testType    { return &testType{kind: "array", elem: elem} }
func tVec(elem *testType) *testType             { return &testType{kind: "vec", elem: elem} }
func tStruct(name string) *testType             { return &testType{kind: "struct", name: name} }
func (t *testType) isLeaf(kinds ...string) bool { return contains(kinds, t.kind) }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// tokens appends the text tokens of a JSON value of type t (PEER_CONTRACT.md "Values as text",
// from the JSON form of harness/vectors.py: integers as numbers, floats and bigints as their
// tokens already, char and bytes as hex, strings as text).
func jsonTokens(t *testType, v any, out []string) ([]string, error) {
	switch {
	case t.kind == "struct":
		obj, ok := v.(map[string]any)
		fields := testFields(t.name)
		if !ok || fields == nil {
			return nil, fmt.Errorf("struct %s: got %v", t.name, v)
		}
		return fieldsTokens(fields, obj, out)
	case t.kind == "array" || t.kind == "vec":
		items, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("%s: got %v", t.kind, v)
		}
		if t.kind == "vec" {
			out = append(out, fmt.Sprint(len(items)))
		}
		for _, item := range items {
			var err error
			if out, err = jsonTokens(t.elem, item, out); err != nil {
				return nil, err
			}
		}
		return out, nil
	case t.isLeaf("f32", "f64", "bigint"):
		return append(out, v.(string)), nil
	case t.kind == "bool":
		return append(out, fmt.Sprint(v.(bool))), nil
	case t.isLeaf("char", "bytes"):
		return append(out, "x"+v.(string)), nil
	case t.kind == "string":
		return append(out, "x"+hex.EncodeToString([]byte(v.(string)))), nil
	default: // integers and enums
		return append(out, v.(json.Number).String()), nil
	}
}

func fieldsTokens(fields []testField, obj map[string]any, out []string) ([]string, error) {
	for _, f := range fields {
		v, ok := obj[f.name]
		if !ok {
			return nil, fmt.Errorf("no field %s", f.name)
		}
		var err error
		if out, err = jsonTokens(f.typ, v, out); err != nil {
			return nil, fmt.Errorf("%s: %w", f.name, err)
		}
	}
	return out, nil
}

// -- the vectors

type vector struct {
	ID      string         `json:"id"`
	Message string         `json:"message"`
	Value   map[string]any `json:"value"`
	Payload *string        `json:"payload"`
	Code    string         `json:"code"`
	Path    string         `json:"path"`
}

func vectorsDir() (string, bool) {
	if dir := os.Getenv("CW_VECTORS"); dir != "" {
		return dir, true
	}
	return filepath.Join("..", "..", "..", "protocols", "vectors"), false
}

// load reads one vectors file; a missing file fails the test unless optional.
func load(t *testing.T, name string, optional bool) []vector {
	t.Helper()
	dir, custom := vectorsDir()
	raw, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		if optional && custom && errors.Is(err, os.ErrNotExist) {
			t.Skipf("%s: not in %s", name, dir)
		}
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // u64 values beyond float64's 53 bits stay exact
	var out []vector
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no vectors", name)
	}
	return out
}

func valueTokens(t *testing.T, v vector) []string {
	t.Helper()
	fields := testFields(v.Message)
	if fields == nil {
		t.Fatalf("%s: no message %s in schema_gen_test.go", v.ID, v.Message)
	}
	words, err := fieldsTokens(fields, v.Value, nil)
	if err != nil {
		t.Fatalf("%s: the JSON value: %v", v.ID, err)
	}
	return words
}

func mustID(t *testing.T, name string) uint16 {
	t.Helper()
	id, ok := MessageID(name)
	if !ok {
		t.Fatalf("no message %s", name)
	}
	return id
}

func TestGoldenVectors(t *testing.T) {
	for _, v := range load(t, "golden.json", false) {
		words := valueTokens(t, v)
		want, err := hex.DecodeString(*v.Payload)
		if err != nil {
			t.Fatalf("%s: payload: %v", v.ID, err)
		}
		id := mustID(t, v.Message)
		got, err := EncodeText(v.Message, words)
		if err != nil {
			t.Errorf("%s: EncodeText: %v", v.ID, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: EncodeText\n got %x\nwant %x", v.ID, got, want)
		}
		back, err := DecodeText(id, want)
		if err != nil {
			t.Errorf("%s: DecodeText: %v", v.ID, err)
		} else if strings.Join(back, " ") != strings.Join(words, " ") {
			t.Errorf("%s: DecodeText\n got %s\nwant %s", v.ID, strings.Join(back, " "), strings.Join(words, " "))
		}
		again, err := Reencode(id, want)
		if err != nil || !bytes.Equal(again, want) {
			t.Errorf("%s: Reencode: %x, %v", v.ID, again, err)
		}
	}
}

func TestExtraVectors(t *testing.T) {
	golden := map[string]string{}
	for _, v := range load(t, "golden.json", false) {
		golden[v.ID] = *v.Payload
	}
	for _, v := range load(t, "extra.json", true) {
		words := valueTokens(t, v)
		got, err := EncodeText(v.Message, words)
		if err != nil {
			t.Errorf("%s: EncodeText: %v", v.ID, err)
			continue
		}
		if want, ok := golden[v.ID]; ok && hex.EncodeToString(got) != want {
			t.Errorf("%s: got %x, golden.json has %s", v.ID, got, want)
		}
		back, err := DecodeText(mustID(t, v.Message), got)
		if err != nil || strings.Join(back, " ") != strings.Join(words, " ") {
			t.Errorf("%s: DecodeText: %v, %v", v.ID, back, err)
		}
	}
}

func TestMalformedVectors(t *testing.T) {
	for _, v := range load(t, "malformed.json", true) {
		payload, err := hex.DecodeString(*v.Payload)
		if err != nil {
			t.Fatalf("%s: payload: %v", v.ID, err)
		}
		id := mustID(t, v.Message)
		_, err = DecodeText(id, payload)
		checkErr(t, v.ID, err, "decode", v.Code, v.Path)
		_, err = Reencode(id, payload)
		checkErr(t, v.ID+" (Reencode)", err, "decode", v.Code, v.Path)
	}
}

// checkErr wants err to be a *Error of this kind, code and path.
func checkErr(t *testing.T, what string, err error, kind, code, path string) *Error {
	t.Helper()
	e, ok := err.(*Error)
	if !ok || e == nil {
		t.Errorf("%s: want %s %s %s, got %v", what, kind, code, path, err)
		return nil
	}
	if e.Kind != kind || e.Code != code || e.Path != path {
		t.Errorf("%s: want %s %s %s, got %q", what, kind, code, path, e.Error())
	}
	return e
}
