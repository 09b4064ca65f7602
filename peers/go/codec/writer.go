package codec

import (
	"encoding/binary"
	"math"
	"strconv"
	"unicode/utf8"
)

// writer is a payload being encoded: values are appended to b in the byte order the schema
// declares, whatever the host (a message's encode method takes the version it writes). The methods for fixed-size values cannot
// fail (but the 24-bit ones, whose Go type is wider); the others return an error whose path is
// relative to the value (empty), for the generated code to put the field path in front.
type writer struct {
	b []byte
}

func (w *writer) u8(v uint8)     { w.b = append(w.b, v) }
func (w *writer) u16(v uint16)   { w.b = binary.LittleEndian.AppendUint16(w.b, v) }
func (w *writer) u16be(v uint16) { w.b = binary.BigEndian.AppendUint16(w.b, v) }
func (w *writer) u32(v uint32)   { w.b = binary.LittleEndian.AppendUint32(w.b, v) }
func (w *writer) u32be(v uint32) { w.b = binary.BigEndian.AppendUint32(w.b, v) }
func (w *writer) u64(v uint64)   { w.b = binary.LittleEndian.AppendUint64(w.b, v) }
func (w *writer) u64be(v uint64) { w.b = binary.BigEndian.AppendUint64(w.b, v) }
func (w *writer) i8(v int8)      { w.u8(uint8(v)) }
func (w *writer) i16(v int16)    { w.u16(uint16(v)) }
func (w *writer) i16be(v int16)  { w.u16be(uint16(v)) }
func (w *writer) i32(v int32)    { w.u32(uint32(v)) }
func (w *writer) i32be(v int32)  { w.u32be(uint32(v)) }
func (w *writer) i64(v int64)    { w.u64(uint64(v)) }
func (w *writer) i64be(v int64)  { w.u64be(uint64(v)) }

// The 24-bit integers: three bytes, and a range error for a Go value beyond them.

func (w *writer) u24(v uint32) error {
	if v > 1<<24-1 {
		return errRange(strconv.FormatUint(uint64(v), 10), "0", "16777215")
	}
	w.b = append(w.b, byte(v), byte(v>>8), byte(v>>16))
	return nil
}

func (w *writer) u24be(v uint32) error {
	if v > 1<<24-1 {
		return errRange(strconv.FormatUint(uint64(v), 10), "0", "16777215")
	}
	w.b = append(w.b, byte(v>>16), byte(v>>8), byte(v))
	return nil
}

func (w *writer) i24(v int32) error {
	if v < -1<<23 || v > 1<<23-1 {
		return errRange(strconv.FormatInt(int64(v), 10), "-8388608", "8388607")
	}
	return w.u24(uint32(v) & (1<<24 - 1))
}

func (w *writer) i24be(v int32) error {
	if v < -1<<23 || v > 1<<23-1 {
		return errRange(strconv.FormatInt(int64(v), 10), "-8388608", "8388607")
	}
	return w.u24be(uint32(v) & (1<<24 - 1))
}

// Floats go out as their bit patterns (see reader.f32).
func (w *writer) f32(v float32)   { w.u32(math.Float32bits(v)) }
func (w *writer) f32be(v float32) { w.u32be(math.Float32bits(v)) }
func (w *writer) f64(v float64)   { w.u64(math.Float64bits(v)) }
func (w *writer) f64be(v float64) { w.u64be(math.Float64bits(v)) }

func (w *writer) bool(v bool) {
	if v {
		w.u8(1)
	} else {
		w.u8(0)
	}
}

// uint is an unsigned integer of size bytes in either byte order: a count or size field, a
// constant (its two's complement bits).
func (w *writer) uint(size int, big bool, v uint64) {
	var b [8]byte
	putUint(b[:size], size, big, v)
	w.b = append(w.b, b[:size]...)
}

// char is a char[n]: the text, then NULs up to n bytes. A NUL inside is checked before the
// length, as the other peers do.
func (w *writer) char(text []byte, n int) error {
	for _, c := range text {
		if c == 0 {
			return encodeErr("char", "NUL inside the text")
		}
	}
	if len(text) > n {
		return errTooLong("encode", uint64(len(text)), uint64(n), "bytes")
	}
	w.b = append(w.b, text...)
	w.pad(n - len(text))
	return nil
}

// constChar is a char[n] constant (the schema loader checked that it fits).
func (w *writer) constChar(text string, n int) {
	w.b = append(w.b, text...)
	w.pad(n - len(text))
}

func (w *writer) pad(n int) {
	for i := 0; i < n; i++ {
		w.b = append(w.b, 0)
	}
}

// length writes n as the length prefix p (nothing when fields count the value).
func (w *writer) length(n uint64, p prefix) {
	if p != noPrefix {
		w.uint(p.size(), p.big(), n)
	}
}

func (w *writer) bytes(data []byte, p prefix, max uint64) error {
	if uint64(len(data)) > max {
		return errTooLong("encode", uint64(len(data)), max, "bytes")
	}
	w.length(uint64(len(data)), p)
	w.b = append(w.b, data...)
	return nil
}

// string checks the length first, then UTF-8: the order of the other peers.
func (w *writer) string(text string, p prefix, max uint64) error {
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
func (w *writer) bigint(v Bigint, p prefix, max uint64, big bool) error {
	v = v[:minimalLen(v)]
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
func (w *writer) count(n int, p prefix, width, max uint64) error {
	if uint64(n) > max {
		return errTooLong("encode", uint64(n), max, "items")
	}
	w.length(uint64(n)*width, p)
	return nil
}

// prefix is a length prefix: its width and byte order (WIRE.md, "Lengths and counts").
type prefix uint8

const (
	noPrefix prefix = iota // the length is in count or size fields
	pU8
	pU16
	pU16be
	pU24
	pU24be
	pU32
	pU32be
)

func (p prefix) size() int {
	return [...]int{0, 1, 2, 2, 3, 3, 4, 4}[p]
}

func (p prefix) big() bool { return p == pU16be || p == pU24be || p == pU32be }

// putUint writes the low size bytes of v into b in either byte order; getUint reads them.
func putUint(b []byte, size int, big bool, v uint64) {
	for i := 0; i < size; i++ {
		shift := 8 * i
		if big {
			shift = 8 * (size - 1 - i)
		}
		b[i] = byte(v >> shift)
	}
}

func getUint(b []byte, size int, big bool) uint64 {
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
