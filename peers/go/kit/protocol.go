package kit

import (
	"errors"
	"fmt"

	"crosswire.dev/kit/codec"
)

// KitVersion is this kit's version: HELLO says kit=<it>, and the harness runs only a peer whose
// kit is the one it speaks (docs/kits.md).
const KitVersion = 2

// Protocol is what the generated code hands the kit: the schema's messages and frame. The kit
// knows no message: everything it does with one goes through this table.
type Protocol struct {
	Manifest   string       // peer.toml, embedded by the program: HELLO reports what it declares
	MaxPayload uint64       // format.max_payload
	Newest     int          // format.version
	Frame      *codec.Frame // nil: the schema declares no frame
	Messages   []Message
}

// Message is one message of the table. Parse and Format are the text form (always the generated
// code's); Encode and Decode the payload (the generated codec's, or an adapter's). A framing
// adapter sets EncodeFrame and DecodeFrame instead: the library writes and reads whole frames.
type Message struct {
	Info   *codec.Info
	Parse  func(words []string, version int) (any, error)
	Format func(v any) []string
	Encode func(v any, version int) ([]byte, error)
	Decode func(payload []byte, version int) (any, error)

	EncodeFrame func(v any, seq uint64, plain []uint64) ([]byte, error)
	DecodeFrame func(frame []byte) (any, error)
}

// ErrUnimplemented is what an adapter's stub returns for a message it does not wrap: the kit
// answers `ERR unsupported adapter: M is not implemented` and the harness skips the cell.
var ErrUnimplemented = errors.New("not implemented")

// adapterError is the reply of an adapter's error in encode or decode of message m: the
// unsupported reply for ErrUnimplemented, a codec error as it is (an adapter calling the
// reference codec), else `ERR runtime adapter <op> M: <text>` with the text cut at 200
// characters.
func adapterError(err error, op, m string) error {
	var ce *codec.Error
	switch {
	case errors.Is(err, ErrUnimplemented):
		return fail("unsupported", "adapter: %s is not implemented", m)
	case errors.As(err, &ce):
		return err
	}
	text := err.Error()
	if len(text) > 200 {
		text = text[:200]
	}
	return fail("runtime", "adapter %s %s: %s", op, m, text)
}

// adapted calls an adapter's function, turning a panic into an error (a crash in Go code is a
// reply; a crash in C code under cgo still ends the process).
func adapted[T any](op, m string, call func() (T, error)) (v T, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fail("runtime", "adapter %s %s: panic: %s", op, m, clipText(fmt.Sprint(r)))
		}
	}()
	v, err = call()
	if err != nil {
		return v, adapterError(err, op, m)
	}
	return v, nil
}

func clipText(s string) string {
	if len(s) > 200 {
		return s[:200]
	}
	return s
}
