package server

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/crierhq/crier"
)

func TestClientTransportError(t *testing.T) {
	ts := httptest.NewServer(http.NotFoundHandler())
	url := ts.URL
	ts.Close() // nothing listens there any more

	c := &Client{URL: url, Token: testToken}
	_, err := c.Towns(context.Background())
	if err == nil {
		t.Fatal("Towns against a closed server succeeded")
	}
	var ce *crier.Error
	if errors.As(err, &ce) {
		t.Errorf("transport error %v decoded as an API error", err)
	}
	if crier.ErrorCode(err) != crier.EINTERNAL || strings.Contains(err.Error(), testToken) {
		t.Errorf("transport error %q: want code internal and no token", err)
	}
	if err := c.Health(context.Background()); err == nil {
		t.Error("Health against a closed server succeeded")
	}
}

func TestClientAnswerNotFromAPI(t *testing.T) {
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "<html>Bad Gateway</html>", http.StatusBadGateway)
	}))
	t.Cleanup(proxy.Close)

	c := &Client{URL: proxy.URL + "/", Token: testToken}
	_, err := c.Status(context.Background(), "ann1")
	var ce *crier.Error
	if err == nil || errors.As(err, &ce) || !strings.Contains(err.Error(), "502") {
		t.Errorf("Status through a failing proxy: %v, want a plain error naming 502", err)
	}
}

func TestClientEscapesPaths(t *testing.T) {
	var got string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.EscapedPath()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(ts.Close)

	c := &Client{URL: ts.URL, Token: testToken}
	if err := c.RemoveSubscriber(context.Background(), "soest", "a/b?c@example.org"); err != nil {
		t.Fatal(err)
	}
	if want := "/api/v1/subscribers/soest/a%2Fb%3Fc@example.org"; got != want {
		t.Errorf("path = %q, want %q", got, want)
	}
}
