package newsroom_test

import (
	"bufio"
	"context"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/newsroom"
)

// ticker is the clock of the live progress: the test ticks it by hand.
type ticker struct {
	c chan time.Time
}

// tick hands the watcher one tick; it blocks until the watcher takes it,
// so that the poll that follows sees what the test changed before.
func (tk *ticker) tick(t *testing.T) {
	t.Helper()
	select {
	case tk.c <- testNow:
	case <-time.After(10 * time.Second):
		t.Fatal("no watcher took the tick")
	}
}

// withWatch gives the towns a webhook and an email channel, and the
// newsroom a ticker the test drives and limits l.
func withWatch(tk *ticker, l newsroom.WatchLimits) func(*envOptions) {
	return func(o *envOptions) {
		o.engine = func(e *crier.Engine) {
			e.Channels["radio"] = &crier.ChannelInfo{ID: "radio", Type: "webhook", Deduplicates: true}
			e.Channels["mail"] = &crier.ChannelInfo{ID: "mail", Type: "email", PerSubscriber: true}
			for _, t := range e.Directory.Towns() {
				t.Channels = []string{"radio", "mail"}
			}
		}
		o.options = func(no *newsroom.Options) {
			if tk != nil {
				l.Ticks = func(time.Duration) (<-chan time.Time, func()) { return tk.c, func() {} }
			}
			no.Watch = l
			no.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		}
	}
}

// newWatchEnv is an env for the watch pages, with two subscribers in each
// town.
func newWatchEnv(t *testing.T, l newsroom.WatchLimits) (*env, *ticker) {
	t.Helper()
	tk := &ticker{c: make(chan time.Time)}
	e := newEnv(t, withWatch(tk, l))
	var subs []*crier.Subscriber
	for _, town := range []string{"soest", "werl"} {
		for i := range 2 {
			subs = append(subs, &crier.Subscriber{Town: town, Email: fmt.Sprintf("p%d@%s.example", i, town),
				State: crier.SubscriberConfirmed})
		}
	}
	if _, err := e.db.AddSubscribers(context.Background(), subs, testNow); err != nil {
		t.Fatal(err)
	}
	return e, tk
}

// publish publishes through the engine, as the compose page will.
func (e *env) publish(title, body string, towns ...string) string {
	e.t.Helper()
	res, err := e.engine.Publish(context.Background(), &crier.Announcement{Title: title, Body: body, Towns: towns}, "")
	if err != nil {
		e.t.Fatalf("publish %q: %v", title, err)
	}
	return res.Announcement.ID
}

// deliver claims every due delivery and records them as state, with
// attempt's error and URL.
func (e *env) deliver(state crier.State, at crier.Attempt, match func(*crier.Delivery) bool) int {
	e.t.Helper()
	ctx := context.Background()
	jobs, err := e.db.Claim(ctx, nil, 1000, e.clock.Now(), time.Minute)
	if err != nil {
		e.t.Fatal(err)
	}
	var (
		outs []*crier.Outcome
		rest []*crier.Job
	)
	for _, j := range jobs {
		if match != nil && !match(j.Delivery) {
			rest = append(rest, j)
			continue
		}
		a := at
		a.Delivery, a.Started, a.Finished = j.Delivery.ID, e.clock.Now(), e.clock.Now()
		outs = append(outs, &crier.Outcome{Delivery: j.Delivery.ID, Lease: j.Lease, State: state, Attempt: &a})
	}
	if _, err := e.db.Complete(ctx, outs, e.clock.Now()); err != nil {
		e.t.Fatal(err)
	}
	if err := e.db.Release(ctx, rest); err != nil {
		e.t.Fatal(err)
	}
	return len(outs)
}

func (e *env) counts(id string) map[crier.State]int {
	e.t.Helper()
	cs, err := e.db.Counts(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	m := map[crier.State]int{}
	for _, c := range cs {
		m[c.State] += c.N
	}
	return m
}

func TestAnnouncementListByTown(t *testing.T) {
	e, _ := newWatchEnv(t, newsroom.WatchLimits{})
	soest := e.publish("Bürgerbüro Soest geschlossen", "Heute.", "soest")
	e.clock.Add(time.Minute)
	werl := e.publish("Rathaus Werl geschlossen", "Heute.", "werl")
	e.clock.Add(time.Minute)
	both := e.publish("Kreisweit: Telefone gestört", "Heute.", "kreis-soest")

	b := e.browser()
	b.login("anna")
	res, body := b.get("/admin/announcements")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("list: %s\n%s", res.Status, body)
	}
	for _, id := range []string{soest, both} {
		if !strings.Contains(body, "/admin/announcements/"+id) {
			t.Errorf("anna's list lacks %s:\n%s", id, body)
		}
	}
	if strings.Contains(body, werl) || strings.Contains(body, "Rathaus Werl") {
		t.Errorf("anna, editor of Soest, sees Werl's announcement:\n%s", body)
	}
	// Newest first; exercise mode in words; progress.
	if strings.Index(body, both) > strings.Index(body, soest) {
		t.Errorf("the list is not newest first")
	}
	if !strings.Contains(body, "Übung") || !strings.Contains(body, "0 von 3 versandt") {
		t.Errorf("mode or progress missing:\n%s", body)
	}

	e.addUser("chef", crier.RoleAdmin)
	admin := e.browser()
	admin.login("chef")
	if _, body := admin.get("/admin/announcements"); !strings.Contains(body, werl) {
		t.Errorf("an admin does not see Werl's announcement")
	}
	// Werl's announcement's own page is refused to anna, and its stream.
	for _, path := range []string{"/admin/announcements/" + werl, "/admin/announcements/" + werl + "/events"} {
		if res, _ := b.get(path); res.StatusCode != http.StatusForbidden {
			t.Errorf("anna GET %s: %s, want 403", path, res.Status)
		}
	}
	if res, _ := b.get("/admin/announcements/nosuchid"); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown announcement: %s", res.Status)
	}
}

func TestAnnouncementListPages(t *testing.T) {
	e, _ := newWatchEnv(t, newsroom.WatchLimits{})
	var ids []string
	for i := range 27 {
		e.clock.Add(time.Minute)
		ids = append(ids, e.publish(fmt.Sprintf("Meldung %d", i), "Text.", "soest"))
	}
	b := e.browser()
	b.login("anna")
	_, first := b.get("/admin/announcements")
	older := regexp.MustCompile(`href="(/admin/announcements\?before=[^"]+)"`).FindStringSubmatch(first)
	if !strings.Contains(first, ids[26]) || strings.Contains(first, "/admin/announcements/"+ids[0]+`"`) || older == nil ||
		strings.Contains(first, "?after=") {
		t.Fatalf("first page:\n%s", first)
	}
	_, second := b.get(html.UnescapeString(older[1]))
	newer := regexp.MustCompile(`href="(/admin/announcements\?after=[^"]+)"`).FindStringSubmatch(second)
	if !strings.Contains(second, ids[0]) || !strings.Contains(second, ids[1]) || strings.Contains(second, ids[2]) ||
		newer == nil || strings.Contains(second, "?before=") {
		t.Fatalf("second page:\n%s", second)
	}
	_, back := b.get(html.UnescapeString(newer[1]))
	if !strings.Contains(back, ids[26]) || !strings.Contains(back, ids[2]) || strings.Contains(back, "/admin/announcements/"+ids[1]+`"`) {
		t.Fatalf("back to the first page:\n%s", back)
	}
	// Werl's notices are left out in the query, not after it: a page of
	// Soest's is full however many of Werl's are newer.
	for i := range 30 {
		e.clock.Add(time.Minute)
		e.publish(fmt.Sprintf("Werl %d", i), "Text.", "werl")
	}
	if _, first = b.get("/admin/announcements"); !strings.Contains(first, ids[26]) || !strings.Contains(first, ids[2]) || strings.Contains(first, "Werl ") {
		t.Fatalf("first page after Werl's notices:\n%s", first)
	}
}

// TestAnnouncementMixedTowns: a viewer of Soest sees the Soest part of a
// notice for Soest and Werl, and no action; an editor of Soest sees the
// actions refused where Werl needs rights too.
func TestAnnouncementMixedTowns(t *testing.T) {
	e, _ := newWatchEnv(t, newsroom.WatchLimits{})
	id := e.publish("Telefone gestört", "Rufen Sie {{.Vars.phone}} an.", "soest", "werl")
	e.deliver(crier.StateFailed, crier.Attempt{Error: "551 mailbox unavailable"}, func(d *crier.Delivery) bool {
		return d.Channel == "mail"
	})
	e.addUser("vera", crier.RoleViewer, "soest")
	b := e.browser()
	b.login("vera")
	res, body := b.get("/admin/announcements/" + id)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("vera: %s\n%s", res.Status, body)
	}
	for _, want := range []string{"Telefone gestört", "Stadt Soest", "02921 103-0", `data-cell="soest|mail|failed">2<`,
		`data-cell="||total">3<`, "Sie sehen 1 von 2 Orten", "551 mailbox unavailable", "Aktualisieren",
		`data-events="/admin/announcements/` + id + `/events"`, `role="status"`} {
		if !strings.Contains(body, want) {
			t.Errorf("vera's page lacks %q", want)
		}
	}
	for _, unwanted := range []string{"Stadt Werl", "02922 800-0", "werl|", "/retry", "/cancel", "compose?update",
		"p0@soest.example"} {
		if strings.Contains(body, unwanted) {
			t.Errorf("vera's page shows %q:\n%s", unwanted, body)
		}
	}
	// A filter for Werl's deliveries shows Soest's instead.
	if _, body := b.get("/admin/announcements/" + id + "?town=werl&state=failed"); strings.Contains(body, "werl") {
		t.Errorf("a filter for werl shows werl's deliveries:\n%s", body)
	}

	// anna, editor of Soest, may not act on a notice that went to Werl too.
	a := e.browser()
	a.login("anna")
	_, body = a.get("/admin/announcements/" + id)
	if strings.Contains(body, "/retry") || strings.Contains(body, "/cancel") {
		t.Errorf("anna is offered actions on a notice for Werl too")
	}
	if strings.Contains(body, "02922 800-0") {
		t.Errorf("anna, editor of Soest, sees Werl's text")
	}
}

// TestForgedActions: posts for an announcement of another town are
// refused and change nothing.
func TestForgedActions(t *testing.T) {
	e, _ := newWatchEnv(t, newsroom.WatchLimits{})
	werl := e.publish("Rathaus Werl geschlossen", "Heute.", "werl")
	both := e.publish("Kreisweit", "Heute.", "kreis-soest")
	e.deliver(crier.StateFailed, crier.Attempt{Error: "boom"}, nil)
	before := map[string]map[crier.State]int{werl: e.counts(werl), both: e.counts(both)}

	b := e.browser()
	b.login("anna")
	token := b.csrf("/admin/announcements")
	e.addUser("vera", crier.RoleViewer, "soest", "werl")
	v := e.browser()
	v.login("vera")
	vtoken := v.csrf("/admin/announcements")
	for _, tt := range []struct {
		who  *browser
		form url.Values
		path string
	}{
		{b, url.Values{"csrf": {token}}, "/admin/announcements/" + werl + "/retry"},
		{b, url.Values{"csrf": {token}}, "/admin/announcements/" + both + "/retry"},
		{b, url.Values{"csrf": {token}, "reason": {"weg"}, "confirm": {"yes"}}, "/admin/announcements/" + werl + "/cancel"},
		{b, url.Values{"csrf": {token}, "reason": {"weg"}, "confirm": {"yes"}}, "/admin/announcements/" + both + "/cancel"},
		{v, url.Values{"csrf": {vtoken}}, "/admin/announcements/" + both + "/retry"},
		{v, url.Values{"csrf": {vtoken}, "reason": {"weg"}, "confirm": {"yes"}}, "/admin/announcements/" + both + "/cancel"},
	} {
		if res, _ := tt.who.post(tt.path, tt.form); res.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s: %s, want 403", tt.path, res.Status)
		}
	}
	for id, want := range before {
		if got := e.counts(id); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: counts %v after refused posts, want %v", id, got, want)
		}
		if a, err := e.db.Announcement(context.Background(), id); err != nil || a.Revision != 1 {
			t.Errorf("%s: revision %d after refused posts (%v)", id, a.Revision, err)
		}
	}
}

func TestRetryAndCancel(t *testing.T) {
	e, _ := newWatchEnv(t, newsroom.WatchLimits{})
	id := e.publish("Bürgerbüro geschlossen", "Heute.", "soest")
	e.deliver(crier.StateUnknown, crier.Attempt{Error: "timeout after the request was written"}, nil)
	b := e.browser()
	b.login("anna")
	page := "/admin/announcements/" + id
	res, _ := b.post(page+"/retry", url.Values{"csrf": {b.csrf(page)}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != page+"?done=retried&n=3" {
		t.Fatalf("retry: %s %q", res.Status, res.Header.Get("Location"))
	}
	if got := e.counts(id); got[crier.StateQueued] != 3 {
		t.Fatalf("counts after retry: %v", got)
	}
	if _, body := b.get(res.Header.Get("Location")); !regexp.MustCompile(`role="status">3 Zustellungen werden erneut gesendet`).MatchString(body) {
		t.Errorf("no status message after the retry:\n%s", body)
	}

	for _, form := range []url.Values{
		{"reason": {"  "}, "confirm": {"yes"}},
		{"reason": {"Wieder offen."}},
		{"reason": {strings.Repeat("x", 1001)}, "confirm": {"yes"}},
	} {
		form.Set("csrf", b.csrf(page))
		res, body := b.post(page+"/cancel", form)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Die Meldung wurde nicht aufgehoben") {
			t.Errorf("cancel %v: %s\n%s", form, res.Status, body)
		}
		if a, _ := e.db.Announcement(context.Background(), id); a.Event == crier.EventCanceled {
			t.Fatalf("canceled by %v", form)
		}
	}
	_, body := b.post(page+"/cancel", url.Values{"csrf": {b.csrf(page)}, "reason": {""}, "confirm": {"yes"}})
	if !strings.Contains(body, "eine Aufhebung braucht eine Begründung") {
		t.Errorf("the missing reason is not named:\n%s", body)
	}

	res, _ = b.post(page+"/cancel", url.Values{"csrf": {b.csrf(page)}, "reason": {"Das Bürgerbüro ist wieder offen."},
		"confirm": {"yes"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != page+"?done=canceled" {
		t.Fatalf("cancel: %s %q", res.Status, res.Header.Get("Location"))
	}
	a, err := e.db.Announcement(context.Background(), id)
	if err != nil || a.Event != crier.EventCanceled || a.Reason != "Das Bürgerbüro ist wieder offen." {
		t.Fatalf("after cancel: %+v, %v", a, err)
	}
	_, body = b.get(page)
	if !strings.Contains(body, "aufgehoben") || strings.Contains(body, "/cancel") || strings.Contains(body, "compose?update") {
		t.Errorf("a canceled announcement's page:\n%s", body)
	}
}

// TestWatchEscapes: hostile titles, bodies, errors and remote addresses
// come out as text, and only http and https addresses become links.
func TestWatchEscapes(t *testing.T) {
	e, _ := newWatchEnv(t, newsroom.WatchLimits{})
	id := e.publish(`"><script>alert(1)</script>`, "<script>alert(2)</script>\n\n<a href=\"javascript:alert(3)\">klick</a> <img src=x onerror=alert(4)>", "soest")
	e.deliver(crier.StateFailed, crier.Attempt{Error: `<img src=x onerror=alert(5)>`, URL: "javascript:alert(6)"}, func(d *crier.Delivery) bool {
		return d.Recipient == "p0@soest.example"
	})
	e.deliver(crier.StateSent, crier.Attempt{URL: "https://social.example/@soest/1?a=1&b=2"}, nil)

	b := e.browser()
	b.login("anna")
	_, body := b.get("/admin/announcements/" + id)
	for _, bad := range []string{"<script>alert", "javascript:", "<img", "onerror=alert(4)"} {
		if strings.Contains(body, bad) {
			t.Errorf("the page carries %q:\n%s", bad, body)
		}
	}
	if !strings.Contains(body, `&lt;img src=x onerror=alert(5)&gt;`) || !strings.Contains(body, `&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;`) {
		t.Errorf("the error or the title is not shown as text:\n%s", body)
	}
	if !strings.Contains(body, `<a href="https://social.example/@soest/1?a=1&amp;b=2" rel="noopener noreferrer">`) {
		t.Errorf("the remote post is no link:\n%s", body)
	}
	_, list := b.get("/admin/announcements")
	if strings.Contains(list, "<script>alert") {
		t.Errorf("the list carries the title's script")
	}
}

// stream is a reader of server-sent events.
type stream struct {
	t   *testing.T
	res *http.Response
	r   *bufio.Reader
}

// openStream opens the events of id with b's session, through base (the
// newsroom's server or a proxy in front of it).
func (b *browser) openStream(base, id string) *stream {
	b.e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/admin/announcements/"+id+"/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	res, err := b.client.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	s := &stream{t: b.e.t, res: res, r: bufio.NewReader(res.Body)}
	b.e.t.Cleanup(func() { res.Body.Close() })
	return s
}

// next returns the next event's name and data, or "ping" for a
// heartbeat comment, or "EOF" at the end of the stream.
func (s *stream) next() (string, string) {
	s.t.Helper()
	var name, data string
	for {
		line, err := s.r.ReadString('\n')
		if err == io.EOF && line == "" {
			return "EOF", ""
		}
		if err != nil {
			s.t.Fatalf("read event: %v", err)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "" && (name != "" || data != ""):
			return name, data
		case line == "":
		case strings.HasPrefix(line, ": "):
			return "ping", ""
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		case strings.HasPrefix(line, "retry: "):
		default:
			s.t.Fatalf("unexpected line %q", line)
		}
	}
}

// want reads the next event but heartbeats and fails unless it is name
// with data containing contains.
func (s *stream) want(name, contains string) {
	s.t.Helper()
	got, data := s.next()
	for got == "ping" {
		got, data = s.next()
	}
	if got != name || !strings.Contains(data, contains) {
		s.t.Fatalf("event %q %s, want %q with %q", got, data, name, contains)
	}
}

// TestEvents follows a notice while its deliveries change state in the
// database, through a reverse proxy as in production.
func TestEvents(t *testing.T) {
	e, tk := newWatchEnv(t, newsroom.WatchLimits{Interval: time.Second, Heartbeat: 2 * time.Second})
	id := e.publish("Telefone gestört", "Heute.", "soest", "werl")
	proxy := httptest.NewServer(httputil.NewSingleHostReverseProxy(mustURL(t, e.srv.URL)))
	t.Cleanup(proxy.Close)

	e.addUser("vera", crier.RoleViewer, "soest")
	v := e.browser()
	v.login("vera")
	s := v.openStream(proxy.URL, id)
	if ct := s.res.Header.Get("Content-Type"); s.res.StatusCode != http.StatusOK || ct != "text/event-stream" {
		t.Fatalf("events: %s %q", s.res.Status, ct)
	}
	s.want("progress", `{"town":"soest","channel":"mail","total":2,"pending":2,"sent":0`)
	// A second person, who sees every town, follows the same watcher.
	e.addUser("chef", crier.RoleAdmin)
	a := e.browser()
	a.login("chef")
	s2 := a.openStream(e.srv.URL, id)
	s2.want("progress", `"total":{"total":6,"pending":6,"sent":0`)

	e.deliver(crier.StateSent, crier.Attempt{}, func(d *crier.Delivery) bool { return d.Town == "soest" && d.Channel == "mail" })
	tk.tick(t)
	s.want("progress", `{"town":"soest","channel":"mail","total":2,"pending":0,"sent":2`)
	s2.want("progress", `"total":{"total":6,"pending":4,"sent":2`)

	// Werl's deliveries change: vera's view of Soest does not, so she
	// gets no event but the heartbeat.
	e.deliver(crier.StateSent, crier.Attempt{}, func(d *crier.Delivery) bool { return d.Town == "werl" })
	tk.tick(t)
	s2.want("progress", `"total":{"total":6,"pending":1,"sent":5`)
	tk.tick(t)
	tk.tick(t)
	if name, data := s.next(); name != "ping" {
		t.Fatalf("vera got %q %s, want the heartbeat only", name, data)
	}

	e.deliver(crier.StateFailed, crier.Attempt{Error: "boom"}, nil)
	tk.tick(t)
	s.want("progress", `"done":true`)
	s.want("end", "{}")
	if name, _ := s.next(); name != "EOF" {
		t.Fatalf("the stream goes on after its end: %q", name)
	}
	s2.want("progress", `Abgeschlossen`)
	s2.want("end", "")
}

// TestStreamCap: streams beyond the server's or a session's limit are
// refused with 429; a stream that ended frees its place, and its watcher
// stops polling.
func TestStreamCap(t *testing.T) {
	e, tk := newWatchEnv(t, newsroom.WatchLimits{Streams: 2, SessionStreams: 1})
	id := e.publish("Telefone gestört", "Heute.", "soest")
	e.addUser("vera", crier.RoleViewer, "soest")
	e.addUser("otto", crier.RoleViewer, "soest")
	anna, vera, otto := e.browser(), e.browser(), e.browser()
	anna.login("anna")
	vera.login("vera")
	otto.login("otto")

	s1 := anna.openStream(e.srv.URL, id)
	s1.want("progress", `"pending":3`)
	if s := anna.openStream(e.srv.URL, id); s.res.StatusCode != http.StatusTooManyRequests ||
		s.res.Header.Get("Retry-After") == "" {
		t.Fatalf("a second stream of one session: %s", s.res.Status)
	}
	s2 := vera.openStream(e.srv.URL, id)
	s2.want("progress", `"pending":3`)
	if s := otto.openStream(e.srv.URL, id); s.res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a third stream of the server: %s", s.res.Status)
	}

	e.deliver(crier.StateSent, crier.Attempt{}, nil)
	tk.tick(t)
	for _, s := range []*stream{s1, s2} {
		s.want("progress", `"done":true`)
		s.want("end", "")
		if name, _ := s.next(); name != "EOF" {
			t.Fatalf("after the end: %q", name)
		}
	}
	select {
	case tk.c <- testNow:
		t.Fatal("a watcher still polls with nobody watching")
	default:
	}
	// Every delivery is final: a new stream says so and ends at once.
	s3 := otto.openStream(e.srv.URL, id)
	s3.want("progress", `"sent":3`)
	s3.want("end", "")
}

// TestStreamLifetime: a stream ends after its lifetime without "end", so
// that the browser opens it again and its session is checked again.
func TestStreamLifetime(t *testing.T) {
	e, tk := newWatchEnv(t, newsroom.WatchLimits{Interval: time.Second, Heartbeat: time.Second, Lifetime: time.Hour})
	id := e.publish("Telefone gestört", "Heute.", "soest")
	b := e.browser()
	b.login("anna")
	s := b.openStream(e.srv.URL, id)
	s.want("progress", `"pending":3`)
	tk.tick(t)
	if name, _ := s.next(); name != "ping" {
		t.Fatalf("got %q, want a heartbeat", name)
	}
	e.clock.Add(time.Hour)
	tk.tick(t)
	if name, _ := s.next(); name != "EOF" {
		t.Fatalf("got %q after the stream's lifetime, want its end", name)
	}
}
