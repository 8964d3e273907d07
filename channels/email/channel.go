package email

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	netmail "net/mail"
	"sync"
	"time"

	"github.com/crierhq/crier"
	"github.com/wneessen/go-mail"
)

// Channel sends messages through one SMTP relay over a pool of reused
// sessions. It is safe for concurrent use.
type Channel struct {
	cfg        *config
	clientOpts []mail.Option
	slots      chan struct{} // one per session that may be open
	sender     string        // the envelope sender, in angle brackets
	templates  templates

	mu       sync.Mutex
	idle     []*conn // most recently used last
	closed   bool
	sweeping bool           // a sweep goroutine is running
	done     chan struct{}  // closed by Close: ends the sweep
	bg       sync.WaitGroup // sweeps and retiring sessions; Add under mu while !closed
}

var (
	_ crier.Channel = (*Channel)(nil)
	_ crier.Checker = (*Channel)(nil)
	_ crier.Closer  = (*Channel)(nil)
	_ crier.Prober  = (*Channel)(nil)
)

// errClosed is returned by Send after Close.
var errClosed = errors.New("email channel closed")

// New returns a Channel for the relay o describes. It connects lazily, on
// the first Send. It returns an error for incomplete or contradictory
// options, such as a password to be sent in plain text to another host.
func New(o Options) (*Channel, error) {
	cfg, err := o.config()
	if err != nil {
		return nil, fmt.Errorf("email: %w", err)
	}
	opts := []mail.Option{
		mail.WithPort(cfg.Port),
		mail.WithTimeout(cfg.Timeout),
		mail.WithTLSConfig(cfg.tlsConfig),
		mail.WithHELO(cfg.HELO),
		// The pool ages idle sessions and redials a stale one instead of
		// paying a NOOP per message; RSET is not needed between
		// transactions (RFC 5321 4.1.4).
		mail.WithoutNoop(),
		mail.WithoutRset(),
	}
	switch cfg.TLS {
	case TLSStartTLS:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	case TLSImplicit:
		opts = append(opts, mail.WithSSL())
	case TLSNone:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	}
	if cfg.Username != "" {
		plain, login := mail.SMTPAuthPlain, mail.SMTPAuthLogin
		if cfg.TLS == TLSNone { // only allowed to a loopback host
			plain, login = mail.SMTPAuthPlainNoEnc, mail.SMTPAuthLoginNoEnc
		}
		opts = append(opts,
			mail.WithUsername(cfg.Username),
			mail.WithPassword(cfg.Password),
			mail.WithOpportunisticSMTPAuth(plain, login))
	}
	return &Channel{
		cfg:        cfg,
		clientOpts: opts,
		slots:      make(chan struct{}, cfg.Connections),
		// As go-mail gave it, without the display name.
		sender: (&netmail.Address{Address: cfg.from.Address}).String(),
		done:   make(chan struct{}),
	}, nil
}

// Check reports what would keep m from being sent to any recipient: an
// empty subject or one with a line break, an empty text, a malformed
// language tag.
func (c *Channel) Check(ctx context.Context, m *crier.Message) []crier.Problem {
	return problems(m)
}

// CheckMessage reports what Check reports, without a channel: it needs no
// relay or password, so that an endpoint that cannot be built (an
// exercise without its password) still has its messages checked as the
// real run would.
func CheckMessage(m *crier.Message) []crier.Problem { return problems(m) }

// Send mails m to m.Recipient with Message-ID <m.Key@Domain> and returns
// that Message-ID as the receipt's RemoteID once the relay has accepted it.
// Every crier.UnsubscribePlaceholder in m.Text and m.HTML becomes
// m.UnsubscribeURL, HTML-escaped in the HTML; without a URL it stays. The
// part of the mail that is the same for all recipients is prepared once
// per distinct message.
//
// Errors are *crier.Error values:
//   - transient when nothing can have been delivered: the relay could not be
//     reached or refused the session (DNS, connect, TLS, AUTH), answered
//     4xx, the context ended before the message had been transmitted, or
//     the channel is closed;
//   - permanent when m cannot be sent as it is (no valid recipient or key,
//     a subject with a line break), or the relay answered 5xx (the relay's
//     reply is part of the message);
//   - gone (crier.Gone) when the relay's certificate is not trusted (a
//     *CertificateError, whose message names ca_file and tls_pin_sha256):
//     the endpoint cannot take any mail until a person changes its
//     settings, but the message itself is fine and must not be lost;
//   - unknown, not retryable, when the whole message was transmitted but
//     the relay's final reply never came (connection lost, timeout); for a
//     mail sent as a chunk with its commands, any reply that never came.
func (c *Channel) Send(ctx context.Context, m *crier.Message) (*crier.Receipt, error) {
	o, err := c.compose(m)
	if err != nil {
		return nil, crier.Permanent(err)
	}
	defer o.release()
	if err := ctx.Err(); err != nil {
		return nil, crier.Transient(fmt.Errorf("send canceled: %w", err), 0)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	select {
	case c.slots <- struct{}{}:
		defer func() { <-c.slots }()
	case <-ctx.Done():
		return nil, crier.Transient(fmt.Errorf("wait for a connection to %s: %w", c.cfg.Name, ctx.Err()), 0)
	}
	for {
		cn, err := c.get(ctx)
		if ce := certificateError(c.cfg.Host, err); ce != nil {
			// A person must change the settings or the relay: the
			// endpoint is out of use until then, and the mail waits.
			return nil, crier.Gone(fmt.Errorf("connect to %s: %w", c.cfg.Name, ce))
		}
		if err != nil {
			return nil, crier.Transient(withContext(ctx, fmt.Errorf("connect to %s: %w", c.cfg.Name, err)), 0)
		}
		reused := cn.used
		reply, next, err := cn.send(ctx, o)
		switch next {
		case keep:
			c.put(cn)
		case renew:
			cn.quit()
		default:
			cn.nc.close()
		}
		switch {
		case err == nil:
			if c.cfg.Logger.Enabled(ctx, slog.LevelDebug) {
				c.cfg.Logger.Debug("mail accepted", "endpoint", c.cfg.Name, "key", m.Key, "reply", reply)
			}
			return &crier.Receipt{RemoteID: o.id, Endpoint: c.cfg.Name}, nil
		case reused && stale(err) && contextErr(ctx) == nil:
			// Bounded: each stale session is dropped, a new one is not reused.
			c.cfg.Logger.Debug("smtp session went stale, redialing", "endpoint", c.cfg.Name, "err", err)
			continue
		}
		return nil, classify(c.cfg.Name, withContext(ctx, err))
	}
}

// Close ends every idle session with QUIT and waits for sessions being
// retired. Sessions in use end with QUIT when their Send returns; Send
// fails with a transient error afterwards. Close returns nil: a relay
// that does not answer QUIT is disconnected.
func (c *Channel) Close() error {
	c.mu.Lock()
	idle := c.idle
	c.idle = nil
	if !c.closed {
		c.closed = true
		close(c.done)
	}
	c.mu.Unlock()
	var wg sync.WaitGroup
	for _, cn := range idle {
		wg.Go(cn.quit)
	}
	wg.Wait()
	c.bg.Wait()
	return nil
}

// retire ends old sessions with QUIT in the background, so that a send
// does not wait for it. The caller holds c.mu, and c is not closed.
func (c *Channel) retire(old []*conn) {
	for _, cn := range old {
		c.bg.Go(cn.quit)
	}
}

// sweep ends sessions that have been idle for longer than maxIdle with
// QUIT, waking when the next one is due, until the pool is empty or c is
// closed. A relay keeps a forgotten session open for minutes (Postfix five), and
// counts it against the client's connection limit.
func (c *Channel) sweep() {
	for {
		c.mu.Lock()
		if c.closed || len(c.idle) == 0 {
			c.sweeping = false
			c.mu.Unlock()
			return
		}
		now := c.cfg.Clock.Now()
		var old []*conn
		next := now.Add(maxIdle)
		kept := c.idle[:0]
		for _, cn := range c.idle {
			// Idle for longer than maxIdle, as get judges it.
			switch due := cn.idleSince.Add(maxIdle + time.Nanosecond); {
			case !now.Before(due):
				old = append(old, cn)
			default:
				kept = append(kept, cn)
				if due.Before(next) {
					next = due
				}
			}
		}
		clear(c.idle[len(kept):])
		c.idle = kept
		c.retire(old)
		c.mu.Unlock()
		select {
		case <-after(c.cfg.Clock, next.Sub(now)):
		case <-c.done:
		}
	}
}

// after waits on clock when it can wake waiters (a test's clock), on a
// timer otherwise.
func after(clock crier.Clock, d time.Duration) <-chan time.Time {
	if c, ok := clock.(interface {
		After(time.Duration) <-chan time.Time
	}); ok {
		return c.After(d)
	}
	return time.After(d)
}

// get returns the most recently used idle session if it is younger than
// maxIdle, or dials a new one. Older idle sessions are ended with QUIT on
// the way.
func (c *Channel) get(ctx context.Context) (*conn, error) {
	now := c.cfg.Clock.Now()
	var found *conn
	var old []*conn
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, errClosed
	}
	for found == nil && len(c.idle) > 0 {
		cn := c.idle[len(c.idle)-1]
		c.idle = c.idle[:len(c.idle)-1]
		if now.Sub(cn.idleSince) > maxIdle {
			old = append(old, cn)
			continue
		}
		found = cn
	}
	c.retire(old)
	c.mu.Unlock()
	if found != nil {
		found.live = now.Sub(found.idleSince) < liveFor
		return found, nil
	}
	return c.dial(ctx)
}

// put returns a healthy session to the pool, or ends it after Close.
func (c *Channel) put(cn *conn) {
	cn.idleSince = c.cfg.Clock.Now()
	c.mu.Lock()
	if !c.closed {
		c.idle = append(c.idle, cn)
		cn = nil
		if !c.sweeping {
			c.sweeping = true
			c.bg.Go(c.sweep)
		}
	}
	c.mu.Unlock()
	if cn != nil {
		cn.quit()
	}
}

// withContext adds ctx's error to err when ctx has ended, so that a
// timeout reads as one and errors.Is finds context.DeadlineExceeded.
func withContext(ctx context.Context, err error) error {
	cerr := contextErr(ctx)
	if cerr == nil {
		return err
	}
	return fmt.Errorf("%w (%w)", err, cerr)
}

// contextErr is ctx.Err(), but already DeadlineExceeded when the deadline
// has passed: a connection deadline set from ctx can fire before ctx's own
// timer does.
func contextErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return nil
}
