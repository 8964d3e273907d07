package server

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/store/sqlite"
)

// interleavedSubscribers is the real store with a hook that runs once,
// right after the first subscriber lookup: what another request does
// between the confirm handler's read and its write.
type interleavedSubscribers struct {
	*sqlite.DB
	afterRead func()
}

func (s *interleavedSubscribers) Subscriber(ctx context.Context, town, email string) (*crier.Subscriber, error) {
	sub, err := s.DB.Subscriber(ctx, town, email)
	if f := s.afterRead; f != nil {
		s.afterRead = nil
		f()
	}
	return sub, err
}

// TestConfirmRacesUnsubscribe: a citizen unsubscribes while the
// confirmation of the same subscription is between checking its link and
// writing. The unsubscribe wins: the address stays unsubscribed, and the
// confirmation answers that its link is void.
func TestConfirmRacesUnsubscribe(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "crier.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	const anna = "anna@example.org"
	if _, err := db.AddSubscribers(ctx, []*crier.Subscriber{{Town: "soest", Email: anna, State: crier.SubscriberPending,
		Source: "double opt-in, form"}}, testNow.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	subs := &interleavedSubscribers{DB: db}
	e := newEnv(t, func(o *Options) {
		o.Tokens, o.Clock, o.Subscribers = subscribeTokens, fixedClock{testNow}, subs
	})
	sub, err := db.Subscriber(ctx, "soest", anna)
	if err != nil {
		t.Fatal(err)
	}
	v := subscriptionVersion(sub)
	link := "/confirm/" + v + confirmSep + subscribeTokens.Sign(confirmPurpose(v), "soest", anna, testNow.Add(time.Hour))

	subs.afterRead = func() {
		if err := db.RemoveSubscriber(ctx, "soest", anna, testNow); err != nil {
			t.Error(err)
		}
	}
	code, _, body := page(t, http.MethodPost, e.url+link, url.Values{})
	if subs.afterRead != nil {
		t.Fatal("the confirmation never looked the subscription up")
	}
	cur, err := db.Subscriber(ctx, "soest", anna)
	if err != nil {
		t.Fatal(err)
	}
	if cur.State != crier.SubscriberUnsubscribed {
		t.Errorf("after an unsubscribe during the confirmation: %s, want unsubscribed", cur.State)
	}
	if code != http.StatusBadRequest {
		t.Errorf("confirmation: %d, want 400 (the link is void)\n%s", code, body)
	}
}
