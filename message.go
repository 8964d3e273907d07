package crier

import (
	"strconv"
	"strings"
	"time"
)

// Events carried by messages; webhooks send them as the payload's "type".
const (
	EventPublished = "announcement.published"
	EventUpdated   = "announcement.updated"  // a later revision corrects the announcement
	EventCanceled  = "announcement.canceled" // a later revision withdraws it
	// EventSubscriptionConfirm is the double opt-in mail of the public
	// subscribe form: a one-recipient announcement of its own, so that it
	// goes through the town's email channel, the queue, retries and the
	// delivery record like everything else. It has no pages, and lists of
	// announcements for people leave it out.
	EventSubscriptionConfirm = "subscription.confirm"
)

// UnsubscribePlaceholder stands in rendered email text and HTML where the
// recipient's own unsubscribe URL belongs. Messages are rendered once per
// town and channel; the delivery worker replaces the placeholder per
// recipient, which is far cheaper than rendering per recipient. It contains
// nothing that HTML escaping changes.
const UnsubscribePlaceholder = "CRIER-UNSUBSCRIBE-URL-7c1f"

// Message is the result of rendering one announcement revision for one town
// and one channel. The delivery worker fills in the per-delivery fields
// (Key, Recipient, UnsubscribeURL, Attempt, FirstAttempt) before Send.
type Message struct {
	Announcement string `json:"announcement"`
	Revision     int    `json:"revision"`
	Town         string `json:"town"`
	Channel      string `json:"channel"`
	Type         string `json:"type"`
	Event        string `json:"event"`
	Mode         Mode   `json:"mode"`
	Language     string `json:"language,omitempty"`

	Subject string `json:"subject,omitempty"`
	// Text is the plain-text form: the email's text part, or a social post.
	Text string `json:"text,omitempty"`
	HTML string `json:"html,omitempty"`
	// SpoilerText and Sensitive carry the announcement's content warning to
	// social channels.
	SpoilerText string `json:"spoiler_text,omitempty"`
	Sensitive   bool   `json:"sensitive,omitempty"`
	// Payload is a structured body, e.g. the webhook's JSON.
	Payload []byte `json:"payload,omitempty"`
	// Omitted says what of the announcement's body Text leaves out: a
	// social post shortened to fit its channel's limit, or one whose
	// template shows only part of the body. Nil when Text carries all of
	// it, and for messages that always do (email, site).
	Omitted *Omission `json:"omitted,omitempty"`
	// Link is the public URL of the full announcement for this town.
	Link    string    `json:"link,omitempty"`
	Expires time.Time `json:"expires,omitzero"`

	// PerSubscriber means one delivery per confirmed subscriber of Town,
	// snapshot at publish time, instead of one delivery for the message.
	PerSubscriber bool `json:"per_subscriber,omitempty"`
	// Capture means the message goes to the capture sink (exercise and test
	// mode) instead of the channel's real transport.
	Capture bool `json:"capture,omitempty"`

	// Per delivery.
	Key            string    `json:"key,omitempty"`
	Recipient      string    `json:"recipient,omitempty"`
	UnsubscribeURL string    `json:"unsubscribe_url,omitempty"`
	Attempt        int       `json:"attempt,omitempty"`
	FirstAttempt   time.Time `json:"first_attempt,omitzero"`
	// Previous is the receipt of the previous revision's delivery on the
	// same town × channel (× recipient) when it was sent: the post an
	// update edits or answers and a cancel deletes. Nil otherwise.
	Previous *Receipt `json:"previous,omitempty"`
	// Ambiguous says that an earlier attempt of this delivery ended with an
	// unknown outcome and may have arrived. A channel whose receiver forgets
	// keys after a while (Mastodon: one hour) must not repeat the send once
	// that time is near.
	Ambiguous bool `json:"ambiguous,omitempty"`
	// Pin names the endpoint at which an earlier attempt ended with an
	// unknown outcome, kept with the delivery across restarts: a repeat
	// may go only where the key is remembered. Empty when not known.
	Pin string `json:"pin,omitempty"`
}

// Omission is what of an announcement's body a message leaves out, so that
// a preview can say so.
type Omission struct {
	// Paragraphs is how many of the body's Total paragraphs (a list counts
	// as one) the message lacks, wholly or in part.
	Paragraphs int `json:"paragraphs"`
	Total      int `json:"total"`
	// Characters is how many characters of the body the message lacks.
	Characters int `json:"characters"`
	// From is the beginning of the first text the message lacks, cut short
	// with "…", e.g. "Telefonisch erreichen Sie uns unter 02921 …".
	From string `json:"from"`
}

// DeliveryKey returns the deterministic idempotency key of a delivery:
// the same announcement, revision, town, channel and subscriber always give
// the same key, so a retried send carries the key the receiver already saw.
// subscriber is 0 for deliveries that are not per recipient. The key is
// made of slugs, digits and dots, valid in a Message-ID, a webhook-id and
// an Idempotency-Key header alike.
func DeliveryKey(announcement string, revision int, town, channel string, subscriber int64) string {
	var b strings.Builder
	b.WriteString(announcement)
	b.WriteByte('.')
	b.WriteString(strconv.Itoa(revision))
	b.WriteByte('.')
	b.WriteString(town)
	b.WriteByte('.')
	b.WriteString(channel)
	if subscriber > 0 {
		b.WriteByte('.')
		b.WriteString(strconv.FormatInt(subscriber, 10))
	}
	return b.String()
}
