package main

// The Blob message that streams and the bench carry, written and read here directly rather
// than through the codec's text form (a megabyte of data would be two of hex). Its layout, as
// protocols/schema.toml declares it and WIRE.md encodes it:
//
//	checksum  u32                     4 bytes, little-endian
//	data      bytes, max = 1048568    u32 length L, little-endian, then L bytes
//
// peer_test.go checks this against the codec.

import (
	"encoding/binary"
	"hash/crc32"

	"crosswire/peers/go/codec"
)

// blobDataMax is Blob.data's max in the schema: max_payload minus the checksum and the length.
const blobDataMax = codec.MaxPayload - 8

// blobID is the Blob message's id; ok is false when the schema has none.
func blobID() (id uint16, ok bool) { return codec.MessageID("Blob") }

// putBlob writes a Blob payload into dst: the checksum of data (CRC-32, IEEE 802.3, zlib's),
// then data with its length. data may already sit at dst[8:]. It returns the payload length.
func putBlob(dst, data []byte) int {
	n := copy(dst[8:], data)
	binary.LittleEndian.PutUint32(dst[0:], crc32.ChecksumIEEE(dst[8:8+n]))
	binary.LittleEndian.PutUint32(dst[4:], uint32(n))
	return 8 + n
}

// readBlob decodes a Blob payload as the codec would: ok is false exactly when decoding
// fails (too short: truncated; L over the max: length; bytes after the data: trailing).
func readBlob(payload []byte) (checksum uint32, data []byte, ok bool) {
	if len(payload) < 8 {
		return 0, nil, false
	}
	n := uint64(binary.LittleEndian.Uint32(payload[4:]))
	if n > blobDataMax || 8+n != uint64(len(payload)) {
		return 0, nil, false
	}
	return binary.LittleEndian.Uint32(payload), payload[8:], true
}
