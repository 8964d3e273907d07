package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/queue/queuetest"
	"github.com/crierhq/crier/store/sqlite"
)

var t0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

// MustOpenDB opens a new database in a temporary directory and closes it
// when the test ends.
func MustOpenDB(tb testing.TB) *sqlite.DB {
	tb.Helper()
	return MustOpen(tb, filepath.Join(tb.TempDir(), "crier.db"))
}

// MustOpen opens the database at path and closes it when the test ends.
func MustOpen(tb testing.TB, path string) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return db
}

func TestQueue(t *testing.T) {
	queuetest.Run(t, func(t *testing.T) queuetest.Backend { return MustOpenDB(t) })
}

func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crier.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	subs := []*crier.Subscriber{{Town: "soest", Email: "anna@soest.example", State: crier.SubscriberConfirmed}}
	if _, err := db.AddSubscribers(ctx, subs, t0); err != nil {
		t.Fatal(err)
	}
	p := &crier.Plan{
		Announcement: &crier.Announcement{ID: "ann-1", Revision: 1, Title: "Rathaus geschlossen", Body: "Heute.",
			Towns: []string{"soest"}, Mode: crier.ModeActual, Expires: t0.Add(time.Hour)},
		Messages: []*crier.Message{{Town: "soest", Channel: "mail-soest", Type: "email", Text: "Heute.", PerSubscriber: true}},
	}
	if _, err := db.CreateAnnouncement(ctx, p, "request-1", t0); err != nil {
		t.Fatal(err)
	}
	jobs, err := db.Claim(ctx, nil, 10, t0, time.Minute)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("Claim = %d jobs, %v", len(jobs), err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = MustOpen(t, path)
	a, err := db.Announcement(ctx, "ann-1")
	if err != nil || a.Title != "Rathaus geschlossen" || !a.CreatedAt.Equal(t0) {
		t.Errorf("Announcement after reopen = %+v, %v", a, err)
	}
	res, err := db.CreateAnnouncement(ctx, p, "request-1", t0)
	if err != nil || !res.Existing || res.Deliveries != 1 {
		t.Errorf("repeated key after reopen = %+v, %v; want the earlier result", res, err)
	}
	// The process that held the lease is gone; recovery hands the job on.
	if n, err := db.Recover(ctx); err != nil || n != 1 {
		t.Errorf("Recover = %d, %v; want 1", n, err)
	}
	again, err := db.Claim(ctx, nil, 10, t0, time.Minute)
	if err != nil || len(again) != 1 || !again[0].Reclaimed || again[0].Message.Recipient != "anna@soest.example" {
		t.Errorf("Claim after reopen = %+v, %v; want anna's job, reclaimed", again, err)
	}
}

func TestLock(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crier.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = sqlite.Open(ctx, path)
	want := "database " + path + " is in use by another crier process"
	if err == nil || !strings.Contains(err.Error(), want) || crier.ErrorCode(err) != crier.ECONFLICT {
		t.Fatalf("second Open: err = %v, want a conflict %q", err, want)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	MustOpen(t, path)
}

func TestOpenInvalidPath(t *testing.T) {
	_, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "crier.db?mode=ro"))
	if crier.ErrorCode(err) != crier.EINVALID {
		t.Errorf("Open with '?' in the path: err = %v, want invalid", err)
	}
}

func TestCreateAnnouncementInvalid(t *testing.T) {
	db := MustOpenDB(t)
	ann := &crier.Announcement{ID: "ann-1", Revision: 1, Towns: []string{"soest"}}
	msg := &crier.Message{Town: "soest", Channel: "radio", Type: "webhook"}
	for name, p := range map[string]*crier.Plan{
		"no announcement":  {},
		"no id":            {Announcement: &crier.Announcement{Revision: 1}},
		"no revision":      {Announcement: &crier.Announcement{ID: "ann-1"}},
		"message untyped":  {Announcement: ann, Messages: []*crier.Message{{Town: "soest", Channel: "radio"}}},
		"message repeated": {Announcement: ann, Messages: []*crier.Message{msg, msg}},
		"message missing":  {Announcement: ann, Messages: []*crier.Message{nil}},
	} {
		_, err := db.CreateAnnouncement(context.Background(), p, "", t0)
		if crier.ErrorCode(err) != crier.EINVALID {
			t.Errorf("%s: err = %v, want invalid", name, err)
		}
	}
	if _, err := db.Announcement(context.Background(), "ann-1"); crier.ErrorCode(err) != crier.ENOTFOUND {
		t.Errorf("an invalid plan left announcement ann-1 behind: %v", err)
	}
}

func TestAnnouncementRevisions(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	for rev := 1; rev <= 2; rev++ {
		p := &crier.Plan{
			Announcement: &crier.Announcement{ID: "ann-1", Revision: rev, Title: "Rathaus geschlossen", Body: "x",
				Towns: []string{"soest"}, Mode: crier.ModeActual},
			Messages: []*crier.Message{{Town: "soest", Channel: "radio", Type: "webhook", Text: "x"}},
		}
		if _, err := db.CreateAnnouncement(ctx, p, "", t0.Add(time.Duration(rev)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	p := &crier.Plan{Announcement: &crier.Announcement{ID: "ann-1", Revision: 2, Towns: []string{"soest"}}}
	if _, err := db.CreateAnnouncement(ctx, p, "", t0); crier.ErrorCode(err) != crier.ECONFLICT {
		t.Errorf("existing revision: err = %v, want conflict", err)
	}
	as, err := db.Announcements(ctx, 0)
	if err != nil || len(as) != 1 || as[0].Revision != 2 {
		t.Errorf("Announcements = %+v, %v; want ann-1 once, in revision 2", as, err)
	}
	ms, err := db.Messages(ctx, "ann-1")
	if err != nil || len(ms) != 2 || ms[0].Revision != 1 || ms[1].Revision != 2 || ms[0].Announcement != "ann-1" {
		t.Errorf("Messages = %+v, %v; want one per revision, in order", ms, err)
	}
}

func TestCaptures(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	first := &crier.Capture{Key: "ann-1.1.soest.radio", Announcement: "ann-1", Revision: 1, Town: "soest",
		Channel: "radio", Type: "webhook", Payload: []byte(`{"town":"soest"}`), At: t0}
	if err := db.SaveCapture(ctx, first); err != nil || first.ID == 0 {
		t.Fatalf("SaveCapture = %v, id %d", err, first.ID)
	}
	dup := *first
	dup.ID, dup.Payload, dup.At = 0, []byte(`{"town":"changed"}`), t0.Add(time.Minute)
	if err := db.SaveCapture(ctx, &dup); err != nil || dup.ID != first.ID {
		t.Errorf("saving the key again = %v, id %d; want the first id %d", err, dup.ID, first.ID)
	}
	second := &crier.Capture{Key: "ann-2.1.werl.mail-werl.7", Announcement: "ann-2", Revision: 1, Town: "werl",
		Channel: "mail-werl", Type: "email", Recipient: "anna@werl.example", Subject: "Rathaus geschlossen",
		Text: "Heute geschlossen.", HTML: "<p>Heute geschlossen.</p>", At: t0.Add(time.Second)}
	if err := db.SaveCapture(ctx, second); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveCapture(ctx, &crier.Capture{}); crier.ErrorCode(err) != crier.EINVALID {
		t.Errorf("capture without key: err = %v, want invalid", err)
	}

	all, err := db.Captures(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]*crier.Capture{first, second}, all); d != "" {
		t.Errorf("Captures mismatch (-want +got):\n%s", d)
	}
	one, err := db.Captures(ctx, "ann-2", 10)
	if err != nil || len(one) != 1 || one[0].Key != second.Key {
		t.Errorf("Captures(ann-2) = %+v, %v", one, err)
	}
	if limited, err := db.Captures(ctx, "", 1); err != nil || len(limited) != 1 || limited[0].Key != first.Key {
		t.Errorf("Captures(limit 1) = %+v, %v; want the oldest", limited, err)
	}
	recent, err := db.FindCaptures(ctx, crier.CaptureFilter{Personal: true, Newest: true})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]*crier.Capture{second, first}, recent); d != "" {
		t.Errorf("RecentCaptures mismatch (-want +got):\n%s", d)
	}
	if latest, err := db.FindCaptures(ctx, crier.CaptureFilter{Personal: true, Newest: true, Limit: 1}); err != nil || len(latest) != 1 || latest[0].Key != second.Key {
		t.Errorf("FindCaptures(newest, limit 1) = %+v, %v; want the newest", latest, err)
	}
}

func TestSubscribersInvalid(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	n, err := db.AddSubscribers(ctx, []*crier.Subscriber{
		{Town: "soest", Email: "ok@soest.example", State: crier.SubscriberConfirmed},
		{Town: "soest", Email: "Anna <anna@soest.example>", State: crier.SubscriberConfirmed},
		{Town: "", Email: "x@soest.example", State: crier.SubscriberConfirmed},
		{Town: "soest", Email: "y@soest.example", State: "maybe"},
	}, t0)
	if crier.ErrorCode(err) != crier.EINVALID || n != 0 || len(crier.ErrorDetails(err)) != 3 {
		t.Errorf("AddSubscribers = %d, %v; want invalid with 3 problems", n, err)
	}
	if subs, _ := db.Subscribers(ctx, "soest", ""); len(subs) != 0 {
		t.Errorf("an invalid batch stored %d subscribers", len(subs))
	}
	subs := []*crier.Subscriber{{Town: "soest", Email: "Anna@Soest.Example", State: crier.SubscriberConfirmed}}
	if _, err := db.AddSubscribers(ctx, subs, t0); err != nil || subs[0].Email != "Anna@soest.example" || subs[0].ID == 0 {
		t.Errorf("AddSubscribers = %v, stored %+v; want the domain lower-cased and an id", err, subs[0])
	}
	if err := db.RemoveSubscriber(ctx, "soest", "Anna@SOEST.example", t0); err != nil {
		t.Errorf("RemoveSubscriber with the domain in other case: %v", err)
	}
}

// TestExchangeCanceled: an exchange whose context has ended changes
// nothing.
func TestExchangeCanceled(t *testing.T) {
	db := MustOpenDB(t)
	p := &crier.Plan{
		Announcement: &crier.Announcement{ID: "ann-1", Revision: 1, Towns: []string{"soest"}, Mode: crier.ModeActual},
		Messages:     []*crier.Message{{Town: "soest", Channel: "radio", Type: "webhook", Text: "Heute."}},
	}
	if _, err := db.CreateAnnouncement(context.Background(), p, "", t0); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	jobs, _, err := db.Exchange(ctx, nil, []string{"webhook"}, 10, t0, time.Minute)
	if !errors.Is(err, context.Canceled) || len(jobs) != 0 {
		t.Fatalf("Exchange after cancel = %d jobs, %v; want none and context.Canceled", len(jobs), err)
	}
	ds, err := db.Deliveries(context.Background(), crier.DeliveryFilter{Announcement: "ann-1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].State != crier.StateQueued {
		t.Fatalf("deliveries after a canceled exchange: %+v; want one, queued", ds)
	}
}
