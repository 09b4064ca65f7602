// The @NAME@ peer: scaffolded by `python -m harness new-peer`; yours to edit.
//
// It speaks the start of protocols/PEER_CONTRACT.md: HELLO, QUIT, `ERR request` for a line it
// cannot parse, `ERR unsupported` for a request it does not implement yet, and the line-length
// limit. docs/adding-a-peer.md says what to add next; `python -m harness check-peer peers/@NAME@`
// says what is still missing.
package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"unsafe"
)

const (
	name    = "@NAME@"
	maxLine = @MAX_LINE@ // 8 x max_payload + 65536 bytes (PEER_CONTRACT.md, "Lines")
)

var (
	transports = []string{} // keep these two as peer.toml's [supports] says
	messages   = []string{}
	known      = map[string]bool{"ENCODE": true, "DECODE": true, "LISTEN": true, "CONNECT": true,
		"ACCEPT": true, "SEND": true, "RECV": true, "ECHO": true, "CLOSE": true, "BLAST": true,
		"DRAIN": true, "WAIT": true, "PING": true, "PONG": true, "FLOOD": true, "SINK": true}
)

// readLine returns one request line without its newline; tooLong when it was longer than
// maxLine (read and dropped up to its newline); ok false at the end of input.
func readLine(r *bufio.Reader) (line string, tooLong, ok bool) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(buf)+len(chunk) <= maxLine+1 {
			buf = append(buf, chunk...)
		} else {
			tooLong = true
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil && len(buf) == 0 && !tooLong {
			return "", false, false
		}
		return strings.TrimSuffix(string(buf), "\n"), tooLong, true
	}
}

func hello(args []string) string {
	if len(args) != 1 || args[0] != "1" {
		return "ERR unsupported contract " + strings.Join(args, " ")
	}
	probe := uint16(1)
	order := "big"
	if *(*byte)(unsafe.Pointer(&probe)) == 1 {
		order = "little"
	}
	return fmt.Sprintf("OK name=%s language=go contract=1 transports=%s messages=%s ptr_bits=%d byte_order=%s",
		name, strings.Join(transports, ","), strings.Join(messages, ","), 8*unsafe.Sizeof(uintptr(0)), order)
}

func main() {
	in := bufio.NewReaderSize(os.Stdin, 1<<16)
	out := bufio.NewWriter(os.Stdout)
	for {
		line, tooLong, ok := readLine(in)
		if !ok {
			return
		}
		words := strings.Split(line, " ")
		var reply string
		switch {
		case tooLong:
			reply = "ERR request line too long"
		case line == "QUIT":
			fmt.Fprintln(out, "OK")
			out.Flush()
			return
		case words[0] == "HELLO":
			reply = hello(words[1:])
		case known[words[0]]:
			reply = "ERR unsupported " + words[0] + " is not implemented yet"
		default:
			reply = fmt.Sprintf("ERR request unknown command %.40q", words[0])
		}
		fmt.Fprintln(out, reply)
		out.Flush()
	}
}
