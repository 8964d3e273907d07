package templates

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/crierhq/crier"
)

// payload is the webhook body, in the shape of Standard Webhooks:
// {"type": ..., "timestamp": ..., "data": {...}}.
type payload struct {
	Type      string      `json:"type"`
	Timestamp string      `json:"timestamp"`
	Data      payloadData `json:"data"`
}

type payloadData struct {
	ID        string      `json:"id"`
	Revision  int         `json:"revision"`
	Town      payloadTown `json:"town"`
	Language  string      `json:"language"`
	Title     string      `json:"title"`
	Text      string      `json:"text"`
	HTML      string      `json:"html"`
	Link      string      `json:"link"`
	Category  string      `json:"category"`
	Urgency   string      `json:"urgency"`
	Severity  string      `json:"severity"`
	Certainty string      `json:"certainty"`
	Mode      string      `json:"mode"`
	Expires   *string     `json:"expires"` // null when the announcement does not expire
	// Reason explains an update or a cancel.
	Reason string `json:"reason,omitempty"`
	// References names the revision an update or a cancel follows.
	References *payloadRef `json:"references,omitempty"`
}

// payloadRef names an earlier revision of the announcement.
type payloadRef struct {
	ID       string `json:"id"`
	Revision int    `json:"revision"`
}

type payloadTown struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	AGS  string `json:"ags"`
}

// rfc3339 formats t in UTC.
func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// payload returns the webhook JSON: built from d, or from the override
// webhook.payload.tmpl when there is one, whose output must be JSON.
func (x *run) payload(d *Data) []byte {
	if t := x.r.lookup(x.req.Town.ID, x.req.Channel, webhookPayload); t != nil {
		out, ok := x.exec(webhookPayload, d)
		if !ok {
			return nil
		}
		var b bytes.Buffer
		if err := json.Compact(&b, []byte(out)); err != nil {
			x.coded(crier.Problemf("template "+t.name, "template.output_json", "the output is not valid JSON: %v", err))
			return nil
		}
		return b.Bytes()
	}
	p := payload{
		Type:      d.Event,
		Timestamp: rfc3339(d.Timestamp),
		Data: payloadData{
			ID: d.ID, Revision: d.Revision,
			Town:     payloadTown{ID: d.Town.ID, Name: d.Town.Name, AGS: d.Town.AGS},
			Language: d.Town.Language,
			Title:    d.Title, Text: d.BodyText, HTML: string(d.Body), Link: d.Link,
			Category: d.Category, Urgency: d.Urgency, Severity: d.Severity, Certainty: d.Certainty,
			Mode: string(d.Mode),
		},
	}
	if !d.Expires.IsZero() {
		e := rfc3339(d.Expires)
		p.Data.Expires = &e
	}
	if d.Revision > 1 {
		p.Data.Reason = d.Reason
		p.Data.References = &payloadRef{ID: d.ID, Revision: d.Revision - 1}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		x.coded(crier.Problemf("payload", "template.payload", "the payload could not be built: %v", err))
		return nil
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
