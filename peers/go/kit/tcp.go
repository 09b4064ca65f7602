package kit

// The TCP transport: the same byte stream as uds, over sock.go's connection. Addresses are
// `<a.b.c.d>:<port>` or `[<IPv6>]:<port>`, literal addresses only (nothing to resolve).
// TCP_NODELAY on both ends; SO_REUSEADDR on the listener (Go sets it on every listener).
// There are no peer credentials, and nothing to remove on CLOSE.

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// tcpAddress parses a contract address into the network ("tcp4" or "tcp6") and the address.
func tcpAddress(address string) (string, netip.AddrPort, error) {
	bad := fail("runtime", "bad tcp address %s: <IPv4>:<port> or [<IPv6>]:<port>", quote(address))
	colon := strings.LastIndexByte(address, ':')
	if colon < 0 {
		return "", netip.AddrPort{}, bad
	}
	host, portText := address[:colon], address[colon+1:]
	port, over, ok := number(portText)
	if !ok || over || len(portText) > 5 || port > 65535 {
		return "", netip.AddrPort{}, bad
	}
	network := "tcp4"
	if len(host) >= 2 && host[0] == '[' && host[len(host)-1] == ']' {
		host, network = host[1:len(host)-1], "tcp6"
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.Zone() != "" || ip.Is4() != (network == "tcp4") {
		return "", netip.AddrPort{}, bad
	}
	return network, netip.AddrPortFrom(ip, uint16(port)), nil
}

// tcpName is the contract's form of a bound address: a.b.c.d:port or [v6]:port.
func tcpName(network string, a netip.AddrPort) string {
	if network == "tcp6" {
		return "[" + a.Addr().String() + "]:" + strconv.Itoa(int(a.Port()))
	}
	return a.Addr().Unmap().String() + ":" + strconv.Itoa(int(a.Port()))
}

func tcpListen(address string) (Listener, string, error) {
	network, a, err := tcpAddress(address)
	if err != nil {
		return nil, "", err
	}
	ln, err := net.ListenTCP(network, net.TCPAddrFromAddrPort(a))
	if err != nil {
		return nil, "", fail("runtime", "bind %s: %s", address, errnoText(err))
	}
	bound := ln.Addr().(*net.TCPAddr).AddrPort()
	if network == "tcp6" {
		bound = netip.AddrPortFrom(netip.AddrFrom16(bound.Addr().As16()), bound.Port())
	}
	return &sockListener{ln: ln}, tcpName(network, bound), nil
}

func tcpConnect(address string, deadline time.Time) (Conn, error) {
	network, a, err := tcpAddress(address)
	if err != nil {
		return nil, err
	}
	c, err := dial(network, a.String(), address, deadline)
	if err != nil {
		return nil, err
	}
	c.(*net.TCPConn).SetNoDelay(true) // Go's default too: frames go out as they are written
	return newSockConn(c, false)
}
