package crier

import (
	"context"
	"errors"
)

// Channel sends one message to one destination: a social account, a Slack
// channel, a mail relay, a webhook receiver.
//
// Send returns a Receipt when the destination accepted the message. Every
// failure is classified where it happens:
//
//   - Transient (see the function): nothing was delivered and a later retry may
//     succeed: connection refused, DNS failure, timeout before the request was
//     written, HTTP 429 and 5xx, SMTP 4xx. RetryAfter carries the delay the
//     remote side asked for.
//   - Permanent: the destination refused the message; retrying will not help
//     (HTTP 4xx other than 429, SMTP 5xx).
//   - Unknown: the request was written but no answer came. Retryable is set
//     only when the receiver deduplicates on Message.Key.
//
// An unclassified error is treated as an unknown outcome that is not
// retried, so that a bug never produces duplicate public posts.
//
// Send must honour ctx's deadline and cancellation and must send
// Message.Key to receivers that deduplicate on it.
type Channel interface {
	Send(ctx context.Context, m *Message) (*Receipt, error)
}

// Receipt describes an accepted message.
type Receipt struct {
	RemoteID string `json:"remote_id,omitempty"` // status id, Message-ID, ts...
	URL      string `json:"url,omitempty"`       // public URL of the post, if any
	Endpoint string `json:"endpoint,omitempty"`  // which endpoint carried it
	Network  string `json:"network,omitempty"`   // which network carried it
}

// Checker is implemented by channels that have limits a rendered message
// must meet (length, header safety). Check returns every problem; the engine
// refuses the whole announcement when any message has one.
type Checker interface {
	Check(ctx context.Context, m *Message) []Problem
}

// Editor is implemented by channels that can change a post they made
// (Mastodon edit, Slack chat.update). remoteID is the RemoteID of the
// post's Receipt. Errors are classified as for Send.
type Editor interface {
	Edit(ctx context.Context, remoteID string, m *Message) (*Receipt, error)
}

// Deleter is implemented by channels that can withdraw a post they made.
// Deleting a post that is already gone succeeds.
type Deleter interface {
	Delete(ctx context.Context, remoteID string) error
}

// Replier is implemented by channels that can answer a post they made, so
// that a correction appears under the original (Mastodon reply, Slack
// thread).
type Replier interface {
	Reply(ctx context.Context, remoteID string, m *Message) (*Receipt, error)
}

// Prober is implemented by channels that can check their endpoint without
// sending a message: Mastodon's instance info, Slack's auth.test, an SMTP
// greeting with EHLO and NOOP. Probe returns nil when the endpoint answers
// as it should, and a classified error otherwise (Transient when it cannot
// be reached, Permanent when it refuses, e.g. a revoked token).
// ErrNoProbe says that this endpoint has nothing to probe.
type Prober interface {
	Probe(ctx context.Context) error
}

// ErrNoProbe is returned by Probe when an endpoint offers no way to check
// it without sending (a webhook without a probe URL).
var ErrNoProbe = errors.New("endpoint has no probe")

// How a channel treats its earlier post when a revision arrives.
const (
	RevisionsEdit  = "edit"
	RevisionsReply = "reply"
)

// Revision actions on an earlier post.
const (
	ActionEdit   = "edit"
	ActionReply  = "reply"
	ActionDelete = "delete"
)

// Reviser is implemented by channels made of several endpoints
// (netpath.Chain). Revise edits, answers or deletes the earlier post that
// m.Previous describes, through an endpoint that can: the one that made it,
// or any of them when they all reach the same account. It returns
// ErrCannotRevise when no endpoint offers the action; the caller then sends
// m as a message of its own. Errors are classified as for Send.
type Reviser interface {
	Revise(ctx context.Context, action string, m *Message) (*Receipt, error)
}

// ErrCannotRevise says that a channel cannot edit, answer or delete its
// earlier posts (an incoming webhook, email).
var ErrCannotRevise = errors.New("channel cannot change an earlier post")

// Closer is implemented by channels that hold connections.
type Closer interface {
	Close() error
}

// ChannelInfo describes a configured channel to the engine.
type ChannelInfo struct {
	ID   string
	Type string
	// PerSubscriber channels (email) deliver once per confirmed subscriber.
	PerSubscriber bool
	// Deduplicates says that the receiver drops a repeated Message.Key, so a
	// send interrupted by a crash may be repeated safely. When false, a send
	// whose worker was lost becomes an unknown outcome for a person to check.
	Deduplicates bool
	// Revisions says how updates and cancels treat an earlier post where
	// the channel can change it: RevisionsEdit (default) edits an update
	// into the post and deletes it on cancel; RevisionsReply answers it.
	Revisions string
	// Personalizes says that the channel itself replaces
	// UnsubscribePlaceholder in Text and HTML with Message.UnsubscribeURL
	// (HTML-escaped in HTML), so that it can prepare the body once for all
	// recipients. Otherwise the workers replace it before Send.
	Personalizes bool
	Channel      Channel
}

// Limiter is implemented by channels whose posts must fit a length limit
// (Mastodon's characters per status, Slack's per section), so that the
// renderer can fit a post to it instead of leaving it to Check to refuse.
// TextLimit returns the limit as the channel knows it now, without a
// request: the same that Check counts against. A Max of zero means no
// limit.
type Limiter interface {
	TextLimit() Limit
}

// Limit is how long a channel's post may be, in the channel's own counting.
type Limit struct {
	// Max is the most a post may count.
	Max int
	// Length counts m as the channel counts it against Max: Mastodon
	// counts graphemes, each link as a fixed number and the content warning
	// too; Slack counts the characters of the escaped section text.
	Length func(m *Message) int
}

// Fits reports whether m fits l; everything fits no limit.
func (l Limit) Fits(m *Message) bool {
	return l.Max <= 0 || l.Length == nil || l.Length(m) <= l.Max
}

// Tightest returns one limit that a message meets exactly when it meets
// every one of ls: a post that may fail over to any of several endpoints
// must fit each. Its Max is the smallest Max, and its Length counts how far
// a message comes towards the limit it is closest to overrunning. Limits
// with a Max of zero are left out; none left gives the zero Limit.
func Tightest(ls ...Limit) Limit {
	var in []Limit
	for _, l := range ls {
		if l.Max > 0 && l.Length != nil {
			in = append(in, l)
		}
	}
	switch len(in) {
	case 0:
		return Limit{}
	case 1:
		return in[0]
	}
	out := Limit{Max: in[0].Max}
	for _, l := range in[1:] {
		out.Max = min(out.Max, l.Max)
	}
	out.Length = func(m *Message) int {
		worst := 0
		for i, l := range in {
			// l.Length(m) - l.Max is how far m is over (or under) l.
			if over := l.Length(m) - l.Max; i == 0 || over > worst {
				worst = over
			}
		}
		return out.Max + worst
	}
	return out
}
