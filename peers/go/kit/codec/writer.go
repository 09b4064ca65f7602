package codec

import (
	"encoding/binary"
	"math"
	"strconv"
	"unicode/utf8"
)

// Writer is a payload being encoded: values are appended to b in the byte order the schema
// declares, whatever the host (a message's encode method takes the version it writes). The methods for fixed-size values cannot
// fail (but the 24-bit ones, whose Go type is wider); the others return an error whose path is
// relative to the value (empty), for the generated code to put the field path in front.
type Writer struct {
	b []byte
}

func (w *Writer) U8(v uint8)     { w.b = append(w.b, v) }
func (w *Writer) U16(v uint16)   { w.b = binary.LittleEndian.AppendUint16(w.b, v) }
func (w *Writer) U16be(v uint16) { w.b = binary.BigEndian.AppendUint16(w.b, v) }
func (w *Writer) U32(v uint32)   { w.b = binary.LittleEndian.AppendUint32(w.b, v) }
func (w *Writer) U32be(v uint32) { w.b = binary.BigEndian.AppendUint32(w.b, v) }
func (w *Writer) U64(v uint64)   { w.b = binary.LittleEndian.AppendUint64(w.b, v) }
func (w *Writer) U64be(v uint64) { w.b = binary.BigEndian.AppendUint64(w.b, v) }
func (w *Writer) I8(v int8)      { w.U8(uint8(v)) }
func (w *Writer) I16(v int16)    { w.U16(uint16(v)) }
func (w *Writer) I16be(v int16)  { w.U16be(uint16(v)) }
func (w *Writer) I32(v int32)    { w.U32(uint32(v)) }
func (w *Writer) I32be(v int32)  { w.U32be(uint32(v)) }
func (w *Writer) I64(v int64)    { w.U64(uint64(v)) }
func (w *Writer) I64be(v int64)  { w.U64be(uint64(v)) }

// The 24-bit integers: three bytes, and a range error for a Go value beyond them.

func (w *Writer) U24(v uint32) error {
	if v > 1<<24-1 {
		return errRange(strconv.FormatUint(uint64(v), 10), "0", "16777215")
	}
	w.b = append(w.b, byte(v), byte(v>>8), byte(v>>16))
	return nil
}

func (w *Writer) U24be(v uint32) error {
	if v > 1<<24-1 {
		return errRange(strconv.FormatUint(uint64(v), 10), "0", "16777215")
	}
	w.b = append(w.b, byte(v>>16), byte(v>>8), byte(v))
	return nil
}

func (w *Writer) I24(v int32) error {
	if v < -1<<23 || v > 1<<23-1 {
		return errRange(strconv.FormatInt(int64(v), 10), "-8388608", "8388607")
	}
	return w.U24(uint32(v) & (1<<24 - 1))
}

func (w *Writer) I24be(v int32) error {
	if v < -1<<23 || v > 1<<23-1 {
		return errRange(strconv.FormatInt(int64(v), 10), "-8388608", "8388607")
	}
	return w.U24be(uint32(v) & (1<<24 - 1))
}

// Floats go out as their bit patterns (see reader.f32).
func (w *Writer) F32(v float32)   { w.U32(math.Float32bits(v)) }
func (w *Writer) F32be(v float32) { w.U32be(math.Float32bits(v)) }
func (w *Writer) F64(v float64)   { w.U64(math.Float64bits(v)) }
func (w *Writer) F64be(v float64) { w.U64be(math.Float64bits(v)) }

func (w *Writer) Bool(v bool) {
	if v {
		w.U8(1)
	} else {
		w.U8(0)
	}
}

// uint is an unsigned integer of size bytes in either byte order: a count or size field, a
// constant (its two's complement bits).
func (w *Writer) Uint(size int, big bool, v uint64) {
	var b [8]byte
	PutUint(b[:size], size, big, v)
	w.b = append(w.b, b[:size]...)
}

// char is a char[n]: the text, then NULs up to n bytes. A NUL inside is checked before the
// length, as the other peers do.
func (w *Writer) Char(text []byte, n int) error {
	for _, c := range text {
		if c == 0 {
			return encodeErr("char", "NUL inside the text")
		}
	}
	if len(text) > n {
		return errTooLong("encode", uint64(len(text)), uint64(n), "bytes")
	}
	w.b = append(w.b, text...)
	w.Pad(n - len(text))
	return nil
}

// constChar is a char[n] constant (the schema loader checked that it fits).
func (w *Writer) ConstChar(text string, n int) {
	w.b = append(w.b, text...)
	w.Pad(n - len(text))
}

func (w *Writer) Pad(n int) {
	for i := 0; i < n; i++ {
		w.b = append(w.b, 0)
	}
}

// length writes n as the length prefix p (nothing when fields count the value).
func (w *Writer) length(n uint64, p prefix) {
	if p != NoPrefix {
		w.Uint(p.size(), p.big(), n)
	}
}

func (w *Writer) Bytes(data []byte, p prefix, max uint64) error {
	if uint64(len(data)) > max {
		return errTooLong("encode", uint64(len(data)), max, "bytes")
	}
	w.length(uint64(len(data)), p)
	w.b = append(w.b, data...)
	return nil
}

// string checks the length first, then UTF-8: the order of the other peers.
func (w *Writer) String(text string, p prefix, max uint64) error {
	if uint64(len(text)) > max {
		return errTooLong("encode", uint64(len(text)), max, "bytes")
	}
	if !utf8.ValidString(text) {
		return encodeErr("utf8", "not valid UTF-8")
	}
	w.length(uint64(len(text)), p)
	w.b = append(w.b, text...)
	return nil
}

// bigint writes any two's-complement form of the integer in its minimal form, in the field's
// byte order.
func (w *Writer) Bigint(v Bigint, p prefix, max uint64, big bool) error {
	v = v[:MinimalLen(v)]
	if uint64(len(v)) > max {
		return errBigintTooLong(len(v), max)
	}
	w.length(uint64(len(v)), p)
	start := len(w.b)
	w.b = append(w.b, v...)
	if big {
		reverse(w.b[start:])
	}
	return nil
}

// count is the length of a vec<T> of n elements, at most max: the prefix counts elements, or
// bytes of width-byte elements.
func (w *Writer) Count(n int, p prefix, width, max uint64) error {
	if uint64(n) > max {
		return errTooLong("encode", uint64(n), max, "items")
	}
	w.length(uint64(n)*width, p)
	return nil
}

// prefix is a length prefix: its width and byte order (WIRE.md, "Lengths and counts").
type prefix uint8

const (
	NoPrefix prefix = iota // the length is in count or size fields
	PU8
	PU16
	PU16be
	PU24
	PU24be
	PU32
	PU32be
)

func (p prefix) size() int {
	return [...]int{0, 1, 2, 2, 3, 3, 4, 4}[p]
}

func (p prefix) big() bool { return p == PU16be || p == PU24be || p == PU32be }

// putUint writes the low size bytes of v into b in either byte order; getUint reads them.
func PutUint(b []byte, size int, big bool, v uint64) {
	for i := 0; i < size; i++ {
		shift := 8 * i
		if big {
			shift = 8 * (size - 1 - i)
		}
		b[i] = byte(v >> shift)
	}
}

func GetUint(b []byte, size int, big bool) uint64 {
	var v uint64
	for i := 0; i < size; i++ {
		if big {
			v = v<<8 | uint64(b[i])
		} else {
			v |= uint64(b[i]) << (8 * i)
		}
	}
	return v
}

// Data is what the writer has written so far.
func (w *Writer) Data() []byte { return w.b }
