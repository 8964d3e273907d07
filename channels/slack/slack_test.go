package slack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/channeltest"
	"github.com/crierhq/crier/channels/slack"
	"github.com/crierhq/crier/channels/slack/slackfake"
)

const token = "xoxb-1234-5678-s3cr3tT0k3n"

var epoch = time.Date(2023, 10, 30, 6, 0, 0, 0, time.UTC)

func message() *crier.Message {
	return &crier.Message{
		Announcement: "k7q2m4x9p3z8w6v1",
		Revision:     1,
		Town:         "soest",
		Channel:      "krisenstab",
		Type:         "slack",
		Event:        crier.EventPublished,
		Mode:         crier.ModeActual,
		Language:     "de",
		Subject:      "Rathaus geschlossen",
		Text:         "Das Rathaus ist heute geschlossen. Bürgerbüro: Tel. 02921 103-0\n\n#Soest https://krisen.example/soest/k7q2m4x9p3z8w6v1",
		Link:         "https://krisen.example/soest/k7q2m4x9p3z8w6v1",
		Key:          "k7q2m4x9p3z8w6v1.1.soest.krisenstab",
	}
}

// sleeper stands in for time: it records each wait and moves the clock
// instead of sleeping.
type sleeper struct {
	clock *channeltest.Clock
	mu    sync.Mutex
	slept []time.Duration
}

func (s *sleeper) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	s.slept = append(s.slept, d)
	s.mu.Unlock()
	s.clock.Advance(d)
	return nil
}

func (s *sleeper) Slept() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.slept...)
}

// env is a fake Slack with a clock and a sleeper.
type env struct {
	clock *channeltest.Clock
	sleep *sleeper
	fake  *slackfake.Server
}

func newEnv(t *testing.T) *env {
	t.Helper()
	clock := channeltest.NewClock(epoch)
	return &env{
		clock: clock,
		sleep: &sleeper{clock: clock},
		fake:  slackfake.NewServer(t, slackfake.Options{Tokens: []string{token}, Channels: []string{"#krisenstab", "#presse"}, Clock: clock}),
	}
}

// bot returns a channel posting with the bot token to channel (default
// #krisenstab), with o's other fields.
func (e *env) bot(t *testing.T, o slack.Options) *slack.Channel {
	t.Helper()
	if o.Token == "" {
		o.Token = token
	}
	if o.Channel == "" {
		o.Channel = "#krisenstab"
	}
	if o.APIURL == "" {
		o.APIURL = e.fake.URL()
	}
	return e.channel(t, o)
}

// webhook returns a channel posting to the fake's incoming webhook.
func (e *env) webhook(t *testing.T, o slack.Options) *slack.Channel {
	t.Helper()
	if o.WebhookURL == "" {
		o.WebhookURL = e.fake.WebhookURL()
	}
	return e.channel(t, o)
}

func (e *env) channel(t *testing.T, o slack.Options) *slack.Channel {
	t.Helper()
	if o.Clock == nil {
		o.Clock = e.clock
	}
	if o.Sleep == nil {
		o.Sleep = e.sleep.Sleep
	}
	c, err := slack.New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestConformance(t *testing.T) {
	t.Run("Bot", func(t *testing.T) {
		channeltest.Run(t, channeltest.Harness{
			New: func(t *testing.T) (crier.Channel, channeltest.Remote) {
				e := newEnv(t)
				return e.bot(t, slack.Options{}), e.fake
			},
			Message:      message,
			Deduplicates: false, // Slack has no idempotency key
			RateLimits:   true,
		})
	})
	t.Run("Webhook", func(t *testing.T) {
		channeltest.Run(t, channeltest.Harness{
			New: func(t *testing.T) (crier.Channel, channeltest.Remote) {
				e := newEnv(t)
				return e.webhook(t, slack.Options{}), e.fake
			},
			Message:      message,
			Deduplicates: false,
			RateLimits:   true,
		})
	})
}

// posted is the Block Kit content of a posted message.
type posted struct {
	Type    string `json:"type"`
	BlockID string `json:"block_id"`
	Expand  bool   `json:"expand"`
	Text    *struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"text"`
	Elements []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"elements"`
}

func blocks(t *testing.T, m *slackfake.Message) []posted {
	t.Helper()
	var b []posted
	if err := json.Unmarshal(m.Blocks, &b); err != nil {
		t.Fatalf("blocks %s: %v", m.Blocks, err)
	}
	return b
}

func TestContent(t *testing.T) {
	for _, form := range []string{"bot", "webhook"} {
		t.Run(form, func(t *testing.T) {
			e := newEnv(t)
			c := e.bot
			if form == "webhook" {
				c = e.webhook
			}
			m := message()
			m.Subject = "Rathaus & Bürgerbüro <geschlossen>"
			m.Text = "Heute *keine* Sprechstunde: A & B <C>.\n\nhttps://krisen.example/soest/k7q2m4x9p3z8w6v1"
			if _, err := c(t, slack.Options{}).Send(t.Context(), m); err != nil {
				t.Fatalf("Send: %v", err)
			}
			msgs := e.fake.Messages()
			if len(msgs) != 1 {
				t.Fatalf("fake has %d messages, want 1", len(msgs))
			}
			got := msgs[0]
			want := []posted{
				{Type: "header", BlockID: "crier:" + m.Key},
				{Type: "section", Expand: true},
			}
			b := blocks(t, got)
			if len(b) != len(want) {
				t.Fatalf("blocks = %s, want a header and a section", got.Blocks)
			}
			for i := range want {
				if b[i].Type != want[i].Type || b[i].BlockID != want[i].BlockID || b[i].Expand != want[i].Expand {
					t.Errorf("block %d: type %q, block_id %q, expand %v; want %q, %q, %v",
						i, b[i].Type, b[i].BlockID, b[i].Expand, want[i].Type, want[i].BlockID, want[i].Expand)
				}
			}
			if h := b[0].Text; h.Type != "plain_text" || h.Text != "Rathaus & Bürgerbüro <geschlossen>" {
				t.Errorf("header = %+v, want the subject as plain text, unescaped", h)
			}
			wantSection := "Heute *keine* Sprechstunde: A &amp; B &lt;C&gt;.\n\n<https://krisen.example/soest/k7q2m4x9p3z8w6v1|Mehr Informationen>"
			if s := b[1].Text; s.Type != "mrkdwn" || s.Text != wantSection {
				t.Errorf("section = %+v\nwant mrkdwn %q", s, wantSection)
			}
			wantText := "Rathaus &amp; Bürgerbüro &lt;geschlossen&gt;\n\nHeute *keine* Sprechstunde: A &amp; B &lt;C&gt;.\n\nhttps://krisen.example/soest/k7q2m4x9p3z8w6v1"
			if got.Text != wantText {
				t.Errorf("fallback text = %q\nwant %q", got.Text, wantText)
			}
			if got.Key != m.Key {
				t.Errorf("key = %q, want %q", got.Key, m.Key)
			}
			if got.Webhook != (form == "webhook") {
				t.Errorf("Webhook = %v", got.Webhook)
			}
		})
	}
}

// TestSectionWithoutHeadline: the shared social text starts with the mode
// banner and the title, which the header and context blocks already show;
// the section leaves them out, the fallback text keeps them.
func TestSectionWithoutHeadline(t *testing.T) {
	e := newEnv(t)
	m := message()
	m.Mode = crier.ModeExercise
	m.Subject = "Bürgerbüro geschlossen"
	m.Text = "ÜBUNG – keine echte Meldung\n\nBürgerbüro geschlossen\n\nHeute keine Sprechstunde.\n\nhttps://krisen.example/soest/k7q2m4x9p3z8w6v1"
	if _, err := e.bot(t, slack.Options{}).Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	got := e.fake.Messages()[0]
	var section string
	for _, b := range blocks(t, got) {
		if b.Type == "section" {
			section = b.Text.Text
		}
	}
	if want := "Heute keine Sprechstunde.\n\n<https://krisen.example/soest/k7q2m4x9p3z8w6v1|Mehr Informationen>"; section != want {
		t.Errorf("section = %q, want %q", section, want)
	}
	if !strings.Contains(got.Text, "Bürgerbüro geschlossen") {
		t.Errorf("fallback text lost the headline: %q", got.Text)
	}
}

func TestMetadata(t *testing.T) {
	e := newEnv(t)
	m := message()
	if _, err := e.bot(t, slack.Options{}).Send(t.Context(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	reqs := e.fake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("fake got %d requests, want 1", len(reqs))
	}
	if reqs[0].Token != token || reqs[0].API != "chat.postMessage" {
		t.Errorf("request %s with token %q, want chat.postMessage with the bot token", reqs[0].API, reqs[0].Token)
	}
	// slack-go sends a form; read it as Slack would.
	form, err := url.ParseQuery(string(reqs[0].Body))
	if err != nil {
		t.Fatal(err)
	}
	var md map[string]any
	if err := json.Unmarshal([]byte(form.Get("metadata")), &md); err != nil {
		t.Fatalf("metadata %q: %v", form.Get("metadata"), err)
	}
	want := map[string]any{
		"event_type": "crier_announcement",
		"event_payload": map[string]any{
			"key": m.Key, "announcement": m.Announcement, "revision": float64(1), "town": "soest",
		},
	}
	if diff := cmp.Diff(want, md); diff != "" {
		t.Errorf("metadata (-want +got):\n%s", diff)
	}
}

func TestModeBanner(t *testing.T) {
	tests := []struct {
		mode     crier.Mode
		lang     string
		header   string
		banner   string
		noBanner bool
	}{
		{crier.ModeExercise, "de", "ÜBUNG: Rathaus geschlossen", "ÜBUNG – keine echte Meldung", false},
		{crier.ModeTest, "de", "TEST: Rathaus geschlossen", "TEST – keine echte Meldung", false},
		{crier.ModeExercise, "en", "EXERCISE: Rathaus geschlossen", "EXERCISE – not a real notice", false},
		{crier.ModeActual, "de", "Rathaus geschlossen", "", true},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode)+"-"+tt.lang, func(t *testing.T) {
			e := newEnv(t)
			m := message()
			m.Mode, m.Language = tt.mode, tt.lang
			if _, err := e.bot(t, slack.Options{}).Send(t.Context(), m); err != nil {
				t.Fatalf("Send: %v", err)
			}
			b := blocks(t, e.fake.Messages()[0])
			if b[0].Text.Text != tt.header {
				t.Errorf("header = %q, want %q", b[0].Text.Text, tt.header)
			}
			if tt.noBanner {
				if len(b) != 2 {
					t.Errorf("%d blocks, want header and section only", len(b))
				}
				return
			}
			if len(b) != 3 || b[1].Type != "context" || len(b[1].Elements) != 1 || b[1].Elements[0].Text != tt.banner {
				t.Errorf("blocks %+v, want a context block with %q after the header", b, tt.banner)
			}
			if !strings.HasPrefix(e.fake.Messages()[0].Text, tt.header) {
				t.Errorf("fallback text %q does not start with %q", e.fake.Messages()[0].Text, tt.header)
			}
		})
	}
}

func TestHeaderCut(t *testing.T) {
	e := newEnv(t)
	m := message()
	m.Mode = crier.ModeExercise
	m.Subject = strings.Repeat("Straßensperrung ", 20) // 320 characters
	if ps := e.bot(t, slack.Options{}).Check(t.Context(), m); len(ps) != 0 {
		t.Errorf("Check = %v; a long subject is cut, not refused", ps)
	}
	if _, err := e.bot(t, slack.Options{}).Send(t.Context(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	h := blocks(t, e.fake.Messages()[0])[0].Text.Text
	if n := utf8.RuneCountInString(h); n > 150 || !strings.HasPrefix(h, "ÜBUNG: Straßensperrung") || !strings.HasSuffix(h, "…") {
		t.Errorf("header = %q (%d characters), want at most 150 starting with the tag and ending with …", h, n)
	}
}

func TestLinkNotAtEnd(t *testing.T) {
	e := newEnv(t)
	m := message()
	m.Text = "Das Rathaus ist geschlossen. Details: https://krisen.example/soest/k7q2m4x9p3z8w6v1/details"
	if _, err := e.bot(t, slack.Options{}).Send(t.Context(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	want := m.Text + "\n\n<https://krisen.example/soest/k7q2m4x9p3z8w6v1|Mehr Informationen>"
	if got := blocks(t, e.fake.Messages()[0])[1].Text.Text; got != want {
		t.Errorf("section = %q\nwant %q", got, want)
	}
}

func TestCheck(t *testing.T) {
	e := newEnv(t)
	c := e.bot(t, slack.Options{})
	if ps := c.Check(t.Context(), message()); len(ps) != 0 {
		t.Errorf("Check(valid) = %v, want none", ps)
	}
	// 2 990 characters, but "&" becomes "&amp;" in Slack's markup.
	long := message()
	long.Text = strings.Repeat("a&b ", 700) + strings.Repeat("x", 190)
	long.Link = ""
	ps := c.Check(t.Context(), long)
	if len(ps) != 1 || ps[0].Field != "text" || !strings.Contains(ps[0].Message, "3000") {
		t.Errorf("Check(long) = %v, want one problem with text naming the limit", ps)
	}
	empty := message()
	empty.Subject, empty.Text, empty.Link = "", "", ""
	if ps := c.Check(t.Context(), empty); len(ps) != 1 || ps[0].Field != "text" {
		t.Errorf("Check(empty) = %v, want one problem with text", ps)
	}

	for _, m := range []*crier.Message{long, empty} {
		_, err := c.Send(t.Context(), m)
		channeltest.WantCode(t, err, crier.EPERMANENT)
	}
	w := e.webhook(t, slack.Options{})
	_, err := w.Send(t.Context(), long)
	channeltest.WantCode(t, err, crier.EPERMANENT)
	if n := len(e.fake.Requests()); n != 0 {
		t.Errorf("fake got %d requests, want none for messages that do not fit", n)
	}
	if n := len(e.sleep.Slept()); n != 0 {
		t.Errorf("refused messages waited for their turn %d times", n)
	}
}

func TestPacing(t *testing.T) {
	e := newEnv(t)
	krisenstab := e.bot(t, slack.Options{})
	presse := e.bot(t, slack.Options{Channel: "#presse"})

	send := func(c *slack.Channel, key string) {
		t.Helper()
		m := message()
		m.Key = key
		if _, err := c.Send(t.Context(), m); err != nil {
			t.Fatalf("Send %s: %v", key, err)
		}
	}
	send(krisenstab, "k1")
	send(presse, "p1") // another channel: no wait
	if got := e.sleep.Slept(); len(got) != 0 {
		t.Fatalf("first posts to two channels waited %v, want no wait", got)
	}
	e.clock.Advance(300 * time.Millisecond)
	send(krisenstab, "k2")
	if diff := cmp.Diff([]time.Duration{700 * time.Millisecond}, e.sleep.Slept()); diff != "" {
		t.Errorf("second post within a second: waits (-want +got):\n%s", diff)
	}
	e.clock.Advance(5 * time.Second)
	send(krisenstab, "k3")
	if n := len(e.sleep.Slept()); n != 1 {
		t.Errorf("a post after a pause waited: %v", e.sleep.Slept())
	}
	channeltest.WantAccepted(t, e.fake, "k1", "p1", "k2", "k3")
}

// TestPacingLine lines up posts as concurrent senders would: the sleep
// does not move the clock, so every post asks at the same instant.
func TestPacingLine(t *testing.T) {
	e := newEnv(t)
	var slept []time.Duration
	c := e.bot(t, slack.Options{Sleep: func(_ context.Context, d time.Duration) error {
		slept = append(slept, d)
		return nil
	}})
	for _, k := range []string{"k1", "k2"} {
		m := message()
		m.Key = k
		if _, err := c.Send(t.Context(), m); err != nil {
			t.Fatalf("Send %s: %v", k, err)
		}
	}
	m := message()
	m.Key = "k3"
	_, err := c.Send(t.Context(), m)
	if e := channeltest.WantCode(t, err, crier.ETRANSIENT); e != nil && e.RetryAfter != 2*time.Second {
		t.Errorf("RetryAfter = %v, want 2s: the third post's turn", e.RetryAfter)
	}
	if diff := cmp.Diff([]time.Duration{time.Second}, slept); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
	channeltest.WantAccepted(t, e.fake, "k1", "k2")
}

func TestPacingCanceled(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(t.Context())
	c := e.bot(t, slack.Options{Sleep: func(ctx context.Context, d time.Duration) error {
		cancel()
		return ctx.Err()
	}})
	if _, err := c.Send(ctx, message()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	_, err := c.Send(ctx, message())
	channeltest.WantCode(t, err, crier.ETRANSIENT)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want it to wrap context.Canceled", err)
	}
	if n := len(e.fake.Messages()); n != 1 {
		t.Errorf("fake has %d messages, want 1", n)
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header string
		code   string
		want   time.Duration
	}{
		{"seconds", 429, "30", "", 30 * time.Second},
		{"http date", 429, epoch.Add(90 * time.Second).Format(http.TimeFormat), "", 90 * time.Second},
		{"absent", 429, "", "", 0},
		{"ratelimited in the body", 200, "12", "ratelimited", 12 * time.Second},
		{"rate_limited", 200, "", "rate_limited", 0},
		{"service_unavailable", 200, "", "service_unavailable", 0},
		{"503", 503, "5", "", 5 * time.Second},
		{"500", 500, "", "", 0},
	}
	for _, tt := range tests {
		for _, form := range []string{"bot", "webhook"} {
			if form == "webhook" && tt.code != "" {
				continue // the webhook has no 200 error answers
			}
			t.Run(tt.name+"/"+form, func(t *testing.T) {
				e := newEnv(t)
				h := http.Header{}
				if tt.header != "" {
					h.Set("Retry-After", tt.header)
				}
				e.fake.Respond(tt.status, h, tt.code)
				c := e.bot(t, slack.Options{})
				if form == "webhook" {
					c = e.webhook(t, slack.Options{})
				}
				_, err := c.Send(t.Context(), message())
				if e := channeltest.WantCode(t, err, crier.ETRANSIENT); e != nil && e.RetryAfter != tt.want {
					t.Errorf("RetryAfter = %v, want %v", e.RetryAfter, tt.want)
				}
			})
		}
	}
}

func TestSlackErrors(t *testing.T) {
	tests := []struct {
		code string
		want string
	}{
		{"invalid_auth", crier.EPERMANENT},
		{"not_authed", crier.EPERMANENT},
		{"account_inactive", crier.EPERMANENT},
		{"token_revoked", crier.EPERMANENT},
		{"channel_not_found", crier.EPERMANENT},
		{"not_in_channel", crier.EPERMANENT},
		{"is_archived", crier.EPERMANENT},
		{"msg_too_long", crier.EPERMANENT},
		{"invalid_blocks", crier.EPERMANENT},
		{"some_future_error", crier.EPERMANENT},
		{"request_timeout", crier.ETRANSIENT},
		{"internal_error", crier.EUNKNOWN},
		{"fatal_error", crier.EUNKNOWN},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			e := newEnv(t)
			e.fake.Respond(http.StatusOK, nil, tt.code)
			_, err := e.bot(t, slack.Options{}).Send(t.Context(), message())
			got := channeltest.WantCode(t, err, tt.want)
			if got != nil && got.Code == crier.EUNKNOWN && got.Retryable {
				t.Error("Retryable = true, want false: Slack does not deduplicate posts")
			}
			if err != nil && !strings.Contains(err.Error(), tt.code) {
				t.Errorf("error %q does not name Slack's code %s", err, tt.code)
			}
		})
	}
}

// TestAnswerWithoutTimestamp: {"ok":false} without an error code, which
// slack-go passes as success, says nothing about the post.
func TestAnswerWithoutTimestamp(t *testing.T) {
	e := newEnv(t)
	e.fake.Respond(http.StatusOK, nil, "")
	_, err := e.bot(t, slack.Options{}).Send(t.Context(), message())
	if e := channeltest.WantCode(t, err, crier.EUNKNOWN); e != nil && e.Retryable {
		t.Error("Retryable = true, want false")
	}
}

// TestRefusedForReal lets the fake refuse on its own account: a token it
// does not know, and a channel that does not exist.
func TestRefusedForReal(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name string
		o    slack.Options
		code string
	}{
		{"wrong token", slack.Options{Token: "xoxb-0000-0000-wr0ngT0k3n"}, "invalid_auth"},
		{"unknown channel", slack.Options{Channel: "#gibtsnicht"}, "channel_not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.bot(t, tt.o).Send(t.Context(), message())
			channeltest.WantCode(t, err, crier.EPERMANENT)
			if err == nil {
				return
			}
			if !strings.Contains(err.Error(), tt.code) {
				t.Errorf("error %q does not name %s", err, tt.code)
			}
			for _, secret := range []string{token, tt.o.Token, "T0k3n"} {
				if secret != "" && strings.Contains(err.Error(), secret) {
					t.Errorf("error %q contains the token", err)
				}
			}
		})
	}
	if n := len(e.fake.Messages()); n != 0 {
		t.Errorf("fake has %d messages, want none", n)
	}
}

func TestHTTPRefusals(t *testing.T) {
	tests := []struct {
		status int
		header http.Header
		want   string
	}{
		{404, nil, crier.EPERMANENT},
		{403, nil, crier.EPERMANENT},
		{302, http.Header{"Location": {"https://elsewhere.example/"}}, crier.EPERMANENT},
		{502, nil, crier.ETRANSIENT},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			e := newEnv(t)
			e.fake.Respond(tt.status, tt.header, "")
			_, err := e.bot(t, slack.Options{}).Send(t.Context(), message())
			channeltest.WantCode(t, err, tt.want)
		})
	}
}

func TestWebhookRefusals(t *testing.T) {
	tests := []struct {
		name   string
		status int
		code   string
	}{
		{"invalid_payload", 400, "invalid_payload"},
		{"channel_not_found", 200, "channel_not_found"}, // the fake answers 404
		{"channel_is_archived", 200, "channel_is_archived"},
		{"action_prohibited", 403, "action_prohibited"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.fake.Respond(tt.status, nil, tt.code)
			_, err := e.webhook(t, slack.Options{}).Send(t.Context(), message())
			channeltest.WantCode(t, err, crier.EPERMANENT)
			if err != nil && !strings.Contains(err.Error(), tt.code) {
				t.Errorf("error %q does not name %s", err, tt.code)
			}
		})
	}
	t.Run("no_service", func(t *testing.T) {
		e := newEnv(t)
		removed := strings.TrimSuffix(e.fake.WebhookURL(), "/") + "x"
		_, err := e.webhook(t, slack.Options{WebhookURL: removed}).Send(t.Context(), message())
		channeltest.WantCode(t, err, crier.EPERMANENT)
		if err != nil && (!strings.Contains(err.Error(), "no_service") || strings.Contains(err.Error(), "/services/")) {
			t.Errorf("error %q: want it to name no_service and not the webhook URL", err)
		}
	})
}

func TestAmbiguous(t *testing.T) {
	for _, form := range []string{"bot", "webhook"} {
		t.Run(form, func(t *testing.T) {
			e := newEnv(t)
			c := e.bot(t, slack.Options{Timeout: 150 * time.Millisecond})
			if form == "webhook" {
				c = e.webhook(t, slack.Options{Timeout: 150 * time.Millisecond})
			}
			e.fake.Hang()
			start := time.Now()
			_, err := c.Send(context.Background(), message())
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("Send took %v with a 150ms timeout", took)
			}
			if e := channeltest.WantCode(t, err, crier.EUNKNOWN); e != nil && e.Retryable {
				t.Error("Retryable = true, want false")
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err = %v, want it to wrap context.DeadlineExceeded", err)
			}
			if err != nil && strings.Contains(err.Error(), "/services/") {
				t.Errorf("error %q contains the webhook URL", err)
			}
		})
	}
}

func TestConnectionRefused(t *testing.T) {
	// The fake starts first: a server started after the port is freed
	// could be given that very port.
	e := newEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	for _, c := range []*slack.Channel{
		e.bot(t, slack.Options{APIURL: "http://" + addr + "/api/"}),
		e.webhook(t, slack.Options{WebhookURL: "http://" + addr + "/services/T0/B0/hunter2"}),
	} {
		_, err := c.Send(t.Context(), message())
		channeltest.WantCode(t, err, crier.ETRANSIENT)
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error %q contains the webhook URL", err)
		}
	}
}

func TestEditDeleteReply(t *testing.T) {
	e := newEnv(t)
	c := e.bot(t, slack.Options{})
	rc, err := c.Send(t.Context(), message())
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	id, _ := e.fake.ChannelID("#krisenstab")
	orig := e.fake.Messages()[0]
	if want := id + "/" + orig.TS; rc.RemoteID != want || rc.Endpoint != "slack #krisenstab" {
		t.Fatalf("receipt %+v, want RemoteID %q and endpoint %q", rc, want, "slack #krisenstab")
	}

	upd := message()
	upd.Revision, upd.Key = 2, "k7q2m4x9p3z8w6v1.2.soest.krisenstab"
	upd.Subject = "Rathaus wieder geöffnet"
	upd.Text = "Das Rathaus ist ab 12 Uhr wieder geöffnet.\n\n" + upd.Link
	erc, err := c.Edit(t.Context(), rc.RemoteID, upd)
	if err != nil {
		t.Fatalf("Edit: %v", err)
	}
	if erc.RemoteID != rc.RemoteID {
		t.Errorf("Edit: RemoteID %q, want %q", erc.RemoteID, rc.RemoteID)
	}
	got := e.fake.Messages()[0]
	if want := "Rathaus wieder geöffnet\n\nDas Rathaus ist ab 12 Uhr wieder geöffnet.\n\n" + upd.Link; got.Text != want || len(got.Edits) != 1 {
		t.Errorf("after Edit: text %q with %d edits, want %q with 1", got.Text, len(got.Edits), want)
	}
	if h := blocks(t, got)[0].Text.Text; h != upd.Subject {
		t.Errorf("after Edit: header %q, want %q", h, upd.Subject)
	}

	rrc, err := c.Reply(t.Context(), rc.RemoteID, upd)
	if err != nil {
		t.Fatalf("Reply: %v", err)
	}
	msgs := e.fake.Messages()
	if len(msgs) != 2 || msgs[1].ThreadTS != orig.TS || msgs[1].Channel != id {
		t.Fatalf("after Reply: messages %+v, want a second one in the thread of %s", msgs, orig.TS)
	}
	if rrc.RemoteID != id+"/"+msgs[1].TS {
		t.Errorf("Reply: RemoteID %q, want %q", rrc.RemoteID, id+"/"+msgs[1].TS)
	}

	for i := range 2 {
		if err := c.Delete(t.Context(), rc.RemoteID); err != nil {
			t.Fatalf("Delete #%d: %v", i+1, err)
		}
	}
	if !e.fake.Messages()[0].Deleted {
		t.Error("after Delete: the message is not deleted")
	}
	_, err = c.Edit(t.Context(), rc.RemoteID, upd)
	channeltest.WantCode(t, err, crier.EPERMANENT)
	if err != nil && !strings.Contains(err.Error(), "message_not_found") {
		t.Errorf("Edit of a deleted message: %v, want message_not_found", err)
	}
	channeltest.WantAccepted(t, e.fake, message().Key, upd.Key)
}

func TestReplyToDeleted(t *testing.T) {
	e := newEnv(t)
	var logs bytes.Buffer
	var mu sync.Mutex
	c := e.bot(t, slack.Options{Logger: slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))})
	rc, err := c.Send(t.Context(), message())
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if err := c.Delete(t.Context(), rc.RemoteID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := c.Reply(t.Context(), rc.RemoteID, message()); err != nil {
		t.Fatalf("Reply: %v", err)
	}
	if ts := e.fake.Messages()[1].ThreadTS; ts != "" {
		t.Errorf("reply to a deleted message has thread_ts %q, want none", ts)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "outside the thread") {
		t.Errorf("no warning about the reply outside the thread:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), token) {
		t.Error("the log contains the token")
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestEditAmbiguousIsRetryable(t *testing.T) {
	e := newEnv(t)
	c := e.bot(t, slack.Options{})
	rc, err := c.Send(t.Context(), message())
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	e.fake.Drop()
	_, err = c.Edit(t.Context(), rc.RemoteID, message())
	if e := channeltest.WantCode(t, err, crier.EUNKNOWN); e != nil && !e.Retryable {
		t.Error("Edit: Retryable = false, want true: a repeated update changes nothing")
	}
	err = c.Delete(t.Context(), rc.RemoteID)
	if e := channeltest.WantCode(t, err, crier.EUNKNOWN); e != nil && !e.Retryable {
		t.Error("Delete: Retryable = false, want true: deleting twice succeeds")
	}
	_, err = c.Reply(t.Context(), rc.RemoteID, message())
	if e := channeltest.WantCode(t, err, crier.EUNKNOWN); e != nil && e.Retryable {
		t.Error("Reply: Retryable = true, want false: a reply is a new post")
	}
}

func TestWebhookCannotChange(t *testing.T) {
	e := newEnv(t)
	c := e.webhook(t, slack.Options{})
	rc, err := c.Send(t.Context(), message())
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if rc.RemoteID != "" || rc.Endpoint != "slack webhook" {
		t.Errorf("receipt %+v, want no RemoteID and endpoint %q", rc, "slack webhook")
	}
	const id = "C0CRIER0001/1698645600.000001"
	_, err = c.Edit(t.Context(), id, message())
	channeltest.WantCode(t, err, crier.EPERMANENT)
	channeltest.WantCode(t, c.Delete(t.Context(), id), crier.EPERMANENT)
	_, err = c.Reply(t.Context(), id, message())
	channeltest.WantCode(t, err, crier.EPERMANENT)
	if err != nil && !strings.Contains(err.Error(), "not possible with an incoming webhook") {
		t.Errorf("error %q does not say why", err)
	}
	if n := len(e.fake.Requests()); n != 1 {
		t.Errorf("fake got %d requests, want only the post", n)
	}
}

func TestMalformedRemoteID(t *testing.T) {
	e := newEnv(t)
	c := e.bot(t, slack.Options{})
	for _, id := range []string{"", "1698645600.000001", "C0CRIER0001/", "/1698645600.000001", "C1/2/3"} {
		_, err := c.Edit(t.Context(), id, message())
		channeltest.WantCode(t, err, crier.EPERMANENT)
		channeltest.WantCode(t, c.Delete(t.Context(), id), crier.EPERMANENT)
		_, err = c.Reply(t.Context(), id, message())
		channeltest.WantCode(t, err, crier.EPERMANENT)
	}
	if n := len(e.fake.Requests()); n != 0 {
		t.Errorf("fake got %d requests, want none", n)
	}
}

func TestCanceledBeforeChange(t *testing.T) {
	e := newEnv(t)
	c := e.bot(t, slack.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	const id = "C0CRIER0001/1698645600.000001"
	_, err := c.Edit(ctx, id, message())
	channeltest.WantCode(t, err, crier.ETRANSIENT)
	channeltest.WantCode(t, c.Delete(ctx, id), crier.ETRANSIENT)
	_, err = c.Reply(ctx, id, message())
	channeltest.WantCode(t, err, crier.ETRANSIENT)
}

func TestNew(t *testing.T) {
	const hook = "https://hooks.slack.com/services/T0/B0/hunter2"
	tests := []struct {
		name    string
		o       slack.Options
		wantErr string
	}{
		{"bot", slack.Options{Token: token, Channel: "#krisenstab"}, ""},
		{"bot with api url", slack.Options{Token: token, Channel: "C0123ABCDEF", APIURL: "https://slack.example/api"}, ""},
		{"webhook", slack.Options{WebhookURL: hook}, ""},
		{"loopback webhook", slack.Options{WebhookURL: "http://127.0.0.1:8080/services/T0/B0/hunter2"}, ""},
		{"nothing", slack.Options{}, "set token and channel"},
		{"both", slack.Options{Token: token, Channel: "#k", WebhookURL: hook}, "not both"},
		{"no token", slack.Options{Channel: "#k"}, "token is missing"},
		{"no channel", slack.Options{Token: token}, "channel is missing"},
		{"api url with webhook", slack.Options{WebhookURL: hook, APIURL: "https://slack.example/api/"}, "api url"},
		{"http webhook", slack.Options{WebhookURL: "http://hooks.slack.com/services/T0/B0/hunter2"}, "https"},
		{"relative webhook", slack.Options{WebhookURL: "/services/T0/B0/hunter2"}, "absolute"},
		{"malformed webhook", slack.Options{WebhookURL: "https://hooks slack/%zz/hunter2"}, "malformed"},
		{"http api url", slack.Options{Token: token, Channel: "#k", APIURL: "http://slack.example/api/"}, "https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := slack.New(tt.o)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				c.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New: err = %v, want one containing %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), token) {
				t.Errorf("error %q repeats a secret", err)
			}
		})
	}
}

// TestTextLimit: the limit a channel gives the renderer counts as Check
// does, escaping and the closing link included, without the subject the
// header shows: a text at the limit passes, one character more does not.
func TestTextLimit(t *testing.T) {
	lim := slack.TextLimit()
	if lim.Max != 3000 {
		t.Fatalf("Max %d, want 3000", lim.Max)
	}
	m := message()
	m.Subject = "Bürgerbüro geschlossen"
	m.Link = "https://krisen.example/soest/k7q2m4x9p3z8w6v1"
	// The section: the text without its first paragraph (the subject),
	// "&" as "&amp;", and the link as <link|Mehr Informationen>.
	section := func(body string) string { return m.Subject + "\n\n" + body + "\n\n" + m.Link }
	link := len("<https://krisen.example/soest/k7q2m4x9p3z8w6v1|Mehr Informationen>")
	// "a&b " escaped is 8 characters; 100 of them trimmed are 799.
	m.Text = section(strings.TrimSpace(strings.Repeat("a&b ", 100)) + " " + strings.Repeat("ü", 3000-link-2-799-1))
	if n := lim.Length(m); n != 3000 {
		t.Errorf("Length %d, want 3000", n)
	}
	if ps := slack.CheckMessage(m); len(ps) != 0 || !lim.Fits(m) {
		t.Errorf("CheckMessage = %v for a text at the limit, want none", ps)
	}
	m.Text = strings.Replace(m.Text, "ü", "üü", 1)
	if ps := slack.CheckMessage(m); len(ps) != 1 || lim.Fits(m) {
		t.Errorf("CheckMessage = %v and Fits %v one over the limit, want a problem and false", ps, lim.Fits(m))
	}
}
