package codec

// The hand-written half against the contract's words: bad values and bad tokens, the frame
// header in WIRE.md's order, strict UTF-8, bigint's minimal form, and the streams.

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"
)

func words(line string) []string {
	if line == "" {
		return nil
	}
	return strings.Split(line, " ")
}

// The cases of tests/test_peer_conformance.py::test_bad_value, and more.
func TestEncodeErrors(t *testing.T) {
	cases := []struct{ msg, value, code, path string }{
		{"Choices", "true 9 0", "enum", "Choices.color"},
		{"Choices", "true 0 5", "enum", "Choices.status"},
		{"Choices", "true 256 0", "enum", "Choices.color"},
		{"Choices", "true -1 0", "enum", "Choices.color"},
		{"Choices", "true 0 -32769", "enum", "Choices.status"},
		{"Integers", "256 0 0 0 0 0 0 0", "range", "Integers.val_u8"},
		{"Integers", "0 0 0 18446744073709551616 0 0 0 0", "range", "Integers.val_u64"},
		{"Integers", "0 0 0 0 -129 0 0 0", "range", "Integers.val_i8"},
		{"Integers", "0 0 0 0 0 0 0 -9223372036854775809", "range", "Integers.val_i64"},
		{"Integers", "-1 0 0 0 0 0 0 0", "range", "Integers.val_u8"},
		{"Integers", "0 65536 0 99999999999999999999999999 0 0 0 0", "range", "Integers.val_u16"},
		{"Text", "x610062 x x", "char", "Text.name"},
		{"Text", "x" + strings.Repeat("61", 17) + " x x", "length", "Text.name"},
		{"Text", "x x" + strings.Repeat("61", 65) + " x", "length", "Text.label"},
		{"Text", "x xc328 x", "utf8", "Text.label"},
		{"Text", "x xeda080 x", "utf8", "Text.label"},
		{"Text", "x x x" + strings.Repeat("00", 65), "length", "Text.data"},
		{"Arrays", "0 0 0 0 " + strings.Repeat("0x0000000000000000 ", 3) + "17" + strings.Repeat(" 0", 17) + " 0",
			"length", "Arrays.samples"},
		{"Arrays", "0 0 0 0 " + strings.Repeat("0x0000000000000000 ", 3) + "1 70000 0", "range", "Arrays.samples[0]"},
		{"Arrays", "0 0 0 0 " + strings.Repeat("0x0000000000000000 ", 3) + "0 2 1 3", "enum", "Arrays.colors[1]"},
		{"BigNumber", "0x8" + strings.Repeat("0", 127), "length", "BigNumber.value"},
		{"BigNumber", "-0x8" + strings.Repeat("0", 128), "length", "BigNumber.value"},
		{"Track", "1 0x00000000 0x00000000 0x00000000 0x0000000000000000 x 2 " +
			"0x00000000 0x00000000 0x00000000 0x0000000000000000 x61 " +
			"0x00000000 0x00000000 0x00000000 0x0000000000000000 x616263646566676869 x 0",
			"length", "Track.poses[1].name"},
		{"Track", "1 0x00000000 0x00000000 0x00000000 0x0000000000000000 x 0 x 7", "enum", "Track.color"},
	}
	for _, c := range cases {
		_, err := EncodeText(c.msg, words(c.value))
		checkErr(t, c.msg+" "+c.value, err, "encode", c.code, c.path)
	}
}

// The first encode error in schema order wins, and a bad token anywhere wins over it.
func TestErrorOrder(t *testing.T) {
	_, err := EncodeText("Integers", words("256 65536 0 0 0 0 0 0"))
	checkErr(t, "two ranges", err, "encode", "range", "Integers.val_u8")
	_, err = EncodeText("Integers", words("256 0 0 0 0 0 0 zz"))
	if e, ok := err.(*Error); !ok || e.Kind != "request" {
		t.Errorf("a bad token after a range error: %v", err)
	}
	_, err = EncodeText("Integers", words("256 0 0 0 0 0 0 0 0"))
	if e, ok := err.(*Error); !ok || e.Kind != "request" {
		t.Errorf("a token left over after a range error: %v", err)
	}
}

// The request errors of the text form, with the other peers' words.
func TestTokenErrors(t *testing.T) {
	cases := []struct{ msg, value, want string }{
		{"Integers", "1 2", "request missing a token for Integers.val_u32"},
		{"Integers", "1 2 3 4 5 6 7 8 9", "request 1 tokens left over after the value of Integers"},
		{"Integers", "a 0 0 0 0 0 0 0", `request bad token "a" for Integers.val_u8`},
		{"Integers", "- 0 0 0 0 0 0 0", `request bad token "-" for Integers.val_u8`},
		{"Integers", "+1 0 0 0 0 0 0 0", `request bad token "+1" for Integers.val_u8`},
		{"Floats", "1.5 0x0000000000000000", `request bad token "1.5" for Floats.val_f32`},
		{"Floats", "0x0000000 0x0000000000000000", `request bad token "0x0000000" for Floats.val_f32`},
		{"Floats", "0X00000000 0x0000000000000000", `request bad token "0X00000000" for Floats.val_f32`},
		{"Floats", "0x00000000 0x000000000000000g", `request bad token "0x000000000000000g" for Floats.val_f64`},
		{"Choices", "yes 0 0", `request bad token "yes" for Choices.flag`},
		{"Text", "616263 x x", `request bad token "616263" for Text.name`},
		{"Text", "x xa x", `request bad token "xa" for Text.label`},
		{"Text", "x x X00", `request bad token "X00" for Text.data`},
		{"Arrays", "0 0 0 0 0x0000000000000000 0x0000000000000000 0x0000000000000000 -1",
			`request bad token "-1" for Arrays.samples`},
		{"Arrays", "0 0 0 0 0x0000000000000000 0x0000000000000000 0x0000000000000000 2 7",
			"request missing a token for Arrays.samples[1]"},
		{"Arrays", "0 0 0 x 0x0000000000000000 0x0000000000000000 0x0000000000000000 0 0",
			`request bad token "x" for Arrays.fixed[3]`},
		{"BigNumber", "0x", `request bad token "0x" for BigNumber.value`},
		{"BigNumber", "--0x1", `request bad token "--0x1" for BigNumber.value`},
		{"BigNumber", "0xg", `request bad token "0xg" for BigNumber.value`},
		{"BigNumber", "", "request missing a token for BigNumber.value"},
		{"Empty", "1", "request 1 tokens left over after the value of Empty"},
		{"NoSuchMessage", "1", `request unknown message "NoSuchMessage"`},
		{"Integers", strings.Repeat("9", 50) + "x 0 0 0 0 0 0 0",
			`request bad token "9999999999999999999999999999999999999999..." for Integers.val_u8`},
	}
	for _, c := range cases {
		_, err := EncodeText(c.msg, words(c.value))
		if err == nil || err.Error() != c.want {
			t.Errorf("%s %s:\n got %v\nwant %s", c.msg, c.value, err, c.want)
		}
	}
}

func TestTextForms(t *testing.T) {
	cases := []struct{ msg, in, out string }{
		{"Integers", "007 -0 00 0 -0 -00 0 -9223372036854775808", "7 0 0 0 0 0 0 -9223372036854775808"},
		{"Floats", "0x7FA00001 0xFFF80000DEADBEEF", "0x7fa00001 0xfff80000deadbeef"},
		{"Text", "x41 xC3A9 xFF", "x41 xc3a9 xff"},
		{"BigNumber", "-0x0", "0x0"},
		{"BigNumber", "0x000ff", "0xff"},
		{"BigNumber", "-0X1", ""}, // an upper-case X is not a bigint token
	}
	for _, c := range cases {
		payload, err := EncodeText(c.msg, words(c.in))
		if c.out == "" {
			if err == nil {
				t.Errorf("%s %s: want an error", c.msg, c.in)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s %s: %v", c.msg, c.in, err)
			continue
		}
		id, _ := MessageID(c.msg)
		got, err := DecodeText(id, payload)
		if err != nil || strings.Join(got, " ") != c.out {
			t.Errorf("%s %s: got %v %v, want %s", c.msg, c.in, got, err, c.out)
		}
	}
}

// The example of PEER_CONTRACT.md, "Values as text".
func TestContractExample(t *testing.T) {
	line := "7 0x3f800000 0x00000000 0x80000000 0x3fe0000000000000 x61 0 x6869 2"
	payload, err := EncodeText("Track", words(line))
	if err != nil {
		t.Fatal(err)
	}
	var v Track
	if err := DecodeMessage(payload, &v); err != nil {
		t.Fatal(err)
	}
	if v.Id != 7 || v.Origin.Pos.X != 1 || v.Origin.Heading != 0.5 || string(v.Origin.Name) != "a" ||
		len(v.Poses) != 0 || v.Label != "hi" || v.Color != ColorBlue {
		t.Errorf("got %+v", v)
	}
	back, err := EncodeMessage(&v)
	if err != nil || !bytes.Equal(back, payload) {
		t.Errorf("EncodeMessage: %x %v", back, err)
	}
}

func header(magic uint32, version, msgType uint16, flags, length uint32, seq uint64) []byte {
	b := make([]byte, HeaderLen)
	le := binary.LittleEndian
	le.PutUint32(b, magic)
	le.PutUint16(b[4:], version)
	le.PutUint16(b[6:], msgType)
	le.PutUint32(b[8:], flags)
	le.PutUint32(b[12:], length)
	le.PutUint64(b[16:], seq)
	return b
}

func TestParseHeader(t *testing.T) {
	// WIRE.md's example: Integers, 30 bytes, seq 7.
	example, _ := hex.DecodeString("435857520100010000000000" + "1e000000" + "0700000000000000")
	h, err := ParseHeader(example)
	if err != nil || h != (Header{MsgType: 1, PayloadLen: 30, Seq: 7}) {
		t.Fatalf("%+v %v", h, err)
	}
	var put [HeaderLen]byte
	PutHeader(put[:], 1, 30, 7)
	if !bytes.Equal(put[:], example) {
		t.Errorf("PutHeader: %x", put)
	}
	// Each broken field alone, and every field broken at once (the first check wins).
	cases := []struct {
		b          []byte
		code, path string
	}{
		{header(0x52575844, 1, 1, 0, 30, 7), "magic", "frame.magic"},
		{header(Magic, 2, 1, 0, 30, 7), "version", "frame.version"},
		{header(Magic, 1, 1, 1, 30, 7), "flags", "frame.flags"},
		{header(Magic, 1, 999, 0, 30, 7), "type", "frame.msg_type"},
		{header(Magic, 1, 1, 0, MaxPayload+1, 7), "length", "frame.payload_len"},
		{header(0, 0, 999, 1, 1<<32-1, 7), "magic", "frame.magic"},
		{header(Magic, 0, 999, 1, 1<<32-1, 7), "version", "frame.version"},
		{header(Magic, 1, 999, 1, 1<<32-1, 7), "flags", "frame.flags"},
		{header(Magic, 1, 999, 0, 1<<32-1, 7), "type", "frame.msg_type"},
		{example[:23], "truncated", "frame"},
	}
	for _, c := range cases {
		_, err := ParseHeader(c.b)
		if e := checkErr(t, hex.EncodeToString(c.b), err, "decode", c.code, c.path); e != nil && !e.BreaksStream() {
			t.Errorf("%s: BreaksStream false", e)
		}
	}
	_, err = ParseHeader(header(Magic, 1, 1, 0, MaxPayload, 1<<64-1))
	if err != nil {
		t.Errorf("payload_len at the limit: %v", err)
	}
	_, err = ParseHeader(header(0x52575844, 1, 1, 0, 30, 7))
	if err == nil || err.Error() != "decode magic frame.magic 0x52575844 is not 0x52575843" {
		t.Errorf("magic message: %v", err)
	}
}

func TestFrames(t *testing.T) {
	frame, err := EncodeFrame("Choices", "7", words("true 2 -1"))
	if err != nil || hex.EncodeToString(frame) != "435857520100030000000000040000000700000000000000"+"0102ffff" {
		t.Errorf("EncodeFrame: %x %v", frame, err)
	}
	cases := []struct{ msg, seq, value, want string }{
		{"Nope", "x", "", `request unknown message "Nope"`},
		{"Empty", "-1", "", `request bad seq "-1"`},
		{"Empty", "", "", `request bad seq ""`},
		{"Empty", "18446744073709551616", "1", "request 1 tokens left over after the value of Empty"},
		{"Integers", "18446744073709551616", "256 0 0 0 0 0 0 0", "encode range Integers.val_u8 256 is outside 0..255"},
		{"Empty", "0018446744073709551616", "",
			"encode range frame.seq 18446744073709551616 is outside 0..18446744073709551615"},
	}
	for _, c := range cases {
		_, err := EncodeFrame(c.msg, c.seq, words(c.value))
		if err == nil || err.Error() != c.want {
			t.Errorf("EncodeFrame %s %q %s:\n got %v\nwant %s", c.msg, c.seq, c.value, err, c.want)
		}
	}
}

// Strict UTF-8 (RFC 3629) both ways: overlongs, surrogates, above U+10FFFF, cut sequences.
func TestStrictUTF8(t *testing.T) {
	bad := []string{"c080", "c1bf", "e08080", "e09fbf", "eda080", "edbfbf", "f08f8080", "f4908080",
		"f5808080", "ff", "80", "c3", "e282", "f09f98", "c328", "fe", "f8888080"}
	good := []string{"", "00", "7f", "c280", "dfbf", "e0a080", "ed9fbf", "ee8080", "efbfbf", "f0908080",
		"f48fbfbf", "c3a9e282acf09f9880"}
	for _, h := range append(bad, good...) {
		raw, _ := hex.DecodeString(h)
		payload := append(binary.LittleEndian.AppendUint32(make([]byte, 16), uint32(len(raw))), raw...)
		payload = append(payload, 0, 0, 0, 0) // data: empty
		_, decErr := DecodeText(TextID, payload)
		_, encErr := EncodeText("Text", []string{"x", "x" + h, "x"})
		isBad := contains(bad, h)
		if isBad {
			checkErr(t, "decode "+h, decErr, "decode", "utf8", "Text.label")
			checkErr(t, "encode "+h, encErr, "encode", "utf8", "Text.label")
		} else if decErr != nil || encErr != nil {
			t.Errorf("%s: %v %v", h, decErr, encErr)
		}
	}
}

// WIRE.md's bigint table, both ways, and the redundant forms a decoder refuses.
func TestBigint(t *testing.T) {
	table := []struct{ text, bytes string }{
		{"0x0", ""}, {"0x1", "01"}, {"-0x1", "ff"}, {"0x7f", "7f"}, {"0x80", "8000"}, {"-0x80", "80"},
		{"-0x81", "7fff"}, {"0x8000000000000000", "000000000000008000"},
		{"-0x8000000000000000", "0000000000000080"}, {"0x10000000000000000", "000000000000000001"},
	}
	for _, c := range table {
		payload, err := EncodeText("BigNumber", []string{c.text})
		want, _ := hex.DecodeString(c.bytes)
		want = append(binary.LittleEndian.AppendUint32(nil, uint32(len(want))), want...)
		if err != nil || !bytes.Equal(payload, want) {
			t.Errorf("%s: %x %v, want %x", c.text, payload, err, want)
		}
		back, err := DecodeText(BigNumberID, want)
		if err != nil || len(back) != 1 || back[0] != c.text {
			t.Errorf("%x: %v %v, want %s", want, back, err, c.text)
		}
	}
	for _, h := range []string{"0100000000", "020000000100", "02000000ffff", "020000007f00", "0200000080ff"} {
		raw, _ := hex.DecodeString(h)
		_, err := DecodeText(BigNumberID, raw)
		checkErr(t, h, err, "decode", "bigint", "BigNumber.value")
	}
	// Encoding a non-minimal form writes the minimal one.
	payload, err := EncodeMessage(&BigNumber{Value: Bigint{0xff, 0xff, 0xff}})
	if err != nil || hex.EncodeToString(payload) != "01000000ff" {
		t.Errorf("EncodeMessage of ff ff ff: %x %v", payload, err)
	}
}

func TestNoTypedNil(t *testing.T) {
	if _, err := EncodeText("Empty", nil); err != nil {
		t.Errorf("Empty: %v", err)
	}
	if _, err := DecodeText(EmptyID, nil); err != nil {
		t.Errorf("Empty: %v", err)
	}
	if _, err := Reencode(77, nil); err == nil || err.Error() != "unsupported message id 77" {
		t.Errorf("unknown id: %v", err)
	}
	if _, err := EncodeText("Integers", words("0 0 0 0 0 0 0 0")); err != nil {
		t.Errorf("Integers: %v", err)
	}
}

// Any bytes, as any message: no panic; what decodes is canonical (it re-encodes to the same
// bytes) and its text form encodes to the same bytes too. `go test -fuzz FuzzDecode ./codec/`
// explores further; plain `go test` runs the seeds.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{"", "00", "02000000", "01070000", "4000000000", "0100000080",
		"000000000000000000000000000000000000000000000000", "0700000000000000030000000000000000"} {
		b, _ := hex.DecodeString(seed)
		for _, name := range Messages() {
			id, _ := MessageID(name)
			f.Add(id, b)
		}
	}
	f.Fuzz(func(t *testing.T, id uint16, payload []byte) {
		id %= 16
		text, err := DecodeText(id, payload)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("not an *Error: %v", err)
			}
			return
		}
		again, err := Reencode(id, payload)
		if err != nil || !bytes.Equal(again, payload) {
			t.Fatalf("Reencode: %x %v, want %x", again, err, payload)
		}
		fromText, err := EncodeText(MessageName(id), text)
		if err != nil || !bytes.Equal(fromText, payload) {
			t.Fatalf("EncodeText(%v): %x %v, want %x", text, fromText, err, payload)
		}
	})
}

// Any line of tokens, as any message: no panic, and only *Error values.
func FuzzEncodeText(f *testing.F) {
	f.Add(uint16(8), "7 0x3f800000 0x00000000 0x80000000 0x3fe0000000000000 x61 0 x6869 2")
	f.Add(uint16(5), "0 0 0 0 0x0000000000000000 0x0000000000000000 0x0000000000000000 99999999999999999999 0")
	f.Add(uint16(6), "-0x00ff")
	f.Fuzz(func(t *testing.T, id uint16, line string) {
		name := MessageName(id % 16)
		if name == "" {
			return
		}
		payload, err := EncodeText(name, strings.Split(line, " "))
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("not an *Error: %v", err)
			}
			return
		}
		if _, err := DecodeText(id%16, payload); err != nil {
			t.Fatalf("%s %q encodes to %x, which does not decode: %v", name, line, payload, err)
		}
	})
}
