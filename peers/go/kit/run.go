// Package kit is the protocol-free part of a crosswire Go peer (docs/kits.md): the contract
// loop, the transports (uds, tcp, shm with its rings and waits), streams (BLAST/DRAIN), the
// bench (PING/PONG/FLOOD/SINK). It knows no message: the generated code hands Run a Protocol,
// the table of the schema's messages and its frame. Standard library only.
package kit

import (
	"bufio"
	"bytes"
	"io"
	"math"
	"os"
	"os/signal"
	"syscall"
)

// Run runs a peer of the protocol: it answers the harness on the control channel of
// protocols/PEER_CONTRACT.md, one request line on stdin, one reply line on stdout, flushed,
// until QUIT or the end of input. The frames of protocols/WIRE.md go over one of three
// transports behind the Conn and Listener interfaces of transport.go: Unix stream sockets
// (uds.go), TCP (tcp.go) or the shared-memory rings of protocols/SHM.md (shm.go). The peer is
// one goroutine doing one request at a time; every blocking request honours its timeout. A
// second one, the watcher of harness.go, ends the peer when the harness goes.
func Run(proto *Protocol) {
	// A write to a socket the other side closed is an error return (EPIPE), not a signal: as
	// SIG_IGN, the kernel sends none at all (qemu-i386 cannot deliver one to a Go program).
	signal.Ignore(syscall.SIGPIPE)
	watchHarness() // before any request: a peer never outlives the harness (harness.go)
	p := newPeer(proto)
	// the longest request line (PEER_CONTRACT.md, "Lines"): 8 x max_payload + 65536 (a 1 MiB
	// payload is 2 MiB of hex, a vec<bool> up to 6 characters a byte), within an int.
	limit := int(min(8*proto.MaxPayload+65536, math.MaxInt32))
	in := bufio.NewReaderSize(os.Stdin, 1<<16)
	out := bufio.NewWriterSize(os.Stdout, 1<<16)
	var line []byte
	for {
		var tooLong bool
		var err error
		line, tooLong, err = readLine(in, line[:0], limit)
		unread.Store(in.Buffered() > 0) // lines the watcher must not drop if stdin hangs up
		if err != nil && len(line) == 0 && !tooLong {
			break // the end of input (or stdin failed): nothing more will come
		}
		if tooLong {
			p.fail(&peerError{"request", "line too long"})
		} else {
			p.answer(line)
		}
		writeReply(out, p.reply)
		if out.Flush() != nil || p.quitting || err != nil {
			break
		}
	}
	p.closeAll()
}

// readLine reads one request line into buf without its newline. A line longer than lineLimit
// is read up to its newline and dropped (tooLong). err is io.EOF (or a read error) when the
// input ended; a last line without a newline still comes back with it.
func readLine(in *bufio.Reader, buf []byte, lineLimit int) (line []byte, tooLong bool, err error) {
	for {
		chunk, e := in.ReadSlice('\n')
		chunk = bytes.TrimSuffix(chunk, []byte{'\n'})
		if !tooLong && len(buf)+len(chunk) > lineLimit {
			tooLong = true
			buf = buf[:0]
		}
		if !tooLong {
			buf = append(buf, chunk...)
		}
		switch e {
		case nil:
			return buf, tooLong, nil
		case bufio.ErrBufferFull:
			continue // a long line: the rest comes in the next chunks
		default:
			if e != io.EOF {
				return buf, tooLong, e
			}
			return buf, tooLong, io.EOF
		}
	}
}

// writeReply writes one reply line: a newline or carriage return inside it becomes a space.
func writeReply(out *bufio.Writer, reply []byte) {
	for i, b := range reply {
		if b == '\n' || b == '\r' {
			reply[i] = ' '
		}
	}
	out.Write(reply)
	out.WriteByte('\n')
}
