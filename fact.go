package crier

import (
	"context"
	"time"
)

// Fact is something crier learned about a remote system that a check of a
// message needs: a Mastodon instance's character limit, say. Publishing
// and preview never ask the remote system; the health probes learn its
// facts and a FactStore keeps them across restarts, so that a hung
// instance cannot hold up an announcement.
type Fact struct {
	// Kind says what the fact is about and how Value reads, e.g.
	// "mastodon.instance". Each channel package names its own kinds.
	Kind string
	// Key identifies the remote system within Kind, e.g. the instance's
	// URL. Facts are not secret: neither Key nor Value holds a token.
	Key string
	// Value is the fact in the form its Kind defines (JSON, usually).
	Value []byte
	// Learned is when the remote system last said so.
	Learned time.Time
}

// FactStore keeps facts.
type FactStore interface {
	// Facts returns every stored fact of kind, ordered by key.
	Facts(ctx context.Context, kind string) ([]Fact, error)
	// SaveFact stores f in place of the fact of the same kind and key.
	SaveFact(ctx context.Context, f Fact) error
}
