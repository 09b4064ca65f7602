package codec

import (
	"fmt"
	"strconv"
)

// Error is a codec error. Kind is "decode" or "encode" (Code and Path as PEER_CONTRACT.md's
// Errors section), or "request" (a bad value token, an unknown message name), or
// "unsupported" (a schema without a frame). Error() is the text after "ERR " on the reply line.
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

// Errorf is an error of a kind without code and path: "request", "runtime", "timeout",
// "unsupported".
func Errorf(kind, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// FrameCut is the error of a frame that the other side cut short by closing the connection.
func FrameCut(got, need int) error {
	return DecodeErr("truncated", "frame", fmt.Sprintf("closed after %d of %d bytes", got, need))
}

func DecodeErr(code, path, msg string) *Error {
	return &Error{Kind: "decode", Code: code, Path: path, Msg: msg}
}

func encodeErr(code, msg string) *Error {
	return &Error{Kind: "encode", Code: code, Msg: msg}
}

// at puts an enclosing field (".name") and the indexes of the arrays and vecs on the way to the
// value in front of the path of a decode or encode error. Other errors pass unchanged.
func At(err error, field string, index ...int) error {
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
	return DecodeErr("truncated", "", fmt.Sprintf("needs %d bytes, %d left", need, left))
}

func errTooLong(kind string, n, max uint64, unit string) error {
	return &Error{Kind: kind, Code: "length", Msg: fmt.Sprintf("%d %s, at most %d", n, unit, max)}
}

func errNotWhole(n, width uint64) error {
	return DecodeErr("length", "", fmt.Sprintf("%d bytes is not a whole number of %d-byte elements", n, width))
}

func errDisagree(first, other uint64) error {
	return DecodeErr("length", "", fmt.Sprintf("its count fields disagree: %d and %d elements", first, other))
}

func errBigintTooLong(n int, max uint64) error {
	return encodeErr("length", fmt.Sprintf("needs %d bytes, at most %d", n, max))
}

// errEnum is a value an enum does not take: not listed (`enum`), or beyond an open enum's
// base type (`range`).
func ErrEnum(kind, value, name string, open bool) error {
	if open {
		return &Error{Kind: kind, Code: "range", Msg: value + " does not fit the base type of enum " + name}
	}
	return &Error{Kind: kind, Code: "enum", Msg: value + " is not a value of enum " + name}
}

// errFlags is a value a flag set does not take: beyond its base type (`range`), or with bits
// it does not name (`flags`).
func ErrFlags(kind string, v, mask, max uint64, name string) error {
	if v > max {
		return &Error{Kind: kind, Code: "range", Msg: fmt.Sprintf("%d does not fit the base type of flags %s", v, name)}
	}
	return &Error{Kind: kind, Code: "flags", Msg: fmt.Sprintf("%#x sets bits %#x that flags %s does not name", v, v&^mask, name)}
}

func ErrUnion(kind, tag, name string) error {
	return &Error{Kind: kind, Code: "union", Msg: tag + " picks no case of union " + name}
}

// errConst is a constant field with another value; path is "" in a payload (the generated code
// puts the field in front), frame.<name> in a header.
func ErrConst(path string, got, want uint64, size int, signed bool) error {
	show := func(v uint64) string {
		if signed {
			return strconv.FormatInt(int64(SignExtend(v, 8*size)), 10)
		}
		return fmt.Sprintf("%#x", v)
	}
	return DecodeErr("const", path, show(got)+" is not the constant "+show(want))
}

func errRange(value string, min, max string) error {
	return encodeErr("range", value+" is outside "+min+".."+max)
}

func ErrRequest(format string, args ...any) error {
	return &Error{Kind: "request", Msg: fmt.Sprintf(format, args...)}
}
