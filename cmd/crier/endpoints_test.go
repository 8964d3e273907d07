package main

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestEndpointUpFromStart: right after "crier serve" starts, before any
// send or probe, /metrics has a crier_endpoint_up series for every
// endpoint of every channel, from its breaker's state. No endpoint is
// contacted: exercise mode sends nothing and runs no probes. The API lists
// the same endpoints with their latency in milliseconds.
func TestEndpointUpFromStart(t *testing.T) {
	dead := deadAddr(t)
	config := writeTestConfig(t, `mode: exercise
networks:
  lte: {source: 127.0.0.2}
channels:
  - id: radio
    type: webhook
    endpoints:
      - {name: primary, url: "http://`+dead+`/hook", secret: "${S}"}
      - {name: lte-backup, url: "http://`+dead+`/hook", secret: "${S}", network: lte}
  - id: mail-soest
    type: email
    from: "Stadt Soest <presse@soest.example>"
    endpoints: [{name: relay, host: 127.0.0.1, port: 25, tls: none}]
towns:
  - {id: soest, name: Stadt Soest, channels: [radio, mail-soest]}
`)
	srv := mustServe(t, config, map[string]string{"S": "whsec_" + strings.Repeat("A", 32)})

	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	got := regexp.MustCompile(`(?m)^crier_endpoint_up\{.*$`).FindAllString(string(body), -1)
	slices.Sort(got)
	want := []string{
		`crier_endpoint_up{channel="mail-soest",endpoint="relay",network="default"} 1`,
		`crier_endpoint_up{channel="radio",endpoint="lte-backup",network="lte"} 1`,
		`crier_endpoint_up{channel="radio",endpoint="primary",network="default"} 1`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("crier_endpoint_up right after start (-want +got):\n%s", diff)
	}

	// The API lists the same endpoints, latency in milliseconds.
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/endpoints", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+srv.Client.Token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Endpoints []map[string]any `json:"endpoints"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	if len(list.Endpoints) != 3 {
		t.Fatalf("GET /api/v1/endpoints: %d endpoints, want 3", len(list.Endpoints))
	}
	for _, ep := range list.Endpoints {
		if _, ok := ep["latency_ms"].(float64); !ok || ep["latency"] != nil {
			t.Errorf("endpoint %v: want latency_ms as a number and no latency in nanoseconds", ep)
		}
	}
}
