package kit

// Unit tests of the parts the contract tests reach only through whole programs: STREAM's
// parsing and the layout's payloads against a codec written on package codec (testProtocol
// below), the stream and tally arithmetic, the percentiles, and the shm rings in one process (a
// ring far smaller than the frames, so every copy wraps). The acceptance is the pytest suite;
// these run with `go test` (also `GOARCH=s390x go test -exec qemu-s390x .`).

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"crosswire.dev/kit/codec"
)

const testMaxPayload = 1 << 16

// chunkValue is the test protocol's message: a u32 tag, then bytes with a u32 length (at most
// max_payload - 8): the shape of crosswire's own stream message.
type chunkValue struct {
	tag  uint32
	data []byte
}

// testProtocol is a protocol of one message, Chunk (chunkValue), in a frame of a u8 id, a u32
// seq and a u32 length, little-endian, as generated code would describe it.
func testProtocol() *Protocol {
	info := &codec.Info{Name: "Chunk", ID: 7, Newest: 1, Fixed: -1}
	frame := &codec.Frame{HeaderLen: 9, SeqAt: 1, SeqLen: 4, Messages: []codec.Info{*info},
		PutHeader: func(dst []byte, m *codec.Info, n int, seq uint64, _ *codec.Plain) {
			dst[0] = byte(m.ID)
			binary.LittleEndian.PutUint32(dst[1:], uint32(seq))
			binary.LittleEndian.PutUint32(dst[5:], uint32(n))
		},
		ParseHeader: func(b []byte, _ string) (codec.Head, error) {
			n := int(binary.LittleEndian.Uint32(b[5:]))
			if b[0] != 7 || n > testMaxPayload {
				return codec.Head{}, codec.Errorf("decode", "bad header")
			}
			return codec.Head{Seq: uint64(binary.LittleEndian.Uint32(b[1:])), PayloadLen: n, Size: 9 + n}, nil
		},
		PutSeq: func(b []byte, seq uint64) { binary.LittleEndian.PutUint32(b[1:], uint32(seq)) },
		SeqOf:  func(b []byte) uint64 { return uint64(binary.LittleEndian.Uint32(b[1:])) },
	}
	return &Protocol{MaxPayload: testMaxPayload, Newest: 1, Frame: frame, Messages: []Message{{
		Info: info,
		Parse: func(words []string, _ int) (any, error) {
			if len(words) != 2 {
				return nil, codec.Errorf("request", "bad Chunk %q", words)
			}
			tag, err := strconv.ParseUint(words[0], 10, 32)
			data, ok := codec.ParseHex(words[1])
			if err != nil || !ok {
				return nil, codec.Errorf("request", "bad Chunk %q", words)
			}
			return &chunkValue{uint32(tag), data}, nil
		},
		Format: func(v any) []string {
			b := v.(*chunkValue)
			return []string{strconv.FormatUint(uint64(b.tag), 10), codec.Hex(b.data)}
		},
		Encode: func(v any, version int) ([]byte, error) {
			b := v.(*chunkValue)
			return codec.Encode(info, version, func(w *codec.Writer, _ int) error {
				w.U32(b.tag)
				return w.Bytes(b.data, codec.PU32, testMaxPayload-8)
			})
		},
		Decode: func(b []byte, version int) (any, error) {
			v := new(chunkValue)
			return v, codec.Decode(info, b, version, func(r *codec.Reader, _ int) error {
				if err := r.U32(&v.tag); err != nil {
					return err
				}
				n, err := r.Count(codec.PU32, 1, testMaxPayload-8)
				if err != nil {
					return err
				}
				return r.Bytes(&v.data, n)
			})
		},
	}}}
}

// chunkStream is the STREAM request of Chunk, as harness/streams.py infers it.
var chunkStream = fmt.Sprintf("STREAM Chunk x0000000000000000 8 1 le %d 1 4 4 le 1 0", testMaxPayload-8)

// ask answers one request line on p.
func ask(p *peer, line string) string {
	p.answer([]byte(line))
	return string(p.reply)
}

// streamPeer is the peer of testProtocol after chunkStream.
func streamPeer(t *testing.T) *peer {
	t.Helper()
	p := newPeer(testProtocol())
	if got := ask(p, chunkStream); got != "OK" {
		t.Fatal(got)
	}
	return p
}

func TestTheLayoutsPayloadIsTheCodecs(t *testing.T) {
	p := streamPeer(t)
	l := p.stream
	for _, n := range []uint64{0, 1, 2, 255, 256, 300, 4000, testMaxPayload - 8} {
		l.grow(n)
		for _, i := range []uint64{0, 1, 255, 256, 70000} {
			data := make([]byte, n)
			for j := range data {
				data[j] = byte(i + uint64(j))
			}
			want, err := p.encodeValue(0, []string{"0", blob(data)})
			if err != nil {
				t.Fatal(err)
			}
			got := make([]byte, l.size(n))
			if size := l.put(got, i, n); size != len(got) || !bytes.Equal(got, want) {
				t.Fatalf("P(%d, %d): %d bytes %.40x, the codec's %.40x", i, n, size, got, want)
			}
			if !l.matches(want, i, n) || (n > 0 && l.matches(want, i+1, n)) || l.matches(want[:len(want)-1], i, n) {
				t.Fatalf("P(%d, %d): matches is wrong", i, n)
			}
			if _, err := p.decodeValue(0, got); err != nil {
				t.Fatalf("P(%d, %d) does not decode: %v", i, n, err)
			}
		}
	}
}

// slowP is P(i, n) as PEER_CONTRACT.md words it, one byte at a time.
func slowP(template []byte, at, width int, big bool, patches []patch, i, n uint64) []byte {
	t := append([]byte{}, template...)
	for _, pt := range patches {
		v := pt.mul*n + pt.add
		for k := 0; k < pt.width; k++ {
			b := byte(v >> (8 * k))
			if pt.big {
				t[pt.offset+pt.width-1-k] = b
			} else {
				t[pt.offset+k] = b
			}
		}
	}
	var data []byte
	for j := uint64(0); j < n; j++ {
		e := make([]byte, width)
		if big {
			e[width-1] = byte(i + j)
		} else {
			e[0] = byte(i + j)
		}
		data = append(data, e...)
	}
	return append(append(append([]byte{}, t[:at]...), data...), t[at:]...)
}

func TestWideElementsAndPatchesAfterTheData(t *testing.T) {
	// a u16 count before the data (le), big-endian u32 elements, then a u8 and a be u24 size that
	// move with the data, and a byte that stays
	p := newPeer(testProtocol())
	line := "STREAM Chunk x0000aa0000000000bb 2 4 be 100 3 0 2 le 1 0 2 1 le 4 3 3 3 be 4 7"
	if got := ask(p, line); got != "OK" {
		t.Fatal(got)
	}
	l := p.stream
	tmpl := []byte{0, 0, 0xaa, 0, 0, 0, 0, 0, 0xbb}
	pts := []patch{{0, 2, false, 1, 0}, {2, 1, false, 4, 3}, {3, 3, true, 4, 7}}
	l.grow(100)
	for _, n := range []uint64{0, 1, 63, 64, 100} {
		for _, i := range []uint64{0, 3, 254, 1000} {
			want := slowP(tmpl, 2, 4, true, pts, i, n)
			got := make([]byte, l.size(n))
			l.put(got, i, n)
			if !bytes.Equal(got, want) || !l.matches(want, i, n) {
				t.Fatalf("P(%d, %d) = %x, want %x", i, n, got, want)
			}
		}
	}
	if n, ok := l.elements(9 + 4*7); !ok || n != 7 {
		t.Fatalf("elements: %d %v", n, ok)
	}
	for _, size := range []uint64{8, 10, 9 + 4*101} {
		if _, ok := l.elements(size); ok {
			t.Fatalf("elements(%d) is a whole n", size)
		}
	}
}

func TestStreamRequests(t *testing.T) {
	p := newPeer(testProtocol())
	for _, line := range []string{"BLAST 1 0 0 0", "DRAIN 1 0 0 0 10", "PING 1 0 8 10", "FLOOD 1 8", "SINK 1 8 10"} {
		if got := ask(p, line); !strings.HasPrefix(got, "ERR request no STREAM") {
			t.Errorf("%s before STREAM: %s", line, got)
		}
	}
	max := testMaxPayload - 8
	for line, want := range map[string]string{
		chunkStream:                            "OK",
		"STREAM Chunk x00 0 1 le 0 0":          "OK",
		"STREAM Chunk x 0 8 be 8192 0":         "OK",
		"STREAM Nope x00 0 1 le 0 0":           "ERR request unknown message",
		"STREAM Chunk x00 0 1 le 0":            "ERR request usage",
		"STREAM Chunk x00 0 1 le 0 1 0 1 le 0": "ERR request usage",
		"STREAM Chunk x00 0 1 le 0 9" + strings.Repeat(" 0 1 le 0 0", 9):           "ERR request bad patch count",
		"STREAM Chunk x0 0 1 le 0 0":                                               "ERR request bad blob",
		"STREAM Chunk x00 2 1 le 0 0":                                              "ERR request bad at",
		"STREAM Chunk x00 0 0 le 0 0":                                              "ERR request bad width",
		"STREAM Chunk x00 0 9 le 0 0":                                              "ERR request bad width",
		"STREAM Chunk x00 0 1 LE 0 0":                                              "ERR request bad byte order",
		fmt.Sprintf("STREAM Chunk x00 0 1 le %d 0", max+7):                         "OK",
		fmt.Sprintf("STREAM Chunk x00 0 1 le %d 0", max+8):                         "ERR request bad max",
		"STREAM Chunk x 0 8 be 8193 0":                                             "ERR request bad max",
		"STREAM Chunk x" + strings.Repeat("00", testMaxPayload+1) + " 0 1 le 0 0":  "ERR request a template",
		"STREAM Chunk x0000 0 1 le 0 1 1 2 le 1 0":                                 "ERR request patch 1: bytes 1..2 are outside",
		"STREAM Chunk x0000 1 1 le 0 1 0 2 le 1 0":                                 "ERR request patch 1: bytes 0..1 straddle",
		"STREAM Chunk x000000 3 1 le 0 2 1 2 le 1 0 0 2 be 1 0":                    "ERR request patch 2 overlaps patch 1",
		"STREAM Chunk x000000 1 1 le 0 2 0 1 le 1 0 1 2 be 18446744073709551615 0": "OK",
		"STREAM Chunk x000000 1 1 le 0 1 0 1 le 18446744073709551616 0":            "ERR request bad mul",
	} {
		if got := ask(p, line); !strings.HasPrefix(got, want) {
			t.Errorf("%.60s: %s, want %s", line, got, want)
		}
	}
	// a refused STREAM leaves none; the lengths are in elements, at most the layout's max
	ask(p, "STREAM Nope x00 0 1 le 0 0")
	if got := ask(p, "BLAST 1 0 0 0"); !strings.HasPrefix(got, "ERR request no STREAM") {
		t.Errorf("BLAST after a refused STREAM: %s", got)
	}
	ask(p, "STREAM Chunk x0000 2 4 be 10 1 0 2 le 1 0")
	for line, want := range map[string]string{
		"BLAST 1 0 0 11": "ERR request max_len 11", "BLAST 1 0 3 2": "ERR request min_len",
		"BLAST 1 0 0 10": "ERR runtime no connection", "BLAST 4294967296 0 0 1": "ERR request count",
		"FLOOD 1 3": "ERR request bad size", "FLOOD 1 43": "ERR request bad size", "FLOOD 1 6": "ERR runtime no connection",
		"SINK 1 42 10": "ERR runtime no connection",
	} {
		if got := ask(p, line); !strings.HasPrefix(got, want) {
			t.Errorf("%s: %s, want %s", line, got, want)
		}
	}
	// no seq field: unsupported; no frame: unsupported
	noSeq := testProtocol()
	noSeq.Frame.SeqLen = 0
	if got := ask(newPeer(noSeq), chunkStream); !strings.HasPrefix(got, "ERR unsupported") {
		t.Errorf("without a seq field: %s", got)
	}
	noFrame := testProtocol()
	noFrame.Frame = nil
	if got := ask(newPeer(noFrame), chunkStream); got != "ERR unsupported the schema declares no frame" {
		t.Errorf("without a frame: %s", got)
	}
}

func TestTheBenchFrame(t *testing.T) {
	p := streamPeer(t)
	for _, size := range []uint64{8, 64, 4096, testMaxPayload} {
		frame, err := p.benchFrame(strconv.FormatUint(size, 10))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := p.encodeValue(0, []string{"0", blob(p.stream.data(0, size-8))})
		if h, err := p.fr.ParseHead(frame, ""); err != nil || h.Size != len(frame) || h.Seq != 0 ||
			!bytes.Equal(frame[9:], want) {
			t.Fatalf("the bench frame of %d bytes: %v", size, err)
		}
	}
	if _, err := p.benchFrame("7"); kindOf(err) != "request" {
		t.Fatalf("a bench frame of 7 bytes: %v", err)
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
