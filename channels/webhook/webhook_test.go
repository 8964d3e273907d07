package webhook_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/channeltest"
	"github.com/crierhq/crier/channels/webhook"
	"github.com/crierhq/crier/channels/webhook/webhooktest"
)

const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

var epoch = time.Date(2023, 10, 30, 6, 0, 0, 0, time.UTC)

// newReceiver starts a receiver that verifies with secret against clock.
// At the end of the test it fails t unless every request was a verified
// POST with a JSON body.
func newReceiver(t *testing.T, secret string, clock crier.Clock) *webhooktest.Receiver {
	t.Helper()
	r := webhooktest.NewReceiver(t, secret, clock)
	t.Cleanup(func() {
		for i, q := range r.Requests() {
			if q.Method != http.MethodPost {
				t.Errorf("request %d: method = %s, want POST", i, q.Method)
			}
			if !q.Verified {
				t.Errorf("request %d: receiver: verify: %v", i, q.VerifyErr)
			}
			if !json.Valid(q.Body) {
				t.Errorf("request %d: body is not JSON: %q", i, q.Body)
			}
		}
	})
	return r
}

func message() *crier.Message {
	return &crier.Message{
		Announcement: "k7q2m4x9p3z8w6v1",
		Revision:     1,
		Town:         "soest",
		Channel:      "radio",
		Type:         "webhook",
		Event:        crier.EventPublished,
		Mode:         crier.ModeActual,
		Payload:      []byte(`{"type":"announcement.published","data":{"title":"Rathaus geschlossen"}}`),
		Key:          "k7q2m4x9p3z8w6v1.1.soest.radio",
	}
}

// mustNew returns a channel with the test secret unless o has one.
func mustNew(t *testing.T, o webhook.Options) *webhook.Channel {
	t.Helper()
	if o.Secret == "" {
		o.Secret = testSecret
	}
	if o.Clock == nil {
		o.Clock = channeltest.NewClock(epoch)
	}
	c, err := webhook.New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestConformance(t *testing.T) {
	channeltest.Run(t, channeltest.Harness{
		New: func(t *testing.T) (crier.Channel, channeltest.Remote) {
			clock := channeltest.NewClock(epoch)
			r := newReceiver(t, testSecret, clock)
			return mustNew(t, webhook.Options{URL: r.URL() + "/hooks/crier", Clock: clock}), r
		},
		Message:      message,
		Deduplicates: true,
		RateLimits:   true,
	})
}

func TestSendHeadersAndBody(t *testing.T) {
	clock := channeltest.NewClock(epoch)
	r := newReceiver(t, testSecret, clock)
	c := mustNew(t, webhook.Options{URL: r.URL(), Clock: clock, Name: "radio"})
	m := message()
	rc, err := c.Send(t.Context(), m)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if diff := cmp.Diff(&crier.Receipt{RemoteID: m.Key, Endpoint: "radio"}, rc); diff != "" {
		t.Errorf("receipt (-want +got):\n%s", diff)
	}
	reqs := r.Requests()
	if len(reqs) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(reqs))
	}
	got := reqs[0]
	if !bytes.Equal(got.Body, m.Payload) {
		t.Errorf("body = %s, want the payload verbatim: %s", got.Body, m.Payload)
	}
	if got.ID != m.Key || got.Timestamp != strconv.FormatInt(epoch.Unix(), 10) {
		t.Errorf("receiver read id %q, timestamp %q; want %q, %d", got.ID, got.Timestamp, m.Key, epoch.Unix())
	}
	want := map[string]string{
		"Content-Type":      "application/json",
		"User-Agent":        "crier",
		"Webhook-Id":        m.Key,
		"Webhook-Timestamp": strconv.FormatInt(epoch.Unix(), 10),
	}
	for k, v := range want {
		if g := got.Header.Get(k); g != v {
			t.Errorf("header %s = %q, want %q", k, g, v)
		}
	}
}

// TestSignatureVector checks the signature against the Standard Webhooks
// specification's published test vector, end to end through a send.
func TestSignatureVector(t *testing.T) {
	clock := channeltest.NewClock(time.Unix(1614265330, 0))
	r := newReceiver(t, testSecret, clock)
	c := mustNew(t, webhook.Options{URL: r.URL(), Clock: clock})
	m := message()
	m.Key = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	m.Payload = []byte(`{"test": 2432232314}`)
	if _, err := c.Send(t.Context(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	const want = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	if got := r.Requests()[0].Header.Get("webhook-signature"); got != want {
		t.Errorf("webhook-signature = %q, want %q", got, want)
	}
}

// TestSignatureIndependent recomputes the signature of a generated body
// with crypto/hmac, independently of the code under test.
func TestSignatureIndependent(t *testing.T) {
	clock := channeltest.NewClock(epoch)
	key := []byte("a shared key for the county radio station")
	secret := "whsec_" + base64.StdEncoding.EncodeToString(key)
	r := newReceiver(t, secret, clock)
	c := mustNew(t, webhook.Options{URL: r.URL(), Clock: clock, Secret: secret})
	m := message()
	m.Payload = nil
	if _, err := c.Send(t.Context(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := r.Requests()[0]
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(m.Key + "." + strconv.FormatInt(epoch.Unix(), 10) + "."))
	mac.Write(got.Body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if s := got.Header.Get("webhook-signature"); s != want {
		t.Errorf("webhook-signature = %q, want %q", s, want)
	}
}

func TestDefaultBody(t *testing.T) {
	clock := channeltest.NewClock(epoch.Add(1500 * time.Millisecond))
	r := newReceiver(t, testSecret, clock)
	c := mustNew(t, webhook.Options{URL: r.URL(), Clock: clock})
	m := message()
	m.Payload = nil
	m.Event = ""
	m.Subject = "Rathaus geschlossen"
	m.Text = "Das Rathaus ist heute geschlossen. Tel. 02921 103-0"
	m.Link = "https://krisen.example/soest/k7q2m4x9p3z8w6v1"
	m.Language = "de"
	m.Expires = epoch.Add(48 * time.Hour)
	if _, err := c.Send(t.Context(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	var got map[string]any
	if err := json.Unmarshal(r.Requests()[0].Body, &got); err != nil {
		t.Fatalf("body: %v", err)
	}
	want := map[string]any{
		"type":      "announcement.published",
		"timestamp": "2023-10-30T06:00:01Z",
		"data": map[string]any{
			"announcement": "k7q2m4x9p3z8w6v1",
			"revision":     float64(1),
			"town":         "soest",
			"channel":      "radio",
			"mode":         "actual",
			"language":     "de",
			"subject":      "Rathaus geschlossen",
			"text":         "Das Rathaus ist heute geschlossen. Tel. 02921 103-0",
			"link":         "https://krisen.example/soest/k7q2m4x9p3z8w6v1",
			"expires":      "2023-11-01T06:00:00Z",
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}

// TestGone: a 410 answer is a permanent refusal marked crier.Gone, so
// that the chain of endpoints stops sending to this address; the channel
// itself keeps no state about it and sends again when asked (after a
// person has cleared the endpoint).
func TestGone(t *testing.T) {
	clock := channeltest.NewClock(epoch)
	r := newReceiver(t, testSecret, clock)
	r.RespondBody(http.StatusGone, nil, "endpoint deleted")
	c := mustNew(t, webhook.Options{URL: r.URL(), Clock: clock})

	_, err := c.Send(t.Context(), message())
	channeltest.WantCode(t, err, crier.EPERMANENT)
	if !crier.IsGone(err) {
		t.Fatalf("err = %v, want it marked gone", err)
	}
	r.Accept()
	if _, err := c.Send(t.Context(), message()); err != nil {
		t.Errorf("send after the receiver is back: %v", err)
	}
	if n := len(r.Requests()); n != 2 {
		t.Errorf("receiver got %d requests, want 2", n)
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header string
		want   time.Duration
	}{
		{"seconds", 429, "120", 120 * time.Second},
		{"http date", 503, epoch.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{"date in the past", 503, epoch.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"absent", 503, "", 0},
		{"malformed", 429, "soon", 0},
		{"absurd", 429, "99999999999", 24 * time.Hour},
		{"request timeout", 408, "7", 7 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := channeltest.NewClock(epoch)
			r := newReceiver(t, testSecret, clock)
			h := http.Header{}
			if tt.header != "" {
				h.Set("Retry-After", tt.header)
			}
			r.Respond(tt.status, h)
			c := mustNew(t, webhook.Options{URL: r.URL(), Clock: clock})
			_, err := c.Send(t.Context(), message())
			if e := channeltest.WantCode(t, err, crier.ETRANSIENT); e != nil && e.RetryAfter != tt.want {
				t.Errorf("RetryAfter = %v, want %v", e.RetryAfter, tt.want)
			}
		})
	}
}

func TestRefusal(t *testing.T) {
	clock := channeltest.NewClock(epoch)
	r := newReceiver(t, testSecret, clock)
	r.RespondBody(http.StatusBadRequest, nil, "payload rejected:\n\tfield title missing "+strings.Repeat("x", 10_000))
	c := mustNew(t, webhook.Options{URL: r.URL(), Clock: clock})
	_, err := c.Send(t.Context(), message())
	channeltest.WantCode(t, err, crier.EPERMANENT)
	msg := err.Error()
	if !strings.Contains(msg, "400 Bad Request") || !strings.Contains(msg, "payload rejected: field title missing xxx") {
		t.Errorf("error %q does not name the status and the start of the answer", msg)
	}
	if len(msg) > 700 {
		t.Errorf("error is %d bytes long; the excerpt of the answer must be bounded", len(msg))
	}
}

// TestConnectionReuse checks that answers with bodies are drained, so that
// consecutive sends share one connection.
func TestConnectionReuse(t *testing.T) {
	clock := channeltest.NewClock(epoch)
	r := newReceiver(t, testSecret, clock)
	r.RespondBody(http.StatusUnprocessableEntity, nil, strings.Repeat("refused ", 1000))
	c := mustNew(t, webhook.Options{URL: r.URL(), Clock: clock})
	for range 3 {
		_, err := c.Send(t.Context(), message())
		channeltest.WantCode(t, err, crier.EPERMANENT)
	}
	if conns := r.Conns(); conns != 1 {
		t.Errorf("three sends opened %d connections, want 1", conns)
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	clock := channeltest.NewClock(epoch)
	target := newReceiver(t, testSecret, clock)
	srv := httptest.NewServer(http.RedirectHandler(target.URL(), http.StatusTemporaryRedirect))
	t.Cleanup(srv.Close)
	// Even a client that follows redirects must not follow them here.
	c := mustNew(t, webhook.Options{URL: srv.URL, Clock: clock, Client: &http.Client{}})
	_, err := c.Send(t.Context(), message())
	channeltest.WantCode(t, err, crier.EPERMANENT)
	if n := len(target.Requests()); n != 0 {
		t.Errorf("the redirect target got %d requests, want 0", n)
	}
}

func TestConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := mustNew(t, webhook.Options{URL: "http://" + addr + "/hooks?token=s3cr3t-in-url"})
	_, err = c.Send(t.Context(), message())
	channeltest.WantCode(t, err, crier.ETRANSIENT)
	if err != nil && strings.Contains(err.Error(), "s3cr3t-in-url") {
		t.Errorf("error %q contains the URL's token", err)
	}
}

// TestTLSHandshakeHangs checks a timeout before the request was written:
// the server accepts connections but never completes a TLS handshake.
func TestTLSHandshakeHangs(t *testing.T) {
	addr := channeltest.Blackhole(t)
	c := mustNew(t, webhook.Options{URL: "https://" + addr})
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err := c.Send(ctx, message())
	channeltest.WantCode(t, err, crier.ETRANSIENT)
}

// TestTimeoutOption checks that Options.Timeout bounds a send whose
// context has no deadline; the request was written, so the outcome is
// unknown but retryable.
func TestTimeoutOption(t *testing.T) {
	clock := channeltest.NewClock(epoch)
	r := newReceiver(t, testSecret, clock)
	r.Hang()
	c := mustNew(t, webhook.Options{URL: r.URL(), Clock: clock, Timeout: 150 * time.Millisecond})
	start := time.Now()
	_, err := c.Send(context.Background(), message())
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Send took %v with a 150ms timeout", took)
	}
	if e := channeltest.WantCode(t, err, crier.EUNKNOWN); e != nil && !e.Retryable {
		t.Error("Retryable = false, want true: receivers deduplicate on webhook-id")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want it to wrap context.DeadlineExceeded", err)
	}
}

func TestBadKey(t *testing.T) {
	clock := channeltest.NewClock(epoch)
	r := newReceiver(t, testSecret, clock)
	c := mustNew(t, webhook.Options{URL: r.URL(), Clock: clock})
	for _, key := range []string{"", "a\r\nInjected: yes"} {
		m := message()
		m.Key = key
		_, err := c.Send(t.Context(), m)
		channeltest.WantCode(t, err, crier.EPERMANENT)
	}
	if n := len(r.Requests()); n != 0 {
		t.Errorf("receiver got %d requests, want 0", n)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		o       webhook.Options
		wantErr string
	}{
		{"ok", webhook.Options{URL: "https://radio.example/hooks", Secret: testSecret}, ""},
		{"unpadded secret", webhook.Options{URL: "https://radio.example/hooks", Secret: "whsec_" + base64.RawStdEncoding.EncodeToString([]byte("abcd"))}, ""},
		{"no url", webhook.Options{Secret: testSecret}, "url is missing"},
		{"relative url", webhook.Options{URL: "/hooks", Secret: testSecret}, "scheme"},
		{"ftp url", webhook.Options{URL: "ftp://radio.example/", Secret: testSecret}, "scheme"},
		{"no host", webhook.Options{URL: "https:///hooks", Secret: testSecret}, "no host"},
		{"bad url", webhook.Options{URL: "https://radio example/%zz", Secret: testSecret}, "malformed"},
		{"no secret", webhook.Options{URL: "https://radio.example/"}, "secret is missing"},
		{"no prefix", webhook.Options{URL: "https://radio.example/", Secret: "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, "whsec_"},
		{"not base64", webhook.Options{URL: "https://radio.example/", Secret: "whsec_not base64!"}, "base64"},
		{"empty key", webhook.Options{URL: "https://radio.example/", Secret: "whsec_"}, "empty"},
		{"probe url", webhook.Options{URL: "https://radio.example/hooks", ProbeURL: "https://radio.example/health", Secret: testSecret}, ""},
		{"relative probe url", webhook.Options{URL: "https://radio.example/", ProbeURL: "/health", Secret: testSecret}, "probe url scheme"},
		{"ftp probe url", webhook.Options{URL: "https://radio.example/", ProbeURL: "ftp://radio.example/", Secret: testSecret}, "probe url scheme"},
		{"probe url without host", webhook.Options{URL: "https://radio.example/", ProbeURL: "http:///health", Secret: testSecret}, "probe url has no host"},
		{"bad probe url", webhook.Options{URL: "https://radio.example/", ProbeURL: "https://radio example/?token=not base64!", Secret: testSecret}, "probe url is malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := webhook.New(tt.o)
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
			if strings.Contains(err.Error(), "not base64!") {
				t.Errorf("error %q repeats the secret", err)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	c := mustNew(t, webhook.Options{URL: "https://radio.example/"})
	m := message()
	if ps := c.Check(t.Context(), m); len(ps) != 0 {
		t.Errorf("Check(valid payload) = %v, want none", ps)
	}
	m.Payload = []byte(`{"type":`)
	if ps := c.Check(t.Context(), m); len(ps) != 1 {
		t.Errorf("Check(truncated payload) = %v, want one problem", ps)
	}
}
