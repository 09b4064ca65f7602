// Package codec is the Go peer's codec: the payload encoding of every message of a schema
// (protocols/WIRE.md), its frame, and the text form of PEER_CONTRACT.md ("Values as text").
//
// Two halves: schema_gen.go, generated from the schema by `python -m harness codegen`
// (harness/codegen/go.py), holds a Go type per enum, flag set, struct, union and message with
// methods that walk the fields in schema order (encode, decode, parse from text tokens, format
// to text tokens), the message table, and the frame's header and checksum written and checked
// field by field as the schema declares them. The hand-written rest knows no protocol: the leaf
// values of each kind of type in either byte order (reader.go, writer.go, tokens.go, bigint.go,
// hex.go), errors and their paths (errors.go), the CRC loops (crc.go), the frame API
// (frame.go), and the entry points below. Any schema changes only the generated file.
//
// Messages are known by their index in the schema (Lookup): ids may be shared by a request and
// a response. Every entry point takes the protocol version the peer speaks (1 to Newest).
package codec

import (
	"fmt"
	"math"
)

// Message is a generated message type (its methods are unexported: only the generated types
// implement it).
type Message interface {
	index() int
	encode(w *writer, version int) error
	decode(r *reader, version int) error
	parse(t *tokens) error
	format(out []string) []string
}

// msgInfo is what the generated message table says of a message.
type msgInfo struct {
	name      string
	id        uint32
	direction string // "request", "response" or "" (either)
	seed      byte   // the checksum's seed byte
	newest    int    // the newest version that added fields to it (1: none)
	fixed     int    // its size when every value has the same, else -1
	sizes     []int  // with trailing zeros trimmed: its size at each version (index), else nil
}

// Lookup is the index of the message called name.
func Lookup(name string) (int, bool) {
	i := messageIndex(name)
	return i, i >= 0
}

// MessageName is the name of message i.
func MessageName(i int) string { return messageTable[i].name }

// MessageDirection is the direction of message i: "request", "response" or "".
func MessageDirection(i int) string { return messageTable[i].direction }

// Messages lists every message name, in schema order.
func Messages() []string {
	out := make([]string, len(messageTable))
	for i := range messageTable {
		out[i] = messageTable[i].name
	}
	return out
}

// EncodeMessage is the payload of a message value, as a peer speaking version writes it: the
// fields of that version and older, and with trailing zeros trimmed if the schema says so.
func EncodeMessage(m Message, version int) ([]byte, error) {
	w := writer{b: make([]byte, 0, 64)}
	if err := m.encode(&w, version); err != nil {
		return nil, at(err, messageTable[m.index()].name)
	}
	if trimTrailing {
		n := len(w.b)
		for n > 1 && w.b[n-1] == 0 {
			n--
		}
		w.b = w.b[:n]
	}
	return w.b, nil
}

// DecodeMessage reads a payload into m as a peer speaking version reads it (WIRE.md
// "Versions"): every byte must be used, but for those of fields newer than the version.
func DecodeMessage(payload []byte, m Message, version int) error {
	if trimTrailing { // the trimmed zeros come back (the constant leaves this out of other schemas)
		if size := messageTable[m.index()].sizes[version]; len(payload) < size {
			payload = append(append(make([]byte, 0, size), payload...), make([]byte, size-len(payload))...)
		}
	}
	r := reader{data: payload}
	if err := m.decode(&r, version); err != nil {
		return at(err, messageTable[m.index()].name)
	}
	if left := r.left(); left > 0 && version >= messageTable[m.index()].newest {
		return decodeErr("trailing", messageTable[m.index()].name, fmt.Sprintf("%d bytes left over", left))
	}
	return nil
}

// parseMessage reads the text form of a message value (every word of it) into m.
func parseMessage(m Message, words []string, version int) error {
	name := messageTable[m.index()].name
	t := tokens{words: words, path: []byte(name), version: version}
	if err := m.parse(&t); err != nil {
		return err
	}
	t.mute = false
	return t.finish(name)
}

// EncodeText encodes a value given as text tokens (one per leaf) into a payload (ENCODE).
// An unknown message name is a request error, as in the other peers.
func EncodeText(msg string, words []string, version int) ([]byte, error) {
	i := messageIndex(msg)
	if i < 0 {
		return nil, unknownMessage(msg)
	}
	return encodeText(i, words, version)
}

func encodeText(i int, words []string, version int) ([]byte, error) {
	m := newMessage(i)
	if err := parseMessage(m, words, version); err != nil {
		return nil, err
	}
	return EncodeMessage(m, version)
}

// DecodeText decodes a payload of message i into its text tokens (DECODE, RECV).
func DecodeText(i int, payload []byte, version int) ([]string, error) {
	m := newMessage(i)
	if err := DecodeMessage(payload, m, version); err != nil {
		return nil, err
	}
	return m.format(nil), nil
}

// Reencode decodes a payload of message i and encodes the decoded value again (ECHO).
func Reencode(i int, payload []byte, version int) ([]byte, error) {
	m := newMessage(i)
	if err := DecodeMessage(payload, m, version); err != nil {
		return nil, err
	}
	return EncodeMessage(m, version)
}

func unknownMessage(name string) error {
	return errRequest("unknown message %q", clip(name))
}

// f32bits and f64bits are the floats of bit patterns: extension defaults in generated code.
func f32bits(b uint32) float32 { return math.Float32frombits(b) }
func f64bits(b uint64) float64 { return math.Float64frombits(b) }
