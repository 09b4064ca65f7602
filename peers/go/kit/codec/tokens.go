package codec

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// Tokens is the text form of a value being parsed (PEER_CONTRACT.md, "Values as text"): one
// token per leaf, in schema order, taken one at a time.
//
// A malformed or missing token stops the parse with a request error. A well-formed token
// whose value cannot be encoded (a number out of range, a text too long, an unlisted enum
// value, ...) is an encode error, which the reference peer only finds while encoding, after
// the whole line has parsed: so it is kept aside (the first one only) and reported after the
// last token, and a malformed token anywhere in the line still wins, as there.
//
// Unlike Reader and Writer, Tokens keeps the path of the value being parsed as it goes (push,
// pop), since the errors kept aside and the request errors' messages need it at that moment.
//
// kept counts the encode errors found (kept or not), so that a union can tell whether its
// discriminator's token passed. mute is set for the fields newer than the version spoken: a
// peer of an older version does not look at their values (WIRE.md "Versions"), though their
// tokens must still parse.
type Tokens struct {
	words    []string
	Pos      int
	path     []byte
	deferred *Error
	Kept     int
	Mute     bool
	Version  int
}

// push appends a struct field (".name") to the path; pop(".name") takes it off again.
func (t *Tokens) Push(field string) { t.path = append(t.path, field...) }
func (t *Tokens) Pop(field string)  { t.path = t.path[:len(t.path)-len(field)] }

// index appends an array or vec index ("[i]") to the path; cut(mark) takes it off again.
func (t *Tokens) Index(i uint64) int {
	mark := len(t.path)
	t.path = append(t.path, '[')
	t.path = strconv.AppendUint(t.path, i, 10)
	t.path = append(t.path, ']')
	return mark
}

func (t *Tokens) Cut(mark int) { t.path = t.path[:mark] }

// keep records an encode error at the current path, unless one is kept already.
func (t *Tokens) Keep(err error) {
	t.Kept++
	if t.deferred == nil && !t.Mute {
		e := err.(*Error)
		e.Path = string(t.path)
		t.deferred = e
	}
}

// finish is the error of the whole line once its value has parsed: tokens left over (a
// request error), else the first encode error kept aside, else nil.
func (t *Tokens) finish(name string) error {
	if left := len(t.words) - t.Pos; left > 0 {
		return ErrRequest("%d tokens left over after the value of %s", left, name)
	}
	if t.deferred != nil {
		return t.deferred
	}
	return nil
}

func (t *Tokens) next() (string, error) {
	if t.Pos >= len(t.words) {
		return "", ErrRequest("missing a token for %s", t.path)
	}
	word := t.words[t.Pos]
	t.Pos++
	return word, nil
}

// bad is the request error of a malformed token, quoting at most 40 characters of it.
func (t *Tokens) bad(word string) error {
	shown := word
	if utf8.RuneCountInString(word) > 40 {
		shown = string([]rune(word)[:40]) + "..."
	}
	return ErrRequest("bad token %q for %s", shown, t.path)
}

// decimal reads a -?[0-9]+ token: its magnitude (ok false when beyond 64 bits), its sign, and
// its canonical text (no leading zeros, no "-0") for messages.
func (t *Tokens) decimal() (mag uint64, negative, ok bool, text string, err error) {
	word, err := t.next()
	if err != nil {
		return 0, false, false, "", err
	}
	digits := word
	if len(digits) > 0 && digits[0] == '-' {
		negative, digits = true, digits[1:]
	}
	if digits == "" {
		return 0, false, false, "", t.bad(word)
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false, false, "", t.bad(word)
		}
	}
	for len(digits) > 1 && digits[0] == '0' {
		digits = digits[1:]
	}
	negative = negative && digits != "0"
	mag, perr := strconv.ParseUint(digits, 10, 64)
	text = digits
	if negative {
		text = "-" + digits
	}
	return mag, negative, perr == nil, text, nil
}

// uint reads an unsigned integer of at most max; out of range, it keeps a range error and
// gives 0.
func (t *Tokens) Uint(max uint64) (uint64, error) { return t.UintAs(max, "range") }

// uintAs is uint, keeping an error of this code out of range (a closed enum's is `enum`).
func (t *Tokens) UintAs(max uint64, code string) (uint64, error) {
	mag, negative, ok, text, err := t.decimal()
	if err != nil {
		return 0, err
	}
	if negative || !ok || mag > max {
		t.Keep(outside(code, text, "0", strconv.FormatUint(max, 10)))
		return 0, nil
	}
	return mag, nil
}

// int reads a signed integer in min..max; out of range, it keeps a range error and gives 0.
func (t *Tokens) int(min, max int64) (int64, error) { return t.IntAs(min, max, "range") }

func (t *Tokens) IntAs(min, max int64, code string) (int64, error) {
	v, fits, text, err := t.signed(min, max)
	if err == nil && !fits {
		t.Keep(outside(code, text, strconv.FormatInt(min, 10), strconv.FormatInt(max, 10)))
	}
	return v, err
}

func outside(code, text, min, max string) error {
	e := errRange(text, min, max).(*Error)
	e.Code = code
	return e
}

// signed reads a decimal token as an int64 in min..max: the value, or fits false and 0.
func (t *Tokens) signed(min, max int64) (int64, bool, string, error) {
	mag, negative, ok, text, err := t.decimal()
	if err != nil || !ok {
		return 0, false, text, err
	}
	var v int64
	switch {
	case !negative && mag <= math.MaxInt64:
		v = int64(mag)
	case negative && mag <= 1<<63:
		v = int64(-mag) // -2^63 too: -mag wraps to exactly that bit pattern
	default:
		return 0, false, text, nil
	}
	if v < min || v > max {
		return 0, false, text, nil
	}
	return v, true, text, nil
}

func (t *Tokens) U8(p *uint8) error {
	v, err := t.Uint(math.MaxUint8)
	*p = uint8(v)
	return err
}

func (t *Tokens) U16(p *uint16) error {
	v, err := t.Uint(math.MaxUint16)
	*p = uint16(v)
	return err
}

func (t *Tokens) U24(p *uint32) error {
	v, err := t.Uint(1<<24 - 1)
	*p = uint32(v)
	return err
}

func (t *Tokens) U32(p *uint32) error {
	v, err := t.Uint(math.MaxUint32)
	*p = uint32(v)
	return err
}

func (t *Tokens) U64(p *uint64) error {
	v, err := t.Uint(math.MaxUint64)
	*p = v
	return err
}

func (t *Tokens) I8(p *int8) error {
	v, err := t.int(math.MinInt8, math.MaxInt8)
	*p = int8(v)
	return err
}

func (t *Tokens) I16(p *int16) error {
	v, err := t.int(math.MinInt16, math.MaxInt16)
	*p = int16(v)
	return err
}

func (t *Tokens) I24(p *int32) error {
	v, err := t.int(-1<<23, 1<<23-1)
	*p = int32(v)
	return err
}

func (t *Tokens) I32(p *int32) error {
	v, err := t.int(math.MinInt32, math.MaxInt32)
	*p = int32(v)
	return err
}

func (t *Tokens) I64(p *int64) error {
	v, err := t.int(math.MinInt64, math.MaxInt64)
	*p = v
	return err
}

// bits reads "0x" and exactly 2*size hex digits: a float's bit pattern.
func (t *Tokens) bits(size int) (uint64, error) {
	word, err := t.next()
	if err != nil {
		return 0, err
	}
	if len(word) != 2+2*size || word[:2] != "0x" {
		return 0, t.bad(word)
	}
	b, ok := unhex(word[2:])
	if !ok {
		return 0, t.bad(word)
	}
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v, nil
}

func (t *Tokens) F32(p *float32) error {
	v, err := t.bits(4)
	*p = math.Float32frombits(uint32(v))
	return err
}

func (t *Tokens) F64(p *float64) error {
	v, err := t.bits(8)
	*p = math.Float64frombits(v)
	return err
}

func (t *Tokens) Bool(p *bool) error {
	word, err := t.next()
	if err != nil {
		return err
	}
	switch word {
	case "true":
		*p = true
	case "false":
		*p = false
	default:
		return t.bad(word)
	}
	return nil
}

// hex reads a blob token: "x" and hex.
func (t *Tokens) hex() ([]byte, error) {
	word, err := t.next()
	if err != nil {
		return nil, err
	}
	b, ok := ParseHex(word)
	if !ok {
		return nil, t.bad(word)
	}
	return b, nil
}

// char reads a char[n] text: no NUL inside, at most n bytes.
func (t *Tokens) Char(p *[]byte, n int) error {
	b, err := t.hex()
	if err != nil {
		return err
	}
	*p = b
	for _, c := range b {
		if c == 0 {
			t.Keep(encodeErr("char", "NUL inside the text"))
			return nil
		}
	}
	if len(b) > n {
		t.Keep(errTooLong("encode", uint64(len(b)), uint64(n), "bytes"))
	}
	return nil
}

func (t *Tokens) Bytes(p *[]byte, max uint64) error {
	b, err := t.hex()
	if err != nil {
		return err
	}
	*p = b
	if uint64(len(b)) > max {
		t.Keep(errTooLong("encode", uint64(len(b)), max, "bytes"))
	}
	return nil
}

// string reads a string's UTF-8 bytes in hex: too long first, then not UTF-8.
func (t *Tokens) String(p *string, max uint64) error {
	var b []byte
	if err := t.Bytes(&b, max); err != nil {
		return err
	}
	*p = string(b)
	if !utf8.Valid(b) {
		t.Keep(encodeErr("utf8", "not valid UTF-8"))
	}
	return nil
}

// bigint reads "0x" or "-0x" and hex digits, into the minimal two's complement.
func (t *Tokens) Bigint(p *Bigint, limit uint64) error {
	word, err := t.next()
	if err != nil {
		return err
	}
	rest, negative := word, false
	if len(rest) > 0 && rest[0] == '-' {
		rest, negative = rest[1:], true
	}
	if len(rest) < 3 || rest[:2] != "0x" {
		return t.bad(word)
	}
	digits := rest[2:]
	mag := make([]byte, 0, len(digits)/2+2)
	for end := len(digits); end > 0; end -= 2 { // pairs of digits from the least significant
		var b byte
		for i := max(0, end-2); i < end; i++ {
			d, ok := hexValue(digits[i])
			if !ok {
				return t.bad(word)
			}
			b = b<<4 | d
		}
		mag = append(mag, b)
	}
	*p = bigintFromMagnitude(negative, mag)
	if uint64(len(*p)) > limit {
		t.Keep(errBigintTooLong(len(*p), limit))
	}
	return nil
}

// count reads the count of a vec<T>: digits only. Above max it keeps a length error (the
// items still have to parse); the caller keeps no more than max items.
func (t *Tokens) Count(max uint64) (uint64, error) {
	word, err := t.next()
	if err != nil {
		return 0, err
	}
	if word == "" {
		return 0, t.bad(word)
	}
	for i := 0; i < len(word); i++ {
		if word[i] < '0' || word[i] > '9' {
			return 0, t.bad(word)
		}
	}
	n, perr := strconv.ParseUint(word, 10, 64)
	if perr != nil {
		n = math.MaxUint64 // all digits: only too big fails
	}
	if n > max {
		t.Keep(errTooLong("encode", n, max, "items"))
	}
	return n, nil
}

// The text of leaf values (format).

func FmtUint(v uint64) string { return strconv.FormatUint(v, 10) }
func FmtInt(v int64) string   { return strconv.FormatInt(v, 10) }

func FmtBool(v bool) string {
	if v {
		return "true"
	}
	return "false"
}

func FmtF32(v float32) string { return fmtBits(uint64(math.Float32bits(v)), 4) }
func FmtF64(v float64) string { return fmtBits(math.Float64bits(v), 8) }

// fmtBits is "0x" and exactly 2*size hex digits.
func fmtBits(v uint64, size int) string {
	out := make([]byte, 2+2*size)
	out[0], out[1] = '0', 'x'
	for i := 2*size + 1; i >= 2; i-- {
		out[i] = hexDigits[v&15]
		v >>= 4
	}
	return string(out)
}

func FmtString(s string) string { return Hex([]byte(s)) }
