package crier

import (
	"context"
	"time"
)

// Defaults of RenderLimits. They are generous for real notices, whose
// rendered messages are a few KiB, and small enough that one announcement
// cannot take a server's memory or cores.
const (
	// DefaultMaxMessage bounds every rendered part of one message (subject,
	// HTML, plain text, payload) and the rendered body of one town.
	DefaultMaxMessage = 256 << 10
	// DefaultMaxAnnouncement bounds the sum of every message and page of
	// one announcement, over all its towns and channels: 72 towns × 5
	// channels of 90 KiB each fit.
	DefaultMaxAnnouncement = 32 << 20
	// DefaultRenderTimeout bounds rendering one announcement for all its
	// towns; a real notice takes milliseconds.
	DefaultRenderTimeout = 5 * time.Second
)

// RenderLimits bound the work of rendering one announcement. An
// announcement's body comes from API clients, and it is a template: without
// limits, 34 bytes of it can render gigabytes. Zero fields take the
// defaults.
type RenderLimits struct {
	// MaxMessage is the largest, in bytes, that each rendered part of a
	// message (subject, HTML, plain text, payload) and each town's
	// rendered body may be. The renderer stops writing a part at the limit,
	// and the message gets a problem. Default DefaultMaxMessage.
	MaxMessage int
	// MaxAnnouncement is the largest, in bytes, that all of an
	// announcement's messages and pages may be together. Rendering stops
	// when they exceed it, and the announcement is refused. Default
	// DefaultMaxAnnouncement.
	MaxAnnouncement int64
	// Timeout bounds rendering an announcement for all its towns.
	// Rendering stops when it passes, and the announcement is refused.
	// Default DefaultRenderTimeout.
	Timeout time.Duration
}

// WithDefaults returns l with every zero field set to its default.
func (l RenderLimits) WithDefaults() RenderLimits {
	if l.MaxMessage <= 0 {
		l.MaxMessage = DefaultMaxMessage
	}
	if l.MaxAnnouncement <= 0 {
		l.MaxAnnouncement = DefaultMaxAnnouncement
	}
	if l.Timeout <= 0 {
		l.Timeout = DefaultRenderTimeout
	}
	return l
}

// RenderRequest is everything a renderer needs for one town × channel.
type RenderRequest struct {
	// Context stops the rendering when it is done: the client that asked
	// has gone, or the announcement's time or size limit was reached. A
	// renderer checks it while it renders and then returns an error that
	// wraps context.Cause(Context), not an EINVALID one. Nil means never.
	// A field rather than an argument of Render, so that renderers that do
	// not need it stay as they are.
	Context context.Context
	// MaxSize is the largest, in bytes, that each rendered part of the
	// message may be (RenderLimits.MaxMessage); 0 means DefaultMaxMessage.
	MaxSize int

	Announcement *Announcement
	Town         *Town
	Channel      string // channel id
	Type         string // channel type: email, webhook, mastodon, slack...
	// Link is the public URL of the announcement's page for this town.
	Link string
	// Shared is scratch space common to every request for the same
	// announcement and town within one rendering of it: a renderer may keep
	// there what does not depend on the channel (the rendered body), so that
	// it is done once per town. Nil means nothing is shared.
	Shared map[string]any
	// Limit is how long the channel's post may be (see Limiter); nil when
	// the channel has no such limit. A renderer fits a post to it.
	Limit *Limit
}

// Renderer turns an announcement into the message for one town and channel.
// Template errors are returned as an EINVALID *Error whose Details name the
// town, the channel, the template and the line. A rendering stopped by
// RenderRequest.Context returns an error that wraps the context's cause.
type Renderer interface {
	Render(r *RenderRequest) (*Message, error)
}

// Size returns how many bytes m's rendered parts take.
func (m *Message) Size() int64 {
	return int64(len(m.Subject) + len(m.Text) + len(m.HTML) + len(m.Payload) + len(m.SpoilerText))
}
