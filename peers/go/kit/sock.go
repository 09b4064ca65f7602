package kit

// The stream socket that uds.go and tcp.go both hand out, made and written with Go's net
// package, and read as the C peer reads: read(2) on the (non-blocking) descriptor first, then
// poll(2) until the deadline, then read again.
//
// Why not net's Read with a deadline: an operation whose deadline has already passed fails at
// once there, without looking at the socket, whereas a timeout of 0 means "only what is
// already there"; and the runtime's poller (park the goroutine, epoll, wake it) makes a uds
// round trip slower: p50 21 us against 13 us with poll(2) in the reading thread (C: 11 us),
// both peers on one CPU. An accept past its deadline likewise takes one non-blocking look.

import (
	"errors"
	"net"
	"os"
	"syscall"
	"time"
)

// dialGrace is how long a CONNECT whose deadline has passed (timeout 0) may take: Go's dialer
// will not start a connect past its deadline, and a listening socket is "already there".
const dialGrace = 5 * time.Millisecond

// errnoText is the system's text of the errno inside err ("connection refused"), or err's own.
func errnoText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	return err.Error()
}

// timedOut is whether err is a deadline that passed.
func timedOut(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// ------------------------------------------------------------------ the connection

type sockConn struct {
	c    net.Conn
	raw  syscall.RawConn
	unix bool // a Unix socket: the kernel knows the peer's uid
}

func newSockConn(c net.Conn, unix bool) (*sockConn, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		c.Close()
		return nil, fail("runtime", "a socket without a descriptor")
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		c.Close()
		return nil, fail("runtime", "socket: %s", errnoText(err))
	}
	return &sockConn{c: c, raw: raw, unix: unix}, nil
}

func (s *sockConn) Read(buf []byte, deadline time.Time) (int, error) {
	var n int
	var err error
	cerr := s.raw.Control(func(fd uintptr) {
		for {
			n, err = syscall.Read(int(fd), buf) // what is there already, without a poll first
			if err == syscall.EINTR {
				continue
			}
			left := time.Until(deadline)
			if err != syscall.EAGAIN || left <= 0 {
				return
			}
			pollIn(int(fd), left)
		}
	})
	switch {
	case cerr != nil:
		return 0, fail("runtime", "read: %s", errnoText(cerr))
	case err == nil && n > 0:
		return n, nil
	case err == nil || err == syscall.ECONNRESET:
		return 0, nil // the other side went (tcp: reset, with bytes of ours unread)
	case err == syscall.EAGAIN:
		return 0, fail("timeout", "waiting for bytes")
	}
	return 0, fail("runtime", "read: %s", errnoText(err))
}

// Write writes all of buf, with no deadline (net's Write loops until every byte is out).
func (s *sockConn) Write(buf []byte) error {
	if _, err := s.c.Write(buf); err != nil {
		return fail("runtime", "write: %s", errnoText(err))
	}
	return nil
}

func (s *sockConn) Close() { s.c.Close() }

func (s *sockConn) PeerUID() (uint32, error) {
	if !s.unix {
		return 0, fail("unsupported", "peer credentials over tcp: there are none; closed")
	}
	var uid uint32
	var err error
	if cerr := s.raw.Control(func(fd uintptr) { uid, err = socketPeerUID(int(fd)) }); cerr != nil {
		err = cerr
	}
	if err != nil {
		return 0, fail("runtime", "peer credentials: %s", errnoText(err))
	}
	return uid, nil
}

func (s *sockConn) Waits() uint64  { return 0 }
func (s *sockConn) Missed() uint64 { return 0 }

// ------------------------------------------------------------------ the listener

// netListener is what *net.UnixListener and *net.TCPListener both have.
type netListener interface {
	net.Listener
	SetDeadline(t time.Time) error
	SyscallConn() (syscall.RawConn, error)
}

type sockListener struct {
	ln   netListener
	unix bool
}

func (l *sockListener) Accept(deadline time.Time) (Conn, error) {
	var c net.Conn
	var err error
	if time.Now().Before(deadline) {
		l.ln.SetDeadline(deadline)
		c, err = l.ln.Accept()
		if err != nil && timedOut(err) {
			c, err = l.acceptNow() // the last look, at the deadline
		}
	} else {
		c, err = l.acceptNow()
	}
	if err != nil {
		if _, ok := err.(*peerError); ok {
			return nil, err
		}
		return nil, fail("runtime", "accept: %s", errnoText(err))
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true) // Go's default too: frames go out as they are written
	}
	return newSockConn(c, l.unix)
}

// acceptNow accepts a connection that is already waiting, without waiting for one.
func (l *sockListener) acceptNow() (net.Conn, error) {
	raw, err := l.ln.SyscallConn()
	if err != nil {
		return nil, err
	}
	nfd := -1
	var aerr error
	if cerr := raw.Control(func(fd uintptr) {
		for {
			nfd, _, aerr = syscall.Accept(int(fd))
			if aerr != syscall.EINTR && aerr != syscall.ECONNABORTED {
				return
			}
		}
	}); cerr != nil {
		return nil, cerr
	}
	if aerr == syscall.EAGAIN || aerr == syscall.EWOULDBLOCK {
		return nil, fail("timeout", "no connection to accept")
	}
	if aerr != nil {
		return nil, aerr
	}
	// net.FileConn takes its own (non-blocking, close-on-exec) copy of the descriptor.
	f := os.NewFile(uintptr(nfd), "accepted")
	defer f.Close()
	return net.FileConn(f)
}

// Close closes the listener, removing a uds socket file (forgotten by the watcher too).
func (l *sockListener) Close() { removing(func() { l.ln.Close() }) }

// dial connects to a listening socket before the deadline. Refused (nothing listening)
// fails at once; a full backlog (Linux, Unix sockets: EAGAIN) is tried again until then.
func dial(network, address, shown string, deadline time.Time) (net.Conn, error) {
	for {
		d := net.Dialer{Deadline: deadline}
		if time.Until(deadline) < dialGrace {
			d.Deadline = time.Now().Add(dialGrace)
		}
		c, err := d.Dial(network, address)
		switch {
		case err == nil:
			return c, nil
		case errors.Is(err, syscall.EAGAIN) && time.Now().Before(deadline):
			time.Sleep(min(10*time.Millisecond, time.Until(deadline)))
		case errors.Is(err, syscall.EAGAIN) || timedOut(err):
			return nil, fail("timeout", "connecting to %s", shown)
		default:
			return nil, fail("runtime", "connect to %s: %s", shown, errnoText(err))
		}
	}
}
