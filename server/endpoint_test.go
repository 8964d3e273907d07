package server

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/crierhq/crier/netpath"
	"github.com/google/go-cmp/cmp"
)

// TestEndpoints: GET /api/v1/endpoints gives every endpoint's health with
// its latency in milliseconds (latency_ms), and the client reads it.
func TestEndpoints(t *testing.T) {
	health := []netpath.EndpointHealth{
		{Channel: "radio", Endpoint: "primary", Network: "default", State: netpath.StateOpen, Failures: 3,
			LastError: "connection refused", LastChange: testNow, LastProbe: testNow,
			Latency: 1500 * time.Microsecond, Until: testNow.Add(30 * time.Second)},
		{Channel: "radio", Endpoint: "lte-backup", Network: "lte", State: netpath.StateClosed, Latency: 42 * time.Millisecond},
	}
	e := newEnv(t, func(o *Options) { o.Endpoints = func() []netpath.EndpointHealth { return health } })

	status, body := rawRequest(t, e, http.MethodGet, "/api/v1/endpoints", testToken, "")
	if status != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", status, body)
	}
	var raw struct {
		Endpoints []map[string]any `json:"endpoints"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{
		{"channel": "radio", "endpoint": "primary", "network": "default", "state": "open", "failures": 3.0,
			"last_error": "connection refused", "last_change": "2026-11-26T10:00:00Z",
			"last_probe": "2026-11-26T10:00:00Z", "latency_ms": 1.5, "until": "2026-11-26T10:00:30Z"},
		{"channel": "radio", "endpoint": "lte-backup", "network": "lte", "state": "closed", "failures": 0.0,
			"latency_ms": 42.0},
	}
	if diff := cmp.Diff(want, raw.Endpoints); diff != "" {
		t.Errorf("GET /api/v1/endpoints (-want +got):\n%s", diff)
	}

	got, err := e.client.Endpoints(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].LatencyMS != 1.5 || got[1].LatencyMS != 42 || got[0].State != netpath.StateOpen {
		t.Errorf("client: %+v", got)
	}
}
