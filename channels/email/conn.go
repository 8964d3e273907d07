package email

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// maxIdle is how long a session stays open idle. Relays drop idle
// clients after a few minutes, and NAT on an LTE router may forget a
// quiet connection without telling either side; a session idle for
// longer is ended with QUIT instead of reused.
const maxIdle = 10 * time.Second

// maxRefusals is how many refused messages or recipients a session
// carries before it is renewed: relays count a client's errors per
// session and slow it down or drop it (Postfix: every reply a second
// late after 10, the session closed after 20).
const maxRefusals = 3

// quitTimeout bounds the polite QUIT when a session is closed.
const quitTimeout = 5 * time.Second

// liveFor is how long after its last reply a session counts as live.
const liveFor = time.Second

// conn is one SMTP session with the relay. One goroutine uses it at a time.
type conn struct {
	client *mail.Client // options; one per session for its dial function
	smtp   *smtp.Client // the session
	nc     *deadlineConn
	// pipelining says that the relay offers PIPELINING (RFC 2920).
	pipelining bool
	// chunking says that a mail may go out as a BDAT chunk (RFC 3030)
	// together with its commands: the relay offers CHUNKING and
	// PIPELINING, and the channel allows it.
	chunking bool
	// live says that the relay answered on this session moments ago: it
	// is new, or came back to the pool less than liveFor ago. Only then
	// does a mail go out as a chunk, as a session idle for longer may
	// have been dropped, which a reply to MAIL FROM shows before the mail
	// is sent.
	live bool
	// mailFrom is the MAIL FROM command line, with BODY=8BITMIME when the
	// relay offers it; mailFromUTF8 adds SMTPUTF8 for a mail whose
	// addresses need it, when the relay offers it, and is mailFrom
	// otherwise.
	mailFrom, mailFromUTF8 string
	// used is set once the session has carried a message, after which it
	// may have gone stale while idle.
	used bool
	// refusals counts the messages the relay refused on this session.
	refusals  int
	idleSince time.Time
}

// dial opens and authenticates a new session. On error nothing is left
// open.
func (c *Channel) dial(ctx context.Context) (*conn, error) {
	cn := &conn{nc: &deadlineConn{}}
	cn.nc.setLimit(deadline(ctx))
	opts := append(slices.Clip(c.clientOpts), mail.WithDialContextFunc(func(ctx context.Context, network, addr string) (net.Conn, error) {
		return c.connect(ctx, cn.nc, network, addr)
	}))
	client, err := mail.NewClient(c.cfg.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("smtp client: %w", err)
	}
	cn.client = client
	stop := context.AfterFunc(ctx, cn.nc.abort)
	cn.smtp, err = client.DialToSMTPClientWithContext(ctx)
	if !stop() && err == nil {
		err = ctx.Err()
	}
	if err != nil {
		// go-mail leaves the connection open when EHLO, STARTTLS or AUTH
		// fail.
		cn.nc.close()
		return nil, err
	}
	cn.features(c.sender)
	cn.chunking = cn.chunking && !c.cfg.NoChunking
	cn.live = true
	c.cfg.Logger.Debug("smtp session opened", "endpoint", c.cfg.Name, "pipelining", cn.pipelining,
		"chunking", cn.chunking)
	return cn, nil
}

// features notes what the relay offers that a mail transaction uses, and
// builds the MAIL FROM commands for sender: BODY=8BITMIME when the relay
// offers it, and SMTPUTF8 (RFC 6531) only for mails whose addresses are
// not ASCII, as a relay may refuse it or hand the mail only to servers
// that offer it too.
func (cn *conn) features(sender string) {
	cn.pipelining, _ = cn.smtp.Extension("PIPELINING")
	chunking, _ := cn.smtp.Extension("CHUNKING")
	cn.chunking = chunking && cn.pipelining
	cmd := "MAIL FROM:" + sender
	if ok, _ := cn.smtp.Extension("8BITMIME"); ok {
		cmd += " BODY=8BITMIME"
	}
	cn.mailFrom, cn.mailFromUTF8 = cmd+"\r\n", cmd+"\r\n"
	if ok, _ := cn.smtp.Extension("SMTPUTF8"); ok {
		cn.mailFromUTF8 = cmd + " SMTPUTF8\r\n"
	}
	if !isASCII(sender) {
		cn.mailFrom = cn.mailFromUTF8
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// connect is go-mail's dial function. go-mail only wraps implicit TLS
// around its own dialer, so with a custom one the handshake is done here.
// go-mail's address is not used: it does not bracket an IPv6 host.
func (c *Channel) connect(ctx context.Context, nc *deadlineConn, network, _ string) (net.Conn, error) {
	raw, err := c.cfg.Dial(ctx, network, c.cfg.addr)
	if err != nil {
		return nil, err
	}
	if err := nc.attach(raw); err != nil {
		raw.Close()
		return nil, err
	}
	if !c.cfg.implicit {
		return nc, nil
	}
	tc := tls.Client(nc, c.cfg.tlsConfig)
	if err := tc.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, fmt.Errorf("tls handshake: %w", err)
	}
	return tc, nil
}

// fate is what becomes of a session after a message.
type fate int

const (
	keep  fate = iota // back to the pool
	renew             // ended with QUIT: it is in step but should not go on
	drop              // closed: lost, or out of step with the relay
)

// send sends o over the session within ctx and returns the relay's final
// reply and what to do with the session: keep it after success, or
// after a refusal that a following RSET shows has left it intact; renew
// it after maxRefusals refusals; drop it after any other failure.
func (cn *conn) send(ctx context.Context, o *outgoing) (reply string, next fate, err error) {
	cn.used = true
	cn.nc.setLimit(deadline(ctx))
	stop := context.AfterFunc(ctx, cn.nc.abort)
	reply, err = cn.transact(o)
	switch {
	case err == nil:
		next = keep
	case answered(err):
		cn.refusals++
		switch {
		case cn.smtp.Reset() != nil:
			next = drop
		case cn.refusals >= maxRefusals:
			next = renew
		}
	default:
		next = drop
	}
	// If an abort has started, it may still cut the connection under the
	// next user.
	if !stop() {
		next = drop
	}
	return reply, next, err
}

// quit ends the session politely, and closes the connection in any case.
func (cn *conn) quit() {
	cn.nc.setLimit(time.Now().Add(quitTimeout))
	_ = cn.client.CloseWithSMTPClient(cn.smtp)
	cn.nc.close()
}

// deadline returns ctx's deadline, or zero.
func deadline(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}

// deadlineConn is the network connection under a session. go-mail sets its
// own deadlines from its timeout, and a context does not reach a
// connection once dialed; deadlineConn caps every deadline at the current
// send's context deadline and fails all I/O at once when that context is
// canceled, so that Send honours its context.
type deadlineConn struct {
	net.Conn // set once by attach, before go-mail sees it

	mu    sync.Mutex
	limit time.Time // zero: no cap
}

var aborted = time.Unix(1, 0)

func (d *deadlineConn) attach(c net.Conn) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.Conn = c
	if d.limit.IsZero() {
		return nil
	}
	return c.SetDeadline(d.limit)
}

// setLimit caps deadlines at t from now on and applies t at once.
func (d *deadlineConn) setLimit(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.limit = t
	if d.Conn != nil && !t.IsZero() {
		_ = d.Conn.SetDeadline(t)
	}
}

// quickAck asks the socket to acknowledge what it receives next at once
// (TCP_QUICKACK on Linux).
func (d *deadlineConn) quickAck() {
	d.mu.Lock()
	c := d.Conn
	d.mu.Unlock()
	if c != nil {
		quickAck(c)
	}
}

// abort makes every pending and future read and write fail.
func (d *deadlineConn) abort() { d.setLimit(aborted) }

func (d *deadlineConn) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.Conn != nil {
		_ = d.Conn.Close()
	}
}

func (d *deadlineConn) capped(t time.Time) time.Time {
	if !d.limit.IsZero() && (t.IsZero() || t.After(d.limit)) {
		return d.limit
	}
	return t
}

func (d *deadlineConn) SetDeadline(t time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.Conn.SetDeadline(d.capped(t))
}

func (d *deadlineConn) SetReadDeadline(t time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.Conn.SetReadDeadline(d.capped(t))
}

func (d *deadlineConn) SetWriteDeadline(t time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.Conn.SetWriteDeadline(d.capped(t))
}
