package webhook

import (
	"encoding/json"
	"time"

	"github.com/crierhq/crier"
)

// payload is the body sent when a message carries no rendered Payload, in
// the Standard Webhooks shape {"type", "timestamp", "data"}.
type payload struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      data      `json:"data"`
}

type data struct {
	Announcement string     `json:"announcement"`
	Revision     int        `json:"revision"`
	Town         string     `json:"town"`
	Channel      string     `json:"channel"`
	Mode         crier.Mode `json:"mode,omitempty"`
	Language     string     `json:"language,omitempty"`
	Subject      string     `json:"subject,omitempty"`
	Text         string     `json:"text,omitempty"`
	HTML         string     `json:"html,omitempty"`
	Link         string     `json:"link,omitempty"`
	Expires      time.Time  `json:"expires,omitzero"`
}

// body returns the request body for m: its rendered Payload verbatim, or a
// JSON document built from its fields when it has none.
func body(m *crier.Message, now time.Time) ([]byte, error) {
	if len(m.Payload) > 0 {
		return m.Payload, nil
	}
	typ := m.Event
	if typ == "" {
		typ = crier.EventPublished
	}
	return json.Marshal(payload{
		Type:      typ,
		Timestamp: now.UTC().Truncate(time.Second),
		Data: data{
			Announcement: m.Announcement,
			Revision:     m.Revision,
			Town:         m.Town,
			Channel:      m.Channel,
			Mode:         m.Mode,
			Language:     m.Language,
			Subject:      m.Subject,
			Text:         m.Text,
			HTML:         m.HTML,
			Link:         m.Link,
			Expires:      m.Expires,
		},
	})
}
