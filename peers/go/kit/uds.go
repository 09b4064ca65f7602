package kit

// The Unix stream socket transport: addresses are paths; the connection and its waits are
// sock.go's. The listener creates the socket file (it must not exist) and removes it on CLOSE,
// or when the harness goes (harness.go).

import (
	"net"
	"strings"
	"syscall"
	"time"
)

// socketPath is the path as the net package must be given it: Go reads a leading '@' as
// Linux's abstract namespace, which the contract's paths never mean, so such a path is
// spelled "./@...", the same file.
func socketPath(path string) string {
	if strings.HasPrefix(path, "@") {
		return "./" + path
	}
	return path
}

func udsListen(path string) (Listener, error) {
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: socketPath(path), Net: "unix"})
	if err != nil { // bind fails if the file exists
		return nil, fail("runtime", "bind %s: %s", path, errnoText(err))
	}
	ln.SetUnlinkOnClose(true) // CLOSE removes the socket file
	created(func() { syscall.Unlink(socketPath(path)) })
	return &sockListener{ln: ln, unix: true}, nil
}

func udsConnect(path string, deadline time.Time) (Conn, error) {
	c, err := dial("unix", socketPath(path), path, deadline)
	if err != nil {
		return nil, err
	}
	return newSockConn(c, true)
}
