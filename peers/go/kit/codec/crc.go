package codec

// The CRCs of WIRE.md "Checksums", a byte at a time through a 256-entry table (the generated
// crcTable of the schema's algorithm, made by harness/crc.py). Every algorithm of the catalogue
// reflects input and output alike or neither, so two loops serve them all: a reflected CRC
// shifts right, a plain one shifts left. init and xorout are the generated code's.

// crcReflected feeds data to a reflected CRC of 16 or 32 bits.
func CrcReflected(table *[256]uint32, crc uint32, data []byte) uint32 {
	for _, b := range data {
		crc = crc>>8 ^ table[byte(crc)^b]
	}
	return crc
}

// crcForward feeds data to a plain (not reflected) CRC of width bits.
func CrcForward(table *[256]uint32, width uint, crc uint32, data []byte) uint32 {
	mask := uint32(1)<<width - 1
	if width == 32 {
		mask = ^uint32(0)
	}
	for _, b := range data {
		crc = (crc<<8)&mask ^ table[byte(crc>>(width-8))^b]
	}
	return crc
}
