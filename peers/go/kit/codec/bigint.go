package codec

// Bigint is the value of a bigint field (WIRE.md "bigint"): an integer of any size as its
// two's complement, little-endian (a big-endian field's bytes are reversed on the wire).
// Decoded values are in the minimal form (zero is empty); encoding accepts any form of the
// integer (extra sign-extension bytes are dropped).
type Bigint []byte

// minimalLen is the length of the minimal form of two's-complement little-endian bytes:
// redundant sign-extension bytes dropped, zero as no bytes at all.
func MinimalLen(b []byte) int {
	n := len(b)
	for n >= 2 {
		last, before := b[n-1], b[n-2]
		if last == 0x00 && before < 0x80 || last == 0xff && before >= 0x80 {
			n--
		} else {
			break
		}
	}
	if n == 1 && b[0] == 0 {
		n = 0
	}
	return n
}

// negate turns the little-endian bytes b into their two's-complement negation, in place.
func negate(b []byte) {
	carry := true
	for i := range b {
		b[i] = ^b[i]
		if carry {
			b[i]++
			carry = b[i] == 0
		}
	}
}

// bigintFromMagnitude is the minimal two's complement of a sign and a little-endian magnitude.
func bigintFromMagnitude(negative bool, mag []byte) Bigint {
	b := append(mag, 0) // room for the sign
	if negative {
		negate(b)
	}
	return Bigint(b[:MinimalLen(b)])
}

// bigintToken is the text form of a bigint: "0x" or "-0x" and the magnitude in hex, no
// leading zeros ("0x0" for zero).
func BigintToken(v Bigint) string {
	negative := len(v) > 0 && v[len(v)-1] >= 0x80
	mag := append([]byte(nil), v...)
	if negative {
		negate(mag)
	}
	out := make([]byte, 0, 3+2*len(mag))
	if negative {
		out = append(out, '-')
	}
	out = append(out, '0', 'x')
	started := false
	for i := len(mag) - 1; i >= 0; i-- {
		for _, d := range [2]byte{mag[i] >> 4, mag[i] & 15} {
			if d != 0 || started {
				out = append(out, hexDigits[d])
				started = true
			}
		}
	}
	if !started {
		out = append(out, '0')
	}
	return string(out)
}

// bigintLen is the length of v's minimal form: what a count field of a bigint carries.
func BigintLen(v Bigint) int { return MinimalLen(v) }

// reverse turns b around in place: a big-endian bigint's bytes are the little-endian ones
// reversed.
func reverse(b []byte) {
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
}
