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
		if p.inPos+n > len(p.in) { // make room: the unused bytes to the front
			copy(p.in, p.in[p.inPos:p.inLen])
			p.inPos, p.inLen = 0, have
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
			return &codec.Error{Kind: "decode", Code: "truncated", Path: "frame",
				Msg: "closed after " + strconv.Itoa(have) + " of " + strconv.Itoa(n) + " bytes"}
		}
		p.inLen += got
	}
	return nil
}

// frameIn reads one whole frame with its header checked, without decoding the payload. The
// frame is a slice of p.in, valid until the next read. A bad header closes the connection:
// the stream is out of step.
func (p *peer) frameIn(deadline time.Time) (frame []byte, h codec.Header, err error) {
	if p.conn == nil {
		return nil, h, fail("runtime", "no connection: CONNECT or ACCEPT first")
	}
	if err = p.fill(codec.HeaderLen, deadline); err != nil {
		return nil, h, err
	}
	if h, err = codec.ParseHeader(p.in[p.inPos : p.inPos+codec.HeaderLen]); err != nil {
		p.closeConn()
		return nil, h, err
	}
	size := codec.HeaderLen + int(h.PayloadLen)
	if err = p.fill(size, deadline); err != nil {
		return nil, h, err
	}
	frame = p.in[p.inPos : p.inPos+size]
	if p.inPos += size; p.inPos == p.inLen {
		p.inPos, p.inLen = 0, 0 // the bytes stay where they are until the next read
	}
	return frame, h, nil
}

// ------------------------------------------------------------------ writing frames

// writeFrame frames payload with msgType and seq in p.frame and writes the whole frame. It
// returns the frame's length.
func (p *peer) writeFrame(msgType uint16, seq uint64, payload []byte) (int, error) {
	if p.conn == nil {
		return 0, fail("runtime", "no connection: CONNECT or ACCEPT first")
	}
	codec.PutHeader(p.frame, msgType, uint32(len(payload)), seq)
	n := codec.HeaderLen + copy(p.frame[codec.HeaderLen:], payload)
	return n, p.frameOut(p.frame[:n])
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
	payload, err := codec.EncodeText(rq.words[1], rq.words[2:])
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
	id, err := message(rq.words[1])
	if err != nil {
		return err
	}
	payload, err := parseBlob(rq.words[2])
	if err != nil {
		return err
	}
	tokens, err := codec.DecodeText(id, payload)
	if err != nil {
		return err
	}
	p.add(tokens...)
	return nil
}

// SEND <Message> <seq> <value>: codec.EncodeFrame gives the errors in the contract's order
// (request, then encode: the value, then the seq's range); then runtime (no connection, a
// failed write).
func (p *peer) send(rq *request) error {
	if len(rq.words) < 3 {
		return fail("request", "usage: SEND <Message> <seq> <value>")
	}
	frame, err := codec.EncodeFrame(rq.words[1], rq.words[2], rq.words[3:])
	if err != nil {
		return err
	}
	if err := p.frameOut(frame); err != nil {
		return err
	}
	p.add(strconv.Itoa(len(frame)))
	return nil
}

// RECV <timeout_ms>: one frame, reported as <Message> <seq> <value>. A bad payload, read
// whole, leaves the connection open.
func (p *peer) recv(rq *request) error {
	frame, h, err := p.frameFor(rq, "RECV <timeout_ms>")
	if err != nil {
		return err
	}
	tokens, err := codec.DecodeText(h.MsgType, frame[codec.HeaderLen:])
	if err != nil {
		return err
	}
	p.add(codec.MessageName(h.MsgType), strconv.FormatUint(h.Seq, 10))
	p.add(tokens...)
	return nil
}

// ECHO <timeout_ms>: one frame, decoded, re-encoded from its value and sent back with its seq.
func (p *peer) echo(rq *request) error {
	frame, h, err := p.frameFor(rq, "ECHO <timeout_ms>")
	if err != nil {
		return err
	}
	payload, err := codec.Reencode(h.MsgType, frame[codec.HeaderLen:])
	if err != nil {
		return err
	}
	if _, err = p.writeFrame(h.MsgType, h.Seq, payload); err != nil {
		return err
	}
	p.add(codec.MessageName(h.MsgType), strconv.FormatUint(h.Seq, 10))
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

// frameFor reads one frame for a request of the form `<VERB> <timeout_ms>` (RECV, ECHO).
func (p *peer) frameFor(rq *request, usage string) ([]byte, codec.Header, error) {
	if err := rq.usage(1, usage); err != nil {
		return nil, codec.Header{}, err
	}
	deadline, err := deadlineOf(rq.words[1])
	if err != nil {
		return nil, codec.Header{}, err
	}
	return p.frameIn(deadline)
}
