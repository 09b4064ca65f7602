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
		tl.add(true, seq, true, make([]byte, 10))
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

// summedProtocol is testProtocol with a one-byte checksum after the payload: the sum of the
// header's and the payload's bytes.
func summedProtocol() *Protocol {
	proto := testProtocol()
	f := proto.Frame
	parse := f.ParseHeader
	f.TrailerLen, f.Checksum = 1, "sum"
	f.ParseHeader = func(b []byte, dir string) (codec.Head, error) {
		h, err := parse(b, dir)
		h.Size++
		return h, err
	}
	f.Sum = func(frame []byte, n int, _ byte) uint64 {
		var s byte
		for _, b := range frame[:9+n] {
			s += b
		}
		return uint64(s)
	}
	f.PutSum = func(frame []byte, n int, sum uint64) { frame[9+n] = byte(sum) }
	f.GetSum = func(frame []byte, n int) uint64 { return uint64(frame[9+n]) }
	return proto
}

// shmPair is the two ends of a fresh shm connection in this process: the creator's, then the
// attacher's.
func shmPair(t *testing.T, capacity uint64) (Conn, Conn) {
	t.Helper()
	name := fmt.Sprintf("/go-peer-pair-%d", os.Getpid())
	ln, err := shmListen(name, capacity)
	if err != nil {
		t.Fatal(err)
	}
	far := time.Now().Add(10 * time.Second)
	attacher, err := shmConnect(name, far)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	creator, err := ln.Accept(far)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	return creator, attacher
}

// streamFrame is frame i of the stream (seed, min_len and max_len of s) as BLAST writes it.
func streamFrame(p *peer, s stream, i uint64) []byte {
	var h codec.Head
	p.stream.grow(s.maxLen)
	out := p.outFrame(p.stream.size(s.maxLen))
	n := p.fr.PutFrame(out, p.stream.msg, i, &h.Plain, p.stream.put(out[p.fr.HeaderLen:], i, s.length(i)))
	return append([]byte(nil), out[:n]...)
}

// TestDrainNamesTheFirstCorruptFrame feeds DRAIN, through a real shm connection, a stream with
// a corrupt frame of each kind first: a bad checksum, a wrong payload, a seq outside 1..count,
// a refused header, a frame cut short by the writer leaving; bad_at is its offset (the sizes of
// the frames before it) and bad its bytes in hex (only the header's when it was refused).
func TestDrainNamesTheFirstCorruptFrame(t *testing.T) {
	s := stream{seed: 3, minLen: 0, maxLen: 40}
	good := func(p *peer, i uint64) []byte { return streamFrame(p, s, i) }
	resum := func(p *peer, f []byte) []byte {
		n := len(f) - 10
		p.fr.PutSum(f, n, p.fr.Sum(f, n, 0))
		return f
	}
	for _, c := range []struct {
		name  string
		make  func(p *peer) (frames [][]byte, bad []byte, leave bool) // bad: what bad must say
		count uint64
		want  string
	}{
		{"bad checksum", func(p *peer) ([][]byte, []byte, bool) {
			f := good(p, 2)
			f[len(f)-1]++
			return [][]byte{good(p, 1), f, good(p, 3)}, f, false
		}, 3, "received=3 lost=1 duplicated=0 reordered=0 corrupt=1"},
		{"wrong payload", func(p *peer) ([][]byte, []byte, bool) {
			f := good(p, 2)
			f[len(f)-2] ^= 0x80 // the last data byte (len_2 > 0 for seed 3)
			f = resum(p, f)
			return [][]byte{good(p, 1), f, good(p, 3)}, f, false
		}, 3, "received=3 lost=0 duplicated=0 reordered=0 corrupt=1"},
		{"seq outside", func(p *peer) ([][]byte, []byte, bool) {
			f := good(p, 9)
			return [][]byte{good(p, 1), good(p, 2), f, good(p, 3)}, f, false
		}, 3, "received=3 lost=1 duplicated=0 reordered=0 corrupt=1"}, // count frames read: 3 is left
		{"refused header", func(p *peer) ([][]byte, []byte, bool) {
			f := good(p, 3)
			f[0] = 8 // not Chunk's id: the header is refused, only it is reported
			return [][]byte{good(p, 1), good(p, 2), f, good(p, 4)}, f[:9], false
		}, 4, "received=3 lost=2 duplicated=0 reordered=0 corrupt=1"},
		{"cut short", func(p *peer) ([][]byte, []byte, bool) {
			f := good(p, 2)
			f = f[:len(f)-3]
			return [][]byte{good(p, 1), f}, f, true
		}, 3, "received=2 lost=2 duplicated=0 reordered=0 corrupt=1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			drainer, sender := newPeer(summedProtocol()), newPeer(summedProtocol())
			for _, p := range []*peer{drainer, sender} {
				if got := ask(p, chunkStream); got != "OK" {
					t.Fatal(got)
				}
			}
			reader, writer := shmPair(t, 1<<16)
			drainer.conn = reader
			defer drainer.closeAll()
			frames, bad, leave := c.make(sender)
			at := 0
			for _, f := range frames {
				if &f[0] == &bad[0] {
					break
				}
				at += len(f)
			}
			for _, f := range frames {
				if err := writer.Write(f); err != nil {
					t.Fatal(err)
				}
			}
			if leave {
				writer.Close()
			} else {
				defer writer.Close()
			}
			got := ask(drainer, fmt.Sprintf("DRAIN %d %d %d %d 2000", c.count, s.seed, s.minLen, s.maxLen))
			if !strings.HasPrefix(got, "OK "+c.want+" ") {
				t.Fatalf("%s\nwant %s", got, c.want)
			}
			want := fmt.Sprintf(" missed=0 bad_at=%d bad=%x", at, bad)
			if !strings.HasSuffix(got, want) {
				t.Fatalf("%s\nwant ...%s", got, want)
			}
		})
	}
	// a clean stream: no bad_at, no bad
	drainer, sender := newPeer(summedProtocol()), newPeer(summedProtocol())
	ask(drainer, chunkStream)
	ask(sender, chunkStream)
	reader, writer := shmPair(t, 1<<16)
	drainer.conn, sender.conn = reader, writer
	defer drainer.closeAll()
	defer sender.closeAll()
	if got := ask(sender, "BLAST 50 3 0 40"); !strings.HasPrefix(got, "OK sent=50 ") || !strings.HasSuffix(got, " missed=0") {
		t.Fatal(got)
	}
	if got := ask(drainer, "DRAIN 50 3 0 40 2000"); !strings.Contains(got, " corrupt=0 ") || !strings.HasSuffix(got, " missed=0") {
		t.Fatal(got)
	}
}

// TestALostWakeUpIsCounted: a writer that publishes without the wake-up it owes (it stores head
// and neither bumps data_seq nor wakes) costs the sleeping reader one slice, and the reader
// counts it in missed; a correct writer costs no slice and is counted nothing.
func TestALostWakeUpIsCounted(t *testing.T) {
	if waitKind != "futex" {
		t.Skip("the wait primitive here tells no time-out from a wake")
	}
	for _, faulty := range []bool{false, true} {
		creator, attacher := shmPair(t, 64)
		r, w := creator.(*shmConn), attacher.(*shmConn)
		r.strategy = futexOnly
		go func() {
			for r.seg.load32(r.in.ctl+ctlConsumerWaiting) != 1 { // the reader is about to sleep...
				time.Sleep(time.Millisecond)
			}
			time.Sleep(10 * time.Millisecond) // ...and is asleep
			if !faulty {
				w.Write([]byte{42})
				return
			}
			w.seg.mem[w.out.data+int(w.head&w.mask)] = 42
			w.head++
			w.seg.store64(w.out.ctl+ctlHead, w.head)
		}()
		start := time.Now()
		buf := make([]byte, 8)
		n, err := r.Read(buf, start.Add(5*time.Second))
		took := time.Since(start)
		if n != 1 || err != nil || buf[0] != 42 {
			t.Fatalf("faulty %v: read %d, %v", faulty, n, err)
		}
		if want := map[bool]uint64{false: 0, true: 1}[faulty]; r.Missed() != want || r.Waits() == 0 {
			t.Errorf("faulty %v: missed %d (want %d), waits %d, after %v", faulty, r.Missed(), want, r.Waits(), took)
		}
		creator.Close()
		attacher.Close()
	}
}
