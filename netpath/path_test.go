package netpath_test

import (
	"errors"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/crierhq/crier/netpath"
	"github.com/crierhq/crier/netpath/dnstest"
	"github.com/crierhq/crier/netpath/proxytest"
)

// silentPeer accepts one connection on l and returns how many bytes came
// before the client closed it.
func silentPeer(t *testing.T, l net.Listener) <-chan int64 {
	t.Helper()
	got := make(chan int64, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			got <- -1
			return
		}
		defer c.Close()
		n, _ := io.Copy(io.Discard, c)
		got <- n
	}()
	return got
}

// TestCheckPath: the name is resolved by the network's own DNS server, a
// connection is opened and closed, and not a byte reaches the receiver.
func TestCheckPath(t *testing.T) {
	target := listenTCP(t, "127.0.0.1:0")
	dns := dnstest.NewServer(t, "127.0.0.1:0")
	dns.Set("radio.example", "127.0.0.1")
	n := mustNetwork(t, netpath.NetworkOptions{DNS: []string{dns.Addr()}})

	got := silentPeer(t, target)
	if err := n.CheckPath(t.Context(), "radio.example:"+portOf(t, target.Addr().String())); err != nil {
		t.Fatalf("CheckPath: %v", err)
	}
	if b := <-got; b != 0 {
		t.Errorf("the receiver got %d bytes, want none", b)
	}
	if len(dns.Queries()) == 0 {
		t.Error("the network's DNS server was not asked")
	}

	// A name the network's DNS does not know fails as a DNS error.
	err := n.CheckPath(t.Context(), "unknown.example:80")
	var de *net.DNSError
	if !errors.As(err, &de) || !netpath.NothingSent(err) {
		t.Errorf("CheckPath of an unknown name = %v, want a *net.DNSError that proves nothing was sent", err)
	}
}

// TestCheckPathProxy: through a proxy, the path is the proxy's tunnel; a
// proxy that refuses connections fails the check.
func TestCheckPathProxy(t *testing.T) {
	target := listenTCP(t, "127.0.0.1:0")
	p := proxytest.NewHTTPConnect(t)
	n := mustNetwork(t, netpath.NetworkOptions{Proxy: p.URL()})
	got := silentPeer(t, target)
	if err := n.CheckPath(t.Context(), target.Addr().String()); err != nil {
		t.Fatalf("CheckPath through a live proxy: %v", err)
	}
	if b := <-got; b != 0 {
		t.Errorf("the receiver got %d bytes, want none", b)
	}
	if len(p.Targets()) != 1 {
		t.Errorf("proxy targets %v, want one tunnel", p.Targets())
	}

	dead := listenTCP(t, "127.0.0.1:0")
	deadAddr := dead.Addr().String()
	dead.Close()
	for _, scheme := range []string{"http", "socks5"} {
		n := mustNetwork(t, netpath.NetworkOptions{Proxy: scheme + "://" + deadAddr})
		err := n.CheckPath(t.Context(), target.Addr().String())
		if !errors.Is(err, syscall.ECONNREFUSED) || !netpath.NothingSent(err) {
			t.Errorf("%s proxy refusing connections: CheckPath = %v, want a refused connection", scheme, err)
		}
	}
}
