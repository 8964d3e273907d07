package access

import (
	"errors"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/locale"
)

// refusal is an error of a login that people see: a *crier.Error with
// its text in the catalogue (locale key and arguments), for Message.
type refusal struct {
	err  *crier.Error
	key  string
	args []any
}

func (r *refusal) Error() string { return r.err.Error() }
func (r *refusal) Unwrap() error { return r.err }

// refuse returns a refusal with code, whose English message is the
// catalogue's text for key.
func refuse(code, key string, err error, args ...any) *refusal {
	return &refusal{err: &crier.Error{Code: code, Message: locale.T("en", key, args...), Err: err}, key: key, args: args}
}

// Message returns the text of a login error for people, in lang: what
// went wrong and what to do, never why a password was refused.
func Message(lang string, err error) string {
	var r *refusal
	if errors.As(err, &r) {
		return locale.T(lang, r.key, r.args...)
	}
	return crier.ErrorMessage(err)
}
