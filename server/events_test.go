package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/store/sqlite"
)

// sendAll claims the queued deliveries of town among the first n due
// and records them sent, as a worker would; it returns how many.
func sendAll(t *testing.T, db *sqlite.DB, town string) int {
	t.Helper()
	ctx := context.Background()
	jobs, err := db.Claim(ctx, nil, 100, testNow, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var (
		outcomes []*crier.Outcome
		release  []*crier.Job
	)
	for _, j := range jobs {
		if j.Delivery.Town != town {
			release = append(release, j)
			continue
		}
		outcomes = append(outcomes, &crier.Outcome{Delivery: j.Delivery.ID, Lease: j.Lease, State: crier.StateSent,
			Attempt: &crier.Attempt{Delivery: j.Delivery.ID, Started: testNow, Finished: testNow, RemoteID: "1"}})
	}
	if err := db.Release(ctx, release); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Complete(ctx, outcomes, testNow); err != nil {
		t.Fatal(err)
	}
	return len(outcomes)
}

// TestProgress: the first Next reports the status, an unchanged one is
// not a change, a sent delivery is, and so is a new revision; a scope
// keeps the counts to its towns.
func TestProgress(t *testing.T) {
	e, db, ids := newTownsEnv(t)
	ctx := context.Background()
	p := &Progress{Load: func(ctx context.Context) (*Status, error) {
		return LoadStatus(ctx, db, e.engine.Directory, ids["both"], []string{"soest"})
	}}
	st, changed, err := p.Next(ctx)
	if err != nil || !changed || st.Total != 1 || st.Done || !slices.Equal(st.Scope, []string{"soest"}) {
		t.Fatalf("first: %+v, %v, %v", st, changed, err)
	}
	if _, changed, err := p.Next(ctx); err != nil || changed {
		t.Errorf("unchanged: changed %v, %v", changed, err)
	}
	// Werl's deliveries are no change for a reader of soest.
	if n := sendAll(t, db, "werl"); n == 0 {
		t.Fatal("no werl delivery sent")
	}
	if _, changed, err := p.Next(ctx); err != nil || changed {
		t.Errorf("after werl's were sent: changed %v, %v", changed, err)
	}
	sendAll(t, db, "soest")
	st, changed, err = p.Next(ctx)
	if err != nil || !changed || !st.Done || st.Totals[crier.StateSent] != 1 {
		t.Errorf("after soest's were sent: %+v, changed %v, %v", st, changed, err)
	}
	if _, err := e.client.Cancel(ctx, ids["both"], "erledigt", ""); err != nil {
		t.Fatal(err)
	}
	if st, changed, err := p.Next(ctx); err != nil || !changed || st.Announcement.Event != crier.EventCanceled {
		t.Errorf("after the cancel: %+v, changed %v, %v", st, changed, err)
	}
	gone := &Progress{Load: func(ctx context.Context) (*Status, error) {
		return LoadStatus(ctx, db, e.engine.Directory, "nothing", nil)
	}}
	if _, _, err := gone.Next(ctx); crier.ErrorCode(err) != crier.ENOTFOUND {
		t.Errorf("unknown id: %v, want not found", err)
	}
}

// event is one server-sent event, or a comment.
type event struct {
	name, data, comment string
}

// openEvents opens the progress stream of id with token and returns its
// events as they come; the channel closes when the stream ends.
func openEvents(t *testing.T, e *env, token, id string) (*http.Response, <-chan event) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.url+"/api/v1/announcements/"+id+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	events := make(chan event, 100)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		var ev event
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				events <- ev
				ev = event{}
			case strings.HasPrefix(line, ":"):
				ev.comment = line
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return resp, events
}

// next returns the next event that is not a heartbeat, failing after a
// minute.
func next(t *testing.T, events <-chan event) (event, int) {
	t.Helper()
	heartbeats := 0
	timeout := time.After(time.Minute)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return event{name: "end"}, heartbeats
			}
			if ev.comment != "" {
				heartbeats++
				continue
			}
			return ev, heartbeats
		case <-timeout:
			t.Fatal("no event within a minute")
		}
	}
}

// TestEvents: a viewer of soest follows a notice for soest and werl: the
// stream starts with soest's part, stays silent but for heartbeats while
// only werl's deliveries change, and ends with "done" once soest's are
// final. A notice for werl alone is 403, an unknown one 404, and streams
// over the cap 429.
func TestEvents(t *testing.T) {
	e, db, ids := newTownsEnv(t)
	e.server.streamPoll, e.server.streamHeartbeat = time.Millisecond, 5*time.Millisecond
	resp, events := openEvents(t, e, "crier_viewer_soest", ids["both"])
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	ev, _ := next(t, events)
	var st Status
	if err := json.Unmarshal([]byte(ev.data), &st); ev.name != "progress" || err != nil || st.Total != 1 ||
		st.Counts[0].Town != "soest" || st.Counts[0].State != crier.StateQueued {
		t.Fatalf("first event: %+v (%v)", ev, err)
	}
	// Only soest's part ever shows: a claim that took soest's delivery and
	// gave it back may show as a change, werl's deliveries never do.
	soestOnly := func(ev event) *Status {
		t.Helper()
		var st Status
		if err := json.Unmarshal([]byte(ev.data), &st); err != nil {
			t.Fatalf("%+v: %v", ev, err)
		}
		for _, c := range st.Counts {
			if c.Town != "soest" {
				t.Fatalf("%s event shows %s: %+v", ev.name, c.Town, st)
			}
		}
		return &st
	}
	sendAll(t, db, "werl")
	for heartbeats := 0; heartbeats < 3; {
		ev := <-events
		switch {
		case ev.comment != "":
			heartbeats++
		case ev.name == "progress":
			soestOnly(ev)
			heartbeats = 0
		default:
			t.Fatalf("after werl's were sent: %+v", ev)
		}
	}
	sendAll(t, db, "soest")
	for {
		ev, _ := next(t, events)
		if ev.name == "progress" {
			soestOnly(ev)
			continue
		}
		if st := soestOnly(ev); ev.name != "done" || !st.Done || st.Totals[crier.StateSent] != 1 {
			t.Fatalf("last event: %+v", ev)
		}
		break
	}
	if ev, _ := next(t, events); ev.name != "end" {
		t.Errorf("after done: %+v, want the end of the stream", ev)
	}

	for id, want := range map[string]int{ids["werl"]: http.StatusForbidden, "nothing": http.StatusNotFound} {
		if status, body := rawRequest(t, e, http.MethodGet, "/api/v1/announcements/"+id+"/events", "crier_viewer_soest", ""); status != want {
			t.Errorf("events of %s: %d %s, want %d", id, status, body, want)
		}
	}
}

// TestEventsBounded: streams over MaxStreams are refused with 429, and
// closing the server's streams ends an open one.
func TestEventsBounded(t *testing.T) {
	e, _, ids := newTownsEnv(t)
	e.server.streams = newStreams(1)
	_, events := openEvents(t, e, testToken, ids["kreis"])
	if ev, _ := next(t, events); ev.name != "progress" {
		t.Fatalf("first event: %+v", ev)
	}
	status, header, body := rawRequestHeader(t, e, http.MethodGet, "/api/v1/announcements/"+ids["kreis"]+"/events", testToken, "", nil)
	if status != http.StatusTooManyRequests || header.Get("Retry-After") == "" {
		t.Errorf("second stream: %d %s, want 429 with Retry-After", status, body)
	}
	e.server.CloseStreams()
	if ev, _ := next(t, events); ev.name != "end" {
		t.Errorf("after CloseStreams: %+v, want the end", ev)
	}
}

// TestClientEvents: the client follows a stream to its last status; a
// refused one is the server's error, and one the server closes early is
// an error too.
func TestClientEvents(t *testing.T) {
	e, db, ids := newTownsEnv(t)
	e.server.streamPoll = time.Millisecond
	c := &Client{URL: e.url, Token: "crier_editor_soest"}
	var seen []*Status
	err := c.Events(context.Background(), ids["soest"], func(st *Status) error {
		seen = append(seen, st)
		if len(seen) == 1 {
			sendAll(t, db, "soest")
		}
		return nil
	})
	if err != nil || len(seen) < 2 || seen[0].Done || !seen[len(seen)-1].Done {
		t.Fatalf("events: %d statuses, %v", len(seen), err)
	}
	if err := c.Events(context.Background(), ids["werl"], func(*Status) error { return nil }); crier.ErrorCode(err) != crier.EFORBIDDEN {
		t.Errorf("werl's: %v, want forbidden", err)
	}
	stop := errors.New("enough")
	if err := c.Events(context.Background(), ids["both"], func(*Status) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("fn's error: %v", err)
	}
	// For the admin, werl's part of the Kreis's notice is still queued.
	admin := &Client{URL: e.url, Token: testToken}
	err = admin.Events(context.Background(), ids["kreis"], func(*Status) error {
		e.server.CloseStreams()
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "ended early") {
		t.Errorf("closed by the server: %v", err)
	}
}

// TestEventsOutliveTimeouts: a stream lasts longer than the server's read
// and write timeouts, which bound ordinary requests.
func TestEventsOutliveTimeouts(t *testing.T) {
	e, _, ids := newTownsEnv(t)
	e.server.streamPoll, e.server.streamHeartbeat = time.Millisecond, 5*time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := e.server.HTTPServer(Timeouts{Read: 20 * time.Millisecond, Write: 20 * time.Millisecond})
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	e.url = "http://" + ln.Addr().String()
	_, events := openEvents(t, e, testToken, ids["kreis"])
	start := time.Now()
	for n := 0; time.Since(start) < 200*time.Millisecond; n++ {
		ev, ok := <-events
		if !ok {
			t.Fatalf("stream ended after %v and %d events", time.Since(start), n)
		}
		if ev.name == "done" {
			t.Fatalf("done: %+v", ev)
		}
	}
	// Shutting the server down ends the stream rather than waiting for it.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(ctx); err != nil {
		t.Errorf("shutdown with a stream open: %v", err)
	}
}
