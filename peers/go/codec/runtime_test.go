package codec

// The hand-written half against the contract's words: bad values and bad cw.Tokens, the frame
// header in WIRE.md's order, strict UTF-8, bigint's minimal form, the CRCs. The cases name
// messages of crosswire's own schema; built for another schema (the copies under
// build/reference), a test whose messages that schema lacks is skipped.

import (
	cw "crosswire.dev/kit/codec"

	"bytes"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"
)

// need skips the test unless the schema has these messages (crosswire's own, by name).
func need(t *testing.T, names ...string) {
	t.Helper()
	for _, name := range names {
		if _, ok := Lookup(name); !ok {
			t.Skipf("the schema has no message %s", name)
		}
	}
}

// The cases of tests/test_peer_conformance.py::test_bad_value, and more.
func TestEncodeErrors(t *testing.T) {
	need(t, "Choices", "Integers", "Text", "Arrays", "BigNumber", "Track")
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
		_, err := EncodeText(c.msg, words(c.value), Newest)
		checkErr(t, c.msg+" "+c.value, err, "encode", c.code, c.path)
	}
}

// The first encode error in schema order wins, and a bad token anywhere wins over it.
func TestErrorOrder(t *testing.T) {
	need(t, "Integers")
	_, err := EncodeText("Integers", words("256 65536 0 0 0 0 0 0"), Newest)
	checkErr(t, "two ranges", err, "encode", "range", "Integers.val_u8")
	_, err = EncodeText("Integers", words("256 0 0 0 0 0 0 zz"), Newest)
	if e, ok := err.(*cw.Error); !ok || e.Kind != "request" {
		t.Errorf("a bad token after a range error: %v", err)
	}
	_, err = EncodeText("Integers", words("256 0 0 0 0 0 0 0 0"), Newest)
	if e, ok := err.(*cw.Error); !ok || e.Kind != "request" {
		t.Errorf("a token left over after a range error: %v", err)
	}
}

// The request errors of the text form, with the other peers' words.
func TestTokenErrors(t *testing.T) {
	need(t, "Integers", "Floats", "Choices", "Text", "Arrays", "BigNumber", "Empty")
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
		_, err := EncodeText(c.msg, words(c.value), Newest)
		if err == nil || err.Error() != c.want {
			t.Errorf("%s %s:\n got %v\nwant %s", c.msg, c.value, err, c.want)
		}
	}
}

func TestTextForms(t *testing.T) {
	need(t, "Integers", "Floats", "Text", "BigNumber")
	cases := []struct{ msg, in, out string }{
		{"Integers", "007 -0 00 0 -0 -00 0 -9223372036854775808", "7 0 0 0 0 0 0 -9223372036854775808"},
		{"Floats", "0x7FA00001 0xFFF80000DEADBEEF", "0x7fa00001 0xfff80000deadbeef"},
		{"Text", "x41 xC3A9 xFF", "x41 xc3a9 xff"},
		{"BigNumber", "-0x0", "0x0"},
		{"BigNumber", "0x000ff", "0xff"},
		{"BigNumber", "-0X1", ""}, // an upper-case X is not a bigint token
	}
	for _, c := range cases {
		payload, err := EncodeText(c.msg, words(c.in), Newest)
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
		i, _ := Lookup(c.msg)
		got, err := DecodeText(i, payload, Newest)
		if err != nil || strings.Join(got, " ") != c.out {
			t.Errorf("%s %s: got %v %v, want %s", c.msg, c.in, got, err, c.out)
		}
	}
}

// The example of PEER_CONTRACT.md, "Values as text".
func TestContractExample(t *testing.T) {
	need(t, "Track")
	line := "7 0x3f800000 0x00000000 0x80000000 0x3fe0000000000000 x61 0 x6869 2"
	payload, err := EncodeText("Track", words(line), Newest)
	if err != nil {
		t.Fatal(err)
	}
	i, _ := Lookup("Track")
	back, err := DecodeText(i, payload, Newest)
	if err != nil || strings.Join(back, " ") != line {
		t.Errorf("DecodeText: %v %v", back, err)
	}
}

// A header broken one field at a time, from a golden frame: each constant (const), the id
// (type), the length (length), each at frame.<name>; and every field broken at once: the first
// constant wins, as WIRE.md's order says.
func TestHeaderErrors(t *testing.T) {
	if !HasFrame {
		t.Skip("the schema declares no frame")
	}
	var good []byte
	dir := ""
	for _, v := range load(t, "golden.json", false) {
		if v.Frame != nil {
			good = unhexT(t, v.ID, v.Frame.Head)
			dir = messageTable[mustIndex(t, v.Message)].Direction
			break
		}
	}
	if _, err := Frame.ParseHead(good, dir); err != nil {
		t.Fatalf("the golden header: %v", err)
	}
	all := append([]byte(nil), good...)
	first := ""
	for _, f := range headerFields {
		b := append([]byte(nil), good...)
		code := ""
		switch f.Role {
		case "const":
			cw.PutUint(b[f.Offset:], f.Size, f.Big, f.Value^1)
			code = "const"
		case "id":
			cw.PutUint(b[f.Offset:], f.Size, f.Big, unusedID())
			code = "type"
		case "length": // too long, or shorter than the header bytes it counts
			switch top := ^uint64(0) >> (64 - 8*f.Size); {
			case top-min(top, lengthAdjust) > MaxPayload:
				cw.PutUint(b[f.Offset:], f.Size, f.Big, top)
			case lengthAdjust > 0:
				cw.PutUint(b[f.Offset:], f.Size, f.Big, 0)
			default:
				continue // every value is a length (MAVLink's u8)
			}
			code = "length"
		default:
			continue
		}
		if code == "type" && unusedID() == ^uint64(0) {
			continue
		}
		copy(all[f.Offset:f.Offset+f.Size], b[f.Offset:f.Offset+f.Size])
		if first == "" {
			first = code + " frame." + f.Name
		}
		_, err := Frame.ParseHead(b, dir)
		checkErr(t, f.Name, err, "decode", code, "frame."+f.Name)
	}
	if first != "" {
		_, err := Frame.ParseHead(all, dir)
		if e, ok := err.(*cw.Error); !ok || e.Code+" "+e.Path != first {
			t.Errorf("every field broken: %v, want %s", err, first)
		}
	}
	short := HeaderLen - 1
	_, err := Frame.ParseHead(good[:short], dir)
	checkErr(t, "a header cut short", err, "decode", "truncated", "frame")
}

// unusedID is an id no message has, that fits the id field (^0 when there is none).
func unusedID() uint64 {
	for _, f := range headerFields {
		if f.Role != "id" {
			continue
		}
	next:
		for id := uint64(0); id < 1<<(8*min(f.Size, 4)); id++ {
			for i := range messageTable {
				if uint64(messageTable[i].ID) == id {
					continue next
				}
			}
			return id
		}
	}
	return ^uint64(0)
}

func TestFrames(t *testing.T) {
	need(t, "Choices", "Empty", "Integers")
	frame, err := EncodeFrameText("Choices", "7", words("true 2 -1"), Newest)
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
		_, err := EncodeFrameText(c.msg, c.seq, words(c.value), Newest)
		if err == nil || err.Error() != c.want {
			t.Errorf("EncodeFrame %s %q %s:\n got %v\nwant %s", c.msg, c.seq, c.value, err, c.want)
		}
	}
}

// The header values of SEND: numbers first (request), then their range in header order, after
// the value's and the seq's errors.
func TestFrameHeaderValues(t *testing.T) {
	if !HasFrame || len(plainFields) == 0 {
		t.Skip("no plain header fields")
	}
	v := load(t, "golden.json", false)[0]
	rest := make([]string, len(plainFields))
	for k := range rest {
		rest[k] = "0"
	}
	if _, err := EncodeFrameText(v.Message, "0", append(rest, words(v.Text)...), Newest); err != nil {
		t.Fatalf("%s with header values 0: %v", v.ID, err)
	}
	bad := append([]string{}, rest...)
	bad[0] = "x1"
	_, err := EncodeFrameText(v.Message, "0", append(bad, words(v.Text)...), Newest)
	if e, ok := err.(*cw.Error); !ok || e.Kind != "request" {
		t.Errorf("a header value that is no number: %v", err)
	}
	last := len(plainFields) - 1
	f := plainFields[last]
	_, hi := cw.Limits(f.Size, f.Signed)
	over := append([]string{}, rest...)
	over[last] = hi + "0"
	_, err = EncodeFrameText(v.Message, "0", append(over, words(v.Text)...), Newest)
	checkErr(t, "a header value too big", err, "encode", "range", "frame."+f.Name)
}

// The CRC loops against the catalogue's check values, every algorithm of WIRE.md (the tables
// made here the way harness/crc.py makes them), and the generated one.
func TestCRCs(t *testing.T) {
	algos := []struct {
		name               string
		width              uint
		poly, init, xorout uint32
		reflect            bool
		check              uint32
	}{
		{"crc-16/mcrf4xx", 16, 0x1021, 0xFFFF, 0, true, 0x6F91},
		{"crc-16/x-25", 16, 0x1021, 0xFFFF, 0xFFFF, true, 0x906E},
		{"crc-16/modbus", 16, 0x8005, 0xFFFF, 0, true, 0x4B37},
		{"crc-16/arc", 16, 0x8005, 0, 0, true, 0xBB3D},
		{"crc-16/kermit", 16, 0x1021, 0, 0, true, 0x2189},
		{"crc-16/ibm-3740", 16, 0x1021, 0xFFFF, 0, false, 0x29B1},
		{"crc-16/xmodem", 16, 0x1021, 0, 0, false, 0x31C3},
		{"crc-32", 32, 0x04C11DB7, 0xFFFFFFFF, 0xFFFFFFFF, true, 0xCBF43926},
		{"crc-32c", 32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, 0xE3069283},
		{"crc-32/bzip2", 32, 0x04C11DB7, 0xFFFFFFFF, 0xFFFFFFFF, false, 0xFC891918},
	}
	data := []byte("123456789")
	for _, a := range algos {
		var table [256]uint32
		var got uint32
		if a.reflect {
			poly := uint32(0)
			for i := uint(0); i < a.width; i++ {
				if a.poly>>i&1 != 0 {
					poly |= 1 << (a.width - 1 - i)
				}
			}
			for i := range table {
				c := uint32(i)
				for k := 0; k < 8; k++ {
					if c&1 != 0 {
						c = c>>1 ^ poly
					} else {
						c >>= 1
					}
				}
				table[i] = c
			}
			got = cw.CrcReflected(&table, a.init, data) ^ a.xorout
		} else {
			top, mask := uint64(1)<<(a.width-1), uint64(1)<<a.width-1
			for i := range table {
				c := uint64(i) << (a.width - 8)
				for k := 0; k < 8; k++ {
					if c&top != 0 {
						c = c<<1 ^ uint64(a.poly)
					} else {
						c <<= 1
					}
				}
				table[i] = uint32(c & mask)
			}
			got = cw.CrcForward(&table, a.width, a.init, data) ^ a.xorout
		}
		if got != a.check {
			t.Errorf("%s: %#x, want %#x", a.name, got, a.check)
		}
	}
	if HasChecksum && crcOf(data) != crcCheck {
		t.Errorf("the schema's checksum: %#x, want %#x", crcOf(data), crcCheck)
	}
}

// Strict UTF-8 (RFC 3629) both ways: overlongs, surrogates, above U+10FFFF, cut sequences.
func TestStrictUTF8(t *testing.T) {
	need(t, "Text")
	text, _ := Lookup("Text")
	bad := []string{"c080", "c1bf", "e08080", "e09fbf", "eda080", "edbfbf", "f08f8080", "f4908080",
		"f5808080", "ff", "80", "c3", "e282", "f09f98", "c328", "fe", "f8888080"}
	good := []string{"", "00", "7f", "c280", "dfbf", "e0a080", "ed9fbf", "ee8080", "efbfbf", "f0908080",
		"f48fbfbf", "c3a9e282acf09f9880"}
	for _, h := range append(bad, good...) {
		raw, _ := hex.DecodeString(h)
		payload := append(binary.LittleEndian.AppendUint32(make([]byte, 16), uint32(len(raw))), raw...)
		payload = append(payload, 0, 0, 0, 0) // data: empty
		_, decErr := DecodeText(text, payload, Newest)
		_, encErr := EncodeText("Text", []string{"x", "x" + h, "x"}, Newest)
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
	need(t, "BigNumber")
	big, _ := Lookup("BigNumber")
	table := []struct{ text, bytes string }{
		{"0x0", ""}, {"0x1", "01"}, {"-0x1", "ff"}, {"0x7f", "7f"}, {"0x80", "8000"}, {"-0x80", "80"},
		{"-0x81", "7fff"}, {"0x8000000000000000", "000000000000008000"},
		{"-0x8000000000000000", "0000000000000080"}, {"0x10000000000000000", "000000000000000001"},
	}
	for _, c := range table {
		payload, err := EncodeText("BigNumber", []string{c.text}, Newest)
		want, _ := hex.DecodeString(c.bytes)
		want = append(binary.LittleEndian.AppendUint32(nil, uint32(len(want))), want...)
		if err != nil || !bytes.Equal(payload, want) {
			t.Errorf("%s: %x %v, want %x", c.text, payload, err, want)
		}
		back, err := DecodeText(big, want, Newest)
		if err != nil || len(back) != 1 || back[0] != c.text {
			t.Errorf("%x: %v %v, want %s", want, back, err, c.text)
		}
	}
	for _, h := range []string{"0100000000", "020000000100", "02000000ffff", "020000007f00", "0200000080ff"} {
		raw, _ := hex.DecodeString(h)
		_, err := DecodeText(big, raw, Newest)
		checkErr(t, h, err, "decode", "bigint", "BigNumber.value")
	}
}

// Encoding a non-minimal form writes the minimal one, in either byte order.
func TestBigintForms(t *testing.T) {
	for _, c := range []struct {
		v    cw.Bigint
		big  bool
		want string
	}{
		{cw.Bigint{0xff, 0xff, 0xff}, false, "00000001ff"}, {cw.Bigint{0x01, 0x80, 0x00}, true, "00000003008001"},
		{cw.Bigint{0, 0}, false, "00000000"},
	} {
		w := cw.Writer{}
		if err := w.Bigint(c.v, cw.PU32be, 8, c.big); err != nil || hex.EncodeToString(w.Data()) != c.want {
			t.Errorf("%x: %x %v, want %s", c.v, w.Data(), err, c.want)
		}
		r := cw.NewReader(w.Data())
		n, err := r.Count(cw.PU32be, 1, 8)
		var back cw.Bigint
		if err == nil {
			err = r.Bigint(&back, n, c.big)
		}
		if err != nil || !bytes.Equal(back, c.v[:cw.MinimalLen(c.v)]) {
			t.Errorf("%x back: %x %v", c.v, back, err)
		}
	}
}

func TestNoTypedNil(t *testing.T) {
	for i, name := range Messages() {
		if _, err := DecodeText(i, nil, Newest); err != nil {
			continue // a message with bytes cannot be empty
		}
		if _, err := EncodeText(name, nil, Newest); err != nil && !strings.Contains(err.Error(), "missing a token") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := EncodeText("NoSuchMessage", nil, Newest); err == nil || !strings.HasPrefix(err.Error(), "request") {
		t.Errorf("unknown name: %v", err)
	}
}

// Any bytes, as any message: no panic; what decodes is canonical once re-encoded (encoding it
// again gives the same bytes: trimmed zeros and extension defaults settle in one round), and
// its text form encodes to the same bytes too. `go test -fuzz FuzzDecode ./codec/` explores
// further; plain `go test` runs the seeds.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{"", "00", "02000000", "01070000", "4000000000", "0100000080",
		"000000000000000000000000000000000000000000000000", "0700000000000000030000000000000000"} {
		b, _ := hex.DecodeString(seed)
		for i := range Messages() {
			f.Add(uint16(i), b)
		}
	}
	f.Fuzz(func(t *testing.T, n uint16, payload []byte) {
		i := int(n) % len(messageTable)
		once, err := Reencode(i, payload, Newest)
		if err != nil {
			if _, ok := err.(*cw.Error); !ok {
				t.Fatalf("not an *cw.Error: %v", err)
			}
			return
		}
		again, err := Reencode(i, once, Newest)
		if err != nil || !bytes.Equal(again, once) {
			t.Fatalf("Reencode: %x %v, want %x", again, err, once)
		}
		text, err := DecodeText(i, once, Newest)
		if err != nil {
			t.Fatalf("DecodeText: %v", err)
		}
		fromText, err := EncodeText(MessageName(i), text, Newest)
		if err != nil || !bytes.Equal(fromText, once) {
			t.Fatalf("EncodeText(%v): %x %v, want %x", text, fromText, err, once)
		}
	})
}

// Any line of cw.Tokens, as any message: no panic, and only *cw.Error values.
func FuzzEncodeText(f *testing.F) {
	f.Add(uint16(8), "7 0x3f800000 0x00000000 0x80000000 0x3fe0000000000000 x61 0 x6869 2")
	f.Add(uint16(5), "0 0 0 0 0x0000000000000000 0x0000000000000000 0x0000000000000000 99999999999999999999 0")
	f.Add(uint16(6), "-0x00ff")
	f.Fuzz(func(t *testing.T, n uint16, line string) {
		i := int(n) % len(messageTable)
		payload, err := EncodeText(MessageName(i), strings.Split(line, " "), Newest)
		if err != nil {
			if _, ok := err.(*cw.Error); !ok {
				t.Fatalf("not an *cw.Error: %v", err)
			}
			return
		}
		if _, err := DecodeText(i, payload, Newest); err != nil {
			t.Fatalf("%s %q encodes to %x, which does not decode: %v", MessageName(i), line, payload, err)
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
