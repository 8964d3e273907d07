package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/google/go-cmp/cmp"
)

// rawRequest sends a request without the Client, with token as the bearer
// token when not empty.
func rawRequest(t testing.TB, e *env, method, path, token, body string) (int, []byte) {
	t.Helper()
	status, _, b := rawRequestHeader(t, e, method, path, token, body, nil)
	return status, b
}

func rawRequestHeader(t testing.TB, e *env, method, path, token, body string, header http.Header) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

func decodeBody(t testing.TB, body []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
}

func TestNewRequiresToken(t *testing.T) {
	_, err := New(Options{})
	if err == nil || !strings.Contains(err.Error(), "token") || !strings.Contains(err.Error(), "engine") {
		t.Errorf("New without options: %v, want an error naming token and engine", err)
	}
}

func TestAuth(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, header string
		want         int
		wantMessage  string
	}{
		{"missing", "", http.StatusUnauthorized, "missing bearer token"},
		{"wrong scheme", "Basic " + testToken, http.StatusUnauthorized, "missing bearer token"},
		{"wrong token", "Bearer not-the-token", http.StatusUnauthorized, "invalid token"},
		{"token prefix", "Bearer " + testToken[:len(testToken)-1], http.StatusUnauthorized, "invalid token"},
		{"right", "Bearer " + testToken, http.StatusOK, ""},
		{"scheme in lower case", "bearer " + testToken, http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.header != "" {
				h.Set("Authorization", tt.header)
			}
			status, header, body := rawRequestHeader(t, e, http.MethodGet, "/api/v1/towns", "", "", h)
			if status != tt.want {
				t.Fatalf("status = %d, want %d (%s)", status, tt.want, body)
			}
			if tt.want != http.StatusUnauthorized {
				return
			}
			var got errorResponse
			decodeBody(t, body, &got)
			want := errorResponse{Error: errorBody{Code: crier.EUNAUTHORIZED, Message: tt.wantMessage}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if header.Get("WWW-Authenticate") == "" {
				t.Error("no WWW-Authenticate header")
			}
			if bytes.Contains(body, []byte(testToken[:8])) || bytes.Contains(body, []byte("not-the-token")) {
				t.Errorf("answer %s echoes a token", body)
			}
		})
	}

	// Every API route is closed, including unknown ones.
	for _, route := range []string{
		"POST /api/v1/announcements", "GET /api/v1/announcements", "GET /api/v1/announcements/a",
		"GET /api/v1/announcements/a/deliveries", "POST /api/v1/announcements/a/retry",
		"GET /api/v1/deliveries/1/attempts", "POST /api/v1/preview", "GET /api/v1/subscribers",
		"POST /api/v1/subscribers", "DELETE /api/v1/subscribers/soest/a@example.org",
		"GET /api/v1/captures", "GET /api/v1/towns", "GET /api/v1/channels", "GET /api/v1/nothing",
	} {
		method, path, _ := strings.Cut(route, " ")
		if status, _ := rawRequest(t, e, method, path, "", "{}"); status != http.StatusUnauthorized {
			t.Errorf("%s without a token: status %d, want 401", route, status)
		}
	}

	// The client with a wrong token gets the code back.
	c := *e.client
	c.Token = "wrong"
	if _, err := c.Towns(context.Background()); crier.ErrorCode(err) != crier.EUNAUTHORIZED {
		t.Errorf("client with a wrong token: %v, want unauthorized", err)
	}
}

func TestErrorShape(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, method, path, body string
		wantStatus               int
		want                     string
	}{{
		name: "not found", method: http.MethodGet, path: "/api/v1/announcements/nope",
		wantStatus: http.StatusNotFound,
		want:       `{"error":{"code":"not_found","message":"no announcement \"nope\""}}`,
	}, {
		name: "invalid with details", method: http.MethodPost, path: "/api/v1/announcements/nope/retry",
		body:       `{"states":["sent"]}`,
		wantStatus: http.StatusUnprocessableEntity,
		want: `{"error":{"code":"invalid","message":"nothing was retried",` +
			`"details":[{"field":"states[0]","code":"request.not_retryable","args":["sent","failed, unknown"],` +
			`"message":"\"sent\" cannot be retried; only failed, unknown deliveries can"}]}}`,
	}, {
		name: "unknown route", method: http.MethodGet, path: "/api/v1/nothing",
		wantStatus: http.StatusNotFound,
		want:       `{"error":{"code":"not_found","message":"no API route /api/v1/nothing"}}`,
	}, {
		name: "wrong method", method: http.MethodDelete, path: "/api/v1/announcements",
		wantStatus: http.StatusMethodNotAllowed,
		want:       `{"error":{"code":"method_not_allowed","message":"DELETE is not allowed on /api/v1/announcements"}}`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			english := http.Header{"Accept-Language": {"en"}}
			status, header, body := rawRequestHeader(t, e, tt.method, tt.path, testToken, tt.body, english)
			if status != tt.wantStatus {
				t.Errorf("status = %d, want %d", status, tt.wantStatus)
			}
			if ct := header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			var got, want any
			decodeBody(t, body, &got)
			decodeBody(t, []byte(tt.want), &want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
	_, header, _ := rawRequestHeader(t, e, http.MethodPut, "/api/v1/announcements", testToken, "", nil)
	if got := header.Get("Allow"); got != "GET, POST" {
		t.Errorf("Allow = %q, want \"GET, POST\"", got)
	}
}

// TestInternalErrorLogged serves directly so that the log line is written
// before the test reads it.
func TestInternalErrorLogged(t *testing.T) {
	var logs bytes.Buffer
	e := newEnv(t, func(o *Options) { o.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	// A crier error whose code means nothing to a client is internal too,
	// and its message stays in the log.
	e.store.fail(fmt.Errorf("read announcement: %w", &crier.Error{Code: crier.ETRANSIENT, Message: "disk on fire"}))

	req := httptest.NewRequest(http.MethodGet, "/api/v1/announcements/a1", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	rec := httptest.NewRecorder()
	e.server.ServeHTTP(rec, req)

	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status = %d, want 500", rec.Code)
	}
	if got, want := strings.TrimSpace(rec.Body.String()), `{"error":{"code":"internal","message":"internal error"}}`; got != want {
		t.Errorf("body = %s, want %s", got, want)
	}
	if !strings.Contains(logs.String(), "disk on fire") {
		t.Errorf("log does not hold the real error:\n%s", logs.String())
	}
}

func TestRequestLog(t *testing.T) {
	var logs bytes.Buffer
	e := newEnv(t, func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	serve := func(method, target, auth string) {
		req := httptest.NewRequest(method, target, nil)
		req.RemoteAddr = "192.0.2.7:4711"
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		e.server.ServeHTTP(httptest.NewRecorder(), req)
	}
	serve(http.MethodGet, "/api/v1/towns", "Bearer "+testToken)
	serve(http.MethodGet, "/api/v1/towns", "Bearer guessed-token-123")
	serve(http.MethodDelete, "/api/v1/subscribers/soest/anna@example.org", "Bearer "+testToken)

	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d log lines, want 3:\n%s", len(lines), logs.String())
	}
	for _, want := range []string{"method=GET", "path=/api/v1/towns", "status=200", "duration=", "remote=192.0.2.7:4711"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("log line %q lacks %q", lines[0], want)
		}
	}
	if !strings.Contains(lines[1], "status=401") {
		t.Errorf("log line %q lacks status=401", lines[1])
	}
	if !strings.Contains(lines[2], "path=/api/v1/subscribers/{town}/{email}") || !strings.Contains(lines[2], "status=404") {
		t.Errorf("log line %q does not show the route pattern and 404", lines[2])
	}
	for _, secret := range []string{testToken, "guessed-token-123", "anna@example.org"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("log holds %q:\n%s", secret, logs.String())
		}
	}
}

func TestRequestBody(t *testing.T) {
	e := newEnv(t)
	big := `{"title":"Hinweis","towns":["soest"],"body":"` + strings.Repeat("x", MaxBody) + `"}`
	tests := []struct {
		name, body  string
		wantMessage string
		wantField   string
	}{
		{"empty", "", "cannot read request body: request body is empty", ""},
		{"malformed", `{"title": "Hinweis",}`, "", ""},
		{"cut short", `{"title": "Hin`, "cannot read request body: request body ends in the middle of a JSON value", ""},
		{"unknown field", `{"title":"Hinweis","titel":"Hinweis"}`, "cannot read request body: titel: unknown field", "titel"},
		{"wrong type", `{"towns":"soest"}`, "", "towns"},
		{"two values", `{"title":"a"} {"title":"b"}`, "cannot read request body: request body holds more than one JSON value", ""},
		{"too large", big, "cannot read request body: request body is larger than the limit of 1 MiB", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantStatus, wantCode := http.StatusBadRequest, CodeBadRequest
			if tt.name == "too large" {
				wantStatus, wantCode = http.StatusRequestEntityTooLarge, CodeTooLarge
			}
			for _, path := range []string{"/api/v1/announcements", "/api/v1/preview"} {
				status, body := rawRequest(t, e, http.MethodPost, path, testToken, tt.body)
				if status != wantStatus {
					t.Fatalf("%s: status = %d, want %d (%s)", path, status, wantStatus, body)
				}
				var got errorResponse
				decodeBody(t, body, &got)
				if got.Error.Code != wantCode || len(got.Error.Details) != 1 {
					t.Fatalf("%s: error = %+v, want %s with one detail", path, got.Error, wantCode)
				}
				if tt.wantMessage != "" && got.Error.Message != tt.wantMessage {
					t.Errorf("%s: message = %q, want %q", path, got.Error.Message, tt.wantMessage)
				}
				if f := got.Error.Details[0].Field; f != tt.wantField {
					t.Errorf("%s: field = %q, want %q", path, f, tt.wantField)
				}
			}
		})
	}
	if a, _ := e.store.size(); a != 0 {
		t.Errorf("%d announcements stored from unreadable bodies", a)
	}

	// A body just under the limit is read.
	fits := `{"title":"Hinweis","towns":["soest"],"channels":["mail-soest"],"body":"` +
		strings.Repeat("x", MaxBody-200) + `"}`
	if status, body := rawRequest(t, e, http.MethodPost, "/api/v1/preview", testToken, fits); status != http.StatusOK {
		t.Errorf("body under the limit: status %d, want 200 (%.200s)", status, body)
	}
}

func TestTownsAndChannels(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	towns, err := e.client.Towns(ctx)
	if err != nil {
		t.Fatalf("Towns: %v", err)
	}
	if diff := cmp.Diff(testDirectory().Towns(), towns); diff != "" {
		t.Errorf("towns (-want +got):\n%s", diff)
	}

	channels, err := e.client.Channels(ctx)
	if err != nil {
		t.Fatalf("Channels: %v", err)
	}
	want := []Channel{
		{ID: "mail-soest", Type: "email", PerSubscriber: true},
		{ID: "mail-werl", Type: "email", PerSubscriber: true},
		{ID: "mastodon-soest", Type: "mastodon", Deduplicates: true},
		{ID: "mastodon-werl", Type: "mastodon", Deduplicates: true},
	}
	if diff := cmp.Diff(want, channels); diff != "" {
		t.Errorf("channels (-want +got):\n%s", diff)
	}
	_, body := rawRequest(t, e, http.MethodGet, "/api/v1/channels", testToken, "")
	if bytes.Contains(body, []byte(mastodonSecret)) {
		t.Errorf("channel list shows a secret: %s", body)
	}
}

func TestCaptures(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for i, a := range []string{"ann1", "ann2", "ann1"} {
		c := &crier.Capture{Key: fmt.Sprintf("k%d", i), Announcement: a, Revision: 1, Town: "soest",
			Channel: "mastodon-soest", Type: "mastodon", Text: "Rathaus geschlossen", Payload: []byte{0, 1}, At: testNow}
		if err := e.caps.SaveCapture(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	keys := func(cs []*crier.Capture) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Key)
		}
		return out
	}

	got, err := e.client.Captures(ctx, "ann1", 0)
	if err != nil {
		t.Fatalf("Captures: %v", err)
	}
	if diff := cmp.Diff([]string{"k0", "k2"}, keys(got)); diff != "" {
		t.Errorf("captures of ann1 (-want +got):\n%s", diff)
	}
	want := &crier.Capture{ID: 1, Key: "k0", Announcement: "ann1", Revision: 1, Town: "soest",
		Channel: "mastodon-soest", Type: "mastodon", Text: "Rathaus geschlossen", Payload: []byte{0, 1}, At: testNow}
	if diff := cmp.Diff(want, got[0]); diff != "" {
		t.Errorf("capture (-want +got):\n%s", diff)
	}
	got, err = e.client.Captures(ctx, "", 2)
	if err != nil {
		t.Fatalf("Captures: %v", err)
	}
	if diff := cmp.Diff([]string{"k0", "k1"}, keys(got)); diff != "" {
		t.Errorf("captures with limit 2 (-want +got):\n%s", diff)
	}
	if status, _ := rawRequest(t, e, http.MethodGet, "/api/v1/captures?limit=0", testToken, ""); status != http.StatusUnprocessableEntity {
		t.Errorf("limit=0: status %d, want 422", status)
	}
	got, err = e.client.RecentCaptures(ctx, "", 2)
	if err != nil {
		t.Fatalf("RecentCaptures: %v", err)
	}
	if diff := cmp.Diff([]string{"k2", "k1"}, keys(got)); diff != "" {
		t.Errorf("newest captures with limit 2 (-want +got):\n%s", diff)
	}
	got, err = e.client.RecentCaptures(ctx, "ann1", 1)
	if err != nil || len(got) != 1 || got[0].Key != "k2" {
		t.Errorf("newest capture of ann1: %v, %v", keys(got), err)
	}
	if status, _ := rawRequest(t, e, http.MethodGet, "/api/v1/captures?order=random", testToken, ""); status != http.StatusUnprocessableEntity {
		t.Errorf("order=random: status %d, want 422", status)
	}
}

func TestHealth(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	open := &Client{URL: e.url} // no token: the health checks are open

	status, body := rawRequest(t, e, http.MethodGet, "/healthz", "", "")
	if status != http.StatusOK || string(body) != "ok\n" {
		t.Errorf("healthz = %d %q, want 200 ok", status, body)
	}
	if err := open.Health(ctx); err != nil {
		t.Errorf("Health with the queue answering: %v", err)
	}

	e.queue.fail(errors.New("open data/crier.db: permission denied"))
	status, body = rawRequest(t, e, http.MethodGet, "/readyz", "", "")
	if status != http.StatusServiceUnavailable {
		t.Errorf("readyz with a failing queue: status %d, want 503", status)
	}
	if bytes.Contains(body, []byte("crier.db")) {
		t.Errorf("readyz shows the queue's error to anyone: %s", body)
	}
	if err := open.Health(ctx); err == nil || !strings.Contains(err.Error(), "queue") {
		t.Errorf("Health with a failing queue: %v, want an error naming the queue", err)
	}

	custom := newEnv(t, func(o *Options) {
		o.Ready = func(context.Context) error { return errors.New("migrations pending") }
	})
	err := (&Client{URL: custom.url}).Health(ctx)
	if err == nil || err.Error() != "not ready: migrations pending" {
		t.Errorf("Health with a custom check: %v, want \"not ready: migrations pending\"", err)
	}
}

// TestRequestLogRedactsLinkTokens checks that the request log shows no
// subscriber link's token, sealed or of the old format that carried the
// address in base64, whether the link works, leads nowhere or is
// redirected.
func TestRequestLogRedactsLinkTokens(t *testing.T) {
	var logs bytes.Buffer
	e := newEnv(t, func(o *Options) {
		o.Tokens = subscribeTokens
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	sealed := subscribeTokens.Sign(crier.PurposeUnsubscribe, "soest", "anna@example.org", testNow.Add(time.Hour))
	old := base64.RawURLEncoding.EncodeToString([]byte("unsub\nsoest\nanna@example.org\n1796000000")) + ".c2lnbmF0dXJl"
	tests := []struct{ method, target, want string }{
		{http.MethodGet, "/unsubscribe/" + sealed, "/unsubscribe/[redacted]"},
		{http.MethodPost, "/unsubscribe/" + sealed, "/unsubscribe/[redacted]"},
		{http.MethodGet, "/unsubscribe/" + old, "/unsubscribe/[redacted]"},
		{http.MethodGet, "/confirm/" + old, "/confirm/[redacted]"},
		{http.MethodPost, "/confirm/" + sealed, "/confirm/[redacted]"},
		{http.MethodGet, "/confirm/" + sealed + "/more", "/confirm/[redacted]"},
		{http.MethodGet, "//unsubscribe/" + old, "/unsubscribe/[redacted]"},
		{http.MethodGet, "/Unsubscribe/" + old, "/unsubscribe/[redacted]"},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(tt.method, tt.target, nil)
		e.server.ServeHTTP(httptest.NewRecorder(), req)
	}
	var want []string
	for _, tt := range tests {
		want = append(want, tt.want)
	}
	if diff := cmp.Diff(want, loggedPaths(logs.String())); diff != "" {
		t.Errorf("logged paths (-want +got):\n%s", diff)
	}
	for _, secret := range []string{sealed, old[:20], "anna@example.org"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("log holds %q:\n%s", secret, logs.String())
		}
	}
}

// TestRequestLogRedactsAddresses checks that an address in a path that no
// route took (a wrong method, a segment too many) is not logged either.
func TestRequestLogRedactsAddresses(t *testing.T) {
	var logs bytes.Buffer
	e := newEnv(t, func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	tests := []struct{ method, target, want string }{
		{http.MethodDelete, "/api/v1/subscribers/soest/anna@example.org", "/api/v1/subscribers/{town}/{email}"},
		{http.MethodPut, "/api/v1/subscribers/soest/anna@example.org", "/api/v1/subscribers/soest/[redacted]"},
		{http.MethodDelete, "/api/v1/subscribers/soest/anna@example.org/x", "/api/v1/subscribers/soest/[redacted]/x"},
		{http.MethodGet, "/soest/anna%40example.org", "/soest/[redacted]"},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(tt.method, tt.target, nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		e.server.ServeHTTP(httptest.NewRecorder(), req)
	}
	var want []string
	for _, tt := range tests {
		want = append(want, tt.want)
	}
	if diff := cmp.Diff(want, loggedPaths(logs.String())); diff != "" {
		t.Errorf("logged paths (-want +got):\n%s", diff)
	}
	if strings.Contains(logs.String(), "anna") {
		t.Errorf("log holds the address:\n%s", logs.String())
	}
}

// loggedPaths returns the path of every request log line in logs.
func loggedPaths(logs string) []string {
	var paths []string
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		if _, rest, ok := strings.Cut(line, `msg="http request" `); ok {
			_, path, _ := strings.Cut(rest, "path=")
			path, _, _ = strings.Cut(path, " ")
			paths = append(paths, path)
		}
	}
	return paths
}
