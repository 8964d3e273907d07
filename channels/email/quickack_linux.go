package email

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// canQuickAck says that quickAck works here, so that a chunk of any size
// may go out with its commands.
const canQuickAck = true

// quickAck makes the connection under c acknowledge the next segments it
// receives at once, instead of after Linux's delayed-ACK timeout of up
// to 40 ms. The kernel leaves quick-ACK mode again by itself, so it is
// set anew before each wait for replies. It does nothing on a connection
// that is not a socket.
func quickAck(c net.Conn) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	_ = raw.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_QUICKACK, 1)
	})
}
