package kit

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"crosswire.dev/kit/codec"
)

// ------------------------------------------------------------------ reading frames

// fill reads until p.in holds n unused bytes or the deadline passes; what was read stays, so
// the next read completes the frame (PEER_CONTRACT.md: a RECV that times out part way keeps
// its bytes). The other side closing is `ERR runtime closed` between frames, and `ERR decode
// truncated frame` inside one, which also drops the connection: cut is then the bytes of the
// frame that came (a slice of p.in, valid until the next read).
func (p *peer) fill(n int, deadline time.Time) (cut []byte, err error) {
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
			return nil, fail("timeout", "waiting for a frame, %d of %d bytes read", have, n)
		case err != nil:
			return nil, err
		case got == 0 && have == 0:
			return nil, fail("runtime", "closed by the other side")
		case got == 0:
			cut = p.in[p.inPos:p.inLen]
			p.closeConn()
			return cut, codec.FrameCut(have, n)
		}
		p.inLen += got
	}
	return nil, nil
}

// frameIn reads one whole frame for a receiver of direction dir ("request", "response" or ""),
// its header checked (WIRE.md "Receiving": the constants, the id, the length, which give the
// frame's size), without checking its checksum or decoding the payload. The frame is a slice
// of p.in, valid until the next read. A bad header closes the connection: the stream is out of
// step. With a decode error that ends the stream, frame is what was read of it (for DRAIN's
// bad): the header bytes when the header was refused, the bytes that came when it was cut short.
func (p *peer) frameIn(deadline time.Time, dir string) (frame []byte, h codec.Head, err error) {
	return p.readFrame(deadline, dir, false)
}

// readFrame is frameIn; with find, the header is read only as far as finding the frame takes
// (codec.Frame.FindHead: the id and the length, no constant), for a framing adapter's RECV and
// ECHO, whose library judges the whole frame.
func (p *peer) readFrame(deadline time.Time, dir string, find bool) (frame []byte, h codec.Head, err error) {
	if p.fr == nil {
		return nil, h, codec.ErrNoFrame()
	}
	if p.conn == nil {
		return nil, h, fail("runtime", "no connection: CONNECT or ACCEPT first")
	}
	if frame, err = p.fill(p.fr.HeaderLen, deadline); err != nil {
		return frame, h, err
	}
	head := p.in[p.inPos : p.inPos+p.fr.HeaderLen]
	if find {
		h, err = p.fr.FindHead(head, dir)
	} else {
		h, err = p.fr.ParseHead(head, dir)
	}
	if err != nil {
		p.closeConn() // the bytes stay in p.in until the next read
		return head, h, err
	}
	if frame, err = p.fill(h.Size, deadline); err != nil {
		return frame, h, err
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
	if n := p.fr.HeaderLen + payloadLen + p.fr.TrailerLen; n > len(p.frame) {
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

// ------------------------------------------------------------------ values

// zeros are the plain header values of a frame the kit makes for a framing adapter's DECODE.
var zeros codec.Plain

// encodeValue is the payload of a value of message i given as tokens (ENCODE): parsed by the
// generated text form, encoded by the table's Encode (or, for a framing adapter, framed by it
// with seq 0 and the frame checked before its payload is answered).
func (p *peer) encodeValue(i int, words []string) ([]byte, error) {
	m := &p.proto.Messages[i]
	v, err := m.Parse(words, p.version)
	if err != nil {
		return nil, err
	}
	if m.EncodeFrame == nil {
		return adapted("encode", m.Info.Name, func() ([]byte, error) { return m.Encode(v, p.version) })
	}
	frame, err := adapted("encode", m.Info.Name, func() ([]byte, error) {
		return m.EncodeFrame(v, 0, zeros[:len(p.fr.Plain)])
	})
	if err != nil {
		return nil, err
	}
	h, err := p.checkOwnFrame(i, frame)
	if err != nil {
		return nil, err
	}
	return p.fr.Payload(frame, &h), nil
}

// checkOwnFrame checks a frame a framing adapter made for message i: its constants, id,
// length and checksum, as a receiver would (a mismatch is the adapter's encode error).
func (p *peer) checkOwnFrame(i int, frame []byte) (codec.Head, error) {
	name := p.proto.Messages[i].Info.Name
	h, err := p.fr.ParseHead(frame, p.proto.Messages[i].Info.Direction)
	switch {
	case err == nil && h.Msg != i:
		err = fmt.Errorf("a frame of %s, not %s", p.proto.Messages[h.Msg].Info.Name, name)
	case err == nil && h.Size != len(frame):
		err = fmt.Errorf("%d bytes, its header says %d", len(frame), h.Size)
	case err == nil:
		err = p.fr.CheckFrame(frame, &h)
	}
	if err != nil {
		return h, fail("runtime", "adapter encode %s: the frame it made: %s", name, clipText(err.Error()))
	}
	return h, nil
}

// decodeValue decodes a payload of message i (DECODE, DRAIN) with the table's Decode (a
// framing adapter's gets it in a frame of seq 0 the kit makes).
func (p *peer) decodeValue(i int, payload []byte) (any, error) {
	m := &p.proto.Messages[i]
	if m.DecodeFrame == nil {
		return adapted("decode", m.Info.Name, func() (any, error) { return m.Decode(payload, p.version) })
	}
	if p.fr == nil {
		return nil, codec.ErrNoFrame()
	}
	frame := p.fr.AppendFrame(nil, i, 0, &zeros, payload)
	return adapted("decode", m.Info.Name, func() (any, error) { return m.DecodeFrame(frame) })
}

// decodeFrame decodes a whole frame read with its head h (RECV, ECHO): a payload adapter or the
// reference codec get its payload once the kit checked its checksum; a framing adapter the
// whole frame as it came (found by its id and length only), which its library judges: the
// kit checks no constant, checksum or seq. When the library refuses a frame whose header
// breaks the declared constants, the kit closes the connection, as after a header error of its
// own (the contract's "the stream is out of step"); the reply is the library's error.
func (p *peer) decodeFrame(frame []byte, h *codec.Head, dir string) (any, error) {
	m := &p.proto.Messages[h.Msg]
	if m.DecodeFrame != nil {
		v, err := adapted("decode", m.Info.Name, func() (any, error) { return m.DecodeFrame(frame) })
		if err != nil {
			if _, bad := p.fr.ParseHead(frame, dir); bad != nil {
				p.closeConn()
			}
		}
		return v, err
	}
	if err := p.fr.CheckFrame(frame, h); err != nil {
		return nil, err
	}
	return p.decodeValue(h.Msg, p.fr.Payload(frame, h))
}

// encodeFrame is the whole frame of value v of message i with this seq and these plain header
// values (SEND, ECHO).
func (p *peer) encodeFrame(i int, v any, seq uint64, plain *codec.Plain) ([]byte, error) {
	m := &p.proto.Messages[i]
	if m.EncodeFrame != nil {
		return adapted("encode", m.Info.Name, func() ([]byte, error) {
			return m.EncodeFrame(v, seq, plain[:len(p.fr.Plain)])
		})
	}
	payload, err := adapted("encode", m.Info.Name, func() ([]byte, error) { return m.Encode(v, p.version) })
	if err != nil {
		return nil, err
	}
	out := p.outFrame(len(payload))
	copy(out[p.fr.HeaderLen:], payload)
	return out[:p.fr.PutFrame(out, i, seq, plain, len(payload))], nil
}

// ------------------------------------------------------------------ requests

// ENCODE <Message> <value>: the payload as a blob.
func (p *peer) encode(rq *request) error {
	if len(rq.words) < 2 {
		return fail("request", "usage: ENCODE <Message> <value>")
	}
	i, err := p.message(rq.words[1])
	if err != nil {
		return err
	}
	payload, err := p.encodeValue(i, rq.words[2:])
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
	i, err := p.message(rq.words[1])
	if err != nil {
		return err
	}
	payload, err := parseBlob(rq.words[2])
	if err != nil {
		return err
	}
	v, err := p.decodeValue(i, payload)
	if err != nil {
		return err
	}
	p.add(p.proto.Messages[i].Format(v)...)
	return nil
}

// SEND <Message> <seq> [<h>...] <value>: the errors in the contract's order: request (the
// message, the seq and header tokens, the value's tokens), then encode (the value, then the
// seq's range, then the header values'); then runtime (no connection, a failed write).
func (p *peer) send(rq *request) error {
	if p.fr == nil {
		return codec.ErrNoFrame()
	}
	if len(rq.words) < 3 {
		return fail("request", "usage: SEND <Message> <seq> [<header values>] <value>")
	}
	i := p.lookup(rq.words[1])
	if i < 0 {
		return codec.UnknownMessage(rq.words[1])
	}
	seqTok, rest := rq.words[2], rq.words[3:]
	if err := p.fr.CheckSendTokens(seqTok, rest); err != nil {
		return err
	}
	m := &p.proto.Messages[i]
	v, err := m.Parse(rest[len(p.fr.Plain):], p.version)
	if err != nil {
		return err
	}
	var frame []byte
	if m.EncodeFrame == nil { // the value's encode errors before the header's
		payload, err := adapted("encode", m.Info.Name, func() ([]byte, error) { return m.Encode(v, p.version) })
		if err != nil {
			return err
		}
		seq, plain, err := p.fr.SendHeader(seqTok, rest)
		if err != nil {
			return err
		}
		frame = p.fr.AppendFrame(p.outFrame(len(payload))[:0], i, seq, &plain, payload)
	} else {
		seq, plain, err := p.fr.SendHeader(seqTok, rest)
		if err != nil {
			return err
		}
		if frame, err = p.encodeFrame(i, v, seq, &plain); err != nil {
			return err
		}
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
	frame, h, dir, err := p.frameFor(rq, "RECV")
	if err != nil {
		return err
	}
	v, err := p.decodeFrame(frame, &h, dir)
	if err != nil {
		return err
	}
	p.add(p.proto.Messages[h.Msg].Info.Name)
	p.add(p.fr.HeadTokens(&h)...)
	p.add(p.proto.Messages[h.Msg].Format(v)...)
	return nil
}

// ECHO <timeout_ms> [request|response]: one frame, decoded, re-encoded from its value and sent
// back with its seq and header values.
func (p *peer) echo(rq *request) error {
	frame, h, dir, err := p.frameFor(rq, "ECHO")
	if err != nil {
		return err
	}
	v, err := p.decodeFrame(frame, &h, dir)
	if err != nil {
		return err
	}
	out, err := p.encodeFrame(h.Msg, v, h.Seq, &h.Plain)
	if err != nil {
		return err
	}
	if err = p.frameOut(out); err != nil {
		return err
	}
	p.add(p.proto.Messages[h.Msg].Info.Name, strconv.FormatUint(h.Seq, 10))
	return nil
}

// frameFor reads one frame for a request of the form `<VERB> <timeout_ms> [request|response]`
// (RECV, ECHO), and says the direction: its header checked, or for a framing adapter only
// found (readFrame).
func (p *peer) frameFor(rq *request, verb string) ([]byte, codec.Head, string, error) {
	if len(rq.words) != 2 && len(rq.words) != 3 {
		return nil, codec.Head{}, "", fail("request", "usage: %s <timeout_ms> [request|response]", verb)
	}
	deadline, err := deadlineOf(rq.words[1])
	if err != nil {
		return nil, codec.Head{}, "", err
	}
	dir := ""
	if len(rq.words) == 3 {
		if dir = rq.words[2]; dir != "request" && dir != "response" {
			return nil, codec.Head{}, "", fail("request", "bad direction %s: request or response", quote(dir))
		}
	}
	frame, h, err := p.readFrame(deadline, dir, p.framing)
	return frame, h, dir, err
}

// VERSION <n>: speak protocol version n (1 to the schema's newest) from now on.
func (p *peer) versionRequest(rq *request) error {
	if err := rq.usage(1, "VERSION <n>"); err != nil {
		return err
	}
	n, over, ok := number(rq.words[1])
	if !ok || over || n < 1 || n > uint64(p.proto.Newest) {
		return fail("request", "bad version %s (1 to %d)", quote(rq.words[1]), p.proto.Newest)
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
