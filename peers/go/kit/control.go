package kit

import (
	"strconv"
	"strings"
	"unsafe"
)

const contract = "3"

// HELLO <contract>: who we are, with the pointer width and the byte order of the machine the
// program really runs on (under qemu-user: the emulated one).
func (p *peer) hello(rq *request) error {
	if err := rq.usage(1, "HELLO <contract>"); err != nil {
		return err
	}
	if rq.words[1] != contract {
		return fail("unsupported", "contract %s", clip(rq.words[1]))
	}
	// The manifest is built into the program (Protocol.Manifest): HELLO reports what it
	// declares, so the two never disagree (the harness plans the matrix from the manifest).
	m := p.proto.Manifest
	p.add("name="+manifestString(m, "name"), "language="+manifestString(m, "language"), "contract="+contract,
		"transports="+strings.Join(manifestList(m, "transports"), ","),
		"messages="+strings.Join(manifestList(m, "messages"), ","),
		"ptr_bits="+strconv.Itoa(int(unsafe.Sizeof(uintptr(0))*8)), "byte_order="+byteOrder(),
		"kit="+strconv.Itoa(KitVersion))
	return nil
}

// byteOrder is "little" or "big": the first byte in memory of a 16-bit 1.
func byteOrder() string {
	if hostBigEndian() {
		return "big"
	}
	return "little"
}

func hostBigEndian() bool {
	probe := uint16(1)
	return *(*byte)(unsafe.Pointer(&probe)) == 0
}

// manifestString is the quoted value of `key = "..."` in peer.toml (the first such line).
func manifestString(manifest, key string) string {
	for _, line := range strings.Split(manifest, "\n") {
		k, v, ok := strings.Cut(line, "=")
		if ok && strings.TrimSpace(k) == key {
			v, _, _ = strings.Cut(v, "#")
			return strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	return ""
}

// manifestList is the value of `key = ["a", "b"]` or `key = "*"` in peer.toml's [supports]
// table, as its strings. The manifest is ours and simple: one key a line.
func manifestList(manifest, key string) []string {
	supports := manifest[strings.Index(manifest, "[supports]")+1:]
	for _, line := range strings.Split(supports, "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) != key {
			continue
		}
		v, _, _ = strings.Cut(v, "#")
		v = strings.Trim(strings.TrimSpace(v), "[]")
		var out []string
		for _, item := range strings.Split(v, ",") {
			if item = strings.Trim(strings.TrimSpace(item), `"`); item != "" {
				out = append(out, item)
			}
		}
		return out
	}
	return nil
}

// QUIT: reply, then main exits.
func (p *peer) quit(rq *request) error {
	if err := rq.usage(0, "QUIT"); err != nil {
		return err
	}
	p.quitting = true
	return nil
}

// CLOSE: the connection and the endpoint (a uds listener removes its socket file).
func (p *peer) closeRequest(rq *request) error {
	if err := rq.usage(0, "CLOSE"); err != nil {
		return err
	}
	p.closeAll()
	return nil
}

// WAIT <spin|futex|spin-futex>: how shm rings wait from now on, the open connection included.
func (p *peer) wait(rq *request) error {
	if err := rq.usage(1, "WAIT <spin|futex|spin-futex>"); err != nil {
		return err
	}
	s, ok := parseStrategy(rq.words[1])
	if !ok {
		return fail("request", "unknown wait strategy %s", quote(rq.words[1]))
	}
	defaultStrategy = s
	if c, isShm := p.conn.(*shmConn); isShm {
		c.strategy = s
	}
	return nil
}
