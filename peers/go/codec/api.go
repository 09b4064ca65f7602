// Package codec is the Go peer's codec: WIRE.md's frame header and the payload encoding of every
// message of protocols/schema.toml, with the text form of PEER_CONTRACT.md ("Values as text").
//
// Two halves: schema_gen.go, generated from the schema by `python -m harness codegen`
// (harness/codegen/go.py), holds a Go type per enum, struct and message with four methods each
// that walk the fields in schema order (encode, decode, parse from text tokens, format to text
// tokens), and the dispatch by message name and id. The hand-written rest knows no message:
// the leaf values of each kind of type (reader.go, writer.go, tokens.go, bigint.go, hex.go),
// errors and their paths (errors.go), the frame header (frame.go), the streams and the bench
// frame (stream.go), and the entry points below. Adding a message to the schema changes only
// the generated file.
package codec

import "fmt"

// Message is a generated message type (its methods are unexported: only the generated types
// implement it). Use a pointer: &codec.Track{}.
type Message interface {
	messageID() uint16
	messageName() string
	encode(w *writer) error
	decode(r *reader) error
	parse(t *tokens) error
	format(out []string) []string
}

// EncodeMessage is the payload of a message value.
func EncodeMessage(m Message) ([]byte, error) {
	w := writer{b: make([]byte, 0, 64)}
	if err := m.encode(&w); err != nil {
		return nil, at(err, m.messageName())
	}
	return w.b, nil
}

// DecodeMessage reads a payload, which must be consumed exactly, into m.
func DecodeMessage(payload []byte, m Message) error {
	r := reader{data: payload}
	if err := m.decode(&r); err != nil {
		return at(err, m.messageName())
	}
	if left := r.left(); left > 0 {
		return decodeErr("trailing", m.messageName(), fmt.Sprintf("%d bytes left over", left))
	}
	return nil
}

// parseMessage reads the text form of a message value (every word of it) into m.
func parseMessage(m Message, words []string) error {
	t := tokens{words: words, path: []byte(m.messageName())}
	if err := m.parse(&t); err != nil {
		return err
	}
	return t.finish(m.messageName())
}

// EncodeText encodes a value given as text tokens (one per leaf) into a payload (ENCODE).
// An unknown message name is a request error, as in the other peers.
func EncodeText(msg string, words []string) ([]byte, error) {
	id, ok := MessageID(msg)
	if !ok {
		return nil, unknownMessage(msg)
	}
	m := newMessage(id)
	if err := parseMessage(m, words); err != nil {
		return nil, err
	}
	return EncodeMessage(m)
}

// DecodeText decodes a payload of message msgType into its text tokens (DECODE, RECV).
func DecodeText(msgType uint16, payload []byte) ([]string, error) {
	m, err := decodeByID(msgType, payload)
	if err != nil {
		return nil, err
	}
	return m.format(nil), nil
}

// Reencode decodes a payload and encodes the decoded value again (ECHO).
func Reencode(msgType uint16, payload []byte) ([]byte, error) {
	m, err := decodeByID(msgType, payload)
	if err != nil {
		return nil, err
	}
	return EncodeMessage(m)
}

func decodeByID(msgType uint16, payload []byte) (Message, error) {
	m := newMessage(msgType)
	if m == nil {
		return nil, &Error{Kind: "unsupported", Msg: fmt.Sprintf("message id %d", msgType)}
	}
	if err := DecodeMessage(payload, m); err != nil {
		return nil, err
	}
	return m, nil
}

func unknownMessage(name string) error {
	return errRequest("unknown message %q", clip(name))
}
