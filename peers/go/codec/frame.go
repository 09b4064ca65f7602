package codec

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
)

// The frame (WIRE.md "Frame"): the generated code writes and checks the header field by field
// as [frame] declares it (putHeader, parseHeader), and computes the checksum (frameSum); this
// file is the API over them, the same for every schema. A schema without a frame answers
// every frame request with an unsupported error.

// headerField is a header field as the generated table describes it.
type headerField struct {
	name   string
	offset int
	size   int
	big    bool
	signed bool
	role   string // "const", "id", "length", "seq" or "" (a plain value)
	value  uint64 // a constant's bits
}

// Head is a frame header that passed WIRE.md's checks.
type Head struct {
	Msg        int    // the message, an index (Lookup)
	PayloadLen int    // the payload's size
	Seq        uint64 // 0 when the header has no seq field
	Plain      [plainCount]uint64
	Size       int // the whole frame: header, payload and checksum
}

// ParseHead checks a frame header, b[:HeaderLen], in the receiver's order (the constants, the
// id of a message of direction dir, "request", "response" or "" for either, then the length)
// and says how big the frame is. Every error is a decode error at frame.<field> (or "frame"):
// after it the stream is out of step.
func ParseHead(b []byte, dir string) (Head, error) {
	if !HasFrame {
		return Head{}, errNoFrame()
	}
	if len(b) < HeaderLen {
		return Head{}, decodeErr("truncated", "frame", fmt.Sprintf("header needs %d bytes, got %d", HeaderLen, len(b)))
	}
	return parseHeader(b, dir)
}

// CheckFrame checks the checksum of a whole frame whose head is h (a checksum error leaves the
// stream in step: the frame was read whole).
func CheckFrame(frame []byte, h *Head) error {
	if !HasChecksum {
		return nil
	}
	want := frameSum(frame, h.PayloadLen, messageTable[h.Msg].seed)
	if got := getSum(frame, h.PayloadLen); got != want {
		return decodeErr("checksum", "frame."+headerChecksum, fmt.Sprintf("%#x is not the frame's, %#x", got, want))
	}
	return nil
}

// Payload is the payload of a whole frame whose head is h.
func (h *Head) Payload(frame []byte) []byte { return frame[HeaderLen : HeaderLen+h.PayloadLen] }

// PutFrame frames the payload of message msg that is already at frame[HeaderLen:], payloadLen
// bytes: it writes the header before it and the checksum after it, and returns the frame's
// size. frame must have room for it (HeaderLen + payloadLen + TrailerLen).
func PutFrame(frame []byte, msg int, seq uint64, plain *[plainCount]uint64, payloadLen int) int {
	m := &messageTable[msg]
	putHeader(frame, m, payloadLen, seq, plain)
	if HasChecksum {
		putSum(frame, payloadLen, frameSum(frame, payloadLen, m.seed))
	}
	return HeaderLen + payloadLen + TrailerLen
}

// AppendFrame appends the frame of message msg carrying payload to dst.
func AppendFrame(dst []byte, msg int, seq uint64, plain *[plainCount]uint64, payload []byte) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, HeaderLen)...)
	dst = append(dst, payload...)
	dst = append(dst, make([]byte, TrailerLen)...)
	PutFrame(dst[start:], msg, seq, plain, len(payload))
	return dst
}

// EncodeFrame is SEND's work: the whole frame of message msg with sequence number seq, the
// plain header values and the value, given as tokens (rest: the header values, then the
// value's). The errors come in the contract's order: the request line (an unknown message, a
// seq or header value that is not a number, missing tokens), the value's tokens (request), the
// value (encode), the seq (encode range frame.seq), the header values in header order.
func EncodeFrame(msg, seq string, rest []string, version int) ([]byte, error) {
	if !HasFrame {
		return nil, errNoFrame()
	}
	i := messageIndex(msg)
	if i < 0 {
		return nil, unknownMessage(msg)
	}
	if !isDigits(seq) {
		return nil, errRequest("bad seq %q", clip(seq))
	}
	if len(rest) < plainCount {
		return nil, errRequest("missing a header value for frame.%s", plainFields[len(rest)].name)
	}
	for k := 0; k < plainCount; k++ {
		if tok := rest[k]; !isDigits(tok) && !(len(tok) > 1 && tok[0] == '-' && isDigits(tok[1:])) {
			return nil, errRequest("bad header value %q for frame.%s", clip(tok), plainFields[k].name)
		}
	}
	payload, err := encodeText(i, rest[plainCount:], version)
	if err != nil {
		return nil, err
	}
	n, ok := fits(seq, SeqLen, false)
	if !ok {
		_, top := limits(SeqLen, false)
		return nil, rangeAt("frame.seq", errRange(trimZeros(seq), "0", top))
	}
	var plain [plainCount]uint64
	for k := range plain {
		f := &plainFields[k]
		v, ok := fits(rest[k], f.size, f.signed)
		if !ok {
			lo, hi := limits(f.size, f.signed)
			return nil, rangeAt("frame."+f.name, errRange(rest[k], lo, hi))
		}
		plain[k] = v
	}
	return AppendFrame(make([]byte, 0, HeaderLen+len(payload)+TrailerLen), i, n, &plain, payload), nil
}

// HeadTokens are what RECV reports of a frame's header after the message's name: the seq,
// then the plain header values in header order.
func HeadTokens(h *Head) []string {
	out := []string{strconv.FormatUint(h.Seq, 10)}
	for k := range h.Plain {
		if plainFields[k].signed {
			out = append(out, strconv.FormatInt(int64(h.Plain[k]), 10))
		} else {
			out = append(out, strconv.FormatUint(h.Plain[k], 10))
		}
	}
	return out
}

// PutSeq rewrites the seq of a whole frame in place (the bench frame); SeqOf reads it. Neither
// touches a checksum: the bench needs a frame without one.
func PutSeq(frame []byte, seq uint64) { putSeq(frame, seq) }
func SeqOf(frame []byte) uint64       { return getSeq(frame) }

// ------------------------------------------------------------------ for the generated code

// byDirection is the message of an id that a request and a response share: the receiver must
// say which it reads (-2 when it does not).
func byDirection(dir string, request, response int) int {
	switch dir {
	case "request":
		return request
	case "response":
		return response
	}
	return -2
}

// onlyFor is the message of an id that only one direction carries.
func onlyFor(dir, side string, i int) int {
	if dir == "" || dir == side {
		return i
	}
	return -1
}

// firstFor is the message of a frame without an id field: the one a receiver of direction
// dir may read (WIRE.md: one message per direction); -1 when there is none, -4 when a
// receiver that does not say its direction could read two.
func firstFor(dir string) int {
	found := -1
	for i := range messageTable {
		if d := messageTable[i].direction; dir == "" || d == "" || d == dir {
			if found >= 0 {
				return -4
			}
			found = i
		}
	}
	return found
}

func errFrameType(path string, id uint64, dir string, why int) error {
	side := ""
	if dir != "" {
		side = " sent as a " + dir
	}
	switch why {
	case -2:
		return decodeErr("type", path, fmt.Sprintf("id %d is a request and a response: the receiver must say "+
			"which direction it reads", id))
	case -3:
		return decodeErr("type", path, "no message is"+side)
	case -4:
		return decodeErr("type", path, "the frame has no id and a request and a response are both possible: "+
			"the receiver must say which direction it reads")
	}
	return decodeErr("type", path, fmt.Sprintf("no message%s has id %d", side, id))
}

func errFrameLength(path string, n, adjust uint64) error {
	if n < adjust {
		return decodeErr("length", path, fmt.Sprintf("%d is less than the %d bytes it counts besides the payload", n, adjust))
	}
	return decodeErr("length", path, fmt.Sprintf("%d payload bytes, at most %d", n-adjust, uint64(MaxPayload)))
}

func errNoFrame() error {
	return Errorf("unsupported", "the schema declares no frame")
}

// signExtend is the 64-bit two's complement of a bits-wide one.
func signExtend(v uint64, bits int) uint64 {
	shift := 64 - bits
	return uint64(int64(v<<shift) >> shift)
}

// The integers of a header, in each width and byte order (values as uint64).

func putLE16(b []byte, v uint64) { binary.LittleEndian.PutUint16(b, uint16(v)) }
func putBE16(b []byte, v uint64) { binary.BigEndian.PutUint16(b, uint16(v)) }
func putLE24(b []byte, v uint64) { putUint(b, 3, false, v) }
func putBE24(b []byte, v uint64) { putUint(b, 3, true, v) }
func putLE32(b []byte, v uint64) { binary.LittleEndian.PutUint32(b, uint32(v)) }
func putBE32(b []byte, v uint64) { binary.BigEndian.PutUint32(b, uint32(v)) }
func putLE64(b []byte, v uint64) { binary.LittleEndian.PutUint64(b, v) }
func putBE64(b []byte, v uint64) { binary.BigEndian.PutUint64(b, v) }
func getLE16(b []byte) uint64    { return uint64(binary.LittleEndian.Uint16(b)) }
func getBE16(b []byte) uint64    { return uint64(binary.BigEndian.Uint16(b)) }
func getLE24(b []byte) uint64    { return getUint(b, 3, false) }
func getBE24(b []byte) uint64    { return getUint(b, 3, true) }
func getLE32(b []byte) uint64    { return uint64(binary.LittleEndian.Uint32(b)) }
func getBE32(b []byte) uint64    { return uint64(binary.BigEndian.Uint32(b)) }
func getLE64(b []byte) uint64    { return binary.LittleEndian.Uint64(b) }
func getBE64(b []byte) uint64    { return binary.BigEndian.Uint64(b) }

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
func limits(size int, signed bool) (string, string) {
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
