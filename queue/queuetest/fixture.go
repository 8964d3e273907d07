package queuetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/crierhq/crier"
)

// t0 is the suite's "now"; tests pass times explicitly and never sleep.
var t0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

// lease is the lease the tests claim with unless they test leases.
const lease = time.Minute

// Channel kinds of the fixtures: "mail" is the town's email list (one
// delivery per confirmed subscriber), "radio" a webhook shared by every
// town, "mastodon" the town's own account.
const (
	mail     = "mail"
	radio    = "radio"
	mastodon = "mastodon"
)

// newPlan returns a plan of announcement id, revision 1, for towns and
// channel kinds, as the engine would commit it.
func newPlan(id string, towns []string, kinds ...string) *crier.Plan {
	a := &crier.Announcement{
		ID: id, Revision: 1,
		Title:    "Rathaus wegen IT-Störung geschlossen",
		Body:     "Das Rathaus ist bis auf Weiteres geschlossen. Telefon: {{.phone}}",
		Towns:    towns,
		Category: "Infra", Urgency: "Expected", Severity: "Minor", Certainty: "Observed",
		Mode:    crier.ModeExercise,
		Event:   crier.EventPublished,
		Expires: t0.Add(48 * time.Hour),
	}
	p := &crier.Plan{Announcement: a, Towns: towns}
	for _, town := range towns {
		for _, kind := range kinds {
			p.Messages = append(p.Messages, newMessage(a, town, kind))
		}
	}
	return p
}

func newMessage(a *crier.Announcement, town, kind string) *crier.Message {
	m := &crier.Message{
		Announcement: a.ID, Revision: a.Revision, Town: town,
		Event: crier.EventPublished, Mode: a.Mode, Language: "de",
		Text:    "Das Rathaus " + town + " ist geschlossen.",
		Link:    "https://krisen.kreis-soest.example/" + town + "/" + a.ID,
		Expires: a.Expires,
		Capture: a.Mode != crier.ModeActual,
	}
	switch kind {
	case mail:
		m.Channel, m.Type, m.PerSubscriber = "mail-"+town, "email", true
		m.Subject = "Rathaus " + town + " geschlossen"
		m.HTML = "<p>Das Rathaus ist geschlossen.</p><p><a href=\"" + crier.UnsubscribePlaceholder + "\">Abmelden</a></p>"
		m.Payload = []byte(`{"list":"` + town + `"}`)
	case radio:
		m.Channel, m.Type = "radio", "webhook"
		m.Payload = []byte(`{"type":"announcement.published","town":"` + town + `"}`)
	case mastodon:
		m.Channel, m.Type = "mastodon-"+town, "mastodon"
	default:
		panic("unknown channel kind " + kind)
	}
	return m
}

func mustCreate(tb testing.TB, b Backend, p *crier.Plan, key string, now time.Time) *crier.PublishResult {
	tb.Helper()
	res, err := b.CreateAnnouncement(context.Background(), p, key, now)
	if err != nil {
		tb.Fatalf("CreateAnnouncement(%s): %v", p.Announcement.ID, err)
	}
	return res
}

// mustSubscribe adds subscribers to town's list in state and returns them
// as stored.
func mustSubscribe(tb testing.TB, b Backend, town string, state crier.SubscriberState, emails ...string) []*crier.Subscriber {
	tb.Helper()
	subs := make([]*crier.Subscriber, len(emails))
	for i, e := range emails {
		subs[i] = &crier.Subscriber{Town: town, Email: e, State: state, Source: "double opt-in"}
	}
	if _, err := b.AddSubscribers(context.Background(), subs, t0.Add(-time.Hour)); err != nil {
		tb.Fatalf("AddSubscribers: %v", err)
	}
	stored, err := b.Subscribers(context.Background(), town, "")
	if err != nil {
		tb.Fatalf("Subscribers: %v", err)
	}
	out := make([]*crier.Subscriber, len(emails))
	for i, e := range emails {
		j := slices.IndexFunc(stored, func(s *crier.Subscriber) bool { return s.Email == e })
		if j < 0 {
			tb.Fatalf("subscriber %s of %s not stored", e, town)
		}
		out[i] = stored[j]
	}
	return out
}

// addresses returns n distinct addresses for town.
func addresses(town string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("buerger%04d@%s.example", i, town)
	}
	return out
}

func mustClaim(tb testing.TB, b Backend, types []string, n int, now time.Time, lease time.Duration) []*crier.Job {
	tb.Helper()
	jobs, err := b.Claim(context.Background(), types, n, now, lease)
	if err != nil {
		tb.Fatalf("Claim(%v, %d, %s): %v", types, n, now, err)
	}
	return jobs
}

func mustComplete(tb testing.TB, b Backend, outcomes []*crier.Outcome, now time.Time) (stale int) {
	tb.Helper()
	stale, err := b.Complete(context.Background(), outcomes, now)
	if err != nil {
		tb.Fatalf("Complete: %v", err)
	}
	return stale
}

// mustDeliveries returns every delivery matching f, following pages.
func mustDeliveries(tb testing.TB, b Backend, f crier.DeliveryFilter) []*crier.Delivery {
	tb.Helper()
	var all []*crier.Delivery
	for {
		page, err := b.Deliveries(context.Background(), f)
		if err != nil {
			tb.Fatalf("Deliveries(%+v): %v", f, err)
		}
		if len(page) == 0 {
			return all
		}
		all = append(all, page...)
		f.AfterID = page[len(page)-1].ID
	}
}

// mustDelivery returns the delivery with the given id.
func mustDelivery(tb testing.TB, b Backend, announcement string, id int64) *crier.Delivery {
	tb.Helper()
	ds, err := b.Deliveries(context.Background(), crier.DeliveryFilter{Announcement: announcement, AfterID: id - 1, Limit: 1})
	if err != nil || len(ds) != 1 || ds[0].ID != id {
		tb.Fatalf("Deliveries(id %d) = %v, %v", id, ds, err)
	}
	return ds[0]
}

func mustCounts(tb testing.TB, b Backend, announcement string) []crier.Count {
	tb.Helper()
	cs, err := b.Counts(context.Background(), announcement)
	if err != nil {
		tb.Fatalf("Counts: %v", err)
	}
	sortCounts(cs)
	return cs
}

func mustDepth(tb testing.TB, b Backend) map[string]int {
	tb.Helper()
	d, err := b.Depth(context.Background())
	if err != nil {
		tb.Fatalf("Depth: %v", err)
	}
	return d
}

func mustAttempts(tb testing.TB, b Backend, delivery int64) []*crier.Attempt {
	tb.Helper()
	as, err := b.Attempts(context.Background(), delivery)
	if err != nil {
		tb.Fatalf("Attempts(%d): %v", delivery, err)
	}
	return as
}

func sortCounts(cs []crier.Count) {
	slices.SortFunc(cs, func(a, b crier.Count) int {
		return strings.Compare(a.Town+"\x00"+a.Channel+"\x00"+string(a.State), b.Town+"\x00"+b.Channel+"\x00"+string(b.State))
	})
}

// sent returns an outcome that marks j sent at now.
func sent(j *crier.Job, now time.Time) *crier.Outcome {
	return &crier.Outcome{Delivery: j.Delivery.ID, Lease: j.Lease, State: crier.StateSent, Attempt: &crier.Attempt{
		Delivery: j.Delivery.ID, Started: now, Finished: now,
		Endpoint: "primary", Network: "default", RemoteID: "remote-" + j.Delivery.Key,
	}}
}

// byTown returns the job for town, failing when there is not exactly one.
func byTown(tb testing.TB, jobs []*crier.Job, town string) *crier.Job {
	tb.Helper()
	var found *crier.Job
	for _, j := range jobs {
		if j.Delivery.Town == town {
			if found != nil {
				tb.Fatalf("two jobs for %s", town)
			}
			found = j
		}
	}
	if found == nil {
		tb.Fatalf("no job for %s", town)
	}
	return found
}

func wantCode(tb testing.TB, err error, code string) {
	tb.Helper()
	if got := crier.ErrorCode(err); got != code {
		tb.Fatalf("error %v has code %q, want %q", err, got, code)
	}
}

func diff(tb testing.TB, what string, want, got any, opts ...cmp.Option) {
	tb.Helper()
	if d := cmp.Diff(want, got, append(opts, cmpopts.EquateEmpty())...); d != "" {
		tb.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

// ignoreID leaves delivery ids, which the backend assigns, out of comparisons.
var ignoreID = cmpopts.IgnoreFields(crier.Delivery{}, "ID")

// sortDeliveries orders deliveries by key, for comparisons that do not
// depend on the order the backend assigned ids in.
var sortDeliveries = cmpopts.SortSlices(func(a, b *crier.Delivery) bool { return a.Key < b.Key })

var ignoreSubscriberID = cmpopts.IgnoreFields(crier.Subscriber{}, "ID")

var sortMessages = cmpopts.SortSlices(func(a, b *crier.Message) bool {
	return a.Town+"\x00"+a.Channel < b.Town+"\x00"+b.Channel
})
