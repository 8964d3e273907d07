package crier

import (
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode"
)

// SubscriberState is where an address stands on a town's list.
type SubscriberState string

// Subscriber states: pending awaits double opt-in; only confirmed addresses
// receive mail.
const (
	SubscriberPending      SubscriberState = "pending"
	SubscriberConfirmed    SubscriberState = "confirmed"
	SubscriberUnsubscribed SubscriberState = "unsubscribed"
)

// Valid reports whether s is a known subscriber state.
func (s SubscriberState) Valid() bool {
	return s == SubscriberPending || s == SubscriberConfirmed || s == SubscriberUnsubscribed
}

// Subscriber is an address on a town's email list.
type Subscriber struct {
	ID    int64           `json:"id"`
	Town  string          `json:"town"`
	Email string          `json:"email"`
	Name  string          `json:"name,omitempty"`
	State SubscriberState `json:"state"`
	// Source documents where the consent came from, e.g. "import
	// 2026-11-26: paper list Bürgerbüro" or "double opt-in".
	Source    string    `json:"source,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
	// ConfirmedAt is when the address last became confirmed, and
	// UnsubscribedAt when it last left the list; zero when it never did
	// or it is not known.
	ConfirmedAt    time.Time `json:"confirmed_at,omitzero"`
	UnsubscribedAt time.Time `json:"unsubscribed_at,omitzero"`
}

// Limits of an address (RFC 5321 section 4.5.3.1 and its errata): the
// local part, the domain and the whole path.
const (
	maxEmailLocal  = 64
	maxEmailDomain = 253
	maxEmail       = 254
)

// EmailProblem is the problem at field that NormalizeEmail refused an
// address with err; err's English text is kept as its argument.
func EmailProblem(field string, err error) Problem {
	return Problemf(field, "email.invalid", "invalid address: %v", err)
}

// NormalizeEmail checks that s is a single plain address that mail can be
// delivered to on the internet and returns it with the domain lower-cased.
// It refuses display names and line breaks, IP literals ("x@[127.0.0.1]"),
// domains without a dot ("a@b") or with a numeric top-level label, labels
// that are empty, longer than 63 bytes or start or end with a hyphen, and
// addresses longer than 254 bytes or with a local part over 64. The
// subscribe form, the import and the API all check addresses with it.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("empty address")
	}
	if strings.ContainsAny(s, "\r\n<>,; ") {
		return "", fmt.Errorf("%q is not a plain address", s)
	}
	if len(s) > maxEmail {
		return "", fmt.Errorf("address of %d bytes is longer than %d", len(s), maxEmail)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return "", fmt.Errorf("%q is not a valid address", s)
	}
	at := strings.LastIndexByte(s, '@')
	local, domain := s[:at], strings.ToLower(s[at+1:])
	if len(local) > maxEmailLocal {
		return "", fmt.Errorf("%q: local part longer than %d bytes", s, maxEmailLocal)
	}
	if err := checkMailDomain(domain); err != nil {
		return "", fmt.Errorf("%q: %w", s, err)
	}
	return local + "@" + domain, nil
}

// checkMailDomain checks that domain is a host name with at least two
// labels, not an IP literal or a bare name.
func checkMailDomain(domain string) error {
	if strings.HasPrefix(domain, "[") {
		return fmt.Errorf("IP literal as domain")
	}
	if len(domain) > maxEmailDomain {
		return fmt.Errorf("domain longer than %d bytes", maxEmailDomain)
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return fmt.Errorf("domain %q without a dot", domain)
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Errorf("domain %q has an invalid label", domain)
		}
		for _, r := range l {
			if r != '-' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				return fmt.Errorf("domain %q has an invalid character %q", domain, r)
			}
		}
	}
	if tld := labels[len(labels)-1]; strings.Trim(tld, "0123456789") == "" {
		return fmt.Errorf("domain %q ends in a number", domain)
	}
	return nil
}
