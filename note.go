package crier

// Note tells a person something about the checks of a channel's messages
// that does not stop a publish: that a limit is not known yet and a
// default stands in for it, say. Notes are not problems; a plan with notes
// and no problems is published.
type Note struct {
	// Channel is the channel the note is about; the engine sets it.
	Channel string `json:"channel,omitempty"`
	// Town is the town of the one message the note is about, or empty when
	// it is about all of the channel's messages.
	Town string `json:"town,omitempty"`
	// Code names the note for programs and translations, e.g.
	// "mastodon.limit_unknown". It is stable.
	Code string `json:"code"`
	// Args are the values the note's text is made of, in order (a host, a
	// number), so that the text can be given in every language.
	Args []string `json:"args,omitempty"`
	// Message is the note's text. The channel writes it in English; the
	// API and the CLI give it in their reader's language.
	Message string `json:"message"`
}

// Noter is implemented by channels whose checks rest on what they know of
// a remote system. Notes says what a person previewing the channel's
// messages should know about those checks now, without a request.
type Noter interface {
	Notes() []Note
}
