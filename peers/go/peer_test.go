package main

// Unit tests of the parts the contract tests reach only through whole programs: the Blob
// layout against the codec, the stream and tally arithmetic, the percentiles, and the shm rings
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

	"crosswire/peers/go/codec"
)

// needBlob skips a test of the streams' Blob on a schema without crosswire's.
func needBlob(t *testing.T) int {
	t.Helper()
	i, err := newPeer().blobMessage()
	if err != nil {
		t.Skip(err)
	}
	return i
}

func TestBlobIsTheCodecsBlob(t *testing.T) {
	needBlob(t)
	for _, n := range []int{0, 1, 300} {
		data := make([]byte, n)
		fillStream(7, data)
		payload := make([]byte, 8+n)
		putBlob(payload, data)
		want, err := codec.EncodeText("Blob", []string{strconv.FormatUint(uint64(crc32.ChecksumIEEE(data)), 10), blob(data)},
			codec.Newest)
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
	id := needBlob(t)
	good := make([]byte, 8+3)
	putBlob(good, []byte{1, 2, 3})
	over := append([]byte{}, good...)
	binary.LittleEndian.PutUint32(over[4:], uint32(blobDataMax+1))
	for name, payload := range map[string][]byte{
		"good": good, "short": good[:7], "cut": good[:10], "trailing": append(append([]byte{}, good...), 0),
		"over the max": over,
	} {
		_, codecErr := codec.DecodeText(id, payload, codec.Newest)
		if _, _, ok := readBlob(payload); ok != (codecErr == nil) {
			t.Errorf("%s: readBlob says %v, the codec %v", name, ok, codecErr)
		}
	}
}

func TestBlobDataMaxIsTheSchemas(t *testing.T) {
	needBlob(t)
	for _, n := range []uint64{blobDataMax, blobDataMax + 1} {
		_, err := codec.EncodeText("Blob", []string{"0", blob(make([]byte, n))}, codec.Newest)
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
