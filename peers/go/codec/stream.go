package codec

import (
	"hash/crc32"
	"strconv"
)

// The traffic of BLAST/DRAIN and of the bench (PEER_CONTRACT.md, "Streams" and "Benchmarks"):
// frames carrying a Blob whose data is a known pattern and whose checksum is the CRC-32 of the
// data, so that the receiver can check every frame without the harness in the data path.

// Splitmix64 is the contract's splitmix64, modulo 2^64 (Go's unsigned arithmetic wraps).
func Splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// CRC32 is the CRC-32 of IEEE 802.3, the one of zlib's crc32.
func CRC32(b []byte) uint32 { return crc32.ChecksumIEEE(b) }

// Stream is the stream of one seed and length range: frame i (seq i, from 1) carries a Blob
// of len_i bytes, byte j being (i + j) mod 256, with
// len_i = min_len + splitmix64(seed XOR i) mod (max_len - min_len + 1).
type Stream struct {
	seed, min uint64
	span      uint64 // max_len - min_len + 1; 0 stands for 2^64 (min 0, max 2^64-1)
}

// NewStream is the stream of seed, minLen and maxLen; minLen above maxLen is a request error.
func NewStream(seed, minLen, maxLen uint64) (*Stream, error) {
	if minLen > maxLen {
		return nil, errRequest("min_len %d is more than max_len %d", minLen, maxLen)
	}
	return &Stream{seed: seed, min: minLen, span: maxLen - minLen + 1}, nil
}

// Len is len_i.
func (s *Stream) Len(i uint64) uint64 {
	r := Splitmix64(s.seed ^ i)
	if s.span != 0 {
		r %= s.span
	}
	return s.min + r // r < span, so min + r <= max_len
}

// pattern is frame i's data of n bytes.
func pattern(i uint64, n int) []byte {
	data := make([]byte, n)
	for j := range data {
		data[j] = byte(i + uint64(j))
	}
	return data
}

// AppendFrame appends the whole frame i to dst. A len_i longer than Blob.data allows is the
// codec's encode error; one longer than any payload is refused before anything of that size
// is allocated, with the error the codec gives for the shortest such data, its length
// replaced by len_i.
func (s *Stream) AppendFrame(dst []byte, i uint64) ([]byte, error) {
	n := s.Len(i)
	if n > MaxPayload {
		_, err := EncodeMessage(&Blob{Data: make([]byte, MaxPayload+1)})
		if e, ok := err.(*Error); ok {
			probe := strconv.Itoa(MaxPayload + 1)
			if len(e.Msg) >= len(probe) && e.Msg[:len(probe)] == probe {
				e.Msg = strconv.FormatUint(n, 10) + e.Msg[len(probe):]
			}
			return dst, e
		}
		return dst, errRequest("a Blob of %d bytes", n)
	}
	blob := Blob{Data: pattern(i, int(n))}
	blob.Checksum = CRC32(blob.Data)
	payload, err := EncodeMessage(&blob)
	if err != nil {
		return dst, err
	}
	return AppendFrame(dst, BlobID, i, payload), nil
}

// Check reports whether a frame's message and payload are frame i's Blob exactly: it decodes
// as a Blob with nothing left over, its data is the pattern of length len_i and its checksum
// the CRC-32 of the data. false is DRAIN's "corrupt".
func (s *Stream) Check(i uint64, msgType uint16, payload []byte) bool {
	var blob Blob
	if msgType != BlobID || DecodeMessage(payload, &blob) != nil {
		return false
	}
	if uint64(len(blob.Data)) != s.Len(i) || blob.Checksum != CRC32(blob.Data) {
		return false
	}
	for j, b := range blob.Data {
		if b != byte(i+uint64(j)) {
			return false
		}
	}
	return true
}

// BenchFrame is the bench frame of payload size `size`, seq 0 (SetSeq it per round): a Blob
// with size - 8 data bytes, byte j being j mod 256, and their CRC-32. size must be
// 8..MaxPayload (a request error otherwise).
func BenchFrame(size uint64) ([]byte, error) {
	if size < 8 || size > MaxPayload {
		return nil, errRequest("bad size %d: 8..%d", size, MaxPayload)
	}
	blob := Blob{Data: pattern(0, int(size-8))}
	blob.Checksum = CRC32(blob.Data)
	payload, err := EncodeMessage(&blob)
	if err != nil {
		return nil, err
	}
	return AppendFrame(make([]byte, 0, HeaderLen+len(payload)), BlobID, 0, payload), nil
}
