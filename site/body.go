package site

import (
	"encoding/json"
	"strings"

	"github.com/crierhq/crier"
)

// MessageType is the message type whose HTML and Text are a town's body
// as the site shows it: the templates package renders one per town and
// revision (crier.PageType), which the engine stores with the
// announcement; see BodyFromMessages.
const MessageType = "site"

// BodyFromMessages finds the body of one revision for one town among the
// messages the store keeps for an announcement
// (crier.AnnouncementStore.Messages), so that a page shows exactly the
// text that was published, rendered once from the town's variables at
// publish time, and not a new rendering from today's configuration.
//
// It takes, in this order: a message of MessageType; the built-in webhook
// payload, whose data.html and data.text are the rendered body (a payload
// from an override template counts only when it has the same shape and
// names the same town and revision). ok is false when the town had
// neither, e.g. because it has no webhook channel; the caller needs
// another way to the body then (see the package doc).
func BodyFromMessages(msgs []*crier.Message, town string, revision int) (b Body, ok bool) {
	for _, m := range msgs {
		if m.Town == town && m.Revision == revision && m.Type == MessageType {
			return Body{HTML: m.HTML, Text: m.Text}, true
		}
	}
	for _, m := range msgs {
		if m.Town != town || m.Revision != revision || m.Type != "webhook" || len(m.Payload) == 0 {
			continue
		}
		var p struct {
			Data struct {
				Revision int    `json:"revision"`
				HTML     string `json:"html"`
				Text     string `json:"text"`
				Town     struct {
					ID string `json:"id"`
				} `json:"town"`
			} `json:"data"`
		}
		if json.Unmarshal(m.Payload, &p) != nil || p.Data.Town.ID != town || p.Data.Revision != revision {
			continue
		}
		if strings.TrimSpace(p.Data.HTML) != "" || strings.TrimSpace(p.Data.Text) != "" {
			return Body{HTML: p.Data.HTML, Text: p.Data.Text}, true
		}
	}
	return Body{}, false
}
