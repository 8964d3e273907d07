//go:build !linux

package email

import "net"

// canQuickAck says that quickAck does nothing here: a mail larger than
// maxStallFree goes out with DATA.
const canQuickAck = false

// quickAck does nothing: TCP_QUICKACK is Linux's.
func quickAck(net.Conn) {}
