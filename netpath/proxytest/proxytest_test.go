package proxytest_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/proxy"

	"github.com/crierhq/crier/netpath/proxytest"
)

// echo starts a server on 127.0.0.1 that echoes, and returns its address.
func echo(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return l.Addr().String()
}

func socksDial(t *testing.T, p *proxytest.Proxy, auth *proxy.Auth, target string) (net.Conn, error) {
	t.Helper()
	d, err := proxy.SOCKS5("tcp", p.Addr(), auth, proxy.Direct)
	if err != nil {
		t.Fatal(err)
	}
	return d.(proxy.ContextDialer).DialContext(t.Context(), "tcp", target)
}

func roundTrip(t *testing.T, c net.Conn) {
	t.Helper()
	defer c.Close()
	fmt.Fprint(c, "ping\n")
	if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || line != "ping\n" {
		t.Errorf("echo = %q, %v", line, err)
	}
}

func TestSOCKS5(t *testing.T) {
	addr := echo(t)
	_, port, _ := net.SplitHostPort(addr)
	p := proxytest.NewSOCKS5(t, proxytest.SOCKS5Options{
		User: "crier", Password: "pw", Hosts: map[string]string{"echo.crier.test": "127.0.0.1"},
	})
	auth := &proxy.Auth{User: "crier", Password: "pw"}
	for _, target := range []string{addr, "Echo.Crier.Test:" + port} {
		c, err := socksDial(t, p, auth, target)
		if err != nil {
			t.Fatalf("%s: %v", target, err)
		}
		roundTrip(t, c)
	}
	if _, err := socksDial(t, p, &proxy.Auth{User: "crier", Password: "wrong"}, addr); err == nil {
		t.Error("a wrong password was accepted")
	}
	if _, err := socksDial(t, p, nil, addr); err == nil {
		t.Error("a client without credentials was accepted")
	}
	for _, target := range []string{"192.0.2.1:25", "elsewhere.example:25"} {
		if _, err := socksDial(t, p, auth, target); err == nil {
			t.Errorf("%s: the proxy connected to something not on loopback", target)
		}
	}
	want := []string{addr, "Echo.Crier.Test:" + port, "192.0.2.1:25", "elsewhere.example:25"}
	if diff := cmp.Diff(want, p.Targets()); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}
	if n := len(p.Clients()); n != 6 {
		t.Errorf("%d clients, want 6", n)
	}
}

func TestSOCKS5Refuse(t *testing.T) {
	p := proxytest.NewSOCKS5(t, proxytest.SOCKS5Options{Refuse: true})
	_, err := socksDial(t, p, nil, echo(t))
	if err == nil || !strings.Contains(err.Error(), "not allowed") {
		t.Errorf("err = %v, want a refusal", err)
	}
}

// connect asks p for a tunnel to target and returns the status and the
// connection.
func connect(t *testing.T, p *proxytest.Proxy, method, target, auth string) (int, net.Conn) {
	t.Helper()
	c, err := (&net.Dialer{}).DialContext(context.Background(), "tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, target, target)
	if auth != "" {
		fmt.Fprintf(c, "Proxy-Authorization: %s\r\n", auth)
	}
	fmt.Fprint(c, "\r\n")
	r := bufio.NewReader(c)
	resp, err := http.ReadResponse(r, &http.Request{Method: method})
	if err != nil {
		t.Fatal(err)
	}
	if r.Buffered() != 0 {
		t.Fatal("the proxy said more than its answer")
	}
	return resp.StatusCode, c
}

func TestHTTPConnect(t *testing.T) {
	addr := echo(t)
	p := proxytest.NewHTTP(t, proxytest.HTTPOptions{User: "crier", Password: "pw"})
	if status, _ := connect(t, p, http.MethodConnect, addr, ""); status != http.StatusProxyAuthRequired {
		t.Errorf("without credentials: %d", status)
	}
	if status, _ := connect(t, p, http.MethodGet, "/", ""); status != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", status)
	}
	status, c := connect(t, p, http.MethodConnect, addr, "Basic Y3JpZXI6cHc=")
	if status != http.StatusOK {
		t.Fatalf("CONNECT: %d", status)
	}
	roundTrip(t, c)
	if status, _ := connect(t, p, http.MethodConnect, "192.0.2.1:25", "Basic Y3JpZXI6cHc="); status != http.StatusBadGateway {
		t.Errorf("CONNECT beyond loopback: %d", status)
	}
	if diff := cmp.Diff([]string{addr, addr, "192.0.2.1:25"}, p.Targets()); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}
}

func TestHTTPConnectPlainAndRefusing(t *testing.T) {
	addr := echo(t)
	status, c := connect(t, proxytest.NewHTTPConnect(t), http.MethodConnect, addr, "")
	if status != http.StatusOK {
		t.Fatalf("CONNECT: %d", status)
	}
	roundTrip(t, c)
	refusing := proxytest.NewHTTP(t, proxytest.HTTPOptions{Refuse: true})
	if status, _ := connect(t, refusing, http.MethodConnect, addr, ""); status != http.StatusForbidden {
		t.Errorf("CONNECT to a refusing proxy: %d", status)
	}
}
