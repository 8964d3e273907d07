// Package capture is the exercise-mode sink: in exercise and test mode the
// delivery workers hand every message to this channel instead of the real
// transport, and it stores the message as a crier.Capture that staff can
// read in the UI and the API. Nothing leaves the machine.
//
// The store keeps the first capture saved for a key, so the sink
// deduplicates like a webhook receiver: repeating a send is always safe.
package capture

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/crierhq/crier"
)

// Endpoint labels the sink in receipts.
const Endpoint = "capture"

// Options configure a Channel.
type Options struct {
	// Store keeps the captures. Required.
	Store crier.CaptureStore
	// Clock stamps captures; default crier.SystemClock.
	Clock crier.Clock
}

// Channel stores messages instead of sending them. It is safe for
// concurrent use when its store is.
type Channel struct {
	store crier.CaptureStore
	clock crier.Clock
}

var _ crier.Channel = (*Channel)(nil)

// New returns a capture sink over o.Store, or an error when there is no store.
func New(o Options) (*Channel, error) {
	if o.Store == nil {
		return nil, errors.New("capture: store is missing")
	}
	c := &Channel{store: o.Store, clock: o.Clock}
	if c.clock == nil {
		c.clock = crier.SystemClock{}
	}
	return c, nil
}

// Send stores m as a capture and returns a receipt with RemoteID
// "capture:<id>" and Endpoint "capture", where id is the capture id the
// store set (the key when it set none). Sending a key again stores nothing
// new; the store reports the first capture's id.
//
// Failures are classified like a remote's answers:
//   - a context done before the save, or a store error, is transient;
//   - a store error with code crier.EINVALID or crier.EPERMANENT (the store
//     refuses this capture and always will) is permanent, as is a message
//     without a key;
//   - a context that ends while the store is saving is an unknown outcome
//     that may be retried: the save may have committed, and a repeated key
//     is dropped.
func (c *Channel) Send(ctx context.Context, m *crier.Message) (*crier.Receipt, error) {
	if err := ctx.Err(); err != nil {
		return nil, crier.Transient(fmt.Errorf("save capture: %w", err), 0)
	}
	if m.Key == "" {
		return nil, crier.Permanent(errors.New("save capture: message has no idempotency key"))
	}
	cp := &crier.Capture{
		Key:          m.Key,
		Announcement: m.Announcement,
		Revision:     m.Revision,
		Town:         m.Town,
		Channel:      m.Channel,
		Type:         m.Type,
		Recipient:    m.Recipient,
		Subject:      m.Subject,
		Text:         m.Text,
		HTML:         m.HTML,
		Payload:      bytes.Clone(m.Payload),
		At:           c.clock.Now(),
	}
	if err := c.store.SaveCapture(ctx, cp); err != nil {
		return nil, classify(ctx, fmt.Errorf("save capture: %w", err))
	}
	id := m.Key
	if cp.ID > 0 {
		id = strconv.FormatInt(cp.ID, 10)
	}
	return &crier.Receipt{RemoteID: "capture:" + id, Endpoint: Endpoint}, nil
}

// classify sorts a store error.
func classify(ctx context.Context, err error) error {
	switch crier.ErrorCode(err) {
	case crier.EINVALID, crier.EPERMANENT:
		return crier.Permanent(err)
	}
	if ctx.Err() != nil {
		return crier.Unknown(err, true)
	}
	return crier.Transient(err, 0)
}
