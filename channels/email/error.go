package email

import (
	"errors"
	"fmt"

	"github.com/crierhq/crier"
	"github.com/wneessen/go-mail"
)

// errNoReply explains an unknown outcome to the person who has to check it.
var errNoReply = errors.New("message transmitted but no final reply came; it may have been delivered")

// classify turns an error of a send over an established session into a
// *crier.Error. It relies on go-mail's SendError: Reason says which SMTP
// step failed and ErrorCode is the relay's reply code, or 0 when the step
// failed without a reply (connection lost, timeout).
//
// Up to and including the message content, a failure without a reply
// cannot have delivered anything: the relay only takes a message at the
// final "." line. After it (ErrSMTPDataClose) only a reply tells.
func classify(endpoint string, err error) error {
	var se *mail.SendError
	if !errors.As(err, &se) {
		// Not from the SMTP dialogue: treat as ambiguous, never retried.
		return crier.Unknown(fmt.Errorf("send via %s: %w", endpoint, err), false)
	}
	wrapped := fmt.Errorf("send via %s: %w", endpoint, err)
	code := se.ErrorCode()
	switch se.Reason {
	case mail.ErrSMTPDataClose:
		switch {
		case code >= 400 && code < 500:
			return crier.Transient(wrapped, 0)
		case code >= 500 && code < 600:
			return crier.Permanent(wrapped)
		}
		return crier.Unknown(fmt.Errorf("send via %s: %w: %w", endpoint, errNoReply, err), false)
	case mail.ErrConnCheck, mail.ErrSMTPMailFrom, mail.ErrSMTPRcptTo, mail.ErrSMTPData, mail.ErrWriteContent:
		if code >= 500 && code < 600 {
			return crier.Permanent(wrapped)
		}
		return crier.Transient(wrapped, 0)
	case mail.ErrGetSender, mail.ErrGetRcpts, mail.ErrNoUnencoded:
		// The message itself is unusable; nothing went on the wire.
		return crier.Permanent(wrapped)
	}
	// ErrSMTPReset only follows a delivered message, which Send treats as
	// sent; ErrAmbiguous needs several messages per call.
	return crier.Unknown(wrapped, false)
}

// stale reports whether err is what a reused session that the relay has
// dropped while idle produces on the next message: a failure before MAIL
// FROM was accepted with no reply, or 421 (service closing). Nothing was
// sent, so the message may go out over a new session at once.
func stale(err error) bool {
	var se *mail.SendError
	if !errors.As(err, &se) {
		return false
	}
	switch se.Reason {
	case mail.ErrConnCheck:
		return true
	case mail.ErrSMTPMailFrom:
		code := se.ErrorCode()
		return code == 0 || code == 421
	}
	return false
}

// answered reports whether err is the relay's reply refusing one message,
// after which the session can carry the next: a 4xx or 5xx code other than
// 421, which closes the session.
func answered(err error) bool {
	var se *mail.SendError
	if !errors.As(err, &se) {
		return false
	}
	switch se.Reason {
	case mail.ErrSMTPMailFrom, mail.ErrSMTPRcptTo, mail.ErrSMTPData, mail.ErrSMTPDataClose:
		code := se.ErrorCode()
		return code >= 400 && code < 600 && code != 421
	}
	return false
}
