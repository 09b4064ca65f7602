package codec

import (
	"encoding/binary"
	"fmt"
	"strconv"
)

// HeaderLen is the size of a frame header (WIRE.md "Frame"): magic u32, version u16,
// msg_type u16, flags u32, payload_len u32, seq u64, little-endian.
const HeaderLen = 24

// Header is a frame header that passed WIRE.md's checks.
type Header struct {
	MsgType    uint16
	PayloadLen uint32
	Seq        uint64
}

// ParseHeader checks a 24-byte header in WIRE.md's order: magic, version, flags, msg_type
// known, payload_len within max_payload. Every error is a decode error at frame.<field>
// (BreaksStream is true for each). b shorter than a header is a truncated error at "frame".
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return Header{}, decodeErr("truncated", "frame", fmt.Sprintf("needs %d bytes, %d left", HeaderLen, len(b)))
	}
	le := binary.LittleEndian
	magic, version, msgType := le.Uint32(b[0:]), le.Uint16(b[4:]), le.Uint16(b[6:])
	flags, payloadLen, seq := le.Uint32(b[8:]), le.Uint32(b[12:]), le.Uint64(b[16:])
	if magic != Magic {
		return Header{}, decodeErr("magic", "frame.magic", fmt.Sprintf("0x%08x is not 0x%08x", magic, Magic))
	}
	if version != Version {
		return Header{}, decodeErr("version", "frame.version", fmt.Sprintf("%d is not %d", version, Version))
	}
	if flags != 0 {
		return Header{}, decodeErr("flags", "frame.flags", fmt.Sprintf("%#x is not 0", flags))
	}
	if MessageName(msgType) == "" {
		return Header{}, decodeErr("type", "frame.msg_type", fmt.Sprintf("no message has id %d", msgType))
	}
	if payloadLen > MaxPayload {
		return Header{}, decodeErr("length", "frame.payload_len",
			fmt.Sprintf("%d bytes, at most %d", payloadLen, MaxPayload))
	}
	return Header{MsgType: msgType, PayloadLen: payloadLen, Seq: seq}, nil
}

// PutHeader writes a frame header for a payload of payloadLen bytes into dst[:HeaderLen].
func PutHeader(dst []byte, msgType uint16, payloadLen uint32, seq uint64) {
	le := binary.LittleEndian
	le.PutUint32(dst[0:], Magic)
	le.PutUint16(dst[4:], Version)
	le.PutUint16(dst[6:], msgType)
	le.PutUint32(dst[8:], 0) // flags: reserved
	le.PutUint32(dst[12:], payloadLen)
	le.PutUint64(dst[16:], seq)
}

// AppendFrame appends the frame of message msgType carrying payload to dst. The payload comes
// from this codec, so it is never above MaxPayload.
func AppendFrame(dst []byte, msgType uint16, seq uint64, payload []byte) []byte {
	var h [HeaderLen]byte
	PutHeader(h[:], msgType, uint32(len(payload)), seq)
	return append(append(dst, h[:]...), payload...)
}

// EncodeFrame is SEND's work: the whole frame of message msg with sequence number seq (a
// decimal token) and the value's tokens. The errors come in the contract's order, as the other
// peers give them: an unknown message, a seq that is not decimal digits, the value's tokens
// (request), the value (encode), and last a seq beyond 64 bits (encode range frame.seq).
func EncodeFrame(msg, seq string, words []string) ([]byte, error) {
	id, ok := MessageID(msg)
	if !ok {
		return nil, unknownMessage(msg)
	}
	if !isDigits(seq) {
		return nil, errRequest("bad seq %q", clip(seq))
	}
	payload, err := EncodeText(msg, words)
	if err != nil {
		return nil, err
	}
	n, err := strconv.ParseUint(seq, 10, 64)
	if err != nil {
		e := errRange(trimZeros(seq), "0", strconv.FormatUint(1<<64-1, 10)).(*Error)
		e.Path = "frame.seq"
		return nil, e
	}
	return AppendFrame(make([]byte, 0, HeaderLen+len(payload)), id, n, payload), nil
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
