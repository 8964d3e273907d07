//go:build linux

package netpath

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
)

// bindToDevice returns a dialer control that binds every socket to iface
// with SO_BINDTODEVICE. It fails for a name that cannot be an interface's;
// whether the interface exists shows when a socket is bound, since an LTE
// modem's interface may appear only when the modem is plugged in.
func bindToDevice(iface string) (func(network, address string, c syscall.RawConn) error, error) {
	if len(iface) >= syscall.IFNAMSIZ || strings.ContainsAny(iface, "/ \t\n") {
		return nil, fmt.Errorf("%q is not an interface name", iface)
	}
	return func(_, _ string, c syscall.RawConn) error {
		var err error
		cerr := c.Control(func(fd uintptr) {
			err = syscall.SetsockoptString(int(fd), syscall.SOL_SOCKET, syscall.SO_BINDTODEVICE, iface)
		})
		switch {
		case cerr != nil:
			return cerr
		case err == nil:
			return nil
		case errors.Is(err, syscall.EPERM):
			return fmt.Errorf("bind to interface %s (needs root or CAP_NET_RAW): %w", iface, err)
		}
		return fmt.Errorf("bind to interface %s: %w", iface, err)
	}, nil
}
