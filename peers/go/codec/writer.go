package codec

import (
	"encoding/binary"
	"math"
	"strconv"
	"unicode/utf8"
)

// writer is a payload being encoded: values are appended to b, little-endian whatever the
// host. The methods for fixed-size values cannot fail; the others return an error whose path
// is relative to the value (empty), for the generated code to put the field path in front.
type writer struct {
	b []byte
}

func (w *writer) u8(v uint8)   { w.b = append(w.b, v) }
func (w *writer) u16(v uint16) { w.b = binary.LittleEndian.AppendUint16(w.b, v) }
func (w *writer) u32(v uint32) { w.b = binary.LittleEndian.AppendUint32(w.b, v) }
func (w *writer) u64(v uint64) { w.b = binary.LittleEndian.AppendUint64(w.b, v) }
func (w *writer) i8(v int8)    { w.u8(uint8(v)) }
func (w *writer) i16(v int16)  { w.u16(uint16(v)) }
func (w *writer) i32(v int32)  { w.u32(uint32(v)) }
func (w *writer) i64(v int64)  { w.u64(uint64(v)) }

// Floats go out as their bit patterns (see reader.f32).
func (w *writer) f32(v float32) { w.u32(math.Float32bits(v)) }
func (w *writer) f64(v float64) { w.u64(math.Float64bits(v)) }

func (w *writer) bool(v bool) {
	if v {
		w.u8(1)
	} else {
		w.u8(0)
	}
}

// char is a char[n]: the text, then NULs up to n bytes.
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

func (w *writer) pad(n int) {
	for i := 0; i < n; i++ {
		w.b = append(w.b, 0)
	}
}

// length is a u32 length or count of at most max.
func (w *writer) length(n int, max uint32, unit string) error {
	if uint64(n) > uint64(max) {
		return errTooLong("encode", uint64(n), uint64(max), unit)
	}
	w.u32(uint32(n))
	return nil
}

func (w *writer) bytes(data []byte, max uint32) error {
	if err := w.length(len(data), max, "bytes"); err != nil {
		return err
	}
	w.b = append(w.b, data...)
	return nil
}

// string checks the length first, then UTF-8: the order of the other peers.
func (w *writer) string(text string, max uint32) error {
	if uint64(len(text)) > uint64(max) {
		return errTooLong("encode", uint64(len(text)), uint64(max), "bytes")
	}
	if !utf8.ValidString(text) {
		return encodeErr("utf8", "not valid UTF-8")
	}
	w.u32(uint32(len(text)))
	w.b = append(w.b, text...)
	return nil
}

// bigint writes any two's-complement form of the integer in its minimal form.
func (w *writer) bigint(v Bigint, max uint32) error {
	v = v[:minimalLen(v)]
	if uint64(len(v)) > uint64(max) {
		return errBigintTooLong(len(v), max)
	}
	w.u32(uint32(len(v)))
	w.b = append(w.b, v...)
	return nil
}

// count is the count of a vec<T>, at most max.
func (w *writer) count(n int, max uint32) error {
	return w.length(n, max, "items")
}

// badEnumU and badEnumS are the encode errors of an enum value that is not listed.
func badEnumU(v uint64, name string) error {
	return errEnum("encode", strconv.FormatUint(v, 10), name)
}

func badEnumS(v int64, name string) error {
	return errEnum("encode", strconv.FormatInt(v, 10), name)
}

// decodeBadEnumU and decodeBadEnumS are the decode errors of the same.
func decodeBadEnumU(v uint64, name string) error {
	return errEnum("decode", strconv.FormatUint(v, 10), name)
}

func decodeBadEnumS(v int64, name string) error {
	return errEnum("decode", strconv.FormatInt(v, 10), name)
}
