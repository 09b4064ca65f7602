package main

import (
	"encoding/hex"
	"strconv"
	"time"

	"crosswire/peers/go/codec"
)

// ------------------------------------------------------------------ reading frames

// fill reads until p.in holds n unused bytes or the deadline passes; what was read stays, so
// the next read completes the frame (PEER_CONTRACT.md: a RECV that times out part way keeps
// its bytes). The other side closing is `ERR runtime closed` between frames, and `ERR decode
// truncated frame` inside one, which also drops the connection.
func (p *peer) fill(n int, deadline time.Time) error {
	for p.inLen-p.inPos < n {
		have := p.inLen - p.inPos
		if p.inPos+n > len(p.in) { // make room: the unused bytes to the front, in a bigger buffer if need be
			in := p.in
			if n > len(in) {
				in = make([]byte, max(n, 2*len(in)))
			}
			copy(in, p.in[p.inPos:p.inLen])
			p.in, p.inPos, p.inLen = in, 0, have
		}
		got, err := p.conn.Read(p.in[p.inLen:], deadline)
		switch {
		case err != nil && kindOf(err) == "timeout":
			return fail("timeout", "waiting for a frame, %d of %d bytes read", have, n)
		case err != nil:
			return err
		case got == 0 && have == 0:
			return fail("runtime", "closed by the other side")
		case got == 0:
			p.closeConn()
			return codec.FrameCut(have, n)
		}
		p.inLen += got
	}
	return nil
}

// frameIn reads one whole frame for a receiver of direction dir ("request", "response" or ""),
// its header checked (WIRE.md "Receiving": the constants, the id, the length, which give the
// frame's size), without checking its checksum or decoding the payload. The frame is a slice
// of p.in, valid until the next read. A bad header closes the connection: the stream is out of
// step.
func (p *peer) frameIn(deadline time.Time, dir string) (frame []byte, h codec.Head, err error) {
	if !codec.HasFrame {
		return nil, h, fail("unsupported", "the schema declares no frame")
	}
	if p.conn == nil {
		return nil, h, fail("runtime", "no connection: CONNECT or ACCEPT first")
	}
	if err = p.fill(codec.HeaderLen, deadline); err != nil {
		return nil, h, err
	}
	if h, err = codec.ParseHead(p.in[p.inPos:p.inPos+codec.HeaderLen], dir); err != nil {
		p.closeConn()
		return nil, h, err
	}
	if err = p.fill(h.Size, deadline); err != nil {
		return nil, h, err
	}
	frame = p.in[p.inPos : p.inPos+h.Size]
	if p.inPos += h.Size; p.inPos == p.inLen {
		p.inPos, p.inLen = 0, 0 // the bytes stay where they are until the next read
	}
	return frame, h, nil
}

// ------------------------------------------------------------------ writing frames

// outFrame is p.frame with room for a frame of a payloadLen-byte payload.
func (p *peer) outFrame(payloadLen int) []byte {
	if n := codec.HeaderLen + payloadLen + codec.TrailerLen; n > len(p.frame) {
		p.frame = make([]byte, max(n, 2*len(p.frame)))
	}
	return p.frame
}

// frameOut writes all of a frame.
func (p *peer) frameOut(frame []byte) error {
	if p.conn == nil {
		return fail("runtime", "no connection: CONNECT or ACCEPT first")
	}
	return p.conn.Write(frame)
}

// ------------------------------------------------------------------ requests

// ENCODE <Message> <value>: the payload as a blob.
func (p *peer) encode(rq *request) error {
	if len(rq.words) < 2 {
		return fail("request", "usage: ENCODE <Message> <value>")
	}
	if _, err := message(rq.words[1]); err != nil {
		return err
	}
	payload, err := codec.EncodeText(rq.words[1], rq.words[2:], p.version)
	if err != nil {
		return err
	}
	p.add(blob(payload))
	return nil
}

// DECODE <Message> x<payload>: the value.
func (p *peer) decode(rq *request) error {
	if err := rq.usage(2, "DECODE <Message> x<payload>"); err != nil {
		return err
	}
	i, err := message(rq.words[1])
	if err != nil {
		return err
	}
	payload, err := parseBlob(rq.words[2])
	if err != nil {
		return err
	}
	tokens, err := codec.DecodeText(i, payload, p.version)
	if err != nil {
		return err
	}
	p.add(tokens...)
	return nil
}

// SEND <Message> <seq> [<h>...] <value>: codec.EncodeFrame gives the errors in the contract's
// order (request, then encode: the value, then the seq's range, then the header values'); then
// runtime (no connection, a failed write).
func (p *peer) send(rq *request) error {
	if !codec.HasFrame {
		return fail("unsupported", "the schema declares no frame")
	}
	if len(rq.words) < 3 {
		return fail("request", "usage: SEND <Message> <seq> [<header values>] <value>")
	}
	frame, err := codec.EncodeFrame(rq.words[1], rq.words[2], rq.words[3:], p.version)
	if err != nil {
		return err
	}
	if err := p.frameOut(frame); err != nil {
		return err
	}
	p.add(strconv.Itoa(len(frame)))
	return nil
}

// RECV <timeout_ms> [request|response]: one frame, reported as <Message> <seq> [<h>...]
// <value>. A bad checksum or payload, read whole, leaves the connection open.
func (p *peer) recv(rq *request) error {
	frame, h, err := p.frameFor(rq, "RECV")
	if err != nil {
		return err
	}
	tokens, err := codec.DecodeText(h.Msg, h.Payload(frame), p.version)
	if err != nil {
		return err
	}
	p.add(codec.MessageName(h.Msg))
	p.add(codec.HeadTokens(&h)...)
	p.add(tokens...)
	return nil
}

// ECHO <timeout_ms> [request|response]: one frame, decoded, re-encoded from its value and sent
// back with its seq and header values.
func (p *peer) echo(rq *request) error {
	frame, h, err := p.frameFor(rq, "ECHO")
	if err != nil {
		return err
	}
	payload, err := codec.Reencode(h.Msg, h.Payload(frame), p.version)
	if err != nil {
		return err
	}
	out := p.outFrame(len(payload))
	copy(out[codec.HeaderLen:], payload)
	n := codec.PutFrame(out, h.Msg, h.Seq, &h.Plain, len(payload))
	if err = p.frameOut(out[:n]); err != nil {
		return err
	}
	p.add(codec.MessageName(h.Msg), strconv.FormatUint(h.Seq, 10))
	return nil
}

// frameFor reads one frame, its checksum checked, for a request of the form `<VERB>
// <timeout_ms> [request|response]` (RECV, ECHO).
func (p *peer) frameFor(rq *request, verb string) ([]byte, codec.Head, error) {
	if len(rq.words) != 2 && len(rq.words) != 3 {
		return nil, codec.Head{}, fail("request", "usage: %s <timeout_ms> [request|response]", verb)
	}
	deadline, err := deadlineOf(rq.words[1])
	if err != nil {
		return nil, codec.Head{}, err
	}
	dir := ""
	if len(rq.words) == 3 {
		if dir = rq.words[2]; dir != "request" && dir != "response" {
			return nil, codec.Head{}, fail("request", "bad direction %s: request or response", quote(dir))
		}
	}
	frame, h, err := p.frameIn(deadline, dir)
	if err == nil {
		err = codec.CheckFrame(frame, &h)
	}
	return frame, h, err
}

// VERSION <n>: speak protocol version n (1 to the schema's newest) from now on.
func (p *peer) versionRequest(rq *request) error {
	if err := rq.usage(1, "VERSION <n>"); err != nil {
		return err
	}
	n, over, ok := number(rq.words[1])
	if !ok || over || n < 1 || n > codec.Newest {
		return fail("request", "bad version %s (1 to %d)", quote(rq.words[1]), codec.Newest)
	}
	p.version = int(n)
	return nil
}

// ------------------------------------------------------------------ blobs

// blob is an encoded payload as the contract writes it: x and lower-case hex.
func blob(b []byte) string {
	out := make([]byte, 1+2*len(b))
	out[0] = 'x'
	hex.Encode(out[1:], b)
	return string(out)
}

// parseBlob reads x and hex (either case).
func parseBlob(token string) ([]byte, error) {
	if len(token)%2 != 1 || token[0] != 'x' {
		return nil, fail("request", "bad blob %s", quote(token))
	}
	b, err := hex.DecodeString(token[1:])
	if err != nil {
		return nil, fail("request", "bad blob %s", quote(token))
	}
	return b, nil
}
