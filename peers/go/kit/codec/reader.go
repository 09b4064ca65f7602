package codec

import (
	"encoding/binary"
	"math"
	"unicode/utf8"
)

// Reader is a payload being decoded (WIRE.md "Types"), and how far the decoder has got (a
// message's decode method takes the version it reads). Every method reads one value into *p
// and returns an error whose path is relative to that value (empty); the generated code puts
// the field path in front.
//
// Multi-byte values are read with encoding/binary, byte by byte, in the order the schema
// declares (u16 little-endian, u16be big-endian), so the host's byte order and alignment never
// matter (s390x is big-endian, 386 aligns 8-byte values to 4).
type Reader struct {
	data []byte
	pos  int
}

func (r *Reader) Left() int { return len(r.data) - r.pos }

// take is the next n bytes, or a truncated error.
func (r *Reader) take(n int) ([]byte, error) {
	if n > r.Left() {
		return nil, errTruncated(n, r.Left())
	}
	b := r.data[r.pos : r.pos+n]
	r.pos += n
	return b, nil
}

func (r *Reader) U8(p *uint8) error {
	b, err := r.take(1)
	if err == nil {
		*p = b[0]
	}
	return err
}

func (r *Reader) U16(p *uint16) error {
	b, err := r.take(2)
	if err == nil {
		*p = binary.LittleEndian.Uint16(b)
	}
	return err
}

func (r *Reader) U16be(p *uint16) error {
	b, err := r.take(2)
	if err == nil {
		*p = binary.BigEndian.Uint16(b)
	}
	return err
}

func (r *Reader) U24(p *uint32) error {
	b, err := r.take(3)
	if err == nil {
		*p = uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16
	}
	return err
}

func (r *Reader) U24be(p *uint32) error {
	b, err := r.take(3)
	if err == nil {
		*p = uint32(b[2]) | uint32(b[1])<<8 | uint32(b[0])<<16
	}
	return err
}

func (r *Reader) U32(p *uint32) error {
	b, err := r.take(4)
	if err == nil {
		*p = binary.LittleEndian.Uint32(b)
	}
	return err
}

func (r *Reader) U32be(p *uint32) error {
	b, err := r.take(4)
	if err == nil {
		*p = binary.BigEndian.Uint32(b)
	}
	return err
}

func (r *Reader) U64(p *uint64) error {
	b, err := r.take(8)
	if err == nil {
		*p = binary.LittleEndian.Uint64(b)
	}
	return err
}

func (r *Reader) U64be(p *uint64) error {
	b, err := r.take(8)
	if err == nil {
		*p = binary.BigEndian.Uint64(b)
	}
	return err
}

// The signed types: the same bytes, two's complement (Go's conversions wrap; a 24-bit value
// is sign-extended from its bit 23).

func (r *Reader) I8(p *int8) error {
	var u uint8
	err := r.U8(&u)
	*p = int8(u)
	return err
}

func (r *Reader) I16(p *int16) error {
	var u uint16
	err := r.U16(&u)
	*p = int16(u)
	return err
}

func (r *Reader) I16be(p *int16) error {
	var u uint16
	err := r.U16be(&u)
	*p = int16(u)
	return err
}

func (r *Reader) I24(p *int32) error {
	var u uint32
	err := r.U24(&u)
	*p = int32(u<<8) >> 8
	return err
}

func (r *Reader) I24be(p *int32) error {
	var u uint32
	err := r.U24be(&u)
	*p = int32(u<<8) >> 8
	return err
}

func (r *Reader) I32(p *int32) error {
	var u uint32
	err := r.U32(&u)
	*p = int32(u)
	return err
}

func (r *Reader) I32be(p *int32) error {
	var u uint32
	err := r.U32be(&u)
	*p = int32(u)
	return err
}

func (r *Reader) I64(p *int64) error {
	var u uint64
	err := r.U64(&u)
	*p = int64(u)
	return err
}

func (r *Reader) I64be(p *int64) error {
	var u uint64
	err := r.U64be(&u)
	*p = int64(u)
	return err
}

// Floats are bit patterns: Float32frombits keeps a signalling NaN's payload and the sign of
// zero exactly (no arithmetic, no float32 <-> float64 conversion).

func (r *Reader) F32(p *float32) error {
	var u uint32
	err := r.U32(&u)
	*p = math.Float32frombits(u)
	return err
}

func (r *Reader) F32be(p *float32) error {
	var u uint32
	err := r.U32be(&u)
	*p = math.Float32frombits(u)
	return err
}

func (r *Reader) F64(p *float64) error {
	var u uint64
	err := r.U64(&u)
	*p = math.Float64frombits(u)
	return err
}

func (r *Reader) F64be(p *float64) error {
	var u uint64
	err := r.U64be(&u)
	*p = math.Float64frombits(u)
	return err
}

func (r *Reader) Bool(p *bool) error {
	var b uint8
	if err := r.U8(&b); err != nil {
		return err
	}
	if b > 1 {
		return DecodeErr("bool", "", "byte "+hexByte(b)+" is neither 0 nor 1")
	}
	*p = b == 1
	return nil
}

// uint is an unsigned integer of size bytes (1, 2, 3, 4 or 8) in either byte order: a count
// or size field, a constant.
func (r *Reader) Uint(size int, big bool) (uint64, error) {
	b, err := r.take(size)
	if err != nil {
		return 0, err
	}
	return GetUint(b, size, big), nil
}

// constant is a constant field: any other value is refused (`const`).
func (r *Reader) Constant(size int, big bool, want uint64, signed bool) error {
	got, err := r.Uint(size, big)
	if err != nil {
		return err
	}
	if got != want {
		return ErrConst("", got, want, size, signed)
	}
	return nil
}

// char is a char[n]: the text before the first NUL; only NULs may follow it.
func (r *Reader) Char(p *[]byte, n int) error {
	b, err := r.take(n)
	if err != nil {
		return err
	}
	end := textEnd(b)
	for _, c := range b[end:] {
		if c != 0 {
			return DecodeErr("char", "", "a non-NUL byte after the first NUL")
		}
	}
	*p = append([]byte(nil), b[:end]...)
	return nil
}

// constChar is a char[n] constant: its n bytes must be want's, NUL-padded (WIRE.md, Constants).
func (r *Reader) ConstChar(want string, n int) error {
	b, err := r.take(n)
	if err != nil {
		return err
	}
	padded := make([]byte, n)
	copy(padded, want)
	if string(b) != string(padded) {
		return DecodeErr("const", "", Hex(b)+" is not the constant "+Hex(padded))
	}
	return nil
}

// textEnd is the length of a char[n]'s text: up to the first NUL.
func textEnd(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return len(b)
}

// pad is a pad[n] (or a C layout's implicit padding): n zero bytes.
func (r *Reader) Pad(n int) error {
	b, err := r.take(n)
	if err != nil {
		return err
	}
	for _, c := range b {
		if c != 0 {
			return DecodeErr("padding", "", "a non-zero padding byte")
		}
	}
	return nil
}

// count reads a length prefix and checks it as counted does: the number of bytes of a bytes,
// string or bigint, or of elements of a vec.
func (r *Reader) Count(p prefix, width, max uint64) (int, error) {
	var n uint64
	if p == PU32 { // the default prefix, the common case
		b, err := r.take(4)
		if err != nil {
			return 0, err
		}
		n = uint64(binary.LittleEndian.Uint32(b))
	} else {
		b, err := r.take(p.size())
		if err != nil {
			return 0, err
		}
		n = GetUint(b, p.size(), p.big())
	}
	if width > 1 {
		if n%width != 0 {
			return 0, errNotWhole(n, width)
		}
		n /= width
	}
	if n > max {
		return 0, errTooLong("decode", n, max, "items")
	}
	return int(n), nil
}

// counted checks the counts of one field, in WIRE.md's order, and is its length: pairs of
// (count, width), where width is the element size when the count is in bytes of a vec's
// elements (it must be a whole number of them), else 1. Every count must agree, and the
// length is at most max. Nothing is allocated before the length passed.
func Counted(max uint64, specs ...uint64) (int, error) {
	var n uint64
	for i := 0; i < len(specs); i += 2 {
		got, width := specs[i], specs[i+1]
		if width > 1 {
			if got%width != 0 {
				return 0, errNotWhole(got, width)
			}
			got /= width
		}
		if i > 0 && got != n {
			return 0, errDisagree(n, got)
		}
		n = got
	}
	if n > max {
		return 0, errTooLong("decode", n, max, "items")
	}
	// max <= format.max_payload <= 2^32 - 1 (the schema loader checks it).
	return int(n), nil
}

// bytes is n bytes (copied: the payload buffer is the transport's and is reused).
func (r *Reader) Bytes(p *[]byte, n int) error {
	b, err := r.take(n)
	if err != nil {
		return err
	}
	*p = append([]byte(nil), b...)
	return nil
}

// string is n bytes that must be strict UTF-8 (RFC 3629). utf8.Valid is that: it refuses
// overlong forms, surrogates (U+D800..U+DFFF) and anything above U+10FFFF.
func (r *Reader) String(p *string, n int) error {
	b, err := r.take(n)
	if err != nil {
		return err
	}
	if !utf8.Valid(b) {
		return DecodeErr("utf8", "", "not valid UTF-8")
	}
	*p = string(b)
	return nil
}

// bigint is n bytes of an integer's minimal two's complement, in the field's byte order.
func (r *Reader) Bigint(p *Bigint, n int, big bool) error {
	b, err := r.take(n)
	if err != nil {
		return err
	}
	v := append(Bigint(nil), b...)
	if big {
		reverse(v)
	}
	if MinimalLen(v) != len(v) {
		return DecodeErr("bigint", "", "not the minimal form")
	}
	*p = v
	return nil
}

// room is the capacity to reserve for n items: every item takes at least one byte, so no more
// than the bytes left can follow, whatever a hostile count says.
func (r *Reader) Room(n int) int {
	return min(n, r.Left())
}

// NewReader reads data from its start.
func NewReader(data []byte) *Reader { return &Reader{data: data} }
