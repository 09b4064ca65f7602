package codec

import (
	"fmt"
	"strconv"
)

// Error is a codec error. Kind is "decode" or "encode" (Code and Path as PEER_CONTRACT.md's
// Errors section), or "request" (a bad value token, an unknown message name), or
// "unsupported" (a message id the schema does not have). Error() is the text after "ERR " on
// the reply line.
//
// A decode or encode error is made where the bad byte or value is found, with the path
// relative to the value being read or written; each enclosing struct field and array index,
// then the message name, is put in front on the way out (see at), so that the path ends up as
// Track.poses[1].name. Nothing is formatted on the way when nothing fails.
type Error struct {
	Kind, Code, Path, Msg string
}

func (e *Error) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("%s %s", e.Kind, e.Msg)
	}
	return fmt.Sprintf("%s %s %s %s", e.Kind, e.Code, e.Path, e.Msg)
}

// BreaksStream reports whether a stream is out of step after this error while reading a
// frame: an error in the frame header, or a frame cut short. The peer closes the connection.
func (e *Error) BreaksStream() bool {
	return e.Kind == "decode" && (e.Path == "frame" || len(e.Path) > 6 && e.Path[:6] == "frame.")
}

// Errorf is an error of a kind without code and path: "request", "runtime", "timeout",
// "unsupported".
func Errorf(kind, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// FrameCut is the error of a frame that the other side cut short by closing the connection.
func FrameCut(got, need int) error {
	return decodeErr("truncated", "frame", fmt.Sprintf("closed after %d of %d bytes", got, need))
}

func decodeErr(code, path, msg string) *Error {
	return &Error{Kind: "decode", Code: code, Path: path, Msg: msg}
}

func encodeErr(code, msg string) *Error {
	return &Error{Kind: "encode", Code: code, Msg: msg}
}

// at puts an enclosing field (".name") and the indexes of the arrays and vecs on the way to the
// value in front of the path of a decode or encode error. Other errors pass unchanged.
func at(err error, field string, index ...int) error {
	e, ok := err.(*Error)
	if !ok || e.Code == "" {
		return err
	}
	prefix := field
	for _, i := range index {
		prefix += "[" + strconv.Itoa(i) + "]"
	}
	e.Path = prefix + e.Path
	return e
}

// Errors of the wire, with the numbers that explain them (the same words as the other peers).

func errTruncated(need, left int) error {
	return decodeErr("truncated", "", fmt.Sprintf("needs %d bytes, %d left", need, left))
}

func errTooLong(kind string, n, max uint64, unit string) error {
	return &Error{Kind: kind, Code: "length", Msg: fmt.Sprintf("%d %s, at most %d", n, unit, max)}
}

func errBigintTooLong(n int, max uint32) error {
	return encodeErr("length", fmt.Sprintf("needs %d bytes, at most %d", n, max))
}

func errEnum(kind, value, name string) error {
	return &Error{Kind: kind, Code: "enum", Msg: value + " is not a value of " + name}
}

func errRange(value string, min, max string) error {
	return encodeErr("range", value+" is outside "+min+".."+max)
}

func errRequest(format string, args ...any) error {
	return &Error{Kind: "request", Msg: fmt.Sprintf(format, args...)}
}
