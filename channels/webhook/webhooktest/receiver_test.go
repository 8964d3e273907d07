package webhooktest_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crierhq/crier/channels/channeltest"
	"github.com/crierhq/crier/channels/webhook"
	"github.com/crierhq/crier/channels/webhook/webhooktest"
)

var epoch = time.Date(2023, 10, 30, 6, 0, 0, 0, time.UTC)

// released bounds how long a client may wait for a hang to end after the
// receiver has shut down; reaching it fails the test.
const released = 10 * time.Second

// signed returns a request for url with id and body, signed with secret
// at ts, computed here independently of package webhook.
func signed(t *testing.T, ctx context.Context, url, secret, id string, ts time.Time, body string) *http.Request {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	stamp := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, key)
	io.WriteString(mac, id+"."+stamp+"."+body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhook.HeaderID, id)
	req.Header.Set(webhook.HeaderTimestamp, stamp)
	req.Header.Set(webhook.HeaderSignature, "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	return req
}

// post sends req and returns the status and body of the answer.
func post(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	return resp, string(b)
}

func TestNewSecret(t *testing.T) {
	a, b := webhooktest.NewSecret(t), webhooktest.NewSecret(t)
	if a == b {
		t.Errorf("two secrets are both %q", a)
	}
	enc, ok := strings.CutPrefix(a, "whsec_")
	key, err := base64.StdEncoding.DecodeString(enc)
	if !ok || err != nil || len(key) != 32 {
		t.Errorf("secret %q is not whsec_ and the base64 of 32 bytes (%v)", a, err)
	}
	if _, err := webhook.New(webhook.Options{URL: "https://radio.example/", Secret: a}); err != nil {
		t.Errorf("webhook.New refuses the secret: %v", err)
	}
}

func TestAcceptDeduplicates(t *testing.T) {
	secret := webhooktest.NewSecret(t)
	r := webhooktest.NewReceiver(t, secret, channeltest.NewClock(epoch))
	var mu sync.Mutex
	var hooked []string
	r.OnAccept(func(q *webhooktest.Request) {
		mu.Lock()
		defer mu.Unlock()
		hooked = append(hooked, q.ID)
	})
	for _, id := range []string{"m1", "m2", "m1"} {
		resp, _ := post(t, signed(t, t.Context(), r.URL()+"/hooks", secret, id, epoch, `{"n":1}`))
		if resp.StatusCode != http.StatusNoContent {
			t.Errorf("%s: status %d, want 204 (a repeat is acknowledged too)", id, resp.StatusCode)
		}
	}
	if diff := cmp.Diff([]string{"m1", "m2"}, r.Accepted()); diff != "" {
		t.Errorf("Accepted (-want +got):\n%s", diff)
	}
	mu.Lock()
	if diff := cmp.Diff([]string{"m1", "m2"}, hooked); diff != "" {
		t.Errorf("OnAccept calls (-want +got):\n%s", diff)
	}
	mu.Unlock()
	reqs := r.Requests()
	if len(reqs) != 3 {
		t.Fatalf("got %d requests, want 3", len(reqs))
	}
	for i, q := range reqs {
		if !q.Verified || q.VerifyErr != nil {
			t.Errorf("request %d: Verified = %v (%v), want true", i, q.Verified, q.VerifyErr)
		}
		if q.Method != http.MethodPost || q.Path != "/hooks" || q.Timestamp != strconv.FormatInt(epoch.Unix(), 10) {
			t.Errorf("request %d: %s %s at %s, want POST /hooks at %d", i, q.Method, q.Path, q.Timestamp, epoch.Unix())
		}
		if diff := cmp.Diff(map[string]any{"n": float64(1)}, q.Payload); diff != "" {
			t.Errorf("request %d: payload (-want +got):\n%s", i, diff)
		}
		if want := i == 2; q.Duplicate != want {
			t.Errorf("request %d: Duplicate = %v, want %v", i, q.Duplicate, want)
		}
	}
}

func TestSignatureFailure(t *testing.T) {
	secret := webhooktest.NewSecret(t)
	clock := channeltest.NewClock(epoch)
	r := webhooktest.NewReceiver(t, secret, clock)
	tests := []struct {
		name string
		req  *http.Request
		want error
	}{
		{"other secret", signed(t, t.Context(), r.URL(), webhooktest.NewSecret(t), "m1", epoch, `{}`), webhook.ErrSignature},
		{"too old", signed(t, t.Context(), r.URL(), secret, "m2", epoch.Add(-webhooktest.Tolerance-time.Second), `{}`), webhook.ErrTimestamp},
	}
	for _, tt := range tests {
		resp, _ := post(t, tt.req)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", tt.name, resp.StatusCode)
		}
	}
	reqs := r.Requests()
	if len(reqs) != len(tests) {
		t.Fatalf("got %d requests, want %d: unverified requests are recorded", len(reqs), len(tests))
	}
	for i, tt := range tests {
		if reqs[i].Verified || !errors.Is(reqs[i].VerifyErr, tt.want) {
			t.Errorf("%s: Verified = %v, VerifyErr = %v; want false, %v", tt.name, reqs[i].Verified, reqs[i].VerifyErr, tt.want)
		}
	}
	if got := r.Accepted(); len(got) != 0 {
		t.Errorf("Accepted = %q, want none", got)
	}
}

func TestRespond(t *testing.T) {
	secret := webhooktest.NewSecret(t)
	r := webhooktest.NewReceiver(t, secret, channeltest.NewClock(epoch))
	r.Respond(http.StatusTooManyRequests, http.Header{"Retry-After": {"120"}})
	resp, _ := post(t, signed(t, t.Context(), r.URL(), secret, "m1", epoch, `{}`))
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "120" {
		t.Errorf("answer %d with Retry-After %q, want 429 with 120", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	r.RespondBody(http.StatusGone, nil, "endpoint deleted")
	resp, body := post(t, signed(t, t.Context(), r.URL(), secret, "m1", epoch, `{}`))
	if resp.StatusCode != http.StatusGone || body != "endpoint deleted" {
		t.Errorf("answer %d %q, want 410 %q", resp.StatusCode, body, "endpoint deleted")
	}
	if got := r.Accepted(); len(got) != 0 {
		t.Errorf("Accepted = %q after refusals, want none", got)
	}
	r.Respond(http.StatusOK, nil)
	if resp, _ := post(t, signed(t, t.Context(), r.URL(), secret, "m1", epoch, `{}`)); resp.StatusCode != http.StatusOK {
		t.Errorf("answer %d, want 200", resp.StatusCode)
	}
	if diff := cmp.Diff([]string{"m1"}, r.Accepted()); diff != "" {
		t.Errorf("Accepted (-want +got):\n%s", diff)
	}
}

func TestSet(t *testing.T) {
	tests := []struct {
		b          channeltest.Behavior
		status     int
		retryAfter string
	}{
		{channeltest.Behavior{Kind: channeltest.Reject}, 422, ""},
		{channeltest.Behavior{Kind: channeltest.Unavailable}, 503, ""},
		{channeltest.Behavior{Kind: channeltest.RateLimited, RetryAfter: 37 * time.Second}, 429, "37"},
		{channeltest.Behavior{Kind: channeltest.Accept}, 204, ""},
	}
	secret := webhooktest.NewSecret(t)
	r := webhooktest.NewReceiver(t, secret, channeltest.NewClock(epoch))
	for _, tt := range tests {
		r.Set(tt.b)
		resp, _ := post(t, signed(t, t.Context(), r.URL(), secret, "m1", epoch, `{}`))
		if resp.StatusCode != tt.status || resp.Header.Get("Retry-After") != tt.retryAfter {
			t.Errorf("%v: answer %d with Retry-After %q, want %d with %q",
				tt.b.Kind, resp.StatusCode, resp.Header.Get("Retry-After"), tt.status, tt.retryAfter)
		}
	}
	channeltest.WantAccepted(t, r, "m1")
}

// TestDropMidResponse reads what a dropping receiver writes: the start of
// a response, then the end of the connection.
func TestDropMidResponse(t *testing.T) {
	secret := webhooktest.NewSecret(t)
	r := webhooktest.NewReceiver(t, secret, channeltest.NewClock(epoch))
	r.Drop()
	conn, err := net.Dial("tcp", strings.TrimPrefix(r.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := signed(t, t.Context(), r.URL()+"/hooks", secret, "m1", epoch, `{}`)
	if err := req.Write(conn); err != nil {
		t.Fatalf("write request: %v", err)
	}
	got, err := io.ReadAll(conn)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	if !bytes.HasPrefix(got, []byte("HTTP/1.1 200 OK\r\n")) || bytes.Contains(got, []byte("\r\n\r\n")) {
		t.Errorf("answer %q, want a status line and part of a header", got)
	}
	_, err = http.ReadResponse(bufio.NewReader(bytes.NewReader(got)), req)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("reading the answer as a response: err = %v, want unexpected EOF", err)
	}
	if n := len(r.Requests()); n != 1 {
		t.Errorf("got %d requests, want 1", n)
	}
	if got := r.Accepted(); len(got) != 0 {
		t.Errorf("Accepted = %q, want none: a dropped request is not accepted", got)
	}

	r.Accept()
	if resp, _ := post(t, signed(t, t.Context(), r.URL(), secret, "m1", epoch, `{}`)); resp.StatusCode != http.StatusNoContent {
		t.Errorf("answer after Accept %d, want 204", resp.StatusCode)
	}
	if diff := cmp.Diff([]string{"m1"}, r.Accepted()); diff != "" {
		t.Errorf("Accepted (-want +got):\n%s", diff)
	}
}

func TestHangUntilClientGivesUp(t *testing.T) {
	secret := webhooktest.NewSecret(t)
	r := webhooktest.NewReceiver(t, secret, channeltest.NewClock(epoch))
	r.Hang()
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err := http.DefaultClient.Do(signed(t, ctx, r.URL(), secret, "m1", epoch, `{}`))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("post to a hanging receiver: err = %v, want the deadline exceeded", err)
	}
	if n := len(r.Requests()); n != 1 {
		t.Errorf("got %d requests, want 1", n)
	}
	if got := r.Accepted(); len(got) != 0 {
		t.Errorf("Accepted = %q, want none", got)
	}
}

// TestHangReleasedAtCleanup checks that a hanging request ends once the
// test that started the receiver is over.
func TestHangReleasedAtCleanup(t *testing.T) {
	done := make(chan error, 1)
	t.Run("receiver", func(t *testing.T) {
		secret := webhooktest.NewSecret(t)
		r := webhooktest.NewReceiver(t, secret, channeltest.NewClock(epoch))
		r.Hang()
		req := signed(t, context.Background(), r.URL(), secret, "m1", epoch, `{}`)
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			done <- err
		}()
		<-r.Waiting()
	})
	select {
	case err := <-done:
		if err == nil {
			t.Error("the hanging request got an answer, want the connection closed without one")
		}
	case <-time.After(released):
		t.Fatalf("request still waiting %v after the receiver shut down", released)
	}
}

func TestConns(t *testing.T) {
	secret := webhooktest.NewSecret(t)
	r := webhooktest.NewReceiver(t, secret, channeltest.NewClock(epoch))
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	for i := range 3 {
		req := signed(t, t.Context(), r.URL(), secret, "m"+strconv.Itoa(i), epoch, `{}`)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if n := r.Conns(); n != 1 {
		t.Errorf("Conns() = %d after three requests over one kept-alive connection, want 1", n)
	}
}

func TestProbes(t *testing.T) {
	secret := webhooktest.NewSecret(t)
	r := webhooktest.NewReceiver(t, secret, channeltest.NewClock(epoch))
	ask := func(method string) (int, http.Header, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, r.URL()+"/health", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, body := post(t, req)
		return resp.StatusCode, resp.Header, body
	}
	if code, _, body := ask(http.MethodGet); code != http.StatusOK || body != "OK" {
		t.Errorf("GET: %d %q, want 200 OK", code, body)
	}
	if code, _, _ := ask(http.MethodHead); code != http.StatusOK {
		t.Errorf("HEAD: %d, want 200", code)
	}
	// Webhook answers leave probes alone.
	r.Respond(http.StatusServiceUnavailable, nil)
	if code, _, _ := ask(http.MethodHead); code != http.StatusOK {
		t.Errorf("HEAD while webhooks are answered 503: %d, want 200", code)
	}
	r.RespondProbe(http.MethodHead, http.StatusMethodNotAllowed, http.Header{"Allow": {"GET"}})
	if code, h, _ := ask(http.MethodHead); code != http.StatusMethodNotAllowed || h.Get("Allow") != "GET" {
		t.Errorf("HEAD: %d, Allow %q, want 405, GET", code, h.Get("Allow"))
	}
	if code, _, _ := ask(http.MethodGet); code != http.StatusOK {
		t.Errorf("GET while HEAD is refused: %d, want 200", code)
	}
	r.RespondProbe("", http.StatusTooManyRequests, http.Header{"Retry-After": {"9"}})
	if code, h, _ := ask(http.MethodGet); code != http.StatusTooManyRequests || h.Get("Retry-After") != "9" {
		t.Errorf("GET: %d, Retry-After %q, want 429, 9", code, h.Get("Retry-After"))
	}
	r.RespondProbe("", 0, nil)
	if code, _, _ := ask(http.MethodHead); code != http.StatusOK {
		t.Errorf("HEAD after RespondProbe 0: %d, want 200", code)
	}

	var got []string
	for _, p := range r.Probes() {
		got = append(got, p.Method+" "+p.Path+" "+strconv.Itoa(p.Answer))
	}
	want := []string{
		"GET /health 200", "HEAD /health 200", "HEAD /health 200", "HEAD /health 405",
		"GET /health 200", "GET /health 429", "HEAD /health 200",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("probes (-want +got):\n%s", diff)
	}
	if n := len(r.Requests()); n != 0 {
		t.Errorf("Requests has %d entries, want 0: probes are not webhooks", n)
	}
	if n := len(r.Accepted()); n != 0 {
		t.Errorf("Accepted has %d entries, want 0", n)
	}
}

func TestProbeHang(t *testing.T) {
	r := webhooktest.NewReceiver(t, webhooktest.NewSecret(t), channeltest.NewClock(epoch))
	r.Hang()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodHead, r.URL(), nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	<-r.Waiting()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("HEAD to a hanging receiver: %v, want context.Canceled", err)
	}
	if ps := r.Probes(); len(ps) != 1 || ps[0].Answer != 0 {
		t.Errorf("probes = %+v, want one without an answer", ps)
	}
}
