package netpath_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/channeltest"
	"github.com/crierhq/crier/channels/mastodon"
	"github.com/crierhq/crier/channels/mastodon/mastodontest"
	"github.com/crierhq/crier/channels/slack"
	"github.com/crierhq/crier/channels/slack/slackfake"
	"github.com/crierhq/crier/channels/webhook"
	"github.com/crierhq/crier/channels/webhook/webhooktest"
	"github.com/crierhq/crier/netpath"
)

// lane is the network of one endpoint, which the test can cut: while it is
// cut, every connection is refused, as when its route is down.
type lane struct {
	cut     atomic.Bool
	refused string // an address nothing listens on
}

func newLane(t *testing.T) *lane {
	t.Helper()
	return &lane{refused: strings.TrimSuffix(strings.TrimPrefix(refusedURL(t), "http://"), "/hooks")}
}

// client returns an HTTP client over the lane. It keeps no idle
// connections, so that a cut takes effect at the next request.
func (l *lane) client() *http.Client {
	var d net.Dialer
	return &http.Client{Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if l.cut.Load() {
				addr = l.refused
			}
			return d.DialContext(ctx, network, addr)
		},
	}}
}

// social is a fake instance with the clock its accounts' channels use.
type social struct {
	*mastodontest.Server
	clock *channeltest.Clock
}

func newSocial(t *testing.T) *social {
	t.Helper()
	clock := channeltest.NewClock(epoch)
	return &social{Server: mastodontest.NewServer(t, mastodontest.Options{Clock: clock}), clock: clock}
}

// account returns a channel posting to s with token over l, named name.
func (s *social) account(t *testing.T, token, name string, l *lane) *mastodon.Channel {
	t.Helper()
	ch, err := mastodon.New(mastodon.Options{
		Server: s.URL(), Token: token, Name: name, Client: l.client(), Clock: s.clock, Timeout: bound,
	})
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// requests returns the method and path of every request s got.
func (s *social) requests() []string {
	var out []string
	for _, q := range s.Requests() {
		out = append(out, q.Method+" "+q.Path)
	}
	return out
}

// revision returns the next revision of the message with key, whose
// earlier post r describes.
func revision(key string, r *crier.Receipt) *crier.Message {
	m := message(key)
	m.Revision = 2
	m.Event = crier.EventUpdated
	m.Text = "Das Rathaus ist heute ab 12 Uhr geschlossen."
	prev := *r
	m.Previous = &prev
	return m
}

// mustSendThrough sends a message with key through w's chain and fails
// the test unless endpoint delivered it.
func (w *world) mustSendThrough(t *testing.T, key, endpoint string) *crier.Receipt {
	t.Helper()
	r, err := w.send(key)
	if err != nil {
		t.Fatalf("send %s: %v", key, err)
	}
	if r.Endpoint != endpoint {
		t.Fatalf("send %s: delivered through %q, want %q", key, r.Endpoint, endpoint)
	}
	return r
}

// TestReviseThroughTheEndpointThatMadeThePost: without shared keys, the
// endpoints are different accounts, and a post is edited and answered
// only by the account that made it, even when an earlier endpoint is
// healthy.
func TestReviseThroughTheEndpointThatMadeThePost(t *testing.T) {
	home, backup := newSocial(t), newSocial(t)
	w := newWorld(t,
		ep("social.example", "default", home.account(t, "soest", "social.example", newLane(t))),
		ep("backup-social.example via lte", "lte", backup.account(t, "soest-backup", "backup-social.example via lte", newLane(t))))
	home.Respond(http.StatusServiceUnavailable, nil)
	first := w.mustSendThrough(t, "a1.1.soest.radio", "backup-social.example via lte")
	home.Accept()
	homeBefore := home.requests()

	m := revision("a1.2.soest.radio", first)
	r, err := w.chain.Revise(t.Context(), crier.ActionEdit, m)
	if err != nil {
		t.Fatalf("edit: %v", err)
	}
	want := &crier.Receipt{RemoteID: first.RemoteID, URL: first.URL, Endpoint: "backup-social.example via lte", Network: "lte"}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("edit receipt (-want +got):\n%s", diff)
	}
	sts := backup.Statuses()
	if len(sts) != 1 || sts[0].ID != first.RemoteID {
		t.Fatalf("backup statuses %+v, want the one first posted", sts)
	}
	if diff := cmp.Diff([]string{m.Text}, sts[0].Edits); diff != "" {
		t.Errorf("edits of the status (-want +got):\n%s", diff)
	}

	r, err = w.chain.Revise(t.Context(), crier.ActionReply, m)
	if err != nil {
		t.Fatalf("reply: %v", err)
	}
	sts = backup.Statuses()
	if len(sts) != 2 || sts[1].InReplyToID != first.RemoteID || sts[1].ID != r.RemoteID || sts[1].IdempotencyKey != m.Key {
		t.Fatalf("backup statuses %+v, want a reply to %s with key %s", sts, first.RemoteID, m.Key)
	}
	if r.Endpoint != "backup-social.example via lte" || r.Network != "lte" {
		t.Errorf("reply receipt %+v, want the backup endpoint on lte", r)
	}

	if diff := cmp.Diff(homeBefore, home.requests()); diff != "" {
		t.Errorf("the other account's instance got requests (-before +after):\n%s", diff)
	}
	if got := w.gotFailovers(); len(got) != 1 {
		t.Errorf("OnFailover calls %v, want only the first send's", got)
	}
}

// TestReviseFailsOverWithSharedKeys: when every endpoint reaches the same
// account, an edit fails over to another network when the post's own
// endpoint cannot be reached.
func TestReviseFailsOverWithSharedKeys(t *testing.T) {
	inst := newSocial(t)
	primary := newLane(t)
	w := newWorldShared(t, true,
		ep("social.example", "default", inst.account(t, "soest", "social.example", primary)),
		ep("social.example via lte", "lte", inst.account(t, "soest", "social.example via lte", newLane(t))))
	first := w.mustSendThrough(t, "a1.1.soest.radio", "social.example")

	primary.cut.Store(true)
	m := revision("a1.2.soest.radio", first)
	r, err := w.chain.Revise(t.Context(), crier.ActionEdit, m)
	if err != nil {
		t.Fatalf("edit: %v", err)
	}
	want := &crier.Receipt{RemoteID: first.RemoteID, URL: first.URL, Endpoint: "social.example via lte", Network: "lte"}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("edit receipt (-want +got):\n%s", diff)
	}
	sts := inst.Statuses()
	if len(sts) != 1 || sts[0].Text != m.Text {
		t.Errorf("statuses %+v, want the first one, edited", sts)
	}
	if diff := cmp.Diff([]failover{{"radio", "social.example", "social.example via lte"}}, w.gotFailovers()); diff != "" {
		t.Errorf("OnFailover calls (-want +got):\n%s", diff)
	}
	if h := w.chain.Health()[0]; h.Failures != 1 || !strings.Contains(h.LastError, "refused") {
		t.Errorf("primary health %+v, want 1 failure, connection refused", h)
	}

	// With the primary's breaker open, a delete goes straight to the
	// other network, without a failover.
	for range 2 {
		if _, err := w.chain.Revise(t.Context(), crier.ActionEdit, m); err != nil {
			t.Fatalf("edit: %v", err)
		}
	}
	if got := w.state(t, 0); got != netpath.StateOpen {
		t.Fatalf("primary %s after three refused connections, want open", got)
	}
	r, err = w.chain.Revise(t.Context(), crier.ActionDelete, m)
	if err != nil || r.Endpoint != "social.example via lte" {
		t.Fatalf("delete: %+v, %v; want done through the lte endpoint", r, err)
	}
	if sts := inst.Statuses(); !sts[0].Deleted {
		t.Error("the status is not deleted")
	}
	if n := len(w.gotFailovers()); n != 3 {
		t.Errorf("%d failovers, want 3 (one per edit; skipping an open endpoint is none)", n)
	}
}

// TestReviseWaitsForTheAccountThatMadeThePost: without shared keys, an
// edit whose endpoint cannot be reached fails transiently and touches no
// other account.
func TestReviseWaitsForTheAccountThatMadeThePost(t *testing.T) {
	home, backup := newSocial(t), newSocial(t)
	homeLane := newLane(t)
	w := newWorld(t,
		ep("social.example", "default", home.account(t, "soest", "social.example", homeLane)),
		ep("backup-social.example via lte", "lte", backup.account(t, "soest-backup", "backup-social.example via lte", newLane(t))))
	first := w.mustSendThrough(t, "a1.1.soest.radio", "social.example")

	homeLane.cut.Store(true)
	for _, action := range []string{crier.ActionEdit, crier.ActionReply, crier.ActionDelete} {
		_, err := w.chain.Revise(t.Context(), action, revision("a1.2.soest.radio", first))
		e := wantError(t, err, crier.ETRANSIENT)
		if e != nil && !strings.Contains(e.Message, "social.example: ") {
			t.Errorf("%s: message %q does not name the endpoint with its reason", action, e.Message)
		}
	}
	if got := backup.requests(); len(got) != 0 {
		t.Errorf("the other account's instance got %q, want nothing", got)
	}
	if got := w.gotFailovers(); len(got) != 0 {
		t.Errorf("OnFailover calls %v, want none", got)
	}
	if got := w.state(t, 0); got != netpath.StateOpen {
		t.Errorf("home endpoint %s after three refused connections, want open", got)
	}
	if want := []string{"POST /api/v1/statuses"}; !cmp.Equal(want, home.requests()) {
		t.Errorf("home instance got %q, want only the first post", home.requests())
	}
}

// TestReviseDeleteTwice: deleting a post that is gone already succeeds,
// on Mastodon and on Slack, and the receipt names the post.
func TestReviseDeleteTwice(t *testing.T) {
	t.Run("mastodon", func(t *testing.T) {
		inst := newSocial(t)
		w := newWorld(t, ep("social.example", "default", inst.account(t, "soest", "social.example", newLane(t))))
		first := w.mustSendThrough(t, "a1.1.soest.radio", "social.example")
		m := revision("a1.2.soest.radio", first)
		want := &crier.Receipt{RemoteID: first.RemoteID, URL: first.URL, Endpoint: "social.example", Network: "default"}
		for i := range 2 {
			r, err := w.chain.Revise(t.Context(), crier.ActionDelete, m)
			if err != nil {
				t.Fatalf("delete %d: %v", i+1, err)
			}
			if diff := cmp.Diff(want, r); diff != "" {
				t.Errorf("delete %d: receipt (-want +got):\n%s", i+1, diff)
			}
		}
		if sts := inst.Statuses(); len(sts) != 1 || !sts[0].Deleted {
			t.Errorf("statuses %+v, want the one post, deleted", sts)
		}
		if n := inst.requests(); len(n) != 3 {
			t.Errorf("instance got %q, want a post and two deletes", n)
		}
	})
	t.Run("slack", func(t *testing.T) {
		fake := newSlack(t)
		w := newWorld(t, ep("slack #krisenstab", "default", fake.bot(t, "slack #krisenstab", newLane(t))))
		first := w.mustSendThrough(t, "a1.1.soest.radio", "slack #krisenstab")
		m := revision("a1.2.soest.radio", first)
		for i := range 2 {
			r, err := w.chain.Revise(t.Context(), crier.ActionDelete, m)
			if err != nil {
				t.Fatalf("delete %d: %v", i+1, err)
			}
			if r.RemoteID != first.RemoteID || r.Endpoint != "slack #krisenstab" {
				t.Errorf("delete %d: receipt %+v, want the post on the bot endpoint", i+1, r)
			}
		}
		if msgs := fake.Messages(); len(msgs) != 1 || !msgs[0].Deleted {
			t.Errorf("messages %+v, want the one post, deleted", msgs)
		}
	})
}

// slackEnv is a fake Slack with the clock its channels pace on.
type slackEnv struct {
	*slackfake.Server
	clock *channeltest.Clock
}

const slackToken = "xoxb-1234-5678-s3cr3tT0k3n"

func newSlack(t *testing.T) *slackEnv {
	t.Helper()
	clock := channeltest.NewClock(epoch)
	return &slackEnv{
		Server: slackfake.NewServer(t, slackfake.Options{Tokens: []string{slackToken}, Channels: []string{"#krisenstab"}, Clock: clock}),
		clock:  clock,
	}
}

// bot returns a channel posting to #krisenstab with the bot token over l.
func (s *slackEnv) bot(t *testing.T, name string, l *lane) *slack.Channel {
	t.Helper()
	return s.channel(t, slack.Options{Token: slackToken, Channel: "#krisenstab", APIURL: s.URL(), Name: name, Client: l.client()})
}

// webhook returns a channel posting to the fake's incoming webhook over l.
func (s *slackEnv) webhook(t *testing.T, name string, l *lane) *slack.Channel {
	t.Helper()
	return s.channel(t, slack.Options{WebhookURL: s.WebhookURL(), Name: name, Client: l.client()})
}

func (s *slackEnv) channel(t *testing.T, o slack.Options) *slack.Channel {
	t.Helper()
	o.Clock, o.Timeout = s.clock, bound
	// Pacing waits on the fake clock: waiting moves it.
	o.Sleep = func(_ context.Context, d time.Duration) error { s.clock.Advance(d); return nil }
	ch, err := slack.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// TestReviseSlack: a Slack channel of a bot and an incoming webhook, as in
// the example configuration: the bot edits and answers its post in a
// thread; when it cannot be reached, the webhook, which cannot change
// anything, is left alone.
func TestReviseSlack(t *testing.T) {
	fake := newSlack(t)
	botLane := newLane(t)
	w := newWorld(t,
		ep("slack #krisenstab", "default", fake.bot(t, "slack #krisenstab", botLane)),
		ep("slack webhook via lte", "lte", fake.webhook(t, "slack webhook via lte", newLane(t))))
	first := w.mustSendThrough(t, "a1.1.soest.radio", "slack #krisenstab")
	m := revision("a1.2.soest.radio", first)

	r, err := w.chain.Revise(t.Context(), crier.ActionEdit, m)
	if err != nil {
		t.Fatalf("edit: %v", err)
	}
	if r.RemoteID != first.RemoteID || r.Endpoint != "slack #krisenstab" || r.Network != "default" {
		t.Errorf("edit receipt %+v, want the post on the bot endpoint", r)
	}
	msgs := fake.Messages()
	if len(msgs) != 1 || len(msgs[0].Edits) != 1 || !strings.Contains(msgs[0].Edits[0], "ab 12 Uhr") {
		t.Fatalf("messages %+v, want the one post, edited once", msgs)
	}

	r, err = w.chain.Revise(t.Context(), crier.ActionReply, m)
	if err != nil {
		t.Fatalf("reply: %v", err)
	}
	msgs = fake.Messages()
	if len(msgs) != 2 || msgs[1].ThreadTS != msgs[0].TS || msgs[1].Channel+"/"+msgs[1].TS != r.RemoteID {
		t.Fatalf("messages %+v, want a reply in the post's thread", msgs)
	}

	botLane.cut.Store(true)
	_, err = w.chain.Revise(t.Context(), crier.ActionEdit, m)
	wantError(t, err, crier.ETRANSIENT)
	for _, q := range fake.Requests() {
		if q.Webhook {
			t.Errorf("the incoming webhook got a request: %s", q.Body)
		}
	}
	if got := w.gotFailovers(); len(got) != 0 {
		t.Errorf("OnFailover calls %v, want none", got)
	}
}

// TestReviseCannot: a channel whose endpoints cannot change their posts
// says so with crier.ErrCannotRevise, without a request.
func TestReviseCannot(t *testing.T) {
	t.Run("webhooks", func(t *testing.T) {
		clock := channeltest.NewClock(epoch)
		secret := webhooktest.NewSecret(t)
		recv := webhooktest.NewReceiver(t, secret, clock)
		var eps []netpath.Endpoint
		for _, name := range []string{"radio.example", "radio.example via lte"} {
			ch, err := webhook.New(webhook.Options{URL: recv.URL() + "/hooks", Secret: secret, Clock: clock, Name: name, Timeout: bound})
			if err != nil {
				t.Fatal(err)
			}
			eps = append(eps, ep(name, "default", ch))
		}
		w := newWorldShared(t, true, eps...)
		first := w.mustSendThrough(t, "a1.1.soest.radio", "radio.example")
		for _, action := range []string{crier.ActionEdit, crier.ActionReply, crier.ActionDelete} {
			r, err := w.chain.Revise(t.Context(), action, revision("a1.2.soest.radio", first))
			if r != nil || !errors.Is(err, crier.ErrCannotRevise) {
				t.Errorf("%s: %+v, %v; want crier.ErrCannotRevise", action, r, err)
			}
			wantError(t, err, crier.EPERMANENT)
		}
		if n := len(recv.Requests()); n != 1 {
			t.Errorf("receiver got %d requests, want only the first send", n)
		}
	})
	t.Run("the endpoint that made the post", func(t *testing.T) {
		inst := newSocial(t)
		w := newWorld(t,
			ep("social.example", "default", sendOnly{inst.account(t, "soest", "social.example", newLane(t))}),
			ep("other.example", "default", inst.account(t, "other", "other.example", newLane(t))))
		first := w.mustSendThrough(t, "a1.1.soest.radio", "social.example")
		_, err := w.chain.Revise(t.Context(), crier.ActionEdit, revision("a1.2.soest.radio", first))
		if !errors.Is(err, crier.ErrCannotRevise) || !strings.Contains(err.Error(), "social.example") {
			t.Errorf("edit: %v; want crier.ErrCannotRevise naming social.example", err)
		}
		if n := len(inst.requests()); n != 1 {
			t.Errorf("instance got %q, want only the first post", inst.requests())
		}
	})
}

// editable is a scripted remote that also edits, answers and deletes:
// each such call takes the remote's next answer and is recorded among
// its keys as "edit <id>", "reply <id>" or "delete <id>".
type editable struct{ *remote }

func (e editable) Edit(ctx context.Context, id string, _ *crier.Message) (*crier.Receipt, error) {
	return e.Send(ctx, &crier.Message{Key: "edit " + id})
}

func (e editable) Reply(ctx context.Context, id string, _ *crier.Message) (*crier.Receipt, error) {
	return e.Send(ctx, &crier.Message{Key: "reply " + id})
}

func (e editable) Delete(ctx context.Context, id string) error {
	_, err := e.Send(ctx, &crier.Message{Key: "delete " + id})
	return err
}

var (
	_ crier.Editor  = editable{}
	_ crier.Replier = editable{}
	_ crier.Deleter = editable{}
)

// TestReviseRefuses: what cannot be carried out fails permanently, without
// a call to any endpoint.
func TestReviseRefuses(t *testing.T) {
	a, b := newRemote("a"), newRemote("b")
	w := newWorld(t, ep("a", "default", editable{a}), ep("b", "lte", editable{b}))
	prev := &crier.Receipt{RemoteID: "109", Endpoint: "a", Network: "default"}
	tests := []struct {
		name, action string
		previous     *crier.Receipt
		want         string
	}{
		{"unknown action", "undo", prev, `unknown action "undo"`},
		{"no previous post", crier.ActionEdit, nil, "names no earlier post"},
		{"previous post without id", crier.ActionDelete, &crier.Receipt{Endpoint: "a"}, "names no earlier post"},
		{"endpoint gone", crier.ActionEdit, &crier.Receipt{RemoteID: "109", Endpoint: "old.example"}, `endpoint "old.example"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := message("a1.2.soest.radio")
			m.Previous = tt.previous
			r, err := w.chain.Revise(t.Context(), tt.action, m)
			e := wantError(t, err, crier.EPERMANENT)
			if r != nil || e == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%+v, %v; want an error containing %q", r, err, tt.want)
			}
			if errors.Is(err, crier.ErrCannotRevise) {
				t.Errorf("%v is crier.ErrCannotRevise: the message would be sent as a new post", err)
			}
		})
	}
	if n := len(a.sent()) + len(b.sent()); n != 0 {
		t.Errorf("endpoints got %d calls, want none", n)
	}

	// With shared keys, the endpoint's name does not matter.
	shared := newWorldShared(t, true, ep("a", "default", editable{a}))
	m := message("a1.2.soest.radio")
	m.Previous = &crier.Receipt{RemoteID: "109", Endpoint: "old.example"}
	if r, err := shared.chain.Revise(t.Context(), crier.ActionEdit, m); err != nil || r.Endpoint != "a" {
		t.Errorf("edit with shared keys: %+v, %v; want done through a", r, err)
	}
}

// TestRevisePins: an edit, reply or delete whose outcome is unknown names
// its endpoint in the error, as a send does, so that the delivery is
// pinned there (the store keeps the pin) and its repeat stays there.
func TestRevisePins(t *testing.T) {
	for _, action := range []string{crier.ActionEdit, crier.ActionReply, crier.ActionDelete} {
		t.Run(action, func(t *testing.T) {
			a, b := newRemote("a"), newRemote("b")
			w := newWorld(t, ep("a", "default", editable{a}), ep("b", "lte", editable{b}))
			m := message("a1.2.soest.radio")
			m.Previous = &crier.Receipt{RemoteID: "109", Endpoint: "b"}
			b.next(unknown("no answer within the deadline"))
			_, err := w.chain.Revise(t.Context(), action, m)
			e := wantError(t, err, crier.EUNKNOWN)
			if e != nil && (!e.Retryable || e.Endpoint != "b") {
				t.Errorf("err %#v, want retryable and naming endpoint b", e)
			}
			if got := a.sent(); len(got) != 0 {
				t.Fatalf("a got %q, want nothing", got)
			}

			m.Ambiguous, m.Pin = true, e.Endpoint
			r, err := w.chain.Send(t.Context(), m)
			if err != nil {
				t.Fatalf("ambiguous send: %v", err)
			}
			if r.Endpoint != "b" {
				t.Errorf("ambiguous send went to %s, want b", r.Endpoint)
			}
		})
	}
}
