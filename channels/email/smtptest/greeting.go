package smtptest

import (
	"fmt"
	"io"
	"net"
	"time"

	"github.com/emersion/go-smtp"
)

// greetTimeout bounds writing a refusal in place of the greeting to a
// client that does not read it.
const greetTimeout = 5 * time.Second

// listener hands go-smtp the connections it is to greet. While the server
// is set to refuse or hang at StepGreeting, it handles new connections
// itself and never passes them on.
type listener struct {
	net.Listener
	srv *Server
}

// Accept returns the next connection the server greets as usual.
func (l *listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		a, now := l.srv.answerAt(StepGreeting)
		if !now {
			return c, nil
		}
		// Accept runs only inside Serve, which the cleanup waits for
		// before it waits for these.
		l.srv.refusing.Add(1)
		go l.srv.refuseGreeting(c, a)
	}
}

// refuseGreeting answers c as a refused or hanging greeting and closes it.
// A shutdown of the server cuts it short.
func (s *Server) refuseGreeting(c net.Conn, a answer) {
	defer s.refusing.Done()
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-s.release:
			_ = c.Close()
		case <-done:
		}
	}()
	defer c.Close()
	switch a.kind {
	case fail:
		_ = c.SetWriteDeadline(time.Now().Add(greetTimeout))
		_, _ = io.WriteString(c, replyLine(a.err))
	case hang:
		select {
		case s.waiting <- struct{}{}:
		default:
		}
		_, _ = io.Copy(io.Discard, c) // until the client gives up
	}
}

// replyLine formats e as one SMTP reply line.
func replyLine(e *smtp.SMTPError) string {
	if e.EnhancedCode == smtp.NoEnhancedCode {
		return fmt.Sprintf("%d %s\r\n", e.Code, e.Message)
	}
	c := e.EnhancedCode
	return fmt.Sprintf("%d %d.%d.%d %s\r\n", e.Code, c[0], c[1], c[2], e.Message)
}
