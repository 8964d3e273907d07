package server

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/crierhq/crier"
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
		{Channel: "radio", Endpoint: "lte-backup", Network: "lte", State: netpath.StateClosed, Latency: 42 * time.Millisecond,
			InFlight: 2, Slots: 4, Pinned: 7},
		{Channel: "leitstelle", Endpoint: "hook", Network: "default", State: netpath.StateGone, GoneSince: testNow,
			LastError: "410 Gone", Refused: "401 Unauthorized"},
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
			"last_probe": "2026-11-26T10:00:00Z", "latency_ms": 1.5, "until": "2026-11-26T10:00:30Z",
			"in_flight": 0.0, "pinned": 0.0},
		{"channel": "radio", "endpoint": "lte-backup", "network": "lte", "state": "closed", "failures": 0.0,
			"latency_ms": 42.0, "in_flight": 2.0, "slots": 4.0, "pinned": 7.0},
		{"channel": "leitstelle", "endpoint": "hook", "network": "default", "state": "gone", "failures": 0.0,
			"latency_ms": 0.0, "in_flight": 0.0, "pinned": 0.0, "gone_since": "2026-11-26T10:00:00Z",
			"last_error": "410 Gone", "refused": "401 Unauthorized"},
	}
	if diff := cmp.Diff(want, raw.Endpoints); diff != "" {
		t.Errorf("GET /api/v1/endpoints (-want +got):\n%s", diff)
	}

	got, err := e.client.Endpoints(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].LatencyMS != 1.5 || got[1].LatencyMS != 42 || got[0].State != netpath.StateOpen {
		t.Errorf("client: %+v", got)
	}
}

// TestResetEndpoint: POST /api/v1/endpoints/{channel}/{endpoint}/reset
// clears the endpoint through the server's function and answers every
// endpoint's health; an unknown one is 404, and without the token nothing
// happens.
func TestResetEndpoint(t *testing.T) {
	var calls []string
	e := newEnv(t, func(o *Options) {
		o.Endpoints = func() []netpath.EndpointHealth {
			return []netpath.EndpointHealth{{Channel: "radio", Endpoint: "backup via lte", State: netpath.StateClosed}}
		}
		o.ResetEndpoint = func(channel, endpoint string) error {
			calls = append(calls, channel+"/"+endpoint)
			if endpoint != "backup via lte" {
				return crier.Errorf(crier.ENOTFOUND, "channel %s has no endpoint %q", channel, endpoint)
			}
			return nil
		}
	})
	got, err := e.client.ResetEndpoint(context.Background(), "radio", "backup via lte")
	if err != nil || len(got) != 1 || got[0].Endpoint != "backup via lte" {
		t.Fatalf("reset: %+v, %v", got, err)
	}
	if _, err := e.client.ResetEndpoint(context.Background(), "radio", "nope"); crier.ErrorCode(err) != crier.ENOTFOUND {
		t.Errorf("reset of an unknown endpoint: %v, want not_found", err)
	}
	if status, _ := rawRequest(t, e, http.MethodPost, "/api/v1/endpoints/radio/nope/reset", "wrong", ""); status != http.StatusUnauthorized {
		t.Errorf("reset with a wrong token: status %d, want 401", status)
	}
	if diff := cmp.Diff([]string{"radio/backup via lte", "radio/nope"}, calls); diff != "" {
		t.Errorf("resets (-want +got):\n%s", diff)
	}
}
