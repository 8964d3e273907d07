package proxytest

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"testing"

	"github.com/crierhq/crier/internal/loopbackcert"
)

// HTTPOptions configure an HTTP CONNECT proxy.
type HTTPOptions struct {
	// User and Password, when either is set, are required of clients in
	// a Proxy-Authorization header (basic); others get 407.
	User, Password string
	// Refuse makes the proxy answer every CONNECT with 403 Forbidden.
	Refuse bool
	// TLS makes the proxy speak TLS, with a certificate for 127.0.0.1 that
	// chains to Proxy.RootCAs; its URL is then https://.
	TLS bool
	// Hosts maps names (any case, with or without the final dot) to the
	// IP addresses the proxy connects to. Other names get 502.
	Hosts map[string]string
}

// NewHTTPConnect starts a plain HTTP CONNECT proxy on 127.0.0.1 that
// tunnels to any loopback address. It stops when the test ends.
func NewHTTPConnect(tb testing.TB) *Proxy {
	tb.Helper()
	return NewHTTP(tb, HTTPOptions{})
}

// NewHTTP starts an HTTP CONNECT proxy on 127.0.0.1 configured by opts. It
// answers other methods with 405, and stops when the test ends.
func NewHTTP(tb testing.TB, opts HTTPOptions) *Proxy {
	tb.Helper()
	scheme := "http"
	var cfg *tls.Config
	var roots *x509.CertPool
	if opts.TLS {
		cert, err := loopbackcert.Get()
		if err != nil {
			tb.Fatalf("proxytest: certificate: %v", err)
		}
		cfg = &tls.Config{Certificates: []tls.Certificate{cert}}
		roots = x509.NewCertPool()
		roots.AddCert(cert.Leaf)
		scheme = "https"
	}
	p := start(tb, scheme, opts.Hosts, cfg, func(p *Proxy, c net.Conn) { p.connect(c, opts) })
	p.roots = roots
	return p
}

func (p *Proxy) connect(c net.Conn, o HTTPOptions) {
	r := bufio.NewReader(c)
	req, err := http.ReadRequest(r)
	if err != nil {
		return
	}
	if req.Method != http.MethodConnect {
		httpReply(c, http.StatusMethodNotAllowed, "")
		return
	}
	p.record(req.Host)
	if o.User != "" || o.Password != "" {
		want := "Basic " + base64.StdEncoding.EncodeToString([]byte(o.User+":"+o.Password))
		if req.Header.Get("Proxy-Authorization") != want {
			httpReply(c, http.StatusProxyAuthRequired, "Proxy-Authenticate: Basic realm=\"proxytest\"\r\n")
			return
		}
	}
	if o.Refuse {
		httpReply(c, http.StatusForbidden, "")
		return
	}
	dst, err := p.dial(req.Host)
	if err != nil {
		httpReply(c, http.StatusBadGateway, "")
		return
	}
	if _, err := fmt.Fprint(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		p.untrack(dst)
		return
	}
	p.splice(c, r, dst)
}

// httpReply answers with status, extra header lines and no body.
func httpReply(c net.Conn, status int, header string) {
	fmt.Fprintf(c, "HTTP/1.1 %d %s\r\n%sContent-Length: 0\r\nConnection: close\r\n\r\n", status, http.StatusText(status), header)
}
