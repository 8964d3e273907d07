package email

import (
	"context"
	"errors"
	"fmt"
	"net/textproto"
	"strings"

	"github.com/crierhq/crier"
	"github.com/wneessen/go-mail"
)

// Probe checks, without sending, that the relay can be reached and accepts
// the channel's session: on a new connection, opened exactly as Send opens
// one (Options.Dial, the TLS mode, EHLO, AUTH when Username is set), it
// says NOOP and QUIT. It never starts a mail transaction.
//
// The probe's session is never pooled, and no pooled session is used for
// it: a session opened minutes ago says nothing about the password now.
// Like a Send, it waits for one of the Options.Connections slots, so that
// the relay never sees more sessions at once than that; when idle pooled
// sessions would make it one too many, Probe closes the least recently
// used of them first. The whole probe, waiting included, is bounded by ctx
// and Options.Timeout.
//
// Errors: transient when the relay cannot be reached or does not answer
// in time (DNS, refused connection, TLS handshake, timeout, a connection
// lost), when it answers 4xx at any step (a 421 greeting, 454 to STARTTLS
// or AUTH, ...), when ctx ends, and after Close. Permanent when it answers
// 5xx (a 554 greeting, 535 to AUTH for wrong credentials, ...), or does
// not offer what the options require: STARTTLS with TLS "starttls", AUTH
// PLAIN or LOGIN with a Username. The relay's reply is part of the
// message. Gone (crier.Gone, permanent) when it presents a certificate it
// cannot trust (a *CertificateError), as Send.
func (c *Channel) Probe(ctx context.Context) error {
	what := "probe " + c.cfg.Name
	if err := ctx.Err(); err != nil {
		return crier.Transient(fmt.Errorf("%s: %w", what, err), 0)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	select {
	case c.slots <- struct{}{}:
		defer func() { <-c.slots }()
	case <-ctx.Done():
		return crier.Transient(fmt.Errorf("%s: wait for a connection: %w", what, ctx.Err()), 0)
	}
	if err := c.makeRoom(); err != nil {
		return crier.Transient(fmt.Errorf("%s: %w", what, err), 0)
	}
	cn, err := c.dial(ctx)
	if err == nil {
		err = cn.probe(ctx)
	}
	if ce := certificateError(c.cfg.Host, err); ce != nil {
		return crier.Gone(fmt.Errorf("%s: %w", what, ce))
	}
	if err != nil {
		return probeError(what, withContext(ctx, err))
	}
	c.cfg.Logger.Debug("smtp probe passed", "endpoint", c.cfg.Name)
	return nil
}

// makeRoom closes the least recently used idle sessions while they and the
// sessions of the slots taken, the caller's included, would be more than
// Options.Connections. It returns errClosed after Close.
func (c *Channel) makeRoom() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return errClosed
	}
	excess := min(len(c.idle)+len(c.slots)-c.cfg.Connections, len(c.idle))
	var old []*conn
	if excess > 0 {
		old = c.idle[:excess:excess]
		c.idle = append([]*conn(nil), c.idle[excess:]...)
	}
	c.retire(old)
	c.mu.Unlock()
	return nil
}

// probe says NOOP and QUIT on a new session within ctx, and closes it in
// any case. A failed QUIT after a good NOOP does not fail the probe.
func (cn *conn) probe(ctx context.Context) error {
	defer cn.nc.close()
	cn.nc.setLimit(deadline(ctx))
	stop := context.AfterFunc(ctx, cn.nc.abort)
	defer stop()
	if err := cn.smtp.Noop(); err != nil {
		return fmt.Errorf("noop: %w", err)
	}
	_ = cn.smtp.Quit()
	return nil
}

// probeError classifies the failure of a probe by the relay's reply code,
// when there is one: 4xx transient, 5xx permanent. Without one, a relay
// that lacks what the options require fails permanently; anything else
// means that the relay could not be reached or did not answer in time.
func probeError(what string, err error) error {
	wrapped := fmt.Errorf("%s: %w", what, err)
	var te *textproto.Error
	switch {
	case errors.As(err, &te) && te.Code >= 500 && te.Code < 600:
		return crier.Permanent(wrapped)
	case errors.As(err, &te):
		return crier.Transient(wrapped, 0)
	case unsupported(err):
		return crier.Permanent(wrapped)
	}
	return crier.Transient(wrapped, 0)
}

// unsupported reports whether err is go-mail's refusal to go on with a
// relay that does not offer STARTTLS, or AUTH, or the mechanisms the
// channel allows. go-mail words the first two without a sentinel error.
func unsupported(err error) bool {
	if errors.Is(err, mail.ErrPlainAuthNotSupported) || errors.Is(err, mail.ErrLoginAuthNotSupported) ||
		errors.Is(err, mail.ErrNoSupportedAuthDiscovered) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "does not support STARTTLS") || strings.Contains(s, "does not support SMTP AUTH")
}
