package email

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/crierhq/crier"
)

// errNoReply explains an unknown outcome to the person who has to check it.
var errNoReply = errors.New("message transmitted but no final reply came; it may have been delivered")

// classify turns an error of a send over an established session into a
// *crier.Error. It relies on sendError: its step says which part of the
// transaction failed and its code is the relay's reply code, or 0 when
// the step failed without a reply (connection lost, timeout).
//
// Up to and including the message content, a failure without a reply
// cannot have delivered anything: the relay only takes a message at the
// final "." line. After it (stepEnd), or once a mail went out as a chunk
// with its commands (transmitted), only a reply tells.
func classify(endpoint string, err error) error {
	var se *sendError
	if !errors.As(err, &se) {
		// Not from the SMTP dialogue: treat as ambiguous, never retried.
		return crier.Unknown(fmt.Errorf("send via %s: %w", endpoint, err), false)
	}
	wrapped := fmt.Errorf("send via %s: %w", endpoint, err)
	code := se.code
	if se.transmitted && code == 0 {
		return crier.Unknown(fmt.Errorf("send via %s: %w: %w", endpoint, errNoReply, err), false)
	}
	switch se.step {
	case stepEnd, stepChunk:
		switch {
		case code >= 400 && code < 500:
			return crier.Transient(wrapped, 0)
		case code >= 500 && code < 600:
			return crier.Permanent(wrapped)
		}
		return crier.Unknown(fmt.Errorf("send via %s: %w: %w", endpoint, errNoReply, err), false)
	case stepRcpt:
		if code >= 400 && code < 600 && code != 421 {
			// The relay refused this recipient and answers the next:
			// the refusal is the recipient's, not the relay's.
			if code >= 500 {
				return crier.RecipientRefused(crier.Permanent(wrapped))
			}
			return crier.RecipientRefused(crier.Transient(wrapped, 0))
		}
		return crier.Transient(wrapped, 0)
	case stepMail, stepData, stepContent:
		if code >= 500 && code < 600 {
			return crier.Permanent(wrapped)
		}
		return crier.Transient(wrapped, 0)
	}
	return crier.Unknown(wrapped, false)
}

// stale reports whether err is what a reused session that the relay has
// dropped while idle produces on the next message: a failure at MAIL FROM
// with no reply before the mail went out, or 421 (service closing).
// Nothing was delivered, so the message may go out over a new session at
// once.
func stale(err error) bool {
	var se *sendError
	return errors.As(err, &se) && se.step == stepMail && (se.code == 0 && !se.transmitted || se.code == 421)
}

// answered reports whether err is the relay's reply refusing one message,
// after which the session can carry the next: a 4xx or 5xx code other than
// 421, which closes the session.
func answered(err error) bool {
	var se *sendError
	if !errors.As(err, &se) {
		return false
	}
	switch se.step {
	case stepMail, stepRcpt, stepData, stepEnd, stepChunk:
		return se.code >= 400 && se.code < 600 && se.code != 421
	}
	return false
}

// CertificateError is the failure to trust a relay's certificate: an
// authority the system does not know, a name or date that does not fit,
// or a public key other than the pinned one. It does not pass by itself,
// so Send and Probe classify it as permanent, and its message names the
// settings that make the relay trusted.
type CertificateError struct {
	Host string
	// Pin is the SHA-256 of the public key the relay presented, in hex,
	// when it is known: the value tls_pin_sha256 would take.
	Pin string
	Err error
}

func (e *CertificateError) Error() string {
	hint := "set ca_file to the PEM file of the authority that signed it, or tls_pin_sha256 to the SHA-256 of its public key"
	if e.Pin != "" {
		hint += " (" + e.Pin + ")"
	}
	return "certificate of " + e.Host + " not trusted: " + e.Err.Error() + "; " + hint
}

func (e *CertificateError) Unwrap() error { return e.Err }

// certificateError returns err as a *CertificateError when it is a
// failure to verify the relay's certificate, and nil otherwise.
func certificateError(host string, err error) *CertificateError {
	var ce *CertificateError
	if errors.As(err, &ce) {
		return ce
	}
	var (
		ve *tls.CertificateVerificationError
		ua x509.UnknownAuthorityError
		hn x509.HostnameError
		ci x509.CertificateInvalidError
	)
	switch {
	case errors.As(err, &ve):
		ce = &CertificateError{Host: host, Err: err}
		if len(ve.UnverifiedCertificates) > 0 {
			ce.Pin = KeyPin(ve.UnverifiedCertificates[0])
		}
		return ce
	case errors.As(err, &ua), errors.As(err, &hn), errors.As(err, &ci):
		return &CertificateError{Host: host, Err: err}
	}
	return nil
}
