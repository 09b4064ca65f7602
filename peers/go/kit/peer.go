package kit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"crosswire.dev/kit/codec"
)

// peer is the program's state: at most one endpoint and one connection (PEER_CONTRACT.md,
// "Requests"), the protocol version it speaks, the buffers, and the reply being built.
type peer struct {
	proto    *Protocol
	fr       *codec.Frame // proto.Frame, or nil
	listener Listener     // after LISTEN, or nil
	conn     Conn         // after CONNECT or ACCEPT, or nil
	in       []byte       // bytes read from conn: in[inPos:inLen] not used yet
	inPos    int
	inLen    int
	frame    []byte  // a frame being written
	reply    []byte  // the reply line being built
	version  int     // VERSION: the protocol version spoken (the newest by default)
	stream   *layout // the last STREAM's, or nil
	framing  bool    // a framing adapter's: RECV and ECHO hand the library every frame found
	waits    uint64  // ring sleeps of the connections closed already
	missed   uint64  // and their lost wake-ups
	quitting bool
}

func newPeer(proto *Protocol) *peer {
	// The frame buffers start at the largest frame, up to 2 MiB (they grow for a larger frame:
	// a schema's max_payload may be up to 4 GiB).
	size := min(proto.MaxPayload, 1<<21)
	if proto.Frame != nil {
		size = min(uint64(proto.Frame.HeaderLen+proto.Frame.TrailerLen)+proto.MaxPayload, 1<<21)
	}
	framing := false
	for i := range proto.Messages {
		framing = framing || proto.Messages[i].DecodeFrame != nil
	}
	return &peer{
		framing: framing,
		proto:   proto,
		fr:      proto.Frame,
		in:      make([]byte, size),
		frame:   make([]byte, size),
		reply:   make([]byte, 0, 1<<16),
		version: proto.Newest,
	}
}

// peerError is an error reply: `ERR <kind> <text>`. Codec errors are *codec.Error, which
// print the same way.
type peerError struct {
	kind, text string
}

func (e *peerError) Error() string { return e.kind + " " + e.text }

// fail makes an error of the contract's kinds: request, unsupported, timeout, runtime.
func fail(kind, format string, args ...any) error {
	return &peerError{kind, fmt.Sprintf(format, args...)}
}

// kindOf is the kind of an error reply: decode, encode, request, unsupported, timeout, runtime.
func kindOf(err error) string {
	var pe *peerError
	var ce *codec.Error
	switch {
	case errors.As(err, &pe):
		return pe.kind
	case errors.As(err, &ce):
		return ce.Kind
	}
	return "runtime"
}

// ok starts the reply `OK`, to which a handler appends its result tokens with add.
func (p *peer) ok() { p.reply = append(p.reply[:0], "OK"...) }

// add appends tokens to the reply, each after a space.
func (p *peer) add(tokens ...string) {
	for _, t := range tokens {
		p.reply = append(p.reply, ' ')
		p.reply = append(p.reply, t...)
	}
}

// addf appends one space and formatted text to the reply.
func (p *peer) addf(format string, args ...any) {
	p.reply = append(p.reply, ' ')
	p.reply = fmt.Appendf(p.reply, format, args...)
}

// fail sets the reply to `ERR ` and the error's text.
func (p *peer) fail(err error) {
	p.reply = append(append(p.reply[:0], "ERR "...), err.Error()...)
}

// handler answers one request: it fills the reply with p.ok/p.add, or returns the error.
type handler func(p *peer, rq *request) error

var commands map[string]handler

func init() {
	commands = map[string]handler{
		"HELLO": (*peer).hello, "ENCODE": (*peer).encode, "DECODE": (*peer).decode,
		"LISTEN": (*peer).listen, "CONNECT": (*peer).connect, "ACCEPT": (*peer).accept,
		"SEND": (*peer).send, "RECV": (*peer).recv, "ECHO": (*peer).echo, "VERSION": (*peer).versionRequest,
		"CLOSE": (*peer).closeRequest, "QUIT": (*peer).quit,
		"STREAM": (*peer).streamRequest, "BLAST": (*peer).blast, "DRAIN": (*peer).drain,
		"WAIT": (*peer).wait, "PING": (*peer).ping, "PONG": (*peer).pong,
		"FLOOD": (*peer).flood, "SINK": (*peer).sink,
	}
}

// answer builds the one reply to one request line (without its newline).
func (p *peer) answer(line []byte) {
	for _, b := range line {
		if b >= 0x80 {
			p.fail(fail("request", "the request line is not ASCII"))
			return
		}
	}
	rq, err := parseRequest(string(line))
	if err == nil {
		run, known := commands[rq.words[0]]
		if !known {
			err = fail("request", "unknown command %s", quote(rq.words[0]))
		} else {
			p.ok()
			err = run(p, rq)
		}
	}
	if err != nil {
		p.fail(err)
	}
}

// ------------------------------------------------------------------ requests

// request is a request line split at single spaces: words[0] is the command.
type request struct {
	words []string
}

// parseRequest splits a line at single spaces; an empty token (two spaces, or a space at
// either end) is a request error.
func parseRequest(line string) (*request, error) {
	words := strings.Split(line, " ")
	for _, w := range words {
		if w == "" {
			return nil, fail("request", "empty request or an empty token (two spaces?)")
		}
	}
	return &request{words}, nil
}

// args are the words after the command.
func (rq *request) args() []string { return rq.words[1:] }

// usage is a request error unless the request has exactly n words after the command.
func (rq *request) usage(n int, text string) error {
	if len(rq.words) != n+1 {
		return fail("request", "usage: %s", text)
	}
	return nil
}

// quote shows a token of a request in an error, at most 40 characters of it, in quotes.
func quote(token string) string { return "'" + clip(token) + "'" }

// clip is at most the first 40 characters of a token.
func clip(token string) string {
	if len(token) > 40 {
		return token[:40]
	}
	return token
}

// number parses a token of decimal digits. over is true (and the value meaningless) above
// 2^64 - 1; a token that is not all digits is an error.
func number(token string) (v uint64, over bool, ok bool) {
	if token == "" {
		return 0, false, false
	}
	for i := 0; i < len(token); i++ {
		if token[i] < '0' || token[i] > '9' {
			return 0, false, false
		}
	}
	v, err := strconv.ParseUint(token, 10, 64)
	if err != nil {
		return 0, true, true // all digits, so only the range can be wrong
	}
	return v, false, true
}

// parseCount parses a bounded count: digits, at most max (a larger one is a request error, never
// an allocation of that size).
func parseCount(token, what string, max uint64) (uint64, error) {
	v, over, ok := number(token)
	if !ok || over || v > max {
		return 0, fail("request", "bad %s %s (0 to %d)", what, quote(token), max)
	}
	return v, nil
}

// lookup is the index of the message called name, -1 when there is none.
func (p *peer) lookup(name string) int {
	for i := range p.proto.Messages {
		if p.proto.Messages[i].Info.Name == name {
			return i
		}
	}
	return -1
}

// message checks a message name: known to the schema (its index), or a request error.
func (p *peer) message(name string) (int, error) {
	i := p.lookup(name)
	if i < 0 {
		return 0, fail("request", "unknown message %s", quote(name))
	}
	return i, nil
}
