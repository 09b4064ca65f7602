package codec

// Hex digits are written lower case and read in either case (PEER_CONTRACT.md, "Values as
// text"). encoding/hex would do, but these few lines keep the token rules in one place.

const hexDigits = "0123456789abcdef"

// Hex is a blob token: "x" and the bytes in lowercase hex.
func Hex(b []byte) string {
	out := make([]byte, 1+2*len(b))
	out[0] = 'x'
	for i, c := range b {
		out[1+2*i] = hexDigits[c>>4]
		out[2+2*i] = hexDigits[c&15]
	}
	return string(out)
}

// ParseHex reads a blob token: "x" and an even number of hex digits, either case.
func ParseHex(tok string) ([]byte, bool) {
	if len(tok) == 0 || tok[0] != 'x' {
		return nil, false
	}
	return unhex(tok[1:])
}

// unhex is the bytes of an even number of hex digits.
func unhex(digits string) ([]byte, bool) {
	if len(digits)%2 != 0 {
		return nil, false
	}
	out := make([]byte, len(digits)/2)
	for i := range out {
		hi, ok1 := hexValue(digits[2*i])
		lo, ok2 := hexValue(digits[2*i+1])
		if !ok1 || !ok2 {
			return nil, false
		}
		out[i] = hi<<4 | lo
	}
	return out, true
}

func hexValue(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// hexByte is "0x" and two hex digits, for messages.
func hexByte(b byte) string {
	return string([]byte{'0', 'x', hexDigits[b>>4], hexDigits[b&15]})
}
