package kit

import (
	"strings"
	"time"
)

// Conn is a connection (after CONNECT or ACCEPT), the one interface the requests see for
// every transport. Errors are *peerError of kind "timeout" or "runtime".
type Conn interface {
	// Read copies up to len(buf) bytes, waiting until some are there or the deadline passes;
	// a deadline that has passed still takes what is already there (a timeout of 0). It
	// returns n > 0, or 0 and no error when the other side closed or died and nothing is left.
	Read(buf []byte, deadline time.Time) (int, error)
	// Write writes all of buf, waiting for room as long as the other side lives (the contract
	// gives SEND and ECHO no timeout: the harness's own timeout is the bound).
	Write(buf []byte) error
	// Close ends the connection.
	Close()
	// PeerUID is the uid of the process at the other end, as the kernel vouches for it; an
	// "unsupported" error where the transport has no credentials (tcp).
	PeerUID() (uint32, error)
	// Waits counts the times a Read or Write slept on an empty or full ring (0 for sockets).
	Waits() uint64
	// Missed counts the sleeps that ended by their time limit although the other side had
	// moved its index without the wake-up it owed (SHM.md; 0 for sockets and where the wait
	// primitive tells no time-out from a wake).
	Missed() uint64
}

// Listener is an endpoint (after LISTEN).
type Listener interface {
	// Accept returns one connection before the deadline (one look when it has passed).
	Accept(deadline time.Time) (Conn, error)
	// Close ends the endpoint, removing its name (a uds socket file, a shm segment name).
	Close()
}

// maxAddress is the longest address in bytes: a uds path (a shm name and a tcp address are
// shorter).
const maxAddress = 100

// maxTimeoutMS bounds a timeout_ms: about 31 years, far enough, and far from overflowing.
const maxTimeoutMS = 1_000_000_000_000

// deadlineOf turns a timeout_ms token into a deadline on the monotonic clock (time.Now
// carries a monotonic reading, and deadlines compare on it).
func deadlineOf(token string) (time.Time, error) {
	ms, over, ok := number(token)
	if !ok {
		return time.Time{}, fail("request", "bad timeout_ms %s", quote(token))
	}
	if over || ms > maxTimeoutMS {
		ms = maxTimeoutMS
	}
	return time.Now().Add(time.Duration(ms) * time.Millisecond), nil
}

// waitsNow counts ring sleeps so far, of the connections closed already and the open one.
func (p *peer) waitsNow() uint64 {
	if p.conn != nil {
		return p.waits + p.conn.Waits()
	}
	return p.waits
}

// missedNow counts lost wake-ups so far, as waitsNow counts sleeps.
func (p *peer) missedNow() uint64 {
	if p.conn != nil {
		return p.missed + p.conn.Missed()
	}
	return p.missed
}

// closeConn closes the connection; bytes read and not used are dropped.
func (p *peer) closeConn() {
	if p.conn != nil {
		p.waits += p.conn.Waits()
		p.missed += p.conn.Missed()
		p.conn.Close()
	}
	p.conn = nil
	p.inPos, p.inLen = 0, 0
}

// closeAll closes the connection and the endpoint.
func (p *peer) closeAll() {
	p.closeConn()
	if p.listener != nil {
		p.listener.Close()
	}
	p.listener = nil
}

// endpoint checks the transport and address of LISTEN and CONNECT, and that nothing is open.
func (p *peer) endpoint(transport, address string) error {
	switch transport {
	case "uds", "shm", "tcp":
	default:
		return fail("unsupported", "transport %s", quote(transport))
	}
	if len(address) > maxAddress {
		return fail("runtime", "address longer than %d bytes", maxAddress)
	}
	if strings.IndexByte(address, 0) >= 0 {
		return fail("runtime", "address contains a NUL byte")
	}
	if p.listener != nil || p.conn != nil {
		return fail("runtime", "an endpoint or connection is already open: CLOSE first")
	}
	return nil
}

// LISTEN uds <path> | LISTEN shm <name> [capacity] | LISTEN tcp <host>:<port>. Over tcp the
// reply names the address really bound (port 0: the kernel's choice).
func (p *peer) listen(rq *request) error {
	capacity := uint64(shmDefaultCapacity)
	if len(rq.words) > 1 && rq.words[1] == "shm" {
		if len(rq.words) != 3 && len(rq.words) != 4 {
			return fail("request", "usage: LISTEN shm <name> [capacity]")
		}
		if len(rq.words) == 4 {
			v, over, ok := number(rq.words[3])
			if !ok {
				return fail("request", "usage: LISTEN shm <name> [capacity]")
			}
			if capacity = v; over {
				capacity = ^uint64(0) // refused as out of range
			}
		}
	} else if err := rq.usage(2, "LISTEN <transport> <address>"); err != nil {
		return err
	}
	transport, address := rq.words[1], rq.words[2]
	if err := p.endpoint(transport, address); err != nil {
		return err
	}
	var err error
	switch transport {
	case "uds":
		p.listener, err = udsListen(address)
	case "tcp":
		var bound string
		if p.listener, bound, err = tcpListen(address); err == nil {
			p.add(bound)
		}
	case "shm":
		p.listener, err = shmListen(address, capacity)
	}
	return err
}

// CONNECT <transport> <address> <timeout_ms>.
func (p *peer) connect(rq *request) error {
	if err := rq.usage(3, "CONNECT <transport> <address> <timeout_ms>"); err != nil {
		return err
	}
	transport, address := rq.words[1], rq.words[2]
	if err := p.endpoint(transport, address); err != nil {
		return err
	}
	deadline, err := deadlineOf(rq.words[3])
	if err != nil {
		return err
	}
	var c Conn
	switch transport {
	case "uds":
		c, err = udsConnect(address, deadline)
	case "tcp":
		c, err = tcpConnect(address, deadline)
	case "shm":
		c, err = shmConnect(address, deadline)
	}
	if err != nil {
		return err
	}
	p.conn, p.inPos, p.inLen = c, 0, 0
	return nil
}

// ACCEPT <timeout_ms> [uid=<n>]: one connection on the endpoint; with uid=, a client whose
// uid (as the kernel says) is not n is refused and closed.
func (p *peer) accept(rq *request) error {
	check := len(rq.words) == 3 && strings.HasPrefix(rq.words[2], "uid=")
	var want uint64
	if check {
		v, over, ok := number(rq.words[2][4:])
		if !ok || over || v > 1<<32-1 {
			return fail("request", "bad uid %s", quote(rq.words[2]))
		}
		want = v
	} else if err := rq.usage(1, "ACCEPT <timeout_ms> [uid=<n>]"); err != nil {
		return err
	}
	deadline, err := deadlineOf(rq.words[1])
	if err != nil {
		return err
	}
	if p.listener == nil {
		return fail("runtime", "no endpoint: LISTEN first")
	}
	if p.conn != nil {
		return fail("runtime", "a connection is already open")
	}
	c, err := p.listener.Accept(deadline)
	if err != nil {
		return err
	}
	p.conn, p.inPos, p.inLen = c, 0, 0
	if !check {
		return nil
	}
	uid, err := c.PeerUID()
	if err != nil {
		p.closeConn()
		return err
	}
	if uint64(uid) != want {
		p.closeConn()
		return fail("runtime", "peer credentials: the client runs as uid %d, not %d; closed", uid, want)
	}
	return nil
}
