// Package codec is the protocol-free half of a crosswire Go codec: the leaf values of each kind
// of type in either byte order (Reader, Writer, Tokens for the text form of PEER_CONTRACT.md),
// bigints, hex, errors and their paths, the CRC loops, and the frame (frame.go) driven by the
// sizes and functions a generated Frame gives it.
//
// The other half is generated from a schema by harness/codegen/go.py: a Go type per enum, flag
// set, struct, union and message whose methods walk the fields in schema order calling this
// package, the message table (Info), and the frame's header and checksum as the schema declares
// them. Any schema changes only the generated file; this package compiles once for all.
package codec

import (
	"fmt"
	"math"
)

// Info is what the generated message table says of a message.
type Info struct {
	Name      string
	ID        uint32
	Direction string // "request", "response" or "" (either)
	Seed      byte   // the checksum's seed byte
	Newest    int    // the newest version that added fields to it (1: none)
	Fixed     int    // its size when every value has the same, else -1
	Sizes     []int  // with trailing zeros trimmed: its size at each version (index), else nil
}

// Encode is the payload of a message value, as a peer speaking version writes it: the fields
// of that version and older (encode writes them), and with trailing zeros trimmed if the
// schema says so (Sizes is not nil).
func Encode(m *Info, version int, encode func(*Writer, int) error) ([]byte, error) {
	w := Writer{b: make([]byte, 0, 64)}
	if err := encode(&w, version); err != nil {
		return nil, At(err, m.Name)
	}
	if m.Sizes != nil {
		n := len(w.b)
		for n > 1 && w.b[n-1] == 0 {
			n--
		}
		w.b = w.b[:n]
	}
	return w.b, nil
}

// Decode reads a payload with decode as a peer speaking version reads it (WIRE.md
// "Versions"): every byte must be used, but for those of fields newer than the version.
func Decode(m *Info, payload []byte, version int, decode func(*Reader, int) error) error {
	if m.Sizes != nil { // the trimmed zeros come back
		if size := m.Sizes[version]; len(payload) < size {
			payload = append(append(make([]byte, 0, size), payload...), make([]byte, size-len(payload))...)
		}
	}
	r := Reader{data: payload}
	if err := decode(&r, version); err != nil {
		return At(err, m.Name)
	}
	if left := r.Left(); left > 0 && version >= m.Newest {
		return DecodeErr("trailing", m.Name, fmt.Sprintf("%d bytes left over", left))
	}
	return nil
}

// Parse reads the text form of a message value (every word of it) with parse.
func Parse(m *Info, words []string, version int, parse func(*Tokens) error) error {
	t := Tokens{words: words, path: []byte(m.Name), Version: version}
	if err := parse(&t); err != nil {
		return err
	}
	t.Mute = false
	return t.finish(m.Name)
}

// UnknownMessage is the request error of a message name the schema does not have.
func UnknownMessage(name string) error {
	return ErrRequest("unknown message %q", clip(name))
}

// F32bits and F64bits are the floats of bit patterns: extension defaults in generated code.
func F32bits(b uint32) float32 { return math.Float32frombits(b) }
func F64bits(b uint64) float64 { return math.Float64frombits(b) }
