package kit

// STREAM (PEER_CONTRACT.md, "Streams"): the stream message and its layout, which say the bytes
// of P(i, n), the payload of the stream's frame with seq i and n data elements, without the
// codec: a template (the payload with no data), the n elements at byte `at` of it (element j
// is (i + j) mod 256 in `width` bytes, le or be), and up to 8 patches, each the integer
// mul*n + add (mod 2^(8*width)) in width bytes over the template's bytes at offset (a length
// prefix, a count). BLAST writes P(i, len_i) as bytes, DRAIN compares with it byte for byte,
// the bench frame carries P(0, n).

import "crosswire.dev/kit/codec"

// maxPatches is the most patches a layout may have.
const maxPatches = 8

// patch is one integer of the template that changes with n.
type patch struct {
	offset, width int
	big           bool
	mul, add      uint64
}

// layout is what STREAM said.
type layout struct {
	msg      int    // the stream message
	dir      string // its direction ("" for either): what DRAIN, PING, PONG and SINK read
	template []byte
	at       int
	width    int
	big      bool
	max      uint64 // the most data elements a frame carries
	patches  []patch
	ramp     []byte // the elements 0, 1, ... 255, 0, 1, ...: frame i's data are ramp[(i mod 256)*width:] (grow)
	rest     []byte // scratch: the template patched for some n
}

// putUint writes the low 8*width bits of v in width bytes (1 to 8), big-endian or not.
func putUint(b []byte, width int, big bool, v uint64) {
	for k := 0; k < width; k++ {
		if big {
			b[width-1-k] = byte(v >> (8 * k))
		} else {
			b[k] = byte(v >> (8 * k))
		}
	}
}

// size is the payload size of a frame with n data elements.
func (l *layout) size(n uint64) int { return len(l.template) + int(n)*l.width }

// grow makes the ramp long enough for frames of up to n data elements: 256 + n elements, each
// in width bytes, so that frame i's data are one slice of it (no loop per byte in BLAST or DRAIN).
func (l *layout) grow(n uint64) {
	have := len(l.ramp) / l.width
	if need := 256 + int(n); need > have {
		ramp := make([]byte, need*l.width)
		copy(ramp, l.ramp)
		for e := have; e < need; e++ {
			putUint(ramp[e*l.width:], l.width, l.big, uint64(e&0xff))
		}
		l.ramp = ramp
	}
}

// data is the n data elements of frame i, as bytes (a slice of the ramp, grown for n already:
// do not write to it).
func (l *layout) data(i, n uint64) []byte {
	at := int(i&0xff) * l.width
	return l.ramp[at : at+int(n)*l.width]
}

// patched is the template with its patches for n data elements (l.rest, until the next call).
func (l *layout) patched(n uint64) []byte {
	copy(l.rest, l.template)
	for k := range l.patches {
		pt := &l.patches[k]
		putUint(l.rest[pt.offset:], pt.width, pt.big, pt.mul*n+pt.add)
	}
	return l.rest
}

// put writes P(i, n) into dst (which has room for it) and returns its size.
func (l *layout) put(dst []byte, i, n uint64) int {
	rest := l.patched(n)
	d := copy(dst, rest[:l.at])
	d += copy(dst[d:], l.data(i, n))
	d += copy(dst[d:], rest[l.at:])
	return d
}

// matches is whether payload is P(i, n) byte for byte.
func (l *layout) matches(payload []byte, i, n uint64) bool {
	if len(payload) != l.size(n) {
		return false
	}
	rest, end := l.patched(n), l.at+int(n)*l.width
	return string(payload[:l.at]) == string(rest[:l.at]) && string(payload[l.at:end]) == string(l.data(i, n)) &&
		string(payload[end:]) == string(rest[l.at:])
}

// elements is the n of a payload of size bytes (the bench frame's), ok false when no n in
// 0..max gives that size.
func (l *layout) elements(size uint64) (uint64, bool) {
	if size < uint64(len(l.template)) || (size-uint64(len(l.template)))%uint64(l.width) != 0 {
		return 0, false
	}
	n := (size - uint64(len(l.template))) / uint64(l.width)
	return n, n <= l.max
}

// STREAM <Message> <template> <at> <width> <order> <max> <k> [<offset> <width> <order> <mul> <add>]...
// The request's errors first (its words, the numbers' ranges), then ERR unsupported for a
// schema whose frame has no seq field. A refused STREAM leaves no layout.
func (p *peer) streamRequest(rq *request) error {
	p.stream = nil
	const usage = "STREAM <Message> <template> <at> <width> <order> <max> <k> [<offset> <width> <order> <mul> <add>]..."
	if len(rq.words) < 8 {
		return fail("request", "usage: %s", usage)
	}
	w := rq.words
	k, err := parseCount(w[7], "patch count", maxPatches)
	if err != nil {
		return err
	}
	if len(w) != 8+5*int(k) {
		return fail("request", "usage: %s (%d patches: %d words, got %d)", usage, k, 8+5*k, len(w))
	}
	msg, err := p.message(w[1])
	if err != nil {
		return err
	}
	template, err := parseBlob(w[2])
	if err != nil {
		return err
	}
	if uint64(len(template)) > p.proto.MaxPayload {
		return fail("request", "a template of %d bytes, more than max_payload %d", len(template), p.proto.MaxPayload)
	}
	at, err := parseCount(w[3], "at", uint64(len(template)))
	if err != nil {
		return err
	}
	width, big, err := parseWidth(w[4], w[5])
	if err != nil {
		return err
	}
	max, err := parseCount(w[6], "max", (p.proto.MaxPayload-uint64(len(template)))/uint64(width))
	if err != nil {
		return err
	}
	l := &layout{msg: msg, dir: p.proto.Messages[msg].Info.Direction, template: template, at: int(at),
		width: width, big: big, max: max, rest: make([]byte, len(template))}
	for j := 0; j < int(k); j++ {
		pw := w[8+5*j : 13+5*j]
		offset, err := parseCount(pw[0], "patch offset", uint64(len(template)))
		if err != nil {
			return err
		}
		pt := patch{offset: int(offset)}
		if pt.width, pt.big, err = parseWidth(pw[1], pw[2]); err != nil {
			return err
		}
		if pt.mul, err = parseCount(pw[3], "mul", ^uint64(0)); err != nil {
			return err
		}
		if pt.add, err = parseCount(pw[4], "add", ^uint64(0)); err != nil {
			return err
		}
		end := pt.offset + pt.width
		switch {
		case end > len(template):
			return fail("request", "patch %d: bytes %d..%d are outside the template of %d bytes", j+1, pt.offset, end-1,
				len(template))
		case pt.offset < l.at && end > l.at:
			return fail("request", "patch %d: bytes %d..%d straddle the data at %d", j+1, pt.offset, end-1, l.at)
		}
		for q, other := range l.patches {
			if pt.offset < other.offset+other.width && other.offset < end {
				return fail("request", "patch %d overlaps patch %d", j+1, q+1)
			}
		}
		l.patches = append(l.patches, pt)
	}
	switch {
	case p.fr == nil:
		return codec.ErrNoFrame()
	case p.fr.SeqLen == 0:
		return fail("unsupported", "the streams need a frame with a seq field")
	}
	p.stream = l
	return nil
}

// parseWidth parses a width (1 to 8) and a byte order (le or be).
func parseWidth(width, order string) (int, bool, error) {
	n, over, ok := number(width)
	if !ok || over || n < 1 || n > 8 {
		return 0, false, fail("request", "bad width %s (1 to 8)", quote(width))
	}
	if order != "le" && order != "be" {
		return 0, false, fail("request", "bad byte order %s (le or be)", quote(order))
	}
	return int(n), order == "be", nil
}

// streamLayout is the layout of the last STREAM, or the request error saying there is none.
func (p *peer) streamLayout() (*layout, error) {
	if p.stream == nil {
		return nil, fail("request", "no STREAM: describe the stream message first")
	}
	return p.stream, nil
}

// readDir is the direction the bench and stream requests read: the stream message's, "" before
// any STREAM.
func (p *peer) readDir() string {
	if p.stream == nil {
		return ""
	}
	return p.stream.dir
}
