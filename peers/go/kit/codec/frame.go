package codec

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
)

// The frame (WIRE.md "Frame"): the generated code writes and checks the header field by field
// as [frame] declares it (PutHeader, ParseHeader), and computes the checksum (Sum); this file
// is the API over them, the same for every schema.

// MaxPlain is the most plain header fields a frame may have (the generator refuses more).
const MaxPlain = 8

// HeaderField is a header field as the generated table describes it.
type HeaderField struct {
	Name   string
	Offset int
	Size   int
	Big    bool
	Signed bool
	Role   string // "const", "id", "length", "seq" or "" (a plain value)
	Value  uint64 // a constant's bits
}

// Plain is the plain header values of a frame (the sender's: SEND's <h>...), in header order.
type Plain = [MaxPlain]uint64

// Frame is a schema's frame: its sizes, its header fields, and the generated functions that
// write and check its header field by field and compute its checksum.
type Frame struct {
	HeaderLen, TrailerLen int
	SeqAt, SeqLen         int    // where the seq field is and its size (0: none)
	Checksum              string // the checksum field's name ("": none)
	Plain                 []HeaderField
	Messages              []Info

	PutHeader   func(dst []byte, m *Info, payloadLen int, seq uint64, plain *Plain)
	ParseHeader func(b []byte, dir string) (Head, error)
	FindHeader  func(b []byte, dir string) (Head, error) // ParseHeader but the constants (nil: ParseHeader)
	Sum         func(frame []byte, payloadLen int, seed byte) uint64
	PutSum      func(frame []byte, payloadLen int, sum uint64)
	GetSum      func(frame []byte, payloadLen int) uint64
	PutSeq      func(frame []byte, seq uint64) // rewrites the seq of a whole frame in place (no checksum)
	SeqOf       func(frame []byte) uint64
}

// Head is a frame header that passed WIRE.md's checks.
type Head struct {
	Msg        int    // the message, an index into the table
	PayloadLen int    // the payload's size
	Seq        uint64 // 0 when the header has no seq field
	Plain      Plain
	Size       int // the whole frame: header, payload and checksum
}

// ParseHead checks a frame header, b[:HeaderLen], in the receiver's order (the constants, the
// id of a message of direction dir, "request", "response" or "" for either, then the length)
// and says how big the frame is. Every error is a decode error at frame.<field> (or "frame"):
// after it the stream is out of step.
func (f *Frame) ParseHead(b []byte, dir string) (Head, error) {
	if len(b) < f.HeaderLen {
		return Head{}, DecodeErr("truncated", "frame", fmt.Sprintf("header needs %d bytes, got %d", f.HeaderLen, len(b)))
	}
	return f.ParseHeader(b, dir)
}

// FindHead reads a frame header, b[:HeaderLen], only as far as finding the frame takes: the
// id of a message of direction dir (to pick its decode), then the length (how big the frame is),
// and its seq and plain values; it checks no constant. For a framing adapter, whose library
// judges the frame itself: an unknown id or a length that gives no frame stay errors, at
// frame.<field>, after which the stream is out of step.
func (f *Frame) FindHead(b []byte, dir string) (Head, error) {
	if f.FindHeader == nil {
		return f.ParseHead(b, dir)
	}
	if len(b) < f.HeaderLen {
		return Head{}, DecodeErr("truncated", "frame", fmt.Sprintf("header needs %d bytes, got %d", f.HeaderLen, len(b)))
	}
	return f.FindHeader(b, dir)
}

// CheckFrame checks the checksum of a whole frame whose head is h (a checksum error leaves the
// stream in step: the frame was read whole).
func (f *Frame) CheckFrame(frame []byte, h *Head) error {
	if f.Checksum == "" {
		return nil
	}
	want := f.Sum(frame, h.PayloadLen, f.Messages[h.Msg].Seed)
	if got := f.GetSum(frame, h.PayloadLen); got != want {
		return DecodeErr("checksum", "frame."+f.Checksum, fmt.Sprintf("%#x is not the frame's, %#x", got, want))
	}
	return nil
}

// Payload is the payload of a whole frame whose head is h.
func (f *Frame) Payload(frame []byte, h *Head) []byte {
	return frame[f.HeaderLen : f.HeaderLen+h.PayloadLen]
}

// PutFrame frames the payload of message msg that is already at frame[HeaderLen:], payloadLen
// bytes: it writes the header before it and the checksum after it, and returns the frame's
// size. frame must have room for it (HeaderLen + payloadLen + TrailerLen).
func (f *Frame) PutFrame(frame []byte, msg int, seq uint64, plain *Plain, payloadLen int) int {
	m := &f.Messages[msg]
	f.PutHeader(frame, m, payloadLen, seq, plain)
	if f.Checksum != "" {
		f.PutSum(frame, payloadLen, f.Sum(frame, payloadLen, m.Seed))
	}
	return f.HeaderLen + payloadLen + f.TrailerLen
}

// AppendFrame appends the frame of message msg carrying payload to dst.
func (f *Frame) AppendFrame(dst []byte, msg int, seq uint64, plain *Plain, payload []byte) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, f.HeaderLen)...)
	dst = append(dst, payload...)
	dst = append(dst, make([]byte, f.TrailerLen)...)
	f.PutFrame(dst[start:], msg, seq, plain, len(payload))
	return dst
}

// CheckSendTokens is the first half of SEND's checks, those of the request line: a seq or a
// header value that is not a number, a missing header value. rest is the header values, then
// the value's tokens; the value's start at rest[len(f.Plain):].
func (f *Frame) CheckSendTokens(seq string, rest []string) error {
	if !isDigits(seq) {
		return ErrRequest("bad seq %q", clip(seq))
	}
	if len(rest) < len(f.Plain) {
		return ErrRequest("missing a header value for frame.%s", f.Plain[len(rest)].Name)
	}
	for k := range f.Plain {
		if tok := rest[k]; !isDigits(tok) && !(len(tok) > 1 && tok[0] == '-' && isDigits(tok[1:])) {
			return ErrRequest("bad header value %q for frame.%s", clip(tok), f.Plain[k].Name)
		}
	}
	return nil
}

// SendHeader is the second half, after the value has encoded: the seq's range (encode range
// frame.seq), then the header values' in header order. The Tokens passed CheckSendTokens.
func (f *Frame) SendHeader(seq string, rest []string) (uint64, Plain, error) {
	var plain Plain
	n, ok := fits(seq, f.SeqLen, false)
	if !ok {
		_, top := Limits(f.SeqLen, false)
		return 0, plain, rangeAt("frame.seq", errRange(trimZeros(seq), "0", top))
	}
	for k := range f.Plain {
		h := &f.Plain[k]
		v, ok := fits(rest[k], h.Size, h.Signed)
		if !ok {
			lo, hi := Limits(h.Size, h.Signed)
			return 0, plain, rangeAt("frame."+h.Name, errRange(rest[k], lo, hi))
		}
		plain[k] = v
	}
	return n, plain, nil
}

// HeadTokens are what RECV reports of a frame's header after the message's name: the seq,
// then the plain header values in header order.
func (f *Frame) HeadTokens(h *Head) []string {
	out := []string{strconv.FormatUint(h.Seq, 10)}
	for k := range f.Plain {
		if f.Plain[k].Signed {
			out = append(out, strconv.FormatInt(int64(h.Plain[k]), 10))
		} else {
			out = append(out, strconv.FormatUint(h.Plain[k], 10))
		}
	}
	return out
}

// ------------------------------------------------------------------ for the generated code

// byDirection is the message of an id that a request and a response share: the receiver must
// say which it reads (-2 when it does not).
func ByDirection(dir string, request, response int) int {
	switch dir {
	case "request":
		return request
	case "response":
		return response
	}
	return -2
}

// onlyFor is the message of an id that only one direction carries.
func OnlyFor(dir, side string, i int) int {
	if dir == "" || dir == side {
		return i
	}
	return -1
}

// firstFor is the message of a frame without an id field: the one a receiver of direction
// dir may read (WIRE.md: one message per direction); -1 when there is none, -4 when a
// receiver that does not say its direction could read two.
func FirstFor(dir string, table []Info) int {
	found := -1
	for i := range table {
		if d := table[i].Direction; dir == "" || d == "" || d == dir {
			if found >= 0 {
				return -4
			}
			found = i
		}
	}
	return found
}

func ErrFrameType(path string, id uint64, dir string, why int) error {
	side := ""
	if dir != "" {
		side = " sent as a " + dir
	}
	switch why {
	case -2:
		return DecodeErr("type", path, fmt.Sprintf("id %d is a request and a response: the receiver must say "+
			"which direction it reads", id))
	case -3:
		return DecodeErr("type", path, "no message is"+side)
	case -4:
		return DecodeErr("type", path, "the frame has no id and a request and a response are both possible: "+
			"the receiver must say which direction it reads")
	}
	return DecodeErr("type", path, fmt.Sprintf("no message%s has id %d", side, id))
}

func ErrFrameLength(path string, n, adjust, max uint64) error {
	if n < adjust {
		return DecodeErr("length", path, fmt.Sprintf("%d is less than the %d bytes it counts besides the payload", n, adjust))
	}
	return DecodeErr("length", path, fmt.Sprintf("%d payload bytes, at most %d", n-adjust, max))
}

func ErrNoFrame() error {
	return Errorf("unsupported", "the schema declares no frame")
}

// signExtend is the 64-bit two's complement of a bits-wide one.
func SignExtend(v uint64, bits int) uint64 {
	shift := 64 - bits
	return uint64(int64(v<<shift) >> shift)
}

// The integers of a header, in each width and byte order (values as uint64).

func PutLE16(b []byte, v uint64) { binary.LittleEndian.PutUint16(b, uint16(v)) }
func PutBE16(b []byte, v uint64) { binary.BigEndian.PutUint16(b, uint16(v)) }
func PutLE24(b []byte, v uint64) { PutUint(b, 3, false, v) }
func PutBE24(b []byte, v uint64) { PutUint(b, 3, true, v) }
func PutLE32(b []byte, v uint64) { binary.LittleEndian.PutUint32(b, uint32(v)) }
func PutBE32(b []byte, v uint64) { binary.BigEndian.PutUint32(b, uint32(v)) }
func PutLE64(b []byte, v uint64) { binary.LittleEndian.PutUint64(b, v) }
func PutBE64(b []byte, v uint64) { binary.BigEndian.PutUint64(b, v) }
func GetLE16(b []byte) uint64    { return uint64(binary.LittleEndian.Uint16(b)) }
func GetBE16(b []byte) uint64    { return uint64(binary.BigEndian.Uint16(b)) }
func GetLE24(b []byte) uint64    { return GetUint(b, 3, false) }
func GetBE24(b []byte) uint64    { return GetUint(b, 3, true) }
func GetLE32(b []byte) uint64    { return uint64(binary.LittleEndian.Uint32(b)) }
func GetBE32(b []byte) uint64    { return uint64(binary.BigEndian.Uint32(b)) }
func GetLE64(b []byte) uint64    { return binary.LittleEndian.Uint64(b) }
func GetBE64(b []byte) uint64    { return binary.BigEndian.Uint64(b) }

// ------------------------------------------------------------------ numbers of a request

// fits parses a decimal header value (digits, a `-` for negatives) that must fit size bytes
// (0: no field, the value must be 0), signed or not: its two's complement bits.
func fits(tok string, size int, signed bool) (uint64, bool) {
	if signed {
		v, err := strconv.ParseInt(tok, 10, 64)
		lo := int64(-1) << (8*size - 1)
		if err != nil || v < lo || v > -lo-1 {
			return 0, false
		}
		return uint64(v), true
	}
	v, err := strconv.ParseUint(tok, 10, 64)
	if err != nil || size < 8 && v>>(8*size) != 0 {
		return 0, false
	}
	return v, true
}

// limits is the range of size bytes, signed or not, as text.
func Limits(size int, signed bool) (string, string) {
	if signed {
		lo := int64(-1) << (8*size - 1)
		return strconv.FormatInt(lo, 10), strconv.FormatInt(-lo-1, 10)
	}
	if size == 0 {
		return "0", "0"
	}
	return "0", strconv.FormatUint(math.MaxUint64>>(64-8*size), 10)
}

func rangeAt(path string, err error) error {
	e := err.(*Error)
	e.Path = path
	return e
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func trimZeros(s string) string {
	for len(s) > 1 && s[0] == '0' {
		s = s[1:]
	}
	return s
}

// clip is at most 40 characters of a word from a request line, for messages.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
