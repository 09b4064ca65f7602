package codec

import (
	"encoding/binary"
	"math"
	"unicode/utf8"
)

// reader is a payload being decoded (WIRE.md "Types"), and how far the decoder has got.
// Every method reads one value into *p and returns an error whose path is relative to that
// value (empty); the generated code puts the field path in front.
//
// Multi-byte values are read with encoding/binary's LittleEndian, byte by byte, so the host's
// byte order and alignment never matter (s390x is big-endian, 386 aligns 8-byte values to 4).
type reader struct {
	data []byte
	pos  int
}

func (r *reader) left() int { return len(r.data) - r.pos }

// take is the next n bytes, or a truncated error.
func (r *reader) take(n int) ([]byte, error) {
	if n > r.left() {
		return nil, errTruncated(n, r.left())
	}
	b := r.data[r.pos : r.pos+n]
	r.pos += n
	return b, nil
}

func (r *reader) u8(p *uint8) error {
	b, err := r.take(1)
	if err == nil {
		*p = b[0]
	}
	return err
}

func (r *reader) u16(p *uint16) error {
	b, err := r.take(2)
	if err == nil {
		*p = binary.LittleEndian.Uint16(b)
	}
	return err
}

func (r *reader) u32(p *uint32) error {
	b, err := r.take(4)
	if err == nil {
		*p = binary.LittleEndian.Uint32(b)
	}
	return err
}

func (r *reader) u64(p *uint64) error {
	b, err := r.take(8)
	if err == nil {
		*p = binary.LittleEndian.Uint64(b)
	}
	return err
}

// The signed types: the same bytes, two's complement (Go's conversions wrap).

func (r *reader) i8(p *int8) error {
	var u uint8
	err := r.u8(&u)
	*p = int8(u)
	return err
}

func (r *reader) i16(p *int16) error {
	var u uint16
	err := r.u16(&u)
	*p = int16(u)
	return err
}

func (r *reader) i32(p *int32) error {
	var u uint32
	err := r.u32(&u)
	*p = int32(u)
	return err
}

func (r *reader) i64(p *int64) error {
	var u uint64
	err := r.u64(&u)
	*p = int64(u)
	return err
}

// Floats are bit patterns: Float32frombits keeps a signalling NaN's payload and the sign of
// zero exactly (no arithmetic, no float32 <-> float64 conversion).

func (r *reader) f32(p *float32) error {
	var u uint32
	err := r.u32(&u)
	*p = math.Float32frombits(u)
	return err
}

func (r *reader) f64(p *float64) error {
	var u uint64
	err := r.u64(&u)
	*p = math.Float64frombits(u)
	return err
}

func (r *reader) bool(p *bool) error {
	var b uint8
	if err := r.u8(&b); err != nil {
		return err
	}
	if b > 1 {
		return decodeErr("bool", "", "byte "+hexByte(b)+" is neither 0 nor 1")
	}
	*p = b == 1
	return nil
}

// char is a char[n]: the text before the first NUL; only NULs may follow it.
func (r *reader) char(p *[]byte, n int) error {
	b, err := r.take(n)
	if err != nil {
		return err
	}
	end := n
	for i, c := range b {
		if c == 0 {
			end = i
			break
		}
	}
	for _, c := range b[end:] {
		if c != 0 {
			return decodeErr("char", "", "a non-NUL byte after the first NUL")
		}
	}
	*p = append([]byte(nil), b[:end]...)
	return nil
}

// pad is a pad[n]: n zero bytes.
func (r *reader) pad(n int) error {
	b, err := r.take(n)
	if err != nil {
		return err
	}
	for _, c := range b {
		if c != 0 {
			return decodeErr("padding", "", "a non-zero padding byte")
		}
	}
	return nil
}

// length is a u32 length or count, refused above max before anything is allocated for it.
func (r *reader) length(max uint32, unit string) (int, error) {
	var n uint32
	if err := r.u32(&n); err != nil {
		return 0, err
	}
	if n > max {
		return 0, errTooLong("decode", uint64(n), uint64(max), unit)
	}
	// max <= format.max_payload (the schema loader checks it), so n fits an int on 386 too.
	return int(n), nil
}

// bytes is a u32 length of at most max, then that many bytes (copied: the payload buffer is
// the transport's and is reused).
func (r *reader) bytes(p *[]byte, max uint32) error {
	n, err := r.length(max, "bytes")
	if err != nil {
		return err
	}
	b, err := r.take(n)
	if err != nil {
		return err
	}
	*p = append([]byte(nil), b...)
	return nil
}

// string is bytes that must be strict UTF-8 (RFC 3629). utf8.Valid is that: it refuses
// overlong forms, surrogates (U+D800..U+DFFF) and anything above U+10FFFF.
func (r *reader) string(p *string, max uint32) error {
	n, err := r.length(max, "bytes")
	if err != nil {
		return err
	}
	b, err := r.take(n)
	if err != nil {
		return err
	}
	if !utf8.Valid(b) {
		return decodeErr("utf8", "", "not valid UTF-8")
	}
	*p = string(b)
	return nil
}

// bigint is a u32 length of at most max, then the integer's minimal two's complement.
func (r *reader) bigint(p *Bigint, max uint32) error {
	n, err := r.length(max, "bytes")
	if err != nil {
		return err
	}
	b, err := r.take(n)
	if err != nil {
		return err
	}
	if minimalLen(b) != len(b) {
		return decodeErr("bigint", "", "not the minimal form")
	}
	*p = append(Bigint(nil), b...)
	return nil
}

// count is the count of a vec<T>, at most max.
func (r *reader) count(max uint32) (int, error) {
	return r.length(max, "items")
}

// room is the capacity to reserve for n items: every item takes at least one byte, so no more
// than the bytes left can follow, whatever a hostile count says.
func (r *reader) room(n int) int {
	return min(n, r.left())
}
