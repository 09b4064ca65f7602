package codec

// The codec against the project's vectors (protocols/vectors/*.json, read with encoding/json),
// whatever the schema: every golden case's text form must encode to the golden payload byte
// for byte, that payload must decode to the same text and re-encode to itself; each older
// version's payload must be what a peer of that version writes and reads; the frame around
// each case must be the golden head and tail, and read back; every malformed payload must be
// refused with the code and field path the file gives.
//
// CW_VECTORS names another directory of vectors (tests/test_codegen_go.py uses it for a schema
// with more type combinations than the project's); its malformed.json is optional there.

import (
	cw "crosswire.dev/kit/codec"

	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

type frameVector struct {
	Seq    uint64           `json:"seq"`
	Header map[string]int64 `json:"header"`
	Head   string           `json:"head"`
	Tail   string           `json:"tail"`
}

type vector struct {
	ID       string            `json:"id"`
	Message  string            `json:"message"`
	Text     string            `json:"text"`
	Payload  string            `json:"payload"`
	Versions map[string]string `json:"versions"`
	Frame    *frameVector      `json:"frame"`
	Code     string            `json:"code"`
	Path     string            `json:"path"`
}

func vectorsDir() (string, bool) {
	if dir := os.Getenv("CW_VECTORS"); dir != "" {
		return dir, true
	}
	return filepath.Join("..", "..", "..", "protocols", "vectors"), false
}

// load reads one vectors file; a missing file fails the test unless optional.
func load(t testing.TB, name string, optional bool) []vector {
	t.Helper()
	dir, custom := vectorsDir()
	raw, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		if optional && custom && errors.Is(err, os.ErrNotExist) {
			t.Skipf("%s: not in %s", name, dir)
		}
		t.Fatal(err)
	}
	var out []vector
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no vectors", name)
	}
	return out
}

func words(line string) []string {
	if line == "" {
		return nil
	}
	return strings.Split(line, " ")
}

func unhexT(t testing.TB, what, h string) []byte {
	t.Helper()
	b, err := hex.DecodeString(h)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return b
}

func mustIndex(t testing.TB, name string) int {
	t.Helper()
	i, ok := Lookup(name)
	if !ok {
		t.Fatalf("no message %s", name)
	}
	return i
}

func TestGoldenVectors(t *testing.T) {
	for _, v := range load(t, "golden.json", false) {
		i := mustIndex(t, v.Message)
		want := unhexT(t, v.ID, v.Payload)
		got, err := EncodeText(v.Message, words(v.Text), Newest)
		if err != nil {
			t.Errorf("%s: EncodeText: %v", v.ID, err)
		} else if !bytes.Equal(got, want) {
			t.Errorf("%s: EncodeText\n got %x\nwant %x", v.ID, got, want)
		}
		back, err := DecodeText(i, want, Newest)
		if err != nil {
			t.Errorf("%s: DecodeText: %v", v.ID, err)
		} else if strings.Join(back, " ") != v.Text {
			t.Errorf("%s: DecodeText\n got %s\nwant %s", v.ID, strings.Join(back, " "), v.Text)
		}
		again, err := Reencode(i, want, Newest)
		if err != nil || !bytes.Equal(again, want) {
			t.Errorf("%s: Reencode: %x, %v", v.ID, again, err)
		}
	}
}

// An older version's payload: what a peer speaking it writes, reads and writes back; a newer
// peer reads it (the fields it lacks at their defaults) and writes it again at that version.
func TestVersionVectors(t *testing.T) {
	for _, v := range load(t, "golden.json", false) {
		for ver, h := range v.Versions {
			n, _ := strconv.Atoi(ver)
			what := v.ID + " at version " + ver
			want := unhexT(t, what, h)
			got, err := EncodeText(v.Message, words(v.Text), n)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: EncodeText: %x %v, want %x", what, got, err, want)
			}
			i := mustIndex(t, v.Message)
			if again, err := Reencode(i, want, n); err != nil || !bytes.Equal(again, want) {
				t.Errorf("%s: Reencode: %x %v", what, again, err)
			}
			m := newMessage(i)
			if err := cw.Decode(&messageTable[i], want, Newest, m.decode); err != nil {
				t.Errorf("%s: the newest version cannot read it: %v", what, err)
			} else if back, err := EncodeAt(m, n); err != nil || !bytes.Equal(back, want) {
				t.Errorf("%s: read by the newest, written at %d: %x %v", what, n, back, err)
			}
			// and the newest payload, read by this version, ignores what it does not know
			if _, err := DecodeText(i, unhexT(t, v.ID, v.Payload), n); err != nil {
				t.Errorf("%s: cannot read the newest payload: %v", what, err)
			}
		}
	}
}

func TestFrameVectors(t *testing.T) {
	for _, v := range load(t, "golden.json", false) {
		if v.Frame == nil {
			continue
		}
		if !HasFrame {
			t.Fatalf("%s: a frame in the vectors of a schema without one", v.ID)
		}
		i := mustIndex(t, v.Message)
		payload := unhexT(t, v.ID, v.Payload)
		var plain cw.Plain
		for k := range plainFields {
			h, ok := v.Frame.Header[plainFields[k].Name]
			if !ok {
				t.Fatalf("%s: no header value %s", v.ID, plainFields[k].Name)
			}
			plain[k] = uint64(h)
		}
		want := append(append(unhexT(t, v.ID, v.Frame.Head), payload...), unhexT(t, v.ID, v.Frame.Tail)...)
		frame := Frame.AppendFrame(nil, i, v.Frame.Seq, &plain, payload)
		if !bytes.Equal(frame, want) {
			t.Errorf("%s: AppendFrame\n got %x\nwant %x", v.ID, frame, want)
			continue
		}
		h, err := Frame.ParseHead(frame, messageTable[i].Direction)
		if err != nil || h.Msg != i || h.Seq != v.Frame.Seq || h.Plain != plain || h.Size != len(frame) ||
			!bytes.Equal(Frame.Payload(frame, &h), payload) {
			t.Errorf("%s: ParseHead: %+v %v", v.ID, h, err)
			continue
		}
		if err := Frame.CheckFrame(frame, &h); err != nil {
			t.Errorf("%s: CheckFrame: %v", v.ID, err)
		}
		if HasChecksum {
			frame[len(frame)-1] ^= 1
			checkErr(t, v.ID+" with its checksum changed", Frame.CheckFrame(frame, &h), "decode", "checksum",
				"frame."+headerChecksum)
		}
	}
}

func TestMalformedVectors(t *testing.T) {
	for _, v := range load(t, "malformed.json", true) {
		payload := unhexT(t, v.ID, v.Payload)
		i := mustIndex(t, v.Message)
		_, err := DecodeText(i, payload, Newest)
		checkErr(t, v.ID, err, "decode", v.Code, v.Path)
		_, err = Reencode(i, payload, Newest)
		checkErr(t, v.ID+" (Reencode)", err, "decode", v.Code, v.Path)
	}
}

// checkErr wants err to be a *cw.Error of this kind, code and path.
func checkErr(t *testing.T, what string, err error, kind, code, path string) *cw.Error {
	t.Helper()
	e, ok := err.(*cw.Error)
	if !ok || e == nil {
		t.Errorf("%s: want %s %s %s, got %v", what, kind, code, path, err)
		return nil
	}
	if e.Kind != kind || e.Code != code || e.Path != path {
		t.Errorf("%s: want %s %s %s, got %q", what, kind, code, path, e.Error())
	}
	return e
}

// The decoder's speed over the golden payloads (every message, each payload decoded into a new
// value): `go test -run X -bench Golden ./codec/`. Small: the payloads of at most 4 KiB, which
// a 1 MiB payload's copy would otherwise drown.
func BenchmarkDecodeGolden(b *testing.B)      { benchDecode(b, math.MaxInt) }
func BenchmarkDecodeSmallGolden(b *testing.B) { benchDecode(b, 4096) }

func benchDecode(b *testing.B, limit int) {
	type payload struct {
		i    int
		data []byte
	}
	var cases []payload
	for _, v := range load(b, "golden.json", false) {
		if data := unhexT(b, v.ID, v.Payload); len(data) <= limit {
			cases = append(cases, payload{mustIndex(b, v.Message), data})
		}
	}
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		for _, c := range cases {
			if err := cw.Decode(&messageTable[c.i], c.data, Newest, newMessage(c.i).decode); err != nil {
				b.Fatal(err)
			}
		}
	}
}
