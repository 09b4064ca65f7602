package kit

// Unit tests of the parts the contract tests reach only through whole programs: the Blob
// layout against a Blob codec written on package codec (testProtocol below), the stream and tally arithmetic, the percentiles, and the shm rings
// in one process (a ring far smaller than the frames, so every copy wraps). The acceptance is
// the pytest suite; these run with `go test` (also `GOARCH=s390x go test -exec qemu-s390x .`).

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"crosswire.dev/kit/codec"
)

// testProtocol is a protocol of one message, crosswire's Blob (u32 checksum, then bytes with a
// u32 length of at most max_payload - 8), in a frame of a u8 id, a u32 seq and a u32 length,
// little-endian, as generated code would describe it.
func testProtocol() *Protocol {
	const maxPayload = 1 << 16
	info := &codec.Info{Name: "Blob", ID: 7, Newest: 1, Fixed: -1}
	type blobValue struct {
		sum  uint32
		data []byte
	}
	frame := &codec.Frame{HeaderLen: 9, SeqAt: 1, SeqLen: 4, Messages: []codec.Info{*info},
		PutHeader: func(dst []byte, m *codec.Info, n int, seq uint64, _ *codec.Plain) {
			dst[0] = byte(m.ID)
			binary.LittleEndian.PutUint32(dst[1:], uint32(seq))
			binary.LittleEndian.PutUint32(dst[5:], uint32(n))
		},
		ParseHeader: func(b []byte, _ string) (codec.Head, error) {
			n := int(binary.LittleEndian.Uint32(b[5:]))
			if b[0] != 7 || n > maxPayload {
				return codec.Head{}, codec.Errorf("decode", "bad header")
			}
			return codec.Head{Seq: uint64(binary.LittleEndian.Uint32(b[1:])), PayloadLen: n, Size: 9 + n}, nil
		},
		PutSeq: func(b []byte, seq uint64) { binary.LittleEndian.PutUint32(b[1:], uint32(seq)) },
		SeqOf:  func(b []byte) uint64 { return uint64(binary.LittleEndian.Uint32(b[1:])) },
	}
	return &Protocol{MaxPayload: maxPayload, Newest: 1, Frame: frame, Messages: []Message{{
		Info: info,
		Parse: func(words []string, _ int) (any, error) {
			if len(words) != 2 {
				return nil, codec.Errorf("request", "bad Blob %q", words)
			}
			sum, err := strconv.ParseUint(words[0], 10, 32)
			data, ok := codec.ParseHex(words[1])
			if err != nil || !ok {
				return nil, codec.Errorf("request", "bad Blob %q", words)
			}
			return &blobValue{uint32(sum), data}, nil
		},
		Format: func(v any) []string {
			b := v.(*blobValue)
			return []string{strconv.FormatUint(uint64(b.sum), 10), codec.Hex(b.data)}
		},
		Encode: func(v any, version int) ([]byte, error) {
			b := v.(*blobValue)
			return codec.Encode(info, version, func(w *codec.Writer, _ int) error {
				w.U32(b.sum)
				return w.Bytes(b.data, codec.PU32, maxPayload-8)
			})
		},
		Decode: func(b []byte, version int) (any, error) {
			v := new(blobValue)
			return v, codec.Decode(info, b, version, func(r *codec.Reader, _ int) error {
				if err := r.U32(&v.sum); err != nil {
					return err
				}
				n, err := r.Count(codec.PU32, 1, maxPayload-8)
				if err != nil {
					return err
				}
				return r.Bytes(&v.data, n)
			})
		},
	}}}
}

// needBlob is the peer of testProtocol and its Blob's index, checked as at run time.
func needBlob(t *testing.T) (*peer, int) {
	t.Helper()
	p := newPeer(testProtocol())
	i, err := p.blobMessage()
	if err != nil {
		t.Fatal(err)
	}
	return p, i
}

func TestBlobIsTheCodecsBlob(t *testing.T) {
	p, _ := needBlob(t)
	for _, n := range []int{0, 1, 300} {
		data := make([]byte, n)
		fillStream(7, data)
		payload := make([]byte, 8+n)
		putBlob(payload, data)
		want, err := p.encodeValue(0, []string{strconv.FormatUint(uint64(crc32.ChecksumIEEE(data)), 10), blob(data)})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(payload, want) {
			t.Fatalf("%d bytes: putBlob %x, codec %x", n, payload, want)
		}
		if _, got, ok := readBlob(payload); !ok || !bytes.Equal(got, data) {
			t.Fatalf("%d bytes: readBlob refused its own payload", n)
		}
	}
}

func TestReadBlobRefusesWhatTheCodecRefuses(t *testing.T) {
	p, id := needBlob(t)
	good := make([]byte, 8+3)
	putBlob(good, []byte{1, 2, 3})
	over := append([]byte{}, good...)
	binary.LittleEndian.PutUint32(over[4:], uint32(blobDataMax+1))
	for name, payload := range map[string][]byte{
		"good": good, "short": good[:7], "cut": good[:10], "trailing": append(append([]byte{}, good...), 0),
		"over the max": over,
	} {
		_, codecErr := p.decodeValue(id, payload)
		if _, _, ok := readBlob(payload); ok != (codecErr == nil) {
			t.Errorf("%s: readBlob says %v, the codec %v", name, ok, codecErr)
		}
	}
}

func TestBlobDataMaxIsTheSchemas(t *testing.T) {
	p, _ := needBlob(t)
	for _, n := range []uint64{blobDataMax, blobDataMax + 1} {
		_, err := p.encodeValue(0, []string{"0", blob(make([]byte, n))})
		if (err == nil) != (n == blobDataMax) {
			t.Errorf("Blob.data of %d bytes: %v", n, err)
		}
	}
}

func TestSplitmix64(t *testing.T) {
	if got := splitmix64(0); got != 0xe220a8397b1dcdaf {
		t.Fatalf("splitmix64(0) = %#x", got)
	}
	s := stream{seed: 42, minLen: 3, maxLen: 9}
	for i := uint64(1); i < 1000; i++ {
		if n := s.length(i); n < 3 || n > 9 {
			t.Fatalf("len_%d = %d", i, n)
		}
	}
}

func TestTally(t *testing.T) {
	tl := tally{count: 5, next: 1}
	for _, seq := range []uint64{1, 3, 2, 2, 5, 9} {
		tl.add(true, seq, true, 10)
	}
	got := fmt.Sprintf("received=%d lost=%d duplicated=%d reordered=%d corrupt=%d bytes=%d", tl.received,
		tl.count-tl.unique, tl.duplicated, tl.reordered, tl.corrupt, tl.bytes)
	if want := "received=6 lost=1 duplicated=1 reordered=1 corrupt=1 bytes=60"; got != want {
		t.Fatalf("%s, want %s", got, want)
	}
}

func TestNearestRank(t *testing.T) {
	s := make([]uint64, 1000)
	for i := range s {
		s[i] = uint64(i + 1)
	}
	for perMille, want := range map[uint64]uint64{500: 500, 900: 900, 990: 990, 999: 999} {
		if got := rank(s, perMille); got != want {
			t.Errorf("rank %d of 1..1000 = %d, want %d", perMille, got, want)
		}
	}
	if got := rank([]uint64{5, 6, 7}, 999); got != 7 {
		t.Errorf("p99.9 of 3 samples = %d, want the last", got)
	}
}

// TestShmStreamThroughASmallRing sends 20 000 bytes each way through 64-byte rings, in writes
// of up to 1000 bytes (larger than the ring) and reads of odd sizes, then closes one side.
func TestShmStreamThroughASmallRing(t *testing.T) {
	name := fmt.Sprintf("/go-peer-test-%d", os.Getpid())
	ln, err := shmListen(name, 64)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if b := ln.(*shmListener).seg.mem[offState : offState+4]; !bytes.Equal(b, []byte{1, 0, 0, 0}) {
		t.Fatalf("state is stored as % x, not little-endian 1", b)
	}
	far := time.Now().Add(10 * time.Second)
	attacher, err := shmConnect(name, far)
	if err != nil {
		t.Fatal(err)
	}
	creator, err := ln.Accept(far)
	if err != nil {
		t.Fatal(err)
	}
	if fd, err := shmOpen(name, false); err == nil {
		syscall.Close(fd)
		t.Errorf("ACCEPT left the name %s", name)
	}
	sent := make([]byte, 20000)
	for i := range sent {
		sent[i] = byte(i*7 + i/256)
	}
	for _, dir := range []struct{ from, to Conn }{{creator, attacher}, {attacher, creator}} {
		done := make(chan error, 1)
		go func(c Conn) {
			for at := 0; at < len(sent); at += 1000 {
				if err := c.Write(sent[at : at+1000]); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}(dir.from)
		var got []byte
		buf := make([]byte, 37)
		for len(got) < len(sent) {
			n, err := dir.to.Read(buf, far)
			if err != nil || n == 0 {
				t.Fatalf("read after %d bytes: %d, %v", len(got), n, err)
			}
			got = append(got, buf[:n]...)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, sent) {
			t.Fatal("the bytes differ")
		}
	}
	if _, err := creator.Read(make([]byte, 8), time.Now()); kindOf(err) != "timeout" {
		t.Fatalf("an empty ring at timeout 0: %v", err)
	}
	attacher.Close()
	if n, err := creator.Read(make([]byte, 8), far); n != 0 || err != nil {
		t.Fatalf("after the other side closed: %d, %v", n, err)
	}
	if err := creator.Write([]byte{1}); kindOf(err) != "runtime" {
		t.Fatalf("a write after the other side closed: %v", err)
	}
	creator.Close()
}
