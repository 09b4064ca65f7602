package kit

// BLAST and DRAIN (PEER_CONTRACT.md, "Streams"): frames 1..count of the stream message, frame i
// carrying P(i, len_i) (layout.go) with len_i = min_len + splitmix64(seed XOR i) mod
// (max_len - min_len + 1) data elements. The peers generate, check and time the traffic
// themselves, as bytes: no codec in the loop.

import (
	"encoding/hex"
	"sort"
	"strings"
	"time"

	"crosswire.dev/kit/codec"
)

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

type stream struct {
	seed, minLen, maxLen uint64
}

// length is the number of data elements of frame i.
func (s stream) length(i uint64) uint64 {
	return s.minLen + splitmix64(s.seed^i)%(s.maxLen-s.minLen+1)
}

// streamArgs parses BLAST's and DRAIN's count, seed, min_len and max_len (words 1 to 4), then
// checks them against the layout of the last STREAM, and that there is a connection.
func (p *peer) streamArgs(rq *request) (count uint64, s stream, l *layout, err error) {
	var v [4]uint64
	for i := range v {
		n, over, ok := number(rq.words[i+1])
		if !ok || over {
			return 0, s, nil, fail("request", "bad count %s", quote(rq.words[i+1]))
		}
		v[i] = n
	}
	count, s = v[0], stream{seed: v[1], minLen: v[2], maxLen: v[3]}
	if l, err = p.streamLayout(); err != nil {
		return 0, s, nil, err
	}
	if bits := 8 * uint(p.fr.SeqLen); bits < 64 && count >= uint64(1)<<bits {
		return 0, s, nil, fail("request", "count %d is more than the frame's %d-byte seq holds", count, p.fr.SeqLen)
	}
	if s.minLen > s.maxLen {
		return 0, s, nil, fail("request", "min_len %d is more than max_len %d", s.minLen, s.maxLen)
	}
	if s.maxLen > l.max {
		return 0, s, nil, fail("request", "max_len %d is more than the stream's max %d", s.maxLen, l.max)
	}
	if p.conn == nil {
		return 0, s, nil, fail("runtime", "no connection: CONNECT or ACCEPT first")
	}
	l.grow(s.maxLen)
	return count, s, l, nil
}

// BLAST <count> <seed> <min_len> <max_len>: send frames 1..count of the stream.
func (p *peer) blast(rq *request) error {
	if err := rq.usage(4, "BLAST <count> <seed> <min_len> <max_len>"); err != nil {
		return err
	}
	count, s, l, err := p.streamArgs(rq)
	if err != nil {
		return err
	}
	var bytes uint64
	var h codec.Head // its plain header values: 0
	out := p.outFrame(l.size(s.maxLen))
	payload := out[p.fr.HeaderLen:]
	waits, missed, start := p.waitsNow(), p.missedNow(), time.Now()
	for i := uint64(1); i <= count; i++ {
		n := p.fr.PutFrame(out, l.msg, i, &h.Plain, l.put(payload, i, s.length(i)))
		if err := p.frameOut(out[:n]); err != nil {
			return err
		}
		bytes += uint64(n)
	}
	p.addf("sent=%d bytes=%d ns=%d waits=%d missed=%d", count, bytes, time.Since(start).Nanoseconds(),
		p.waitsNow()-waits, p.missedNow()-missed)
	return nil
}

// DRAIN <count> <seed> <min_len> <max_len> <timeout_ms>: receive until count frames arrived,
// the deadline passed or the other side left, and tally them, comparing each payload with
// P(seq, len_seq) byte for byte (nothing is decoded). A frame that fails its checksum counts as
// received and corrupt, without its bytes or its seq; one whose header is wrong, or cut short
// by the other side leaving, dropped the connection (the stream is out of step) and ends the
// stream. The first corrupt frame's offset and bytes are kept for the reply (bad_at, bad).
func (p *peer) drain(rq *request) error {
	if err := rq.usage(5, "DRAIN <count> <seed> <min_len> <max_len> <timeout_ms>"); err != nil {
		return err
	}
	count, s, l, err := p.streamArgs(rq)
	if err != nil {
		return err
	}
	deadline, err := deadlineOf(rq.words[5])
	if err != nil {
		return err
	}
	t := tally{count: count, next: 1}
	waits, missed := p.waitsNow(), p.missedNow()
	var start time.Time
	for t.received < count {
		frame, h, err := p.frameIn(deadline, l.dir)
		if err == nil {
			if start.IsZero() {
				start = time.Now()
			}
			if err = p.fr.CheckFrame(frame, &h); err == nil {
				ours := h.Msg == l.msg && h.Seq >= 1 && h.Seq <= count
				good := ours && l.matches(p.fr.Payload(frame, &h), h.Seq, s.length(h.Seq))
				t.add(h.Msg == l.msg, h.Seq, good, frame)
				continue
			}
		}
		switch kind := kindOf(err); {
		case kind == "decode": // a bad checksum (read whole), or a refused header or a cut frame (the end)
			t.received++
			t.corrupted(t.bytes, frame)
			if p.conn == nil {
				return p.drainReply(&t, start, waits, missed)
			}
		case kind == "timeout" || strings.Contains(err.Error(), "closed"):
			return p.drainReply(&t, start, waits, missed) // what arrived is reported; the rest is lost
		default:
			return err
		}
	}
	return p.drainReply(&t, start, waits, missed)
}

func (p *peer) drainReply(t *tally, start time.Time, waits, missed uint64) error {
	var ns int64
	if !start.IsZero() {
		ns = time.Since(start).Nanoseconds()
	}
	p.addf("received=%d lost=%d duplicated=%d reordered=%d corrupt=%d bytes=%d ns=%d waits=%d missed=%d",
		t.received, t.count-t.unique, t.duplicated, t.reordered, t.corrupt, t.bytes, ns, p.waitsNow()-waits,
		p.missedNow()-missed)
	if t.corrupt > 0 {
		p.addf("bad_at=%d bad=%s", t.badAt, hex.EncodeToString(t.bad))
	}
	return nil
}

// tallyMaxMissing bounds the seqs a tally remembers as skipped over (8 bytes each).
const tallyMaxMissing = 1 << 20

// maxBad: DRAIN's bad gives at most this many bytes of the first corrupt frame.
const maxBad = 4096

// tally is what DRAIN saw. Seqs skipped over are remembered, sorted, so that a late one counts
// as reordered and a repeated one as duplicated.
type tally struct {
	count, next                    uint64 // next: one more than the highest seq seen
	received, unique, bytes        uint64
	duplicated, reordered, corrupt uint64
	badAt                          uint64 // the first corrupt frame's offset in the stream
	bad                            []byte // and its first maxBad bytes, as read
	missing                        []uint64
}

// corrupted counts a corrupt frame that started at offset at, keeping the first one's bytes.
// Every frame before the first corrupt one counted its bytes (a frame that fails its checksum,
// the one kind not counted, is itself corrupt), so bytes up to it is its offset: a good frame
// costs nothing more.
func (t *tally) corrupted(at uint64, frame []byte) {
	if t.corrupt++; t.corrupt == 1 {
		t.badAt, t.bad = at, append([]byte(nil), frame[:min(len(frame), maxBad)]...)
	}
}

// add counts one frame whose checksum held: ours says it is of the stream message, good that
// its payload is the stream's frame seq.
func (t *tally) add(ours bool, seq uint64, good bool, frame []byte) {
	t.received++
	t.bytes += uint64(len(frame))
	if !ours || seq < 1 || seq > t.count {
		t.corrupted(t.bytes-uint64(len(frame)), frame)
		return
	}
	switch {
	case seq >= t.next:
		t.remember(t.next, seq)
		t.next = seq + 1
	case t.found(seq):
		t.reordered++
	default:
		t.duplicated++
		return
	}
	t.unique++
	if !good {
		t.corrupted(t.bytes-uint64(len(frame)), frame)
	}
}

// remember notes seqs [from, to) as missing, unless there are too many to keep.
func (t *tally) remember(from, to uint64) {
	if to-from > uint64(tallyMaxMissing-len(t.missing)) {
		return // too many: forget them (a late one then counts as duplicated)
	}
	for ; from < to; from++ {
		t.missing = append(t.missing, from)
	}
}

// found removes seq from the missing ones: true if it was there.
func (t *tally) found(seq uint64) bool {
	i := sort.Search(len(t.missing), func(k int) bool { return t.missing[k] >= seq })
	if i == len(t.missing) || t.missing[i] != seq {
		return false
	}
	t.missing = append(t.missing[:i], t.missing[i+1:]...)
	return true
}
