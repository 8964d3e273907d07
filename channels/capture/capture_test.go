package capture_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/capture"
	"github.com/crierhq/crier/channels/channeltest"
)

var epoch = time.Date(2023, 10, 30, 6, 0, 0, 0, time.UTC)

// store is an in-memory crier.CaptureStore that keeps the first capture
// per key, as the real stores do, and fails as its behaviour says.
type store struct {
	mu       sync.Mutex
	behavior channeltest.Behavior
	byKey    map[string]*crier.Capture
	all      []*crier.Capture
}

func newStore() *store { return &store{byKey: map[string]*crier.Capture{}} }

func (s *store) Set(b channeltest.Behavior) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.behavior = b
}

func (s *store) Accepted() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for _, c := range s.all {
		keys = append(keys, c.Key)
	}
	return keys
}

func (s *store) SaveCapture(ctx context.Context, c *crier.Capture) error {
	s.mu.Lock()
	b := s.behavior.Kind
	s.mu.Unlock()
	switch b {
	case channeltest.Reject:
		return crier.Errorf(crier.EINVALID, "capture of %d bytes exceeds the store's limit", len(c.Text))
	case channeltest.Unavailable:
		return errors.New("database is locked")
	case channeltest.Hang:
		<-ctx.Done()
		return ctx.Err()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if first, ok := s.byKey[c.Key]; ok {
		c.ID = first.ID
		return nil
	}
	saved := *c
	saved.ID = int64(len(s.all) + 1)
	c.ID = saved.ID
	s.byKey[c.Key] = &saved
	s.all = append(s.all, &saved)
	return nil
}

func (s *store) FindCaptures(_ context.Context, f crier.CaptureFilter) ([]*crier.Capture, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*crier.Capture
	for _, c := range s.all {
		if f.Match(c) {
			out = append(out, c)
		}
	}
	return out, nil
}

func message() *crier.Message {
	return &crier.Message{
		Announcement: "k7q2m4x9p3z8w6v1",
		Revision:     2,
		Town:         "soest",
		Channel:      "mail-soest",
		Type:         "email",
		Event:        crier.EventPublished,
		Mode:         crier.ModeExercise,
		Subject:      "Übung: Rathaus geschlossen",
		Text:         "Das Rathaus ist heute geschlossen.",
		HTML:         "<p>Das Rathaus ist heute geschlossen.</p>",
		Payload:      []byte(`{"title":"Rathaus geschlossen"}`),
		Capture:      true,
		Key:          "k7q2m4x9p3z8w6v1.2.soest.mail-soest.17",
		Recipient:    "anna@example.org",
	}
}

func mustNew(t *testing.T, s crier.CaptureStore) *capture.Channel {
	t.Helper()
	c, err := capture.New(capture.Options{Store: s, Clock: channeltest.NewClock(epoch)})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func TestConformance(t *testing.T) {
	channeltest.Run(t, channeltest.Harness{
		New: func(t *testing.T) (crier.Channel, channeltest.Remote) {
			s := newStore()
			return mustNew(t, s), s
		},
		Message:      message,
		Deduplicates: true,
		// A local store either saves or fails; there is no connection whose
		// loss could swallow an answer.
		Skip: []channeltest.Kind{channeltest.Drop},
	})
}

func TestSendStoresCapture(t *testing.T) {
	s := newStore()
	c := mustNew(t, s)
	m := message()
	rc, err := c.Send(t.Context(), m)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if diff := cmp.Diff(&crier.Receipt{RemoteID: "capture:1", Endpoint: "capture"}, rc); diff != "" {
		t.Errorf("receipt (-want +got):\n%s", diff)
	}
	got, _ := s.FindCaptures(t.Context(), crier.CaptureFilter{Announcement: m.Announcement, Personal: true})
	want := []*crier.Capture{{
		ID:           1,
		Key:          m.Key,
		Announcement: m.Announcement,
		Revision:     2,
		Town:         "soest",
		Channel:      "mail-soest",
		Type:         "email",
		Recipient:    "anna@example.org",
		Subject:      m.Subject,
		Text:         m.Text,
		HTML:         m.HTML,
		Payload:      m.Payload,
		At:           epoch,
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("captures (-want +got):\n%s", diff)
	}
	// The capture must not share the message's payload.
	m.Payload[0] = 'X'
	if got[0].Payload[0] == 'X' {
		t.Error("the capture's payload changed with the message's")
	}
}

func TestSameKeyReturnsFirstCapture(t *testing.T) {
	s := newStore()
	c := mustNew(t, s)
	other := message()
	other.Key = "k7q2m4x9p3z8w6v1.2.soest.mail-soest.18"
	var ids []string
	for _, m := range []*crier.Message{message(), other, message()} {
		rc, err := c.Send(t.Context(), m)
		if err != nil {
			t.Fatalf("Send: %v", err)
		}
		ids = append(ids, rc.RemoteID)
	}
	if diff := cmp.Diff([]string{"capture:1", "capture:2", "capture:1"}, ids); diff != "" {
		t.Errorf("remote ids (-want +got):\n%s", diff)
	}
}

// idless is a store that does not report the id it assigned.
type idless struct{ *store }

func (s idless) SaveCapture(ctx context.Context, c *crier.Capture) error {
	err := s.store.SaveCapture(ctx, c)
	c.ID = 0
	return err
}

func TestReceiptWithoutStoreID(t *testing.T) {
	c := mustNew(t, idless{newStore()})
	m := message()
	rc, err := c.Send(t.Context(), m)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if want := "capture:" + m.Key; rc.RemoteID != want {
		t.Errorf("RemoteID = %q, want %q", rc.RemoteID, want)
	}
}

func TestStoreErrorKeepsChain(t *testing.T) {
	s := newStore()
	s.Set(channeltest.Behavior{Kind: channeltest.Hang})
	c := mustNew(t, s)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err := c.Send(ctx, message())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want it to wrap context.DeadlineExceeded", err)
	}
	if !strings.HasPrefix(err.Error(), "save capture: ") {
		t.Errorf("err = %q, want it to say what failed", err)
	}
}

func TestNoKey(t *testing.T) {
	s := newStore()
	c := mustNew(t, s)
	m := message()
	m.Key = ""
	_, err := c.Send(t.Context(), m)
	channeltest.WantCode(t, err, crier.EPERMANENT)
	channeltest.WantAccepted(t, s)
}

func TestNewNeedsStore(t *testing.T) {
	if _, err := capture.New(capture.Options{}); err == nil {
		t.Error("New without a store: err = nil")
	}
}
