package kit

// PING, PONG, FLOOD and SINK (PEER_CONTRACT.md, "Benchmarks"): round trips and one-way
// streaming of the bench frame, timed by the peer itself on the monotonic clock. The bench
// frame is built once; only its seq changes. Nothing is decoded in a timed loop: these measure
// the transport, not the codec.

import (
	"bytes"
	"slices"
	"time"

	"crosswire.dev/kit/codec"
)

// benchMaxCount bounds count and warmup: a PING keeps count samples, 8 bytes each.
const benchMaxCount = 10_000_000

// benchFrame parses a bench frame size S (a payload of S bytes: P(0, n), n data elements of
// the last STREAM's layout) and builds the frame in p.frame, seq 0. It returns the frame. Its
// seq is rewritten in place from frame to frame, so the frame has no checksum to keep right.
func (p *peer) benchFrame(token string) ([]byte, error) {
	l, err := p.streamLayout()
	if err != nil {
		return nil, err
	}
	size, over, ok := number(token)
	var n uint64
	if ok && !over {
		n, ok = l.elements(size)
	}
	if !ok || over {
		return nil, fail("request", "bad size %s: a payload of the stream message has %d + n x %d bytes, n from 0 to %d",
			quote(token), len(l.template), l.width, l.max)
	}
	if p.fr.Checksum != "" {
		return nil, fail("unsupported", "the bench frame needs a frame without a checksum (its seq changes in place)")
	}
	l.grow(n)
	out := p.outFrame(l.size(n))
	var h codec.Head // its plain header values: 0
	m := p.fr.PutFrame(out, l.msg, 0, &h.Plain, l.put(out[p.fr.HeaderLen:], 0, n))
	return out[:m], nil
}

// benchCheck: the frame read is the bench frame with seq i (its header; all of it when whole).
func (p *peer) benchCheck(what string, i uint64, got, frame []byte, whole bool) error {
	at, end, hl := p.fr.SeqAt, p.fr.SeqAt+p.fr.SeqLen, p.fr.HeaderLen
	switch {
	case len(got) != len(frame):
		return fail("runtime", "%s %d: a frame of %d bytes, expected %d", what, i, len(got), len(frame))
	case !bytes.Equal(got[:at], frame[:at]) || !bytes.Equal(got[end:hl], frame[end:hl]):
		return fail("runtime", "%s %d: the header differs from the bench frame's", what, i)
	case p.fr.SeqOf(got) != i:
		return fail("runtime", "%s %d: seq %d, expected %d", what, i, p.fr.SeqOf(got), i)
	case whole && !bytes.Equal(got[hl:], frame[hl:]):
		return fail("runtime", "%s %d: the payload differs from the bench frame's", what, i)
	}
	return nil
}

// PING <count> <warmup> <size> <timeout_ms>: warmup + count round trips, the last count timed.
func (p *peer) ping(rq *request) error {
	if err := rq.usage(4, "PING <count> <warmup> <size> <timeout_ms>"); err != nil {
		return err
	}
	count, err := parseCount(rq.words[1], "count", benchMaxCount)
	if err != nil {
		return err
	}
	warmup, err := parseCount(rq.words[2], "count", benchMaxCount)
	if err != nil {
		return err
	}
	frame, err := p.benchFrame(rq.words[3])
	if err != nil {
		return err
	}
	deadline, err := deadlineOf(rq.words[4])
	if err != nil {
		return err
	}
	waits := p.waitsNow()
	samples := make([]uint64, count)
	for i := uint64(1); i <= warmup+count; i++ {
		p.fr.PutSeq(frame, i)
		t0 := time.Now()
		if err := p.frameOut(frame); err != nil {
			return err
		}
		got, _, err := p.frameIn(deadline, p.readDir())
		if err != nil {
			return err
		}
		t1 := time.Now()
		if err := p.benchCheck("round", i, got, frame, i == warmup+count); err != nil {
			return err
		}
		if i > warmup {
			samples[i-warmup-1] = uint64(t1.Sub(t0))
		}
	}
	var l [7]uint64 // min p50 p90 p99 p999 max mean
	if count > 0 {
		slices.Sort(samples)
		var sum uint64
		for _, s := range samples {
			sum += s
		}
		l = [7]uint64{samples[0], rank(samples, 500), rank(samples, 900), rank(samples, 990),
			rank(samples, 999), samples[count-1], sum / count}
	}
	p.addf("rounds=%d min=%d p50=%d p90=%d p99=%d p999=%d max=%d mean=%d waits=%d", count, l[0], l[1], l[2], l[3],
		l[4], l[5], l[6], p.waitsNow()-waits)
	return nil
}

// rank is the nearest-rank percentile of sorted samples, perMille in tenths of a percent: the
// sample at index ceil(perMille / 1000 * n) - 1.
func rank(sorted []uint64, perMille uint64) uint64 {
	k := (perMille*uint64(len(sorted)) + 999) / 1000
	if k == 0 {
		k = 1
	}
	return sorted[k-1]
}

// PONG <count> <timeout_ms>: count frames, each whole (header checked), written back as they came.
func (p *peer) pong(rq *request) error {
	if err := rq.usage(2, "PONG <count> <timeout_ms>"); err != nil {
		return err
	}
	count, err := parseCount(rq.words[1], "count", benchMaxCount)
	if err != nil {
		return err
	}
	deadline, err := deadlineOf(rq.words[2])
	if err != nil {
		return err
	}
	waits := p.waitsNow()
	for i := uint64(0); i < count; i++ {
		got, _, err := p.frameIn(deadline, p.readDir())
		if err != nil {
			return err
		}
		if err := p.frameOut(got); err != nil {
			return err
		}
	}
	p.addf("rounds=%d waits=%d", count, p.waitsNow()-waits)
	return nil
}

// FLOOD <count> <size>: the bench frame count times, seq 1..count; ns from before the first
// write to after the last.
func (p *peer) flood(rq *request) error {
	if err := rq.usage(2, "FLOOD <count> <size>"); err != nil {
		return err
	}
	count, err := parseCount(rq.words[1], "count", benchMaxCount)
	if err != nil {
		return err
	}
	frame, err := p.benchFrame(rq.words[2])
	if err != nil {
		return err
	}
	waits, start := p.waitsNow(), time.Now()
	for i := uint64(1); i <= count; i++ {
		p.fr.PutSeq(frame, i)
		if err := p.frameOut(frame); err != nil {
			return err
		}
	}
	ns := time.Since(start).Nanoseconds()
	p.addf("sent=%d bytes=%d ns=%d waits=%d", count, count*uint64(len(frame)), ns, p.waitsNow()-waits)
	return nil
}

// SINK <count> <size> <timeout_ms>: count bench frames, each header checked, the first and the
// last whole; ns from the end of the first frame to the end of the last (count - 1 frames).
func (p *peer) sink(rq *request) error {
	if err := rq.usage(3, "SINK <count> <size> <timeout_ms>"); err != nil {
		return err
	}
	count, err := parseCount(rq.words[1], "count", benchMaxCount)
	if err != nil {
		return err
	}
	frame, err := p.benchFrame(rq.words[2])
	if err != nil {
		return err
	}
	deadline, err := deadlineOf(rq.words[3])
	if err != nil {
		return err
	}
	waits := p.waitsNow()
	var start time.Time
	var ns int64
	for i := uint64(1); i <= count; i++ {
		got, _, err := p.frameIn(deadline, p.readDir())
		if err != nil {
			return err
		}
		if err := p.benchCheck("frame", i, got, frame, i == 1 || i == count); err != nil {
			return err
		}
		if i == 1 {
			start = time.Now()
		}
	}
	if count > 0 {
		ns = time.Since(start).Nanoseconds()
	}
	p.addf("received=%d bytes=%d ns=%d waits=%d", count, count*uint64(len(frame)), ns, p.waitsNow()-waits)
	return nil
}
