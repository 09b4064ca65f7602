// Command cw-peer is the Go peer of crosswire.
//
// It answers the harness on the control channel of protocols/PEER_CONTRACT.md: one request
// line on stdin, one reply line on stdout, flushed. It carries the frames of protocols/WIRE.md,
// encoded by package codec (generated from protocols/schema.toml), over one of three transports
// behind the Conn and Listener interfaces of transport.go: Unix stream sockets (uds.go), TCP
// (tcp.go) or the shared-memory rings of protocols/SHM.md (shm.go). Standard library only.
// The peer is one goroutine doing one request at a time; every blocking request honours its
// timeout.
package main

import (
	"bufio"
	"bytes"
	"io"
	"math"
	"os"
	"os/signal"
	"syscall"

	"crosswire/peers/go/codec"
)

// lineLimit is the longest request line (PEER_CONTRACT.md, "Lines"): 8 x max_payload + 65536
// (a 1 MiB payload is 2 MiB of hex, a vec<bool> up to 6 characters a byte), within an int.
const lineLimit = int(min(8*uint64(codec.MaxPayload)+65536, math.MaxInt32))

func main() {
	// A write to a socket the other side closed is an error return (EPIPE), not a signal: as
	// SIG_IGN, the kernel sends none at all (qemu-i386 cannot deliver one to a Go program).
	signal.Ignore(syscall.SIGPIPE)
	p := newPeer()
	in := bufio.NewReaderSize(os.Stdin, 1<<16)
	out := bufio.NewWriterSize(os.Stdout, 1<<16)
	var line []byte
	for {
		var tooLong bool
		var err error
		line, tooLong, err = readLine(in, line[:0])
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
func readLine(in *bufio.Reader, buf []byte) (line []byte, tooLong bool, err error) {
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
