package crier

import (
	"fmt"
	"net/mail"
	"strings"
	"time"
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
}

// NormalizeEmail checks that s is a single plain address (no display name,
// no line breaks) and returns it with the domain lower-cased.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("empty address")
	}
	if strings.ContainsAny(s, "\r\n<>,; ") {
		return "", fmt.Errorf("%q is not a plain address", s)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return "", fmt.Errorf("%q is not a valid address", s)
	}
	at := strings.LastIndexByte(s, '@')
	return s[:at] + strings.ToLower(s[at:]), nil
}
