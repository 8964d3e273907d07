//go:build !linux

package netpath_test

import (
	"testing"

	"github.com/crierhq/crier/netpath"
)

func TestInterfaceNeedsLinux(t *testing.T) {
	_, err := netpath.NewNetwork(netpath.NetworkOptions{Name: "lte", Interface: "en1"})
	if err == nil {
		t.Fatal("binding to an interface was accepted on a system without SO_BINDTODEVICE")
	}
}
