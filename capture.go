package crier

import "time"

// Capture is a message the exercise sink received instead of a real
// transport. Staff read captures to rehearse without posting.
type Capture struct {
	ID           int64     `json:"id"`
	Key          string    `json:"key"`
	Announcement string    `json:"announcement"`
	Revision     int       `json:"revision"`
	Town         string    `json:"town"`
	Channel      string    `json:"channel"`
	Type         string    `json:"type"`
	Recipient    string    `json:"recipient,omitempty"`
	Subject      string    `json:"subject,omitempty"`
	Text         string    `json:"text,omitempty"`
	HTML         string    `json:"html,omitempty"`
	Payload      []byte    `json:"payload,omitempty"`
	At           time.Time `json:"at"`
}
