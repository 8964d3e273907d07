package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crierhq/crier"
)

const testToken = "test-admin-token-4f9a"

var testNow = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

// testRenderer renders the title and body as text. A body containing
// "{{" fails like a template with an unknown variable.
type testRenderer struct{}

func (testRenderer) Render(r *crier.RenderRequest) (*crier.Message, error) {
	a := r.Announcement
	if strings.Contains(a.Body, "{{") {
		return nil, &crier.Error{Code: crier.EINVALID, Message: "render", Details: []crier.Problem{
			{Field: "body", Message: "unknown variable"},
		}}
	}
	return &crier.Message{
		Announcement: a.ID, Revision: a.Revision, Town: r.Town.ID, Channel: r.Channel, Type: r.Type,
		Event: crier.EventPublished, Mode: a.Mode, Subject: a.Title, Text: a.Title + "\n\n" + a.Body,
		Link: r.Link, Expires: a.Expires,
	}, nil
}

// stubChannel never sends; it holds a secret that must never be shown
// and checks a length limit like a social network.
type stubChannel struct {
	Secret string
	Limit  int
}

func (stubChannel) Send(context.Context, *crier.Message) (*crier.Receipt, error) {
	return nil, errors.New("stub channel does not send")
}

func (c stubChannel) Check(_ context.Context, m *crier.Message) []crier.Problem {
	if c.Limit > 0 && len(m.Text) > c.Limit {
		return []crier.Problem{{Field: "text", Message: fmt.Sprintf("is %d characters, at most %d", len(m.Text), c.Limit)}}
	}
	return nil
}

// fakeStore is an in-memory crier.AnnouncementStore. It hands out copies
// so that the server never shares memory with the test.
type fakeStore struct {
	mu            sync.Mutex
	announcements []crier.Announcement
	deliveries    []crier.Delivery
	attempts      map[int64][]crier.Attempt
	keys          map[string]crier.PublishResult
	// plans are the messages of every committed plan, by announcement id.
	plans map[string][]crier.Message
	// err, when set, fails every method.
	err error
}

func newFakeStore() *fakeStore {
	return &fakeStore{attempts: map[int64][]crier.Attempt{}, keys: map[string]crier.PublishResult{}}
}

func (s *fakeStore) EarlierResult(_ context.Context, key string) (*crier.PublishResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	res, ok := s.keys[key]
	if !ok || key == "" {
		return nil, nil
	}
	a := *res.Announcement
	res.Announcement, res.Existing = &a, true
	return &res, nil
}

func (s *fakeStore) CreateAnnouncement(_ context.Context, p *crier.Plan, key string, now time.Time) (*crier.PublishResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	if res, ok := s.keys[key]; ok && key != "" {
		a := *res.Announcement
		res.Announcement, res.Existing = &a, true
		return &res, nil
	}
	a := *p.Announcement
	s.announcements = append(s.announcements, a)
	if s.plans == nil {
		s.plans = map[string][]crier.Message{}
	}
	for _, m := range p.Messages {
		s.plans[a.ID] = append(s.plans[a.ID], *m)
		s.deliveries = append(s.deliveries, crier.Delivery{
			ID:  int64(len(s.deliveries) + 1),
			Key: crier.DeliveryKey(m.Announcement, m.Revision, m.Town, m.Channel, 0), Announcement: m.Announcement,
			Revision: m.Revision, Town: m.Town, Channel: m.Channel, Type: m.Type, State: crier.StateQueued,
			NextAt: now, Capture: m.Capture, UpdatedAt: now,
		})
	}
	res := crier.PublishResult{Announcement: &a, Deliveries: len(p.Messages)}
	if key != "" {
		s.keys[key] = res
	}
	out := res
	ac := a
	out.Announcement = &ac
	return &out, nil
}

func (s *fakeStore) Announcement(_ context.Context, id string) (*crier.Announcement, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	for _, a := range s.announcements {
		if a.ID == id {
			return &a, nil
		}
	}
	return nil, crier.Errorf(crier.ENOTFOUND, "no announcement %q", id)
}

func (s *fakeStore) Announcements(_ context.Context, limit int) ([]*crier.Announcement, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	var out []*crier.Announcement
	for i := len(s.announcements) - 1; i >= 0 && len(out) < limit; i-- {
		a := s.announcements[i]
		if !strings.HasPrefix(a.Event, "announcement.") && a.Event != "" {
			continue // like store/sqlite: no confirmation mails
		}
		out = append(out, &a)
	}
	return out, nil
}

// FindAnnouncements filters as store/sqlite does, without cursors, which
// the tests of paging ask of the real store.
func (s *fakeStore) FindAnnouncements(ctx context.Context, f crier.AnnouncementFilter) ([]*crier.Announcement, error) {
	if !f.Before.IsZero() || !f.After.IsZero() {
		return nil, errors.New("fake store has no cursors")
	}
	all, err := s.Announcements(ctx, 1<<30)
	if err != nil {
		return nil, err
	}
	targets := func(names []string, a *crier.Announcement) bool {
		return names == nil || slices.ContainsFunc(a.Towns, func(t string) bool { return slices.Contains(names, t) })
	}
	var out []*crier.Announcement
	for _, a := range all {
		if targets(f.Scope, a) && targets(f.Town, a) && (f.Mode == "" || a.Mode == f.Mode) &&
			(f.State == "" || crier.AnnouncementState(a, f.Now) == f.State) && len(out) < cmp.Or(f.Limit, 1000) {
			out = append(out, a)
		}
	}
	return out, nil
}

func (s *fakeStore) Messages(context.Context, string) ([]*crier.Message, error) {
	return nil, errors.New("fake store keeps no messages")
}

func (s *fakeStore) Deliveries(_ context.Context, f crier.DeliveryFilter) ([]*crier.Delivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	limit := cmp.Or(f.Limit, 50)
	var out []*crier.Delivery
	for _, d := range s.deliveries {
		if len(out) == limit {
			break
		}
		if d.ID <= f.AfterID ||
			f.Announcement != "" && d.Announcement != f.Announcement ||
			f.Town != "" && d.Town != f.Town ||
			f.Towns != nil && !slices.Contains(f.Towns, d.Town) ||
			f.Channel != "" && d.Channel != f.Channel ||
			f.State != "" && d.State != f.State {
			continue
		}
		out = append(out, &d)
	}
	return out, nil
}

// Counts groups by announcement as well, so that Counts(ctx, "") reports
// one row per announcement × town × channel × state, as a store may.
func (s *fakeStore) Counts(_ context.Context, announcement string) ([]crier.Count, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	type key struct {
		a, town, channel string
		state            crier.State
	}
	n := map[key]int{}
	var order []key
	for _, d := range s.deliveries {
		if announcement != "" && d.Announcement != announcement {
			continue
		}
		k := key{d.Announcement, d.Town, d.Channel, d.State}
		if n[k] == 0 {
			order = append(order, k)
		}
		n[k]++
	}
	out := []crier.Count{}
	for _, k := range order {
		out = append(out, crier.Count{Town: k.town, Channel: k.channel, State: k.state, N: n[k]})
	}
	return out, nil
}

func (s *fakeStore) Attempts(_ context.Context, delivery int64) ([]*crier.Attempt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	var out []*crier.Attempt
	for _, a := range s.attempts[delivery] {
		out = append(out, &a)
	}
	return out, nil
}

func (s *fakeStore) Retry(_ context.Context, announcement string, states []crier.State, now time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return 0, s.err
	}
	n := 0
	for i := range s.deliveries {
		d := &s.deliveries[i]
		if d.Announcement == announcement && slices.Contains(states, d.State) {
			d.State, d.NextAt = crier.StateQueued, now
			n++
		}
	}
	return n, nil
}

func (s *fakeStore) setState(id int64, st crier.State) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deliveries[id-1].State = st
}

func (s *fakeStore) states() []crier.State {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []crier.State
	for _, d := range s.deliveries {
		out = append(out, d.State)
	}
	return out
}

func (s *fakeStore) addAttempt(a crier.Attempt) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts[a.Delivery] = append(s.attempts[a.Delivery], a)
}

func (s *fakeStore) size() (announcements, deliveries int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.announcements), len(s.deliveries)
}

func (s *fakeStore) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

// fakeSubscribers is an in-memory crier.SubscriberStore.
type fakeSubscribers struct {
	mu   sync.Mutex
	subs []crier.Subscriber
}

func (s *fakeSubscribers) find(town, email string) *crier.Subscriber {
	for i := range s.subs {
		if s.subs[i].Town == town && s.subs[i].Email == email {
			return &s.subs[i]
		}
	}
	return nil
}

func (s *fakeSubscribers) AddSubscribers(_ context.Context, subs []*crier.Subscriber, now time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	added := 0
	for _, in := range subs {
		if old := s.find(in.Town, in.Email); old != nil {
			old.Name, old.State, old.Source, old.UpdatedAt = in.Name, in.State, in.Source, now
			continue
		}
		sub := *in
		sub.ID, sub.CreatedAt, sub.UpdatedAt = int64(len(s.subs)+1), now, now
		s.subs = append(s.subs, sub)
		added++
	}
	return added, nil
}

func (s *fakeSubscribers) RemoveSubscriber(_ context.Context, town, email string, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := s.find(town, email)
	if sub == nil {
		return crier.Errorf(crier.ENOTFOUND, "%s is not on the list of %s", email, town)
	}
	sub.State, sub.UpdatedAt = crier.SubscriberUnsubscribed, now
	return nil
}

func (s *fakeSubscribers) ConfirmSubscriber(_ context.Context, town, email string, version time.Time, source string, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := s.find(town, email)
	switch {
	case sub == nil:
		return crier.Errorf(crier.ENOTFOUND, "not on the list")
	case sub.State == crier.SubscriberConfirmed:
		return nil
	case sub.State != crier.SubscriberPending || !sub.UpdatedAt.Equal(version):
		return crier.Errorf(crier.ECONFLICT, "the subscription changed")
	}
	sub.State, sub.Source, sub.UpdatedAt, sub.ConfirmedAt = crier.SubscriberConfirmed, source, now, now
	return nil
}

func (s *fakeSubscribers) Subscribers(_ context.Context, town string, state crier.SubscriberState) ([]*crier.Subscriber, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*crier.Subscriber
	for _, sub := range s.subs {
		if sub.Town == town && (state == "" || sub.State == state) {
			out = append(out, &sub)
		}
	}
	return out, nil
}

func (s *fakeSubscribers) all() []crier.Subscriber {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.subs)
}

// fakeCaptures is an in-memory crier.CaptureStore.
type fakeCaptures struct {
	mu   sync.Mutex
	caps []crier.Capture
}

func (s *fakeCaptures) SaveCapture(_ context.Context, c *crier.Capture) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, old := range s.caps {
		if old.Key == c.Key {
			return nil
		}
	}
	cp := *c
	cp.ID = int64(len(s.caps) + 1)
	s.caps = append(s.caps, cp)
	return nil
}

func (s *fakeCaptures) FindCaptures(_ context.Context, f crier.CaptureFilter) ([]*crier.Capture, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*crier.Capture
	for i := range s.caps {
		c := &s.caps[i]
		if f.Newest {
			c = &s.caps[len(s.caps)-1-i]
		}
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
		if f.Match(c) {
			cp := *c
			out = append(out, &cp)
		}
	}
	return out, nil
}

// fakeQueue answers Depth only; the server never claims.
type fakeQueue struct {
	mu    sync.Mutex
	depth map[string]int
	err   error
}

func (q *fakeQueue) Depth(context.Context) (map[string]int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return nil, q.err
	}
	out := make(map[string]int, len(q.depth))
	for k, v := range q.depth {
		out[k] = v
	}
	return out, nil
}

func (q *fakeQueue) setDepth(typ string, n int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.depth[typ] = n
}

func (q *fakeQueue) fail(err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.err = err
}

var errNotInFake = errors.New("not implemented by the fake queue")

func (q *fakeQueue) Claim(context.Context, []string, int, time.Time, time.Duration) ([]*crier.Job, error) {
	return nil, errNotInFake
}
func (q *fakeQueue) Complete(context.Context, []*crier.Outcome, time.Time) (int, error) {
	return 0, errNotInFake
}
func (q *fakeQueue) Exchange(context.Context, []*crier.Outcome, []string, int, time.Time, time.Duration) ([]*crier.Job, int, error) {
	return nil, 0, errNotInFake
}
func (q *fakeQueue) Release(context.Context, []*crier.Job) error { return errNotInFake }
func (q *fakeQueue) Recover(context.Context) (int, error)        { return 0, errNotInFake }
func (q *fakeQueue) Hurry(context.Context, string, time.Time) (int, error) {
	return 0, errNotInFake
}

// env is a server with the real engine over fakes, behind an
// httptest.Server, and a client for it.
type env struct {
	store    *fakeStore
	subs     *fakeSubscribers
	caps     *fakeCaptures
	queue    *fakeQueue
	engine   *crier.Engine
	server   *Server
	url      string
	client   *Client
	seen     *seenTransport
	notified atomic.Int64
}

const mastodonSecret = "mastodon-secret-do-not-show"

func testChannels() map[string]*crier.ChannelInfo {
	ch := func(id, typ string, perSub, dedup bool, limit int) *crier.ChannelInfo {
		return &crier.ChannelInfo{ID: id, Type: typ, PerSubscriber: perSub, Deduplicates: dedup,
			Channel: stubChannel{Secret: mastodonSecret, Limit: limit}}
	}
	return map[string]*crier.ChannelInfo{
		"mastodon-soest": ch("mastodon-soest", "mastodon", false, true, 500),
		"mail-soest":     ch("mail-soest", "email", true, false, 0),
		"mastodon-werl":  ch("mastodon-werl", "mastodon", false, true, 500),
		"mail-werl":      ch("mail-werl", "email", true, false, 0),
	}
}

func testDirectory() *crier.Directory {
	return crier.NewDirectory([]*crier.Town{
		{ID: "soest", Name: "Stadt Soest", AGS: "05974040", Language: "de", TimeZone: "Europe/Berlin",
			Vars: map[string]string{"phone": "02921 103-0"}, Channels: []string{"mastodon-soest", "mail-soest"}},
		{ID: "werl", Name: "Stadt Werl", AGS: "05974044", Language: "de", TimeZone: "Europe/Berlin",
			Channels: []string{"mastodon-werl", "mail-werl"}},
	}, map[string][]string{"kreis-soest": {"soest", "werl"}})
}

// newEnv starts a server; edit changes its options before New.
func newEnv(t testing.TB, edit ...func(*Options)) *env {
	t.Helper()
	e := &env{store: newFakeStore(), subs: &fakeSubscribers{}, caps: &fakeCaptures{},
		queue: &fakeQueue{depth: map[string]int{}}}
	var ids atomic.Int64
	channels := testChannels()
	dir := testDirectory()
	e.engine = &crier.Engine{
		Directory: dir, Channels: channels, Renderer: testRenderer{}, Store: e.store,
		Clock: fixedClock{testNow}, Mode: crier.ModeExercise, PublicURL: "https://krisen.example",
		NewID:  func() string { return fmt.Sprintf("ann%d", ids.Add(1)) },
		Notify: func() { e.notified.Add(1) },
	}
	o := Options{
		Engine: e.engine, Store: e.store, Subscribers: e.subs, Captures: e.caps, Queue: e.queue,
		Directory: dir, Channels: channels, Token: testToken, Clock: fixedClock{testNow}, Version: "test",
	}
	for _, f := range edit {
		f(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.server = s
	// Each request returns once the subscribe requests it handed on are
	// decided, so that tests see their effect; TestSubscribeSameWork
	// calls the server itself.
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.ServeHTTP(w, r)
		s.Wait()
	}))
	t.Cleanup(ts.Close)
	e.url = ts.URL
	e.seen = &seenTransport{next: ts.Client().Transport}
	e.client = &Client{URL: ts.URL, Token: testToken, HTTP: &http.Client{Transport: e.seen}}
	return e
}

// seenTransport remembers the last response's status and header.
type seenTransport struct {
	next   http.RoundTripper
	mu     sync.Mutex
	status int
	header http.Header
}

func (t *seenTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if err == nil {
		t.mu.Lock()
		t.status, t.header = resp.StatusCode, resp.Header.Clone()
		t.mu.Unlock()
	}
	return resp, err
}

func (t *seenTransport) last() (int, http.Header) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.status, t.header
}

// testAnnouncement targets both towns and all their channels.
func testAnnouncement() *crier.Announcement {
	return &crier.Announcement{
		Title: "Rathaus geschlossen",
		Body:  "Das Rathaus ist heute wegen einer IT-Störung geschlossen.",
		Towns: []string{"kreis-soest"},
	}
}

// mustPublish publishes testAnnouncement and returns its id.
func (e *env) mustPublish(t testing.TB) string {
	t.Helper()
	res, err := e.client.Publish(context.Background(), testAnnouncement(), "")
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	return res.Announcement.ID
}

// problemPlaces reduces problems to where they are, so that tests do not
// depend on the wording of messages written elsewhere.
func problemPlaces(ps []crier.Problem) []string {
	var out []string
	for _, p := range ps {
		place := p.Field
		if p.Town != "" || p.Channel != "" {
			place = fmt.Sprintf("%s/%s:%s", p.Town, p.Channel, p.Field)
		}
		out = append(out, place)
	}
	return out
}
