package crier

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Error codes. They are stable: the HTTP API returns them in
// {"error":{"code":...}} and the CLI maps them to exit codes.
const (
	EINVALID      = "invalid"         // bad input; Details lists every problem
	ENOTFOUND     = "not_found"       // no such object
	EUNAUTHORIZED = "unauthorized"    // missing or wrong credentials
	EFORBIDDEN    = "forbidden"       // authenticated but not allowed
	ECONFLICT     = "conflict"        // state does not allow the operation
	EINTERNAL     = "internal"        // a bug or an unexpected failure
	ETRANSIENT    = "transient"       // a send failed and nothing arrived; retry later
	EPERMANENT    = "permanent"       // a send was refused; retrying will not help
	EUNKNOWN      = "unknown_outcome" // a send may or may not have arrived
)

// Error is crier's one error type. Code classifies it; Message is meant for
// people and safe to show them; Err keeps the underlying chain for logs.
type Error struct {
	Code    string
	Message string
	// Details lists every problem of an EINVALID error.
	Details []Problem
	// RetryAfter is the delay the remote side asked for (HTTP Retry-After,
	// rate-limit reset) on an ETRANSIENT error; zero when it said nothing.
	RetryAfter time.Duration
	// Retryable marks an EUNKNOWN outcome that may still be retried because the
	// receiver deduplicates on the idempotency key (webhooks, Mastodon).
	Retryable bool
	// Deferred marks an ETRANSIENT error after which nothing was tried:
	// crier's own pacing held the send back, or no endpoint could take it
	// (breakers open, send slots busy, endpoints gone). It is no attempt:
	// the delivery waits RetryAfter and does not count it against its
	// attempts, and no endpoint is held responsible.
	Deferred bool
	// Gone marks an EPERMANENT refusal that says the endpoint itself no
	// longer exists (HTTP 410), or that its settings cannot work with it
	// (a mail relay whose certificate is not trusted): nothing was
	// delivered, the message itself is fine, and no later send through
	// that endpoint can succeed until a person has looked at it.
	Gone bool
	// Recipient marks a refusal that concerns the message's recipient
	// alone, such as a mail relay's 4xx or 5xx reply to RCPT TO: the
	// endpoint answered, so the refusal says nothing about its health. No
	// circuit breaker counts it and no other endpoint is tried for it; a
	// transient one is retried for its own delivery only.
	Recipient bool
	// Endpoint names the endpoint that ended a send with this error, where
	// a chain of endpoints knows it: an unknown outcome pins the delivery
	// to it.
	Endpoint string
	// Network is the network of Endpoint.
	Network string
	Err     error
}

// Error implements the error interface.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Message != "" {
		b.WriteString(e.Message)
	} else {
		b.WriteString(e.Code)
	}
	for _, p := range e.Details {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	if e.Err != nil {
		if inner := e.Err.Error(); inner != e.Message {
			if e.Message != "" {
				b.WriteString(": ")
			}
			b.WriteString(inner)
		}
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the human-readable message of err: the Message of the
// first *Error in its chain, or a generic text for anything else, so that
// internal details never reach a user.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return "internal error"
}

// ErrorDetails returns the problems attached to err, if any.
func ErrorDetails(err error) []Problem {
	var e *Error
	if errors.As(err, &e) {
		return e.Details
	}
	return nil
}

// Transient classifies err as a failure after which nothing was delivered
// and a later retry may succeed. retryAfter is the delay the remote side
// asked for, or zero.
func Transient(err error, retryAfter time.Duration) error {
	return &Error{Code: ETRANSIENT, Message: errorText(err), RetryAfter: retryAfter, Err: err}
}

// Permanent classifies err as a refusal that retrying will not change.
func Permanent(err error) error {
	return &Error{Code: EPERMANENT, Message: errorText(err), Err: err}
}

// Unknown classifies err as an ambiguous outcome: the request was written
// but no answer came. retryable says whether the receiver deduplicates on
// the idempotency key, so that a retry cannot produce a duplicate.
func Unknown(err error, retryable bool) error {
	return &Error{Code: EUNKNOWN, Message: errorText(err), Retryable: retryable, Err: err}
}

// Deferred classifies err as a send that was held back before anything
// was tried, to be tried again after wait: see Error.Deferred.
func Deferred(err error, wait time.Duration) error {
	return &Error{Code: ETRANSIENT, Message: errorText(err), RetryAfter: wait, Deferred: true, Err: err}
}

// Gone classifies err as the answer of an endpoint that no longer exists:
// see Error.Gone.
func Gone(err error) error {
	return &Error{Code: EPERMANENT, Message: errorText(err), Gone: true, Err: err}
}

// IsDeferred reports whether err says that nothing was tried (Error.Deferred).
func IsDeferred(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Deferred
}

// RecipientRefused marks err, a *Error from Transient or Permanent, as a
// refusal of the message's recipient alone (see Error.Recipient) and
// returns it; any other error is returned as it is.
func RecipientRefused(err error) error {
	var e *Error
	if errors.As(err, &e) {
		e.Recipient = true
	}
	return err
}

// IsRecipient reports whether err is a refusal of the message's recipient
// alone (Error.Recipient).
func IsRecipient(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Recipient
}

// IsGone reports whether err says that an endpoint is gone (Error.Gone).
func IsGone(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Gone
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// Problem is one thing wrong with an input, with where it is.
type Problem struct {
	// Field is the path of the offending value, e.g. "towns", "title",
	// "channels[2]", or "towns[soest].channels[mail-soest]".
	Field   string `json:"field,omitempty"`
	Town    string `json:"town,omitempty"`
	Channel string `json:"channel,omitempty"`
	// Code names the problem for programs and translations, e.g.
	// "title.missing"; empty for a problem that has no translation (then
	// Message is shown as it is). It is stable.
	Code string `json:"code,omitempty"`
	// Args are the values the problem's text is made of, in order, so
	// that the text can be given in every language.
	Args []string `json:"args,omitempty"`
	// Message is the problem's text in English. The API and the CLI give
	// it in their reader's language where Code has a translation.
	Message string `json:"message"`
	// Towns and Channels list where a problem that many towns share was
	// found, when it is reported once for all of them; Town and Channel
	// are then empty, or Channel is the one channel they share.
	Towns    []string `json:"towns,omitempty"`
	Channels []string `json:"channels,omitempty"`
}

// Problemf returns a problem about field with a code, whose English
// Message is format filled with args. The args are kept as text in Args,
// so that the catalogue can give the text in another language: format
// uses only the verbs %s, %q and %v, and the catalogue's English text of
// the code is format itself (a test checks both).
func Problemf(field, code, format string, args ...any) Problem {
	p := Problem{Field: field, Code: code, Message: fmt.Sprintf(format, args...)}
	for _, a := range args {
		p.Args = append(p.Args, fmt.Sprint(a))
	}
	return p
}

// String formats p as "town soest, channel mail: field: message". A
// problem many towns share ends in the first ten of them in brackets.
func (p Problem) String() string {
	var parts []string
	if p.Town != "" {
		parts = append(parts, "town "+p.Town)
	}
	if p.Channel != "" {
		parts = append(parts, "channel "+p.Channel)
	}
	where := strings.Join(parts, ", ")
	msg := p.Message + p.TownList()
	switch {
	case where != "" && p.Field != "":
		return where + ": " + p.Field + ": " + msg
	case where != "":
		return where + ": " + msg
	case p.Field != "":
		return p.Field + ": " + msg
	}
	return msg
}

// TownList returns " [soest, werl, …]", the first ten towns of a problem
// many towns share (its message counts them), or "" for a problem of one
// town or none.
func (p Problem) TownList() string {
	if len(p.Towns) == 0 {
		return ""
	}
	const shown = 10
	names := strings.Join(p.Towns[:min(len(p.Towns), shown)], ", ")
	if len(p.Towns) > shown {
		names += ", …"
	}
	return " [" + names + "]"
}

// Invalid returns an EINVALID error listing problems, or nil when there are none.
func Invalid(message string, problems []Problem) error {
	if len(problems) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Message: message, Details: problems}
}
