package kit

// The Blob message that streams and the bench carry, written and read here directly rather
// than through the codec's text form (a megabyte of data would be two of hex). Its layout, as
// crosswire's protocols/schema.toml declares it and WIRE.md encodes it:
//
//	checksum  u32                                4 bytes, little-endian
//	data      bytes, max = max_payload - 8       u32 length L, little-endian, then L bytes
//
// The peer compiles for any schema; the streams and the bench work on one whose Blob is this
// one, behind a frame with a seq field (whatever else the frame declares), which checkBlob makes
// sure of at run time, with the codec itself. Other schemas get `ERR unsupported`.

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"strconv"

	"crosswire.dev/kit/codec"
)

// blobDataMax is Blob.data's max: max_payload minus the checksum and the length (newPeer sets
// it from the protocol).
var blobDataMax uint64

// blobSchema is what checkBlob found: the Blob message's index, or why there is none.
type blobSchema struct {
	msg int
	err error
}

// blobMessage is the Blob message's index, checked once; an unsupported error when the schema
// has no Blob of crosswire's layout behind a frame with a seq field.
func (p *peer) blobMessage() (int, error) {
	if p.blob == nil {
		p.blob = p.checkBlob()
	}
	return p.blob.msg, p.blob.err
}

func (p *peer) checkBlob() *blobSchema {
	no := func(what string) *blobSchema {
		return &blobSchema{err: fail("unsupported", "streams and the bench need %s", what)}
	}
	if p.fr == nil {
		return &blobSchema{err: codec.ErrNoFrame()}
	}
	if p.fr.SeqLen == 0 {
		return no("a frame with a seq field")
	}
	i := p.lookup("Blob")
	if i < 0 || p.proto.Messages[i].Info.Direction != "" || p.proto.MaxPayload < 8 {
		return no("the Blob message of crosswire's schema")
	}
	data := []byte{1, 2, 3}
	payload := make([]byte, 8+len(data))
	putBlob(payload, data)
	crc := strconv.FormatUint(uint64(crc32.ChecksumIEEE(data)), 10)
	encoded, err := p.encodeValue(i, []string{crc, blob(data)})
	if err != nil || !bytes.Equal(encoded, payload) ||
		p.decodeCode(i, blobDataMax) != "truncated" || p.decodeCode(i, blobDataMax+1) != "length" {
		return no("a Blob of crosswire's layout: u32 checksum, then bytes of at most max_payload - 8 with a u32 length")
	}
	return &blobSchema{msg: i}
}

// decodeCode is the error code of decoding a Blob whose length says n and whose data is missing.
func (p *peer) decodeCode(i int, n uint64) string {
	payload := binary.LittleEndian.AppendUint32(make([]byte, 4), uint32(n))
	_, err := p.decodeValue(i, payload)
	if e, ok := err.(*codec.Error); ok {
		return e.Code
	}
	return ""
}

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
