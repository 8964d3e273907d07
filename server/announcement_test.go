package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/crierhq/crier"
	"github.com/google/go-cmp/cmp"
)

func TestPublish(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	res, err := e.client.Publish(ctx, testAnnouncement(), "")
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	status, header := e.seen.last()
	if status != http.StatusAccepted {
		t.Errorf("status = %d, want 202", status)
	}
	if got, want := header.Get("Location"), "/api/v1/announcements/ann1"; got != want {
		t.Errorf("Location = %q, want %q", got, want)
	}
	if res.Existing || res.Deliveries != 4 || res.Announcement.ID != "ann1" {
		t.Errorf("result = %+v, want 4 new deliveries of ann1", res)
	}
	// The engine's defaults come back to the client.
	if a := res.Announcement; a.Mode != crier.ModeExercise || a.Revision != 1 || a.Category != "Infra" || !a.CreatedAt.Equal(testNow) {
		t.Errorf("announcement = %+v, want exercise revision 1 with defaults", a)
	}
	if n := e.notified.Load(); n != 1 {
		t.Errorf("workers notified %d times, want 1", n)
	}

	got, err := e.client.Announcements(ctx, 0)
	if err != nil {
		t.Fatalf("Announcements: %v", err)
	}
	if diff := cmp.Diff([]*crier.Announcement{res.Announcement}, got); diff != "" {
		t.Errorf("Announcements (-want +got):\n%s", diff)
	}
}

func TestPublishIdempotencyKey(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	first, err := e.client.Publish(ctx, testAnnouncement(), "press-2026-11-26-1")
	if err != nil {
		t.Fatalf("first Publish: %v", err)
	}
	if status, _ := e.seen.last(); status != http.StatusAccepted || first.Existing {
		t.Fatalf("first publish: status %d, existing %v; want 202, new", status, first.Existing)
	}
	again, err := e.client.Publish(ctx, testAnnouncement(), "press-2026-11-26-1")
	if err != nil {
		t.Fatalf("repeated Publish: %v", err)
	}
	if status, _ := e.seen.last(); status != http.StatusOK {
		t.Errorf("repeated publish: status %d, want 200", status)
	}
	if !again.Existing || again.Announcement.ID != first.Announcement.ID || again.Deliveries != first.Deliveries {
		t.Errorf("repeated publish = %+v, want the first result (%s) marked existing", again, first.Announcement.ID)
	}
	if a, d := e.store.size(); a != 1 || d != 4 {
		t.Errorf("store holds %d announcements and %d deliveries, want 1 and 4", a, d)
	}

	other, err := e.client.Publish(ctx, testAnnouncement(), "press-2026-11-26-2")
	if err != nil {
		t.Fatalf("Publish with another key: %v", err)
	}
	if other.Existing || other.Announcement.ID == first.Announcement.ID {
		t.Errorf("another key gave %+v, want a new announcement", other)
	}
}

func TestPublishInvalid(t *testing.T) {
	tests := []struct {
		name string
		a    *crier.Announcement
		key  string
		want []string // problem places
	}{{
		name: "fields, towns and channels",
		a: &crier.Announcement{Body: "Text", Towns: []string{"soest", "atlantis"},
			Channels: []string{"fax"}, Category: "Weather"},
		want: []string{"title", "category", "towns[1]", "channels[0]"},
	}, {
		name: "every town and channel that fails to render",
		a:    &crier.Announcement{Title: "Hinweis", Body: "Tel. {{.nope}}", Towns: []string{"kreis-soest"}},
		want: []string{
			"soest/mastodon-soest:body", "soest/mail-soest:body",
			"werl/mastodon-werl:body", "werl/mail-werl:body",
		},
	}, {
		name: "channel limits",
		a:    &crier.Announcement{Title: "Hinweis", Body: strings.Repeat("lang ", 200), Towns: []string{"kreis-soest"}},
		want: []string{"soest/mastodon-soest:text", "werl/mastodon-werl:text"},
	}, {
		name: "fields the server assigns, and a bad key",
		a: &crier.Announcement{ID: "mine", Revision: 3, CreatedAt: testNow, Body: "Text",
			Towns: []string{"soest"}},
		key:  "has space",
		want: []string{"id", "revision", "created_at", "Idempotency-Key", "title"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			_, err := e.client.Publish(context.Background(), tt.a, tt.key)
			if got := crier.ErrorCode(err); got != crier.EINVALID {
				t.Fatalf("error code = %q (%v), want invalid", got, err)
			}
			if status, _ := e.seen.last(); status != http.StatusUnprocessableEntity {
				t.Errorf("status = %d, want 422", status)
			}
			if diff := cmp.Diff(tt.want, problemPlaces(crier.ErrorDetails(err))); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			if a, d := e.store.size(); a != 0 || d != 0 {
				t.Errorf("store holds %d announcements, %d deliveries; want nothing", a, d)
			}
			if n := e.notified.Load(); n != 0 {
				t.Errorf("workers notified %d times, want 0", n)
			}
		})
	}
}

func TestPreview(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	p, err := e.client.Preview(ctx, testAnnouncement())
	if err != nil {
		t.Fatalf("Preview: %v", err)
	}
	var got []string
	for _, m := range p.Messages {
		got = append(got, m.Town+"/"+m.Channel)
		if !m.Capture {
			t.Errorf("message %s/%s is not captured in an exercise instance", m.Town, m.Channel)
		}
	}
	want := []string{"soest/mastodon-soest", "soest/mail-soest", "werl/mastodon-werl", "werl/mail-werl"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	if len(p.Problems) != 0 || !cmp.Equal(p.Towns, []string{"soest", "werl"}) {
		t.Errorf("plan towns %v, problems %v; want soest, werl and no problems", p.Towns, p.Problems)
	}

	// A preview with problems is a successful answer that lists them.
	bad := testAnnouncement()
	bad.Title, bad.ID = "", "mine"
	p, err = e.client.Preview(ctx, bad)
	if err != nil {
		t.Fatalf("Preview of a bad announcement: %v", err)
	}
	if diff := cmp.Diff([]string{"id", "title"}, problemPlaces(p.Problems)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if a, _ := e.store.size(); a != 0 || e.notified.Load() != 0 {
		t.Errorf("preview committed %d announcements or notified workers", a)
	}
}

func TestStatus(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.mustPublish(t)

	st, err := e.client.Status(ctx, id)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if st.Announcement.ID != id || st.Total != 4 || st.Done || st.Totals[crier.StateQueued] != 4 {
		t.Errorf("status = %+v, want 4 queued, not done", st)
	}
	if len(st.Totals) != len(crier.States) {
		t.Errorf("totals %v, want every state listed", st.Totals)
	}

	e.store.setState(1, crier.StateSent)
	e.store.setState(2, crier.StateSending)
	e.store.setState(3, crier.StateFailed)
	e.store.setState(4, crier.StateSent)
	st, err = e.client.Status(ctx, id)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if st.Done {
		t.Error("done while a delivery is sending")
	}
	e.store.setState(2, crier.StateWaiting)
	if st, err = e.client.Status(ctx, id); err != nil || st.Done || st.Final != 3 {
		t.Errorf("status with a delivery waiting for an earlier revision's: %+v, %v; want 3 final, not done", st, err)
	}
	e.store.setState(2, crier.StateUnknown)
	st, err = e.client.Status(ctx, id)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	wantCounts := []crier.Count{
		{Town: "soest", Channel: "mail-soest", State: crier.StateUnknown, N: 1},
		{Town: "soest", Channel: "mastodon-soest", State: crier.StateSent, N: 1},
		{Town: "werl", Channel: "mail-werl", State: crier.StateSent, N: 1},
		{Town: "werl", Channel: "mastodon-werl", State: crier.StateFailed, N: 1},
	}
	if diff := cmp.Diff(wantCounts, st.Counts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	wantTotals := map[crier.State]int{
		crier.StateQueued: 0, crier.StateWaiting: 0, crier.StateSending: 0, crier.StateSent: 2, crier.StateFailed: 1,
		crier.StateUnknown: 1, crier.StateCanceled: 0, crier.StateExpired: 0,
	}
	if diff := cmp.Diff(wantTotals, st.Totals); diff != "" {
		t.Errorf("totals (-want +got):\n%s", diff)
	}
	if !st.Done || st.Total != 4 {
		t.Errorf("done %v, total %d; want done, 4", st.Done, st.Total)
	}

	if _, err := e.client.Status(ctx, "nope"); crier.ErrorCode(err) != crier.ENOTFOUND {
		t.Errorf("Status of an unknown id: %v, want not_found", err)
	}
}

func deliveryIDs(ds []*crier.Delivery) []int64 {
	var ids []int64
	for _, d := range ds {
		ids = append(ids, d.ID)
	}
	return ids
}

func TestDeliveries(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.mustPublish(t) // deliveries 1-4: soest mastodon, soest mail, werl mastodon, werl mail
	other := e.mustPublish(t)
	e.store.setState(3, crier.StateFailed)

	tests := []struct {
		name     string
		q        DeliveryQuery
		want     []int64
		wantNext int64
	}{
		{"all", DeliveryQuery{}, []int64{1, 2, 3, 4}, 0},
		{"town", DeliveryQuery{Town: "werl"}, []int64{3, 4}, 0},
		{"channel", DeliveryQuery{Channel: "mail-soest"}, []int64{2}, 0},
		{"state", DeliveryQuery{State: crier.StateFailed}, []int64{3}, 0},
		{"first page", DeliveryQuery{Limit: 3}, []int64{1, 2, 3}, 3},
		{"last page", DeliveryQuery{Limit: 3, After: 3}, []int64{4}, 0},
		{"page ending exactly at the end", DeliveryQuery{Limit: 2, After: 2}, []int64{3, 4}, 0},
		{"town and page", DeliveryQuery{Town: "soest", Limit: 1}, []int64{1}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, next, err := e.client.Deliveries(ctx, id, tt.q)
			if err != nil {
				t.Fatalf("Deliveries: %v", err)
			}
			if diff := cmp.Diff(tt.want, deliveryIDs(ds)); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
			if next != tt.wantNext {
				t.Errorf("next = %d, want %d", next, tt.wantNext)
			}
		})
	}

	all, err := e.client.AllDeliveries(ctx, other, DeliveryQuery{Limit: 1})
	if err != nil {
		t.Fatalf("AllDeliveries: %v", err)
	}
	if diff := cmp.Diff([]int64{5, 6, 7, 8}, deliveryIDs(all)); diff != "" {
		t.Errorf("AllDeliveries ids (-want +got):\n%s", diff)
	}

	_, _, err = e.client.Deliveries(ctx, id, DeliveryQuery{State: "lost"})
	if crier.ErrorCode(err) != crier.EINVALID || !cmp.Equal(problemPlaces(crier.ErrorDetails(err)), []string{"state"}) {
		t.Errorf("bad state: %v, want invalid naming state", err)
	}
	if _, _, err := e.client.Deliveries(ctx, "nope", DeliveryQuery{}); crier.ErrorCode(err) != crier.ENOTFOUND {
		t.Errorf("unknown announcement: %v, want not_found", err)
	}
}

func TestDeliveriesBadQuery(t *testing.T) {
	e := newEnv(t)
	id := e.mustPublish(t)
	status, body := rawRequest(t, e, http.MethodGet, "/api/v1/announcements/"+id+"/deliveries?state=lost&after=-1&limit=many", testToken, "")
	if status != http.StatusUnprocessableEntity {
		t.Fatalf("status = %d, want 422", status)
	}
	var got errorResponse
	decodeBody(t, body, &got)
	if got.Error.Code != crier.EINVALID || !cmp.Equal(problemPlaces(got.Error.Details), []string{"after", "limit", "state"}) {
		t.Errorf("error = %+v, want invalid naming after, limit and state", got.Error)
	}
}

func TestAttempts(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mustPublish(t)
	want := []*crier.Attempt{
		{Delivery: 1, Started: testNow, Finished: testNow, Endpoint: "social.example", ErrorCode: crier.ETRANSIENT, Error: "503"},
		{Delivery: 1, Started: testNow, Finished: testNow, Endpoint: "backup.example", Network: "lte", RemoteID: "1099"},
	}
	for _, a := range want {
		e.store.addAttempt(*a)
	}

	got, err := e.client.Attempts(ctx, 1)
	if err != nil {
		t.Fatalf("Attempts: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("attempts (-want +got):\n%s", diff)
	}
	got, err = e.client.Attempts(ctx, 2)
	if err != nil || len(got) != 0 {
		t.Errorf("Attempts of a delivery not yet tried = %v, %v; want none", got, err)
	}
	if _, err := e.client.Attempts(ctx, 99); crier.ErrorCode(err) != crier.ENOTFOUND {
		t.Errorf("Attempts of an unknown delivery: %v, want not_found", err)
	}
	if status, _ := rawRequest(t, e, http.MethodGet, "/api/v1/deliveries/x1/attempts", testToken, ""); status != http.StatusNotFound {
		t.Errorf("non-numeric delivery id: status %d, want 404", status)
	}
}

func TestRetry(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.mustPublish(t)
	e.store.setState(1, crier.StateFailed)
	e.store.setState(2, crier.StateUnknown)
	e.store.setState(3, crier.StateSent)
	e.store.setState(4, crier.StateExpired)
	before := e.notified.Load()

	n, err := e.client.Retry(ctx, id, []crier.State{crier.StateUnknown})
	if err != nil || n != 1 {
		t.Fatalf("Retry unknown = %d, %v; want 1", n, err)
	}
	want := []crier.State{crier.StateFailed, crier.StateQueued, crier.StateSent, crier.StateExpired}
	if diff := cmp.Diff(want, e.store.states()); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
	if got := e.notified.Load() - before; got != 1 {
		t.Errorf("workers notified %d times, want 1", got)
	}

	e.store.setState(2, crier.StateUnknown)
	n, err = e.client.Retry(ctx, id, nil)
	if err != nil || n != 2 {
		t.Fatalf("Retry with default states = %d, %v; want 2", n, err)
	}
	want = []crier.State{crier.StateQueued, crier.StateQueued, crier.StateSent, crier.StateExpired}
	if diff := cmp.Diff(want, e.store.states()); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}

	before = e.notified.Load()
	if n, err := e.client.Retry(ctx, id, nil); err != nil || n != 0 {
		t.Errorf("Retry with nothing to retry = %d, %v; want 0", n, err)
	}
	if e.notified.Load() != before {
		t.Error("workers notified although nothing was requeued")
	}

	_, err = e.client.Retry(ctx, id, []crier.State{crier.StateFailed, crier.StateSent, crier.StateCanceled})
	if crier.ErrorCode(err) != crier.EINVALID || !cmp.Equal(problemPlaces(crier.ErrorDetails(err)), []string{"states[1]", "states[2]"}) {
		t.Errorf("Retry of sent and canceled: %v, want invalid naming states[1] and states[2]", err)
	}
	if _, err := e.client.Retry(ctx, "nope", nil); crier.ErrorCode(err) != crier.ENOTFOUND {
		t.Errorf("Retry of an unknown announcement: %v, want not_found", err)
	}

	// An empty body means the default states.
	e.store.setState(1, crier.StateFailed)
	status, body := rawRequest(t, e, http.MethodPost, "/api/v1/announcements/"+id+"/retry", testToken, "")
	if status != http.StatusOK || strings.TrimSpace(string(body)) != `{"requeued":1}` {
		t.Errorf("retry without a body: %d %s, want 200 {\"requeued\":1}", status, body)
	}
}

func TestStoreFailureIsInternal(t *testing.T) {
	e := newEnv(t)
	e.store.fail(errors.New("database is locked"))
	_, err := e.client.Announcements(context.Background(), 0)
	var ce *crier.Error
	if !errors.As(err, &ce) || ce.Code != crier.EINTERNAL || ce.Message != "internal error" {
		t.Fatalf("error = %#v, want internal with a generic message", err)
	}
	if strings.Contains(err.Error(), "locked") {
		t.Errorf("error %q shows the store's failure to the client", err)
	}
}
