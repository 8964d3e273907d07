package crier

import "time"

// State is the state of a delivery.
type State string

// Delivery states. Queued, Waiting and Sending are the only states that
// change by themselves; the others are final until a person retries.
const (
	StateQueued State = "queued"
	// StateWaiting is a revision's delivery that waits until the previous
	// revision's delivery on the same town × channel (× recipient) is
	// final, so that an update never overtakes what it corrects.
	StateWaiting  State = "waiting"
	StateSending  State = "sending"
	StateSent     State = "sent"
	StateFailed   State = "failed"   // permanent failure or attempts exhausted
	StateUnknown  State = "unknown"  // may or may not have arrived; waits for a person
	StateCanceled State = "canceled" // withdrawn or replaced by a later revision before it was sent
	StateExpired  State = "expired"  // not sent before the announcement expired
)

// States lists every state in display order.
var States = []State{StateQueued, StateWaiting, StateSending, StateSent, StateFailed, StateUnknown, StateCanceled, StateExpired}

// Final reports whether s will not change without a person.
func (s State) Final() bool { return s != StateQueued && s != StateWaiting && s != StateSending }

// Valid reports whether s is a known state.
func (s State) Valid() bool {
	for _, v := range States {
		if s == v {
			return true
		}
	}
	return false
}

// Delivery is one unit of sending: revision × town × channel (× recipient
// for email). The deliveries table is the queue.
type Delivery struct {
	ID           int64     `json:"id"`
	Key          string    `json:"key"`
	Announcement string    `json:"announcement"`
	Revision     int       `json:"revision"`
	Town         string    `json:"town"`
	Channel      string    `json:"channel"`
	Type         string    `json:"type"`
	Recipient    string    `json:"recipient,omitempty"`
	State        State     `json:"state"`
	Attempts     int       `json:"attempts"`
	NextAt       time.Time `json:"next_at,omitzero"`
	FirstAttempt time.Time `json:"first_attempt,omitzero"`
	ErrorCode    string    `json:"error_code,omitempty"`
	Error        string    `json:"error,omitempty"`
	RemoteID     string    `json:"remote_id,omitempty"`
	URL          string    `json:"url,omitempty"`
	Endpoint     string    `json:"endpoint,omitempty"`
	Capture      bool      `json:"capture,omitempty"`
	// Ambiguous is set once any attempt ended with an unknown outcome: an
	// earlier try may have arrived, so a repeat is safe only while the
	// receiver still remembers the key.
	Ambiguous bool `json:"ambiguous,omitempty"`
	// Pin names the endpoint of the attempt that made the delivery
	// ambiguous; see Message.Pin.
	Pin       string    `json:"pin,omitempty"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Attempt records one try of a delivery.
type Attempt struct {
	Delivery  int64     `json:"delivery"`
	Started   time.Time `json:"started"`
	Finished  time.Time `json:"finished"`
	Endpoint  string    `json:"endpoint,omitempty"`
	Network   string    `json:"network,omitempty"`
	ErrorCode string    `json:"error_code,omitempty"`
	Error     string    `json:"error,omitempty"`
	RemoteID  string    `json:"remote_id,omitempty"`
	URL       string    `json:"url,omitempty"`
}

// Count is the number of deliveries of one town × channel in one state.
type Count struct {
	Town    string `json:"town"`
	Channel string `json:"channel"`
	State   State  `json:"state"`
	N       int    `json:"n"`
}
