package crier

// RenderRequest is everything a renderer needs for one town × channel.
type RenderRequest struct {
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
// town, the channel, the template and the line.
type Renderer interface {
	Render(r *RenderRequest) (*Message, error)
}
