package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crierhq/crier"
)

// TestSummarizeProblems: problems that many towns share become one with
// the count and the towns; a few stay as they are, in order; the list is
// capped, and long messages are cut.
func TestSummarizeProblems(t *testing.T) {
	typeOf := func(id string) string { return strings.SplitN(id, "-", 2)[0] }
	var ps []crier.Problem
	ps = append(ps, crier.Problem{Field: "title", Message: "must be a single line"})
	for _, town := range []string{"soest", "werl", "ense", "geseke"} {
		ps = append(ps,
			crier.Problem{Town: town, Channel: "mail-" + town, Field: "body", Message: "line 1: bad"},
			crier.Problem{Town: town, Channel: "radio", Field: "body", Message: "line 1: bad"})
	}
	ps = append(ps,
		crier.Problem{Town: "soest", Channel: "mastodon-soest", Field: "text", Message: "too long"},
		crier.Problem{Town: "werl", Channel: "mastodon-werl", Field: "text", Message: "too long"})
	towns := []string{"soest", "werl", "ense", "geseke"}
	want := []crier.Problem{
		{Field: "title", Message: "must be a single line"},
		{Field: "body", Message: "4 Orte: line 1: bad", Towns: towns, Channels: []string{"mail-soest", "mail-werl", "mail-ense", "mail-geseke"}},
		{Field: "body", Message: "4 Orte: line 1: bad", Towns: towns, Channel: "radio"},
		{Town: "soest", Channel: "mastodon-soest", Field: "text", Message: "too long"},
		{Town: "werl", Channel: "mastodon-werl", Field: "text", Message: "too long"},
	}
	if diff := cmp.Diff(want, SummarizeProblems(ps, typeOf, "de", 100)); diff != "" {
		t.Errorf("grouped (-want +got):\n%s", diff)
	}
	if got := SummarizeProblems(ps, typeOf, "en", 100)[1].Message; got != "4 towns: line 1: bad" {
		t.Errorf("English: %q", got)
	}

	// Capped: the last entry says how many more there are.
	many := make([]crier.Problem, 250)
	for i := range many {
		many[i] = crier.Problem{Field: fmt.Sprintf("subscribers[%d].email", i), Message: strings.Repeat("x", 5000)}
	}
	got := SummarizeProblems(many, typeOf, "de", 100)
	if len(got) != 100 || got[99].Message != "… und 151 weitere Probleme" {
		t.Fatalf("%d problems, last %q; want 100 ending in the count of the rest", len(got), got[len(got)-1].Message)
	}
	if n := len(got[0].Message); n > maxProblemText+len("…") {
		t.Errorf("message of %d bytes, want it cut to %d", n, maxProblemText)
	}
}

// blockingRenderer renders nothing: every call waits until its context
// is done and returns the cause. It counts the calls.
type blockingRenderer struct {
	started chan struct{} // closed by the first call
	once    sync.Once
	calls   atomic.Int32
	causes  chan error // the cause each call saw
	release chan struct{}
}

func (b *blockingRenderer) Render(r *crier.RenderRequest) (*crier.Message, error) {
	b.calls.Add(1)
	b.once.Do(func() { close(b.started) })
	if r.Context == nil {
		b.causes <- nil
		<-b.release
		return nil, fmt.Errorf("no context")
	}
	select {
	case <-r.Context.Done():
	case <-b.release: // the test is over
	}
	b.causes <- context.Cause(r.Context)
	return nil, fmt.Errorf("stopped: %w", context.Cause(r.Context))
}

// TestPreviewStopsWhenClientGoes: a preview whose client hangs up stops
// rendering: the renderings under way see their context end, and no
// further town starts.
func TestPreviewStopsWhenClientGoes(t *testing.T) {
	const towns = 50
	b := &blockingRenderer{started: make(chan struct{}), causes: make(chan error, towns*2), release: make(chan struct{})}
	t.Cleanup(func() { close(b.release) })
	var ts []*crier.Town
	for i := range towns {
		ts = append(ts, &crier.Town{ID: fmt.Sprintf("town%d", i), Channels: []string{"mastodon-soest"}})
	}
	e := newEnv(t, func(o *Options) {
		o.Engine.Renderer = b
		o.Engine.Directory = crier.NewDirectory(ts, nil)
		o.Directory = o.Engine.Directory
	})
	handled := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.server.ServeHTTP(w, r)
		close(handled)
	}))
	t.Cleanup(srv.Close)
	c := &Client{URL: srv.URL, Token: testToken}

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := c.Preview(ctx, &crier.Announcement{Title: "Hinweis", Body: "Text", Towns: []string{"all"}})
		errc <- err
	}()
	within := func(what string, ch <-chan struct{}) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s did not happen", what)
		}
	}
	within("a rendering", b.started)
	cancel() // the client hangs up
	if err := <-errc; err == nil {
		t.Fatal("canceled preview succeeded")
	}
	select {
	case cause := <-b.causes:
		if cause == nil {
			t.Fatal("the rendering got no context, or one that the client's going did not end")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the rendering under way was not stopped when the client went")
	}
	within("the handler's return", handled)
	if n := b.calls.Load(); int(n) > runtime.GOMAXPROCS(0) {
		t.Errorf("%d renderings after the client went, want at most the %d under way", n, runtime.GOMAXPROCS(0))
	}
}

// TestProblemsAnswerStaysSmall: a request that fails for every town
// gets one problem per group, however many towns there are.
func TestProblemsAnswerStaysSmall(t *testing.T) {
	var ts []*crier.Town
	for i := range 300 {
		ts = append(ts, &crier.Town{ID: fmt.Sprintf("town%d", i), Channels: []string{"mastodon-soest", "mail-soest"}})
	}
	e := newEnv(t, func(o *Options) {
		o.Engine.Directory = crier.NewDirectory(ts, nil)
		o.Directory = o.Engine.Directory
	})
	// testRenderer fails every town and channel on "{{".
	body := `{"title":"Hinweis","towns":["all"],"body":"{{ ` + strings.Repeat("x", 800<<10) + `"}`
	status, answer := rawRequest(t, e, http.MethodPost, "/api/v1/announcements", testToken, body)
	if status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422: %.300s", status, answer)
	}
	if len(answer) > 16<<10 {
		t.Errorf("answer of %d bytes to %d towns' problems, want a small one", len(answer), len(ts))
	}
	var er errorResponse
	if err := json.Unmarshal(answer, &er); err != nil {
		t.Fatal(err)
	}
	var grouped []string
	for _, p := range er.Error.Details {
		if len(p.Towns) == 300 {
			grouped = append(grouped, p.Message)
		}
	}
	if len(grouped) != 2 || !strings.HasPrefix(grouped[0], "300 Orte: ") {
		t.Errorf("grouped problems %q, want two (email, mastodon) with 300 towns: %.500s", grouped, answer)
	}
}

// TestBodyLimits: a request body over the route's limit is answered 413
// with the limit; the limits are options.
func TestBodyLimits(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MaxBody, o.MaxImportBody = 4<<10, 64<<10 })
	rows := make([]string, 2000)
	for i := range rows {
		rows[i] = fmt.Sprintf(`{"town":"soest","email":"person%d@example.org"}`, i)
	}
	for _, tc := range []struct{ path, body, limit string }{
		{"/api/v1/preview", `{"title":"x","towns":["soest"],"body":"` + strings.Repeat("x", 5<<10) + `"}`, "4 KiB"},
		{"/api/v1/announcements", `{"title":"x","towns":["soest"],"body":"` + strings.Repeat("x", 5<<10) + `"}`, "4 KiB"},
		{"/api/v1/subscribers", `{"subscribers":[` + strings.Join(rows, ",") + `]}`, "64 KiB"},
	} {
		status, answer := rawRequest(t, e, http.MethodPost, tc.path, testToken, tc.body)
		var er errorResponse
		decodeBody(t, answer, &er)
		if status != http.StatusRequestEntityTooLarge || er.Error.Code != CodeTooLarge || !strings.Contains(er.Error.Message, tc.limit) {
			t.Errorf("%s with %d bytes: %d %s, want 413 naming %s", tc.path, len(tc.body), status, answer, tc.limit)
		}
	}
	e.subs.mu.Lock()
	defer e.subs.mu.Unlock()
	if n := len(e.subs.subs); n != 0 {
		t.Errorf("%d subscribers written from a refused import", n)
	}
}

// TestClientLargeErrorAnswer: an error answer over MaxErrorAnswer is
// reported with its size, never shown raw.
func TestClientLargeErrorAnswer(t *testing.T) {
	huge := `{"error":{"code":"invalid","message":"` + strings.Repeat("x", MaxErrorAnswer) + `"}}`
	remote := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		w.Write([]byte(huge))
	}))
	t.Cleanup(remote.Close)
	_, err := (&Client{URL: remote.URL}).Preview(context.Background(), &crier.Announcement{})
	if err == nil || !strings.Contains(err.Error(), "larger than 16 MiB") || len(err.Error()) > 200 {
		t.Errorf("error %.300v, want one naming the size", err)
	}
}
