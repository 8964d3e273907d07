//go:build linux

package netpath_test

import (
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/crierhq/crier/netpath"
	"github.com/crierhq/crier/netpath/dnstest"
)

// boundDevice returns the interface a connection's socket is bound to.
func boundDevice(t *testing.T, c syscall.Conn) string {
	t.Helper()
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var dev string
	var gerr error
	if err := raw.Control(func(fd uintptr) {
		dev, gerr = unix.GetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE)
	}); err != nil {
		t.Fatal(err)
	}
	if gerr != nil {
		t.Fatal(gerr)
	}
	return strings.TrimRight(dev, "\x00")
}

func TestInterfaceBinding(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("binding to an interface needs root or CAP_NET_RAW; run the tests as root to cover it")
	}
	l := listenTCP(t, "127.0.0.1:0")
	dns := dnstest.NewServer(t, "127.0.0.2:0")
	dns.Set("svc.crier.test", "127.0.0.1")
	n := mustNetwork(t, netpath.NetworkOptions{Interface: "lo", DNS: []string{dns.Addr()}})
	c, err := n.DialContext(t.Context(), "tcp", "svc.crier.test:"+portOf(t, l.Addr().String()))
	if errors.Is(err, syscall.EPERM) {
		t.Skipf("root without CAP_NET_RAW here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	acceptFrom(t, l)
	if dev := boundDevice(t, c.(syscall.Conn)); dev != "lo" {
		t.Errorf("socket bound to %q, want lo", dev)
	}
	if len(dns.Queries()) == 0 {
		t.Error("the name was not asked of the network's DNS server")
	}
}

func TestInterfaceUnknown(t *testing.T) {
	n := mustNetwork(t, netpath.NetworkOptions{Interface: "nosuchif0"})
	_, err := n.DialContext(t.Context(), "tcp", "127.0.0.1:1")
	if err == nil {
		t.Fatal("dialing over an interface that does not exist worked")
	}
	want := "no such device"
	if os.Geteuid() != 0 {
		want = "CAP_NET_RAW"
	}
	if !strings.Contains(err.Error(), "nosuchif0") || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %q, want one naming nosuchif0 and saying %q", err, want)
	}
	if !netpath.NothingSent(err) {
		t.Errorf("NothingSent(%v) = false", err)
	}
}

func TestInterfaceName(t *testing.T) {
	for _, name := range []string{"a-name-far-too-long", "wwan/0", "wwan 0"} {
		if _, err := netpath.NewNetwork(netpath.NetworkOptions{Name: "lte", Interface: name}); err == nil {
			t.Errorf("interface %q was accepted", name)
		}
	}
}
