package proxytest

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"testing"
)

// SOCKS5Options configure a SOCKS5 proxy.
type SOCKS5Options struct {
	// User and Password, when either is set, are required of clients
	// (RFC 1929); a client that offers no such authentication is turned
	// away.
	User, Password string
	// Refuse makes the proxy refuse every CONNECT with "connection not
	// allowed by ruleset".
	Refuse bool
	// Hosts maps names (any case, with or without the final dot) to the
	// IP addresses the proxy connects to when a client sends a name.
	// Other names are answered with "host unreachable".
	Hosts map[string]string
}

// SOCKS5 reply codes (RFC 1928, section 6).
const (
	socksSucceeded      = 0x00
	socksNotAllowed     = 0x02
	socksHostUnreach    = 0x04
	socksRefused        = 0x05
	socksCmdUnsupported = 0x07
	socksAddrUnsupport  = 0x08
)

// NewSOCKS5 starts a SOCKS5 proxy on 127.0.0.1 that serves CONNECT
// requests for IPv4, IPv6 and domain targets. It stops when the test ends.
func NewSOCKS5(tb testing.TB, opts SOCKS5Options) *Proxy {
	tb.Helper()
	return start(tb, "socks5", opts.Hosts, nil, func(p *Proxy, c net.Conn) { p.socks5(c, opts) })
}

func (p *Proxy) socks5(c net.Conn, o SOCKS5Options) {
	r := bufio.NewReader(c)
	if !socksGreet(c, r, o) {
		return
	}
	var req [4]byte // version, command, reserved, address type
	if _, err := io.ReadFull(r, req[:]); err != nil || req[0] != 5 {
		return
	}
	host, err := socksAddr(r, req[3])
	if err != nil {
		socksReply(c, socksAddrUnsupport, netip.AddrPort{})
		return
	}
	var port [2]byte
	if _, err := io.ReadFull(r, port[:]); err != nil {
		return
	}
	target := net.JoinHostPort(host, strconv.Itoa(int(binary.BigEndian.Uint16(port[:]))))
	p.record(target)
	switch {
	case req[1] != 1:
		socksReply(c, socksCmdUnsupported, netip.AddrPort{})
		return
	case o.Refuse:
		socksReply(c, socksNotAllowed, netip.AddrPort{})
		return
	}
	dst, err := p.dial(target)
	switch {
	case errors.Is(err, errNotAllowed):
		socksReply(c, socksNotAllowed, netip.AddrPort{})
		return
	case errors.Is(err, syscall.ECONNREFUSED):
		socksReply(c, socksRefused, netip.AddrPort{})
		return
	case err != nil:
		socksReply(c, socksHostUnreach, netip.AddrPort{})
		return
	}
	bound, _ := netip.ParseAddrPort(dst.LocalAddr().String())
	if socksReply(c, socksSucceeded, bound) != nil {
		p.untrack(dst)
		return
	}
	p.splice(c, r, dst)
}

// socksGreet negotiates the authentication method and, when credentials
// are required, checks them. It reports whether the client may go on.
func socksGreet(c net.Conn, r *bufio.Reader, o SOCKS5Options) bool {
	var hello [2]byte
	if _, err := io.ReadFull(r, hello[:]); err != nil || hello[0] != 5 {
		return false
	}
	methods := make([]byte, hello[1])
	if _, err := io.ReadFull(r, methods); err != nil {
		return false
	}
	want := byte(0x00)
	if o.User != "" || o.Password != "" {
		want = 0x02
	}
	offered := false
	for _, m := range methods {
		offered = offered || m == want
	}
	if !offered {
		c.Write([]byte{5, 0xff})
		return false
	}
	if _, err := c.Write([]byte{5, want}); err != nil {
		return false
	}
	if want == 0x00 {
		return true
	}
	// RFC 1929: version 1, user, password, each after its length.
	var ver [1]byte
	if _, err := io.ReadFull(r, ver[:]); err != nil || ver[0] != 1 {
		return false
	}
	user, err1 := readShort(r)
	pass, err2 := readShort(r)
	if err1 != nil || err2 != nil {
		return false
	}
	if user != o.User || pass != o.Password {
		c.Write([]byte{1, 1})
		return false
	}
	_, err := c.Write([]byte{1, 0})
	return err == nil
}

// readShort reads a string that follows its one-byte length.
func readShort(r *bufio.Reader) (string, error) {
	n, err := r.ReadByte()
	if err != nil {
		return "", err
	}
	b := make([]byte, n)
	_, err = io.ReadFull(r, b)
	return string(b), err
}

// socksAddr reads a target address of type atyp: an IPv4 or IPv6 address
// as text, or a name as sent.
func socksAddr(r *bufio.Reader, atyp byte) (string, error) {
	switch atyp {
	case 0x01:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return "", err
		}
		return netip.AddrFrom4(b).String(), nil
	case 0x04:
		var b [16]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return "", err
		}
		return netip.AddrFrom16(b).String(), nil
	case 0x03:
		return readShort(r)
	}
	return "", errors.New("unknown address type")
}

// socksReply answers a request with code and the address the proxy bound.
func socksReply(c net.Conn, code byte, bound netip.AddrPort) error {
	b := []byte{5, code, 0}
	ip := bound.Addr().Unmap()
	if ip.Is6() {
		b = append(b, 0x04)
	} else {
		b = append(b, 0x01)
		if !ip.IsValid() {
			ip = netip.IPv4Unspecified()
		}
	}
	b = append(b, ip.AsSlice()...)
	b = binary.BigEndian.AppendUint16(b, bound.Port())
	_, err := c.Write(b)
	return err
}
