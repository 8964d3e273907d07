//go:build !linux

package email

import "net"

// quickAck does nothing: TCP_QUICKACK is Linux's.
func quickAck(net.Conn) {}
