//go:build !linux

package netpath

import (
	"errors"
	"syscall"
)

// bindToDevice fails: binding a socket to an interface needs Linux's
// SO_BINDTODEVICE. Bind to the interface's address with Source instead.
func bindToDevice(string) (func(network, address string, c syscall.RawConn) error, error) {
	return nil, errors.New("binding to an interface works on Linux only; set a source address instead")
}
