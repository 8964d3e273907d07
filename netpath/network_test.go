package netpath_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crierhq/crier/netpath"
	"github.com/crierhq/crier/netpath/dnstest"
	"github.com/crierhq/crier/netpath/proxytest"
)

// mustNetwork returns the network o describes, failing the test otherwise.
func mustNetwork(t *testing.T, o netpath.NetworkOptions) *netpath.Network {
	t.Helper()
	if o.Name == "" {
		o.Name = "lte"
	}
	n, err := netpath.NewNetwork(o)
	if err != nil {
		t.Fatalf("NewNetwork %s: %v", o.Name, err)
	}
	return n
}

// listenTCP listens on addr until the test ends.
func listenTCP(t *testing.T, addr string) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// acceptFrom accepts one connection on l and returns its source IP.
func acceptFrom(t *testing.T, l net.Listener) string {
	t.Helper()
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return hostOf(c.RemoteAddr().String())
}

func hostOf(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}

func portOf(t *testing.T, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// listenSamePort listens on the same port of every IP address in ips.
func listenSamePort(t *testing.T, ips ...string) ([]net.Listener, string) {
	t.Helper()
	for range 20 {
		first := listenTCP(t, ips[0]+":0")
		port := portOf(t, first.Addr().String())
		ls := []net.Listener{first}
		for _, ip := range ips[1:] {
			l, err := net.Listen("tcp", net.JoinHostPort(ip, port))
			if err != nil {
				break
			}
			t.Cleanup(func() { l.Close() })
			ls = append(ls, l)
		}
		if len(ls) == len(ips) {
			return ls, port
		}
	}
	t.Fatalf("no port free on all of %v", ips)
	return nil, ""
}

// closedPort returns an address of ip where nothing listens for UDP or TCP.
func closedPort(t *testing.T, ip string) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return addr
}

// whoami starts an HTTP server on 127.0.0.1 that answers with the IP
// address of the client.
func whoami(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, hostOf(r.RemoteAddr))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// get fetches u with c and returns the body, failing the test on error or
// a status other than 200.
func get(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	body, err := tryGet(t.Context(), c, u)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func tryGet(ctx context.Context, c *http.Client, u string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %s", resp.Status)
	}
	return string(b), nil
}

func TestSourceBinding(t *testing.T) {
	l := listenTCP(t, "127.0.0.1:0")
	for _, src := range []string{"127.0.0.2", "127.0.0.3"} {
		n := mustNetwork(t, netpath.NetworkOptions{Source: src})
		c, err := n.DialContext(t.Context(), "tcp", l.Addr().String())
		if err != nil {
			t.Fatalf("source %s: %v", src, err)
		}
		if got := acceptFrom(t, l); got != src {
			t.Errorf("source %s: listener saw a connection from %s", src, got)
		}
		c.Close()
	}
}

func TestHTTPClientSourceBinding(t *testing.T) {
	srv := whoami(t)
	for _, src := range []string{"127.0.0.2", "127.0.0.3"} {
		n := mustNetwork(t, netpath.NetworkOptions{Source: src})
		if got := get(t, n.HTTPClient(time.Second), srv.URL); got != src {
			t.Errorf("source %s: server saw a request from %s", src, got)
		}
	}
}

func TestDNSPerNetwork(t *testing.T) {
	dnsA := dnstest.NewServer(t, "127.0.0.2:0")
	dnsB := dnstest.NewServer(t, "127.0.0.3:0")
	ls, port := listenSamePort(t, "127.0.0.4", "127.0.0.5")
	dnsA.Set("svc.crier.test", "127.0.0.4")
	dnsB.Set("SVC.crier.test.", "127.0.0.5")
	nets := []struct {
		source string
		dns    *dnstest.Server
		l      net.Listener
	}{
		{"127.0.0.2", dnsA, ls[0]},
		{"127.0.0.3", dnsB, ls[1]},
	}
	for _, tc := range nets {
		n := mustNetwork(t, netpath.NetworkOptions{Source: tc.source, DNS: []string{tc.dns.Addr()}})
		c, err := n.DialContext(t.Context(), "tcp", "svc.crier.test:"+port)
		if err != nil {
			t.Fatalf("source %s: %v", tc.source, err)
		}
		if got, want := c.RemoteAddr().String(), tc.l.Addr().String(); got != want {
			t.Errorf("source %s: connected to %s, want %s", tc.source, got, want)
		}
		if got := acceptFrom(t, tc.l); got != tc.source {
			t.Errorf("source %s: listener saw %s", tc.source, got)
		}
		c.Close()
		// A source of IPv4 asks for IPv4 addresses only, from the source.
		if diff := cmp.Diff([]string{"svc.crier.test"}, tc.dns.Queries()); diff != "" {
			t.Errorf("source %s: queries (-want +got):\n%s", tc.source, diff)
		}
		if diff := cmp.Diff([]string{tc.source}, tc.dns.Sources()); diff != "" {
			t.Errorf("source %s: query sources (-want +got):\n%s", tc.source, diff)
		}
	}
}

func TestDNSDeadResolver(t *testing.T) {
	dns := dnstest.NewServer(t, "127.0.0.3:0")
	dns.Set("svc.crier.test", "127.0.0.1")
	dns.Stop()
	check := func(t *testing.T, n *netpath.Network, ctx context.Context, limit time.Duration) {
		t.Helper()
		start := time.Now()
		_, err := n.DialContext(ctx, "tcp", "svc.crier.test:80")
		if took := time.Since(start); took > limit {
			t.Errorf("a dead resolver took %v to fail, want under %v", took, limit)
		}
		var de *net.DNSError
		if !errors.As(err, &de) {
			t.Fatalf("err = %v, want a *net.DNSError", err)
		}
		if !de.IsTimeout || de.Name != "svc.crier.test" || de.Server != dns.Addr() {
			t.Errorf("DNSError = %+v, want a timeout for svc.crier.test on %s", de, dns.Addr())
		}
		if !netpath.NothingSent(err) {
			t.Errorf("NothingSent(%v) = false", err)
		}
	}
	t.Run("context deadline", func(t *testing.T) {
		n := mustNetwork(t, netpath.NetworkOptions{Source: "127.0.0.2", DNS: []string{dns.Addr()}})
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		check(t, n, ctx, 2*time.Second)
	})
	t.Run("dial timeout", func(t *testing.T) {
		n := mustNetwork(t, netpath.NetworkOptions{Source: "127.0.0.2", DNS: []string{dns.Addr()}, DialTimeout: 300 * time.Millisecond})
		check(t, n, t.Context(), 2*time.Second)
	})
	if len(dns.Queries()) == 0 {
		t.Error("the resolver was never asked")
	}
	for _, src := range dns.Sources() {
		if src != "127.0.0.2" {
			t.Errorf("a query came from %s, not the network's source", src)
		}
	}
}

func TestDNSUnknownName(t *testing.T) {
	dns := dnstest.NewServer(t, "127.0.0.2:0")
	n := mustNetwork(t, netpath.NetworkOptions{DNS: []string{dns.Addr()}})
	_, err := n.DialContext(t.Context(), "tcp", "nowhere.crier.test:80")
	var de *net.DNSError
	if !errors.As(err, &de) || !de.IsNotFound {
		t.Fatalf("err = %v, want a not-found *net.DNSError", err)
	}
	if !netpath.NothingSent(err) {
		t.Errorf("NothingSent(%v) = false", err)
	}
	if !strings.Contains(err.Error(), "network lte") {
		t.Errorf("error %q does not name the network", err)
	}
}

func TestDNSServersInOrder(t *testing.T) {
	l := listenTCP(t, "127.0.0.1:0")
	port := portOf(t, l.Addr().String())
	first := dnstest.NewServer(t, "127.0.0.2:0")
	second := dnstest.NewServer(t, "127.0.0.3:0")
	first.Set("svc.crier.test", "127.0.0.1")
	second.Set("svc.crier.test", "127.0.0.1")

	n := mustNetwork(t, netpath.NetworkOptions{DNS: []string{first.Addr(), second.Addr()}})
	c, err := n.DialContext(t.Context(), "tcp4", "svc.crier.test:"+port)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if len(first.Queries()) != 1 || len(second.Queries()) != 0 {
		t.Errorf("queries: first %v, second %v; want one to the first only", first.Queries(), second.Queries())
	}

	// A server that refuses (nothing listens) gives way to the next at once.
	n = mustNetwork(t, netpath.NetworkOptions{DNS: []string{closedPort(t, "127.0.0.4"), second.Addr()}})
	c, err = n.DialContext(t.Context(), "tcp4", "svc.crier.test:"+port)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if len(second.Queries()) != 1 {
		t.Errorf("second server's queries = %v, want one", second.Queries())
	}
}

func TestDNSTruncatedAnswerOverTCP(t *testing.T) {
	l := listenTCP(t, "127.0.0.1:0")
	dns := dnstest.NewServer(t, "127.0.0.3:0")
	dns.Set("svc.crier.test", "127.0.0.1")
	dns.TruncateUDP(true)
	n := mustNetwork(t, netpath.NetworkOptions{Source: "127.0.0.2", DNS: []string{dns.Addr()}})
	c, err := n.DialContext(t.Context(), "tcp", "svc.crier.test:"+portOf(t, l.Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	// Asked over UDP, which gave no address, and again over TCP, both from
	// the source.
	if diff := cmp.Diff([]string{"127.0.0.2", "127.0.0.2"}, dns.Sources()); diff != "" {
		t.Errorf("query sources (-want +got):\n%s", diff)
	}
}

func TestIPLiteralSkipsResolver(t *testing.T) {
	l := listenTCP(t, "127.0.0.1:0")
	dns := dnstest.NewServer(t, "127.0.0.2:0")
	n := mustNetwork(t, netpath.NetworkOptions{DNS: []string{dns.Addr()}})
	c, err := n.DialContext(t.Context(), "tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if q := dns.Queries(); len(q) != 0 {
		t.Errorf("an IP address was looked up: %v", q)
	}
}

func TestResolver(t *testing.T) {
	if r := netpath.DefaultNetwork().Resolver(); r != nil {
		t.Errorf("DefaultNetwork().Resolver() = %v, want nil (the system's)", r)
	}
	dns := dnstest.NewServer(t, "127.0.0.3:0")
	dns.Set("svc.crier.test", "127.0.0.9", "::1")
	n := mustNetwork(t, netpath.NetworkOptions{Source: "127.0.0.2", DNS: []string{dns.Addr()}})
	addrs, err := n.Resolver().LookupHost(t.Context(), "svc.crier.test.")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(addrs)
	if diff := cmp.Diff([]string{"127.0.0.9", "::1"}, addrs); diff != "" {
		t.Errorf("addresses (-want +got):\n%s", diff)
	}
	for _, src := range dns.Sources() {
		if src != "127.0.0.2" {
			t.Errorf("a query came from %s", src)
		}
	}
}

func TestDefaultNetwork(t *testing.T) {
	n := netpath.DefaultNetwork()
	if n.Name() != "default" {
		t.Errorf("Name() = %q", n.Name())
	}
	srv := whoami(t)
	if got := get(t, n.HTTPClient(time.Second), srv.URL); got != "127.0.0.1" {
		t.Errorf("server saw %s", got)
	}
}

// proxied is a web server and an echo server behind a name, and a DNS
// server that knows the name.
type proxied struct {
	web, echo string // ports
	dns       *dnstest.Server
	hosts     map[string]string
}

func newProxied(t *testing.T) *proxied {
	t.Helper()
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "ok")
	}))
	t.Cleanup(web.Close)
	dns := dnstest.NewServer(t, "127.0.0.3:0")
	dns.Set("web.crier.test", "127.0.0.1")
	return &proxied{
		web:   portOf(t, web.Listener.Addr().String()),
		echo:  portOf(t, startEcho(t, "127.0.0.1:0")),
		dns:   dns,
		hosts: map[string]string{"web.crier.test": "127.0.0.1"},
	}
}

// startEcho starts a server that greets first, as an SMTP server does,
// and then echoes lines. It returns its address.
func startEcho(t *testing.T, addr string) string {
	t.Helper()
	l := listenTCP(t, addr)
	done := make(chan struct{})
	t.Cleanup(func() { l.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				fmt.Fprint(c, "220 echo\r\n")
				io.Copy(c, c)
			}()
		}
	}()
	return l.Addr().String()
}

// echoThrough dials the echo server through n and checks the greeting and
// an echoed line.
func echoThrough(t *testing.T, n *netpath.Network, addr string) {
	t.Helper()
	c, err := n.DialContext(t.Context(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	if line, err := r.ReadString('\n'); err != nil || line != "220 echo\r\n" {
		t.Fatalf("greeting = %q, %v", line, err)
	}
	fmt.Fprint(c, "ping\n")
	if line, err := r.ReadString('\n'); err != nil || line != "ping\n" {
		t.Fatalf("echo = %q, %v", line, err)
	}
}

// checkFailure checks that err is a failure before anything was sent that
// does not show the secret.
func checkFailure(t *testing.T, err error, secret string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	if !netpath.NothingSent(err) {
		t.Errorf("NothingSent(%v) = false", err)
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error %q shows the proxy password", err)
	}
}

func TestSOCKS5(t *testing.T) {
	p := newProxied(t)
	webURL := "http://web.crier.test:" + p.web + "/"

	t.Run("names resolved here", func(t *testing.T) {
		px := proxytest.NewSOCKS5(t, proxytest.SOCKS5Options{Hosts: p.hosts})
		n := mustNetwork(t, netpath.NetworkOptions{Source: "127.0.0.2", DNS: []string{p.dns.Addr()}, Proxy: px.URL()})
		before := len(p.dns.Queries())
		if got := get(t, n.HTTPClient(time.Second), webURL); got != "ok" {
			t.Errorf("body = %q", got)
		}
		if diff := cmp.Diff([]string{"127.0.0.1:" + p.web}, px.Targets()); diff != "" {
			t.Errorf("targets (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"127.0.0.2"}, px.Clients()); diff != "" {
			t.Errorf("proxy clients (-want +got):\n%s", diff)
		}
		if len(p.dns.Queries()) == before {
			t.Error("the name was not resolved through the network's DNS server")
		}
	})
	t.Run("names resolved by the proxy", func(t *testing.T) {
		px := proxytest.NewSOCKS5(t, proxytest.SOCKS5Options{Hosts: p.hosts})
		n := mustNetwork(t, netpath.NetworkOptions{DNS: []string{p.dns.Addr()}, Proxy: "socks5h://" + px.Addr()})
		before := len(p.dns.Queries())
		get(t, n.HTTPClient(time.Second), webURL)
		if diff := cmp.Diff([]string{"web.crier.test:" + p.web}, px.Targets()); diff != "" {
			t.Errorf("targets (-want +got):\n%s", diff)
		}
		if q := p.dns.Queries()[before:]; len(q) != 0 {
			t.Errorf("the name was resolved here too: %v", q)
		}
	})
	t.Run("credentials", func(t *testing.T) {
		px := proxytest.NewSOCKS5(t, proxytest.SOCKS5Options{User: "crier", Password: "Geheim-42", Hosts: p.hosts})
		n := mustNetwork(t, netpath.NetworkOptions{Proxy: "socks5h://crier:Geheim-42@" + px.Addr()})
		get(t, n.HTTPClient(time.Second), webURL)

		n = mustNetwork(t, netpath.NetworkOptions{Proxy: "socks5h://crier:Falsch-17@" + px.Addr()})
		_, err := tryGet(t.Context(), n.HTTPClient(time.Second), webURL)
		checkFailure(t, err, "Falsch-17")
		_, err = n.DialContext(t.Context(), "tcp", "web.crier.test:"+p.web)
		checkFailure(t, err, "Falsch-17")
	})
	t.Run("refused", func(t *testing.T) {
		px := proxytest.NewSOCKS5(t, proxytest.SOCKS5Options{User: "crier", Password: "Geheim-42", Refuse: true})
		n := mustNetwork(t, netpath.NetworkOptions{Proxy: "socks5://crier:Geheim-42@" + px.Addr()})
		_, err := tryGet(t.Context(), n.HTTPClient(time.Second), "http://127.0.0.1:"+p.web+"/")
		checkFailure(t, err, "Geheim-42")
		_, err = n.DialContext(t.Context(), "tcp", "127.0.0.1:"+p.echo)
		checkFailure(t, err, "Geheim-42")
		if len(px.Targets()) != 2 {
			t.Errorf("targets = %v, want two refused ones", px.Targets())
		}
	})
	t.Run("raw connection", func(t *testing.T) {
		px := proxytest.NewSOCKS5(t, proxytest.SOCKS5Options{Hosts: p.hosts})
		for _, scheme := range []string{"socks5", "socks5h"} {
			n := mustNetwork(t, netpath.NetworkOptions{DNS: []string{p.dns.Addr()}, Proxy: scheme + "://" + px.Addr()})
			echoThrough(t, n, "web.crier.test:"+p.echo)
		}
		want := []string{"127.0.0.1:" + p.echo, "web.crier.test:" + p.echo}
		if diff := cmp.Diff(want, px.Targets()); diff != "" {
			t.Errorf("targets (-want +got):\n%s", diff)
		}
	})
	t.Run("IPv6 target", func(t *testing.T) {
		l, err := net.Listen("tcp", "[::1]:0")
		if err != nil {
			t.Skipf("no IPv6 loopback here: %v", err)
		}
		l.Close()
		addr := startEcho(t, "[::1]:0")
		px := proxytest.NewSOCKS5(t, proxytest.SOCKS5Options{})
		echoThrough(t, mustNetwork(t, netpath.NetworkOptions{Proxy: px.URL()}), addr)
		if diff := cmp.Diff([]string{addr}, px.Targets()); diff != "" {
			t.Errorf("targets (-want +got):\n%s", diff)
		}
	})
}

func TestHTTPConnect(t *testing.T) {
	p := newProxied(t)
	webURL := "http://web.crier.test:" + p.web + "/"
	// proxyNet returns a network through px, with the credentials in
	// userinfo, trusting px's certificate.
	proxyNet := func(t *testing.T, px *proxytest.Proxy, userinfo string, o netpath.NetworkOptions) *netpath.Network {
		u, err := url.Parse(px.URL())
		if err != nil {
			t.Fatal(err)
		}
		if userinfo != "" {
			user, pass, _ := strings.Cut(userinfo, ":")
			u.User = url.UserPassword(user, pass)
		}
		o.Proxy = u.String()
		n := mustNetwork(t, o)
		netpath.SetProxyRoots(n, px.RootCAs())
		return n
	}
	for _, useTLS := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", useTLS), func(t *testing.T) {
			t.Run("tunnel", func(t *testing.T) {
				px := proxytest.NewHTTP(t, proxytest.HTTPOptions{TLS: useTLS, Hosts: p.hosts})
				n := proxyNet(t, px, "", netpath.NetworkOptions{Source: "127.0.0.2", DNS: []string{p.dns.Addr()}})
				before := len(p.dns.Queries())
				if got := get(t, n.HTTPClient(time.Second), webURL); got != "ok" {
					t.Errorf("body = %q", got)
				}
				echoThrough(t, n, "web.crier.test:"+p.echo)
				want := []string{"web.crier.test:" + p.web, "web.crier.test:" + p.echo}
				if diff := cmp.Diff(want, px.Targets()); diff != "" {
					t.Errorf("targets (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff([]string{"127.0.0.2", "127.0.0.2"}, px.Clients()); diff != "" {
					t.Errorf("proxy clients (-want +got):\n%s", diff)
				}
				if q := p.dns.Queries()[before:]; len(q) != 0 {
					t.Errorf("the proxy resolves names, yet they were looked up here: %v", q)
				}
			})
			t.Run("credentials", func(t *testing.T) {
				px := proxytest.NewHTTP(t, proxytest.HTTPOptions{TLS: useTLS, User: "crier", Password: "Geheim-42", Hosts: p.hosts})
				get(t, proxyNet(t, px, "crier:Geheim-42", netpath.NetworkOptions{}).HTTPClient(time.Second), webURL)

				n := proxyNet(t, px, "crier:Falsch-17", netpath.NetworkOptions{})
				_, err := tryGet(t.Context(), n.HTTPClient(time.Second), webURL)
				checkFailure(t, err, "Falsch-17")
				if !strings.Contains(err.Error(), "407") {
					t.Errorf("error %q does not say the proxy wants credentials", err)
				}
			})
			t.Run("refused", func(t *testing.T) {
				px := proxytest.NewHTTP(t, proxytest.HTTPOptions{TLS: useTLS, Refuse: true})
				n := proxyNet(t, px, "crier:Geheim-42", netpath.NetworkOptions{})
				_, err := tryGet(t.Context(), n.HTTPClient(time.Second), "http://127.0.0.1:"+p.web+"/")
				checkFailure(t, err, "Geheim-42")
				_, err = n.DialContext(t.Context(), "tcp", "127.0.0.1:"+p.echo)
				checkFailure(t, err, "Geheim-42")
			})
		})
	}
	t.Run("untrusted proxy certificate", func(t *testing.T) {
		px := proxytest.NewHTTP(t, proxytest.HTTPOptions{TLS: true})
		n := mustNetwork(t, netpath.NetworkOptions{Proxy: px.URL()})
		_, err := n.DialContext(t.Context(), "tcp", "127.0.0.1:"+p.echo)
		checkFailure(t, err, "Geheim")
		if len(px.Targets()) != 0 {
			t.Errorf("a CONNECT went to an untrusted proxy: %v", px.Targets())
		}
	})
}

func TestHTTPClientFollowsNoRedirect(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	resp, err := netpath.DefaultNetwork().HTTPClient(time.Second).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Errorf("status = %d, want the redirect itself", resp.StatusCode)
	}
}

func TestHTTPClientIgnoresEnvironmentProxy(t *testing.T) {
	p := newProxied(t)
	px := proxytest.NewHTTP(t, proxytest.HTTPOptions{Hosts: p.hosts})
	t.Setenv("HTTP_PROXY", px.URL())
	t.Setenv("http_proxy", px.URL())
	t.Setenv("ALL_PROXY", "socks5://"+px.Addr())
	t.Setenv("NO_PROXY", "")
	n := mustNetwork(t, netpath.NetworkOptions{DNS: []string{p.dns.Addr()}})
	get(t, n.HTTPClient(time.Second), "http://web.crier.test:"+p.web+"/")
	if len(px.Targets()) != 0 || len(px.Clients()) != 0 {
		t.Errorf("the environment's proxy was used: targets %v", px.Targets())
	}
}

// stalled returns the address of a server that accepts connections and
// never says anything.
func stalled(t *testing.T) string {
	t.Helper()
	l := listenTCP(t, "127.0.0.1:0")
	conns := make(chan net.Conn, 16)
	t.Cleanup(func() {
		l.Close()
		for c := range conns {
			c.Close()
		}
	})
	go func() {
		defer close(conns)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns <- c
		}
	}()
	return l.Addr().String()
}

// silent returns the URL of an HTTP server that reads requests and never
// answers; the test ends its handlers when it ends.
func silent(t *testing.T) string {
	t.Helper()
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-stop:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(stop); srv.Close() })
	return srv.URL
}

// garbage returns the address of a server that answers what it is sent
// with bytes that are not TLS, and keeps the connection until the client
// closes it, so that the client reads the answer rather than a reset.
func garbage(t *testing.T) string {
	t.Helper()
	l := listenTCP(t, "127.0.0.1:0")
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := c.Read(make([]byte, 1)); err != nil {
					return
				}
				fmt.Fprint(c, "SSH-2.0-not-tls-at-all\r\n\r\n\r\n")
				io.Copy(io.Discard, c)
			}()
		}
	}()
	return l.Addr().String()
}

func TestNothingSent(t *testing.T) {
	deadline := func(d time.Duration) context.Context {
		ctx, cancel := context.WithTimeout(t.Context(), d)
		t.Cleanup(cancel)
		return ctx
	}
	refused := closedPort(t, "127.0.0.1")
	dns := dnstest.NewServer(t, "127.0.0.2:0")
	withDNS := mustNetwork(t, netpath.NetworkOptions{DNS: []string{dns.Addr()}})
	stalledProxy := mustNetwork(t, netpath.NetworkOptions{Proxy: "socks5://" + stalled(t)})
	def := netpath.DefaultNetwork()
	slow := silent(t)

	tests := []struct {
		name string
		err  func() error
		want bool
	}{
		{"nil", func() error { return nil }, false},
		{"plain error", func() error { return errors.New("boom") }, false},
		{"bare deadline", func() error { return context.DeadlineExceeded }, false},
		{"refused, dialed here", func() error {
			_, err := def.DialContext(t.Context(), "tcp", refused)
			return err
		}, true},
		{"refused, dialed elsewhere", func() error {
			_, err := net.Dial("tcp", refused)
			return fmt.Errorf("send: %w", err)
		}, true},
		{"refused, over HTTP", func() error {
			_, err := tryGet(t.Context(), def.HTTPClient(time.Second), "http://"+refused+"/")
			return err
		}, true},
		{"unknown name", func() error {
			_, err := withDNS.DialContext(t.Context(), "tcp", "nowhere.crier.test:443")
			return err
		}, true},
		{"unknown name, over HTTP", func() error {
			_, err := tryGet(t.Context(), withDNS.HTTPClient(time.Second), "https://nowhere.crier.test/")
			return err
		}, true},
		{"TLS to a server that speaks no TLS, over HTTP", func() error {
			_, err := tryGet(t.Context(), def.HTTPClient(time.Second), "https://"+garbage(t)+"/")
			return err
		}, true},
		{"TLS to a server that speaks no TLS, by hand", func() error {
			c, err := def.DialContext(t.Context(), "tcp", garbage(t))
			if err != nil {
				return err
			}
			defer c.Close()
			return tls.Client(c, &tls.Config{ServerName: "localhost"}).HandshakeContext(t.Context())
		}, true},
		{"deadline while connecting through a proxy", func() error {
			_, err := stalledProxy.DialContext(deadline(200*time.Millisecond), "tcp", "127.0.0.1:25")
			return err
		}, true},
		{"deadline while connecting through a proxy, over HTTP", func() error {
			_, err := tryGet(deadline(200*time.Millisecond), stalledProxy.HTTPClient(time.Second), "http://127.0.0.1:1/")
			return err
		}, true},
		{"deadline before connecting", func() error {
			ctx, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
			defer cancel()
			_, err := (&net.Dialer{}).DialContext(ctx, "tcp", "127.0.0.1:1")
			return err
		}, true},
		{"response header timeout", func() error {
			_, err := tryGet(t.Context(), def.HTTPClient(200*time.Millisecond), slow)
			return err
		}, false},
		{"deadline while waiting for the response", func() error {
			_, err := tryGet(deadline(200*time.Millisecond), def.HTTPClient(time.Minute), slow)
			return err
		}, false},
		{"read timeout on a connection", func() error {
			c, err := def.DialContext(t.Context(), "tcp", stalled(t))
			if err != nil {
				return err
			}
			defer c.Close()
			fmt.Fprint(c, "MAIL FROM:<presse@soest.example>\r\n")
			c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			_, err = c.Read(make([]byte, 1))
			return err
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			err := tc.err()
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("took %v", took)
			}
			if tc.want && err == nil {
				t.Fatal("no error")
			}
			if got := netpath.NothingSent(err); got != tc.want {
				t.Errorf("NothingSent(%v) = %v, want %v", err, got, tc.want)
			}
		})
	}
}

func TestNewNetworkErrors(t *testing.T) {
	tests := []struct {
		name string
		o    netpath.NetworkOptions
		want string
	}{
		{"no name", netpath.NetworkOptions{}, "no name"},
		{"bad source", netpath.NetworkOptions{Name: "x", Source: "192.168.8"}, "not an IP address"},
		{"source and interface", netpath.NetworkOptions{Name: "x", Source: "127.0.0.2", Interface: "lo"}, "exclude each other"},
		{"dns without port", netpath.NetworkOptions{Name: "x", DNS: []string{"192.168.8.1"}}, "not an IP:port"},
		{"dns by name", netpath.NetworkOptions{Name: "x", DNS: []string{"dns.example:53"}}, "not an IP:port"},
		{"dns of another family", netpath.NetworkOptions{Name: "x", Source: "127.0.0.2", DNS: []string{"[::1]:53"}}, "cannot be asked from source"},
		{"negative timeout", netpath.NetworkOptions{Name: "x", DialTimeout: -time.Second}, "negative"},
		{"proxy scheme", netpath.NetworkOptions{Name: "x", Proxy: "ftp://u:Geheim-42@127.0.0.1:21"}, "socks5://"},
		{"proxy unparsable", netpath.NetworkOptions{Name: "x", Proxy: "socks5://u:Geheim-42%zz@127.0.0.1:1080"}, "not a valid URL"},
		{"proxy without host", netpath.NetworkOptions{Name: "x", Proxy: "http://u:Geheim-42@:8080"}, "no host"},
		{"proxy with path", netpath.NetworkOptions{Name: "x", Proxy: "http://u:Geheim-42@127.0.0.1:8080/Geheim-42"}, "path"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := netpath.NewNetwork(tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one about %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "Geheim") {
				t.Errorf("error %q shows the proxy password", err)
			}
		})
	}
}

func TestDialTimeoutBoundsProxyHandshake(t *testing.T) {
	// A SOCKS5 proxy that never answers is given the dial timeout, not
	// forever, when the caller sets no deadline.
	n := mustNetwork(t, netpath.NetworkOptions{Proxy: "socks5://" + stalled(t), DialTimeout: 200 * time.Millisecond})
	start := time.Now()
	_, err := n.DialContext(t.Context(), "tcp", "127.0.0.1:25")
	if err == nil || time.Since(start) > 3*time.Second {
		t.Errorf("err = %v after %v, want a failure after the dial timeout", err, time.Since(start))
	}
}
