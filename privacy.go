package crier

import (
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"strings"
	"time"
)

// PseudonymPrefix starts every pseudonym. A pseudonym contains no "@", so
// that no mail channel takes it for an address.
const PseudonymPrefix = "pseudonym:"

// DefaultRetention is how long the recipient data of finished deliveries,
// their attempts and the idempotency keys are kept by default.
const DefaultRetention = 90 * 24 * time.Hour

// Pseudonyms turns an address into the keyed hash that stands for it
// once it is erased or its retention period has passed: HMAC-SHA256 under
// a key derived from the instance's secret. The same address always gives
// the same pseudonym, so that deliveries still count and duplicates are
// still found, but without the secret the address cannot be recovered or
// tested for. Its zero value is not usable; see NewPseudonyms.
type Pseudonyms struct {
	key []byte
}

// NewPseudonyms returns the pseudonyms keyed by secret, the secret that
// seals the subscriber links (Tokens.Secret). The key is derived from it
// for this use alone.
func NewPseudonyms(secret []byte) *Pseudonyms {
	key, err := hkdf.Key(sha256.New, secret, nil, "crier address pseudonyms, HMAC-SHA256", 32)
	if err != nil {
		panic("pseudonym key: " + err.Error()) // only for a key length SHA-256 cannot give
	}
	return &Pseudonyms{key: key}
}

// Of returns the pseudonym of address: PseudonymPrefix and the unpadded
// base64url of the HMAC of the address in lower case, so that every
// spelling of one mailbox gets one pseudonym. A pseudonym is returned as it
// is.
func (p *Pseudonyms) Of(address string) string {
	if IsPseudonym(address) {
		return address
	}
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte(strings.ToLower(strings.TrimSpace(address))))
	return PseudonymPrefix + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// IsPseudonym reports whether s is a pseudonym rather than an address.
func IsPseudonym(s string) bool { return strings.HasPrefix(s, PseudonymPrefix) }

// Erasure counts what erasing an address changed.
type Erasure struct {
	// Subscriptions is the number of list entries deleted.
	Subscriptions int `json:"subscriptions"`
	// Deliveries is the number of deliveries whose recipient is now the
	// pseudonym; Canceled of them were still to be sent and never will be.
	Deliveries int `json:"deliveries"`
	Canceled   int `json:"canceled"`
	// Captures is the number of exercise captures whose recipient is now
	// the pseudonym.
	Captures int `json:"captures"`
	// Keys is the number of idempotency keys deleted that named the
	// address (those of its confirmation mails).
	Keys int `json:"keys"`
}

// Empty reports whether nothing was stored about the address.
func (e *Erasure) Empty() bool {
	return e.Subscriptions == 0 && e.Deliveries == 0 && e.Captures == 0 && e.Keys == 0
}

// PersonalData is everything stored about one address: the answer to a
// data subject's request for access (DSGVO Art. 15).
type PersonalData struct {
	Address string `json:"address"`
	// Pseudonym is what stands for the address in records that were
	// erased or are past their retention period; they are listed too.
	Pseudonym     string              `json:"pseudonym"`
	Subscriptions []*Subscriber       `json:"subscriptions"`
	Deliveries    []*PersonalDelivery `json:"deliveries"`
	Captures      []*Capture          `json:"captures"`
	// Requests are the idempotency keys that name the address: the
	// confirmation mails asked for, by the subscribe form or an invite.
	Requests []*Request `json:"requests"`
}

// PersonalDelivery is a delivery to the address, with the announcement it
// carried and every attempt.
type PersonalDelivery struct {
	*Delivery
	Title   string     `json:"title"`
	Event   string     `json:"event"`
	History []*Attempt `json:"history"`
}

// Request is a stored idempotency key and when it was used.
type Request struct {
	Key          string    `json:"key"`
	Announcement string    `json:"announcement"`
	CreatedAt    time.Time `json:"created_at"`
}

// Purge counts what a retention purge removed.
type Purge struct {
	// Before is the cut-off: records finished before it were purged.
	Before time.Time `json:"before"`
	// Deliveries is the number of finished deliveries whose recipient was
	// replaced by its pseudonym.
	Deliveries int `json:"deliveries"`
	// Attempts is the number of earlier attempts of finished deliveries
	// deleted; a delivery keeps its latest attempt's outcome.
	Attempts int `json:"attempts"`
	// Captures is the number of captures whose recipient was replaced.
	Captures int `json:"captures"`
	// Confirmations is the number of stored confirmation mails whose
	// link, long expired, was removed: its token carries the address.
	Confirmations int `json:"confirmations"`
	// Keys is the number of idempotency keys deleted.
	Keys int `json:"keys"`
	// Subscribers is the number of unsubscribed list entries deleted.
	Subscribers int `json:"subscribers"`
}

// PrivacyStore erases and exports what is stored about a person, and
// purges personal data past its retention period.
type PrivacyStore interface {
	// EraseAddress deletes the address from the town's list (every list
	// when town is empty) and replaces it by its pseudonym in every
	// delivery, attempt and capture of that town (of every town), in one
	// transaction; deliveries to it still queued or waiting are canceled.
	// Idempotency keys that name the address are deleted. Nothing stored
	// is a not_found error; a malformed address is invalid.
	EraseAddress(ctx context.Context, town, address string, p *Pseudonyms, now time.Time) (*Erasure, error)
	// PersonalData returns everything stored about the address, including
	// the records where its pseudonym stands for it. Nothing stored is a
	// not_found error.
	PersonalData(ctx context.Context, address string, p *Pseudonyms) (*PersonalData, error)
	// Purge pseudonymizes the recipients of deliveries and captures that
	// were final before the cut-off, deletes their earlier attempts, the
	// idempotency keys used before it, and the list entries unsubscribed
	// before it, and records in the audit trail at now what it did.
	Purge(ctx context.Context, before time.Time, p *Pseudonyms, now time.Time) (*Purge, error)
}

// Retention applies a retention period: what Purge removes is kept for
// Period after it is finished, and no longer.
type Retention struct {
	Store      PrivacyStore
	Pseudonyms *Pseudonyms
	// Period is the retention period; 0 keeps everything (purging is off).
	Period time.Duration
	Clock  Clock
	Logger *slog.Logger
}

// Purge purges what finished more than Period before now and logs how
// much, never what. With purging off it does nothing and returns nil.
func (r *Retention) Purge(ctx context.Context) (*Purge, error) {
	if r.Period <= 0 {
		return nil, nil
	}
	now := r.Clock.Now()
	res, err := r.Store.Purge(ctx, now.Add(-r.Period), r.Pseudonyms, now)
	if err != nil {
		return nil, err
	}
	if r.Logger != nil {
		level := slog.LevelInfo
		if *res == (Purge{Before: res.Before}) {
			level = slog.LevelDebug
		}
		r.Logger.Log(ctx, level, "retention: personal data past its period purged", "before", res.Before,
			"deliveries", res.Deliveries, "attempts", res.Attempts, "captures", res.Captures,
			"confirmations", res.Confirmations, "keys", res.Keys,
			"unsubscribed", res.Subscribers)
	}
	return res, nil
}

// Run purges at once and then every interval until ctx ends. A failed
// purge is logged and tried again at the next interval.
func (r *Retention) Run(ctx context.Context, interval time.Duration) {
	if r.Period <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := r.Purge(ctx); err != nil && ctx.Err() == nil && r.Logger != nil {
			r.Logger.ErrorContext(ctx, "retention: purge", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
