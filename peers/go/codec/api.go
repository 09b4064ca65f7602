// Package codec is the Go peer's codec: WIRE.md's frame header and the payload encoding of every
// message of protocols/schema.toml, with the text form of PEER_CONTRACT.md ("Values as text").
//
// TEMPORARY STUB (session 3 skeleton): the codec helper replaces this file. The signatures below
// are the interface the rest of the peer uses; keep them.
package codec

import "fmt"

// Error is a codec error. Kind is "decode" or "encode" (Code and Path as PEER_CONTRACT.md's
// Errors section), or "request" (a bad value token), or "unsupported" (an unknown message).
// Error() is the text after "ERR " on the reply line.
type Error struct {
	Kind, Code, Path, Msg string
}

func (e *Error) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("%s %s", e.Kind, e.Msg)
	}
	return fmt.Sprintf("%s %s %s %s", e.Kind, e.Code, e.Path, e.Msg)
}

// HeaderLen is the size of a frame header.
const HeaderLen = 24

// Header is a frame header that passed WIRE.md's checks.
type Header struct {
	MsgType    uint16
	PayloadLen uint32
	Seq        uint64
}

// ParseHeader checks a 24-byte header in WIRE.md's order: magic, version, flags, msg_type known,
// payload_len within max_payload.
func ParseHeader(b []byte) (Header, error) {
	return Header{}, &Error{Kind: "unsupported", Msg: "codec not written yet"}
}

// PutHeader writes a frame header for a payload of payloadLen bytes into dst[:HeaderLen].
func PutHeader(dst []byte, msgType uint16, payloadLen uint32, seq uint64) {}

// MaxPayload is format.max_payload.
const MaxPayload = 1 << 20

// MessageID is the id of the message called name.
func MessageID(name string) (uint16, bool) { return 0, false }

// MessageName is the name of message id, "" when there is none.
func MessageName(id uint16) string { return "" }

// Messages lists every message name, in schema order.
func Messages() []string { return nil }

// EncodeText encodes a value given as text tokens (one per leaf) into a payload.
func EncodeText(msg string, words []string) ([]byte, error) {
	return nil, &Error{Kind: "unsupported", Msg: "codec not written yet"}
}

// DecodeText decodes a payload of message msgType into its text tokens.
func DecodeText(msgType uint16, payload []byte) ([]string, error) {
	return nil, &Error{Kind: "unsupported", Msg: "codec not written yet"}
}

// Reencode decodes a payload and encodes the decoded value again (ECHO).
func Reencode(msgType uint16, payload []byte) ([]byte, error) {
	return nil, &Error{Kind: "unsupported", Msg: "codec not written yet"}
}
