// Package proxytest runs in-process proxies for tests: a SOCKS5 proxy
// (RFC 1928, with the username/password authentication of RFC 1929) and an
// HTTP CONNECT proxy, plain or over TLS. They record the targets they were
// asked for and the addresses of their clients, and connect only to
// loopback addresses, so that no test reaches anything else through them.
package proxytest

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// Proxy is a running proxy. It is safe for concurrent use.
type Proxy struct {
	l     net.Listener
	url   string
	roots *x509.CertPool
	hosts map[string]string
	wg    sync.WaitGroup

	mu      sync.Mutex
	targets []string
	clients []string
	conns   map[net.Conn]struct{}
	closed  bool
}

// Addr returns the proxy's address as "127.0.0.1:port".
func (p *Proxy) Addr() string { return p.l.Addr().String() }

// URL returns the proxy's URL without credentials, e.g.
// "socks5://127.0.0.1:port" or "http://127.0.0.1:port".
func (p *Proxy) URL() string { return p.url }

// RootCAs returns the pool that holds the certificate of a proxy started
// with HTTPOptions.TLS, and nil for the others.
func (p *Proxy) RootCAs() *x509.CertPool { return p.roots }

// Targets returns the "host:port" targets clients asked for, in order and
// as sent (a name or an IP address), refused ones included.
func (p *Proxy) Targets() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.targets...)
}

// Clients returns the source IP address of each client connection, in
// order.
func (p *Proxy) Clients() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.clients...)
}

// start listens on 127.0.0.1:0 and hands every connection to handle; the
// proxy stops when the test ends.
func start(tb testing.TB, scheme string, hosts map[string]string, cfg *tls.Config, handle func(p *Proxy, c net.Conn)) *Proxy {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("proxytest: listen: %v", err)
	}
	if cfg != nil {
		l = tls.NewListener(l, cfg)
	}
	p := &Proxy{l: l, url: scheme + "://" + l.Addr().String(), hosts: map[string]string{}, conns: map[net.Conn]struct{}{}}
	for name, ip := range hosts {
		p.hosts[hostKey(name)] = ip
	}
	tb.Cleanup(p.close)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			if !p.track(c) {
				return
			}
			host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
			p.mu.Lock()
			p.clients = append(p.clients, host)
			p.mu.Unlock()
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				defer p.untrack(c)
				handle(p, c)
			}()
		}
	}()
	return p
}

// track registers c to be closed with the proxy; it reports false, and
// closes c, when the proxy is closed already.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *Proxy) close() {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.l.Close()
	p.wg.Wait()
}

func (p *Proxy) record(target string) {
	p.mu.Lock()
	p.targets = append(p.targets, target)
	p.mu.Unlock()
}

// errNotAllowed refuses a target that is not a loopback address.
var errNotAllowed = errors.New("proxytest connects to loopback addresses only")

// errUnknownHost refuses a name the proxy was not told about.
var errUnknownHost = errors.New("proxytest knows no such host")

// dial connects to target, a name from the proxy's table or a loopback
// address.
func (p *Proxy) dial(target string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(target)
	if err != nil {
		return nil, err
	}
	if ip, ok := p.hosts[hostKey(host)]; ok {
		host = ip
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return nil, errUnknownHost
	}
	if !ip.Unmap().IsLoopback() {
		return nil, errNotAllowed
	}
	c, err := net.DialTimeout("tcp", net.JoinHostPort(ip.String(), port), 5*time.Second)
	if err != nil {
		return nil, err
	}
	if !p.track(c) {
		return nil, net.ErrClosed
	}
	return c, nil
}

// splice copies between the client (read through r) and dst until either
// side ends, then closes both.
func (p *Proxy) splice(c net.Conn, r io.Reader, dst net.Conn) {
	defer p.untrack(dst)
	done := make(chan struct{}, 2)
	go func() {
		io.Copy(dst, r)
		done <- struct{}{}
	}()
	go func() {
		io.Copy(c, dst)
		done <- struct{}{}
	}()
	<-done
	c.Close()
	dst.Close()
	<-done
}

func hostKey(name string) string {
	return strings.TrimSuffix(strings.ToLower(name), ".")
}
