package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
)

// TestServePublicURLIndependentOfListen: where serve listens (listen in
// the file, --listen on the command line) and where people reach it
// (public_url) are two settings, and the start log names both. Links in
// what is sent start with public_url, whichever address serve listens on.
func TestServePublicURLIndependentOfListen(t *testing.T) {
	for _, tc := range []struct {
		name, publicURL, want string
	}{
		{"default", "", "http://127.0.0.1:8080"}, // exercise mode's default, for the tour on this machine
		{"set", "public_url: https://krisen.kreis-soest.example\n", "https://krisen.kreis-soest.example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			config := filepath.Join(t.TempDir(), "crier.yaml")
			text := "mode: exercise\nlisten: 0.0.0.0:9000\n" + tc.publicURL + `channels:
  - {id: radio, type: webhook, endpoints: [{url: "https://radio.example/hook", secret: "` + validWebhookSecret + `"}]}
towns:
  - {id: soest, name: Stadt Soest, channels: [radio]}
`
			if err := os.WriteFile(config, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			srv := mustServe(t, config, nil) // with --listen 127.0.0.1:0

			log := srv.Stderr.String()
			if !strings.Contains(log, "url="+srv.URL+" public_url="+tc.want+" ") {
				t.Errorf("start log does not name the listen address %s and public_url %s:\n%s", srv.URL, tc.want, log)
			}
			if warned := strings.Contains(log, "public_url is not set"); warned != (tc.publicURL == "") {
				t.Errorf("warning that public_url is the default: %v, want %v:\n%s", warned, tc.publicURL == "", log)
			}

			ctx := context.Background()
			res, err := srv.Client.Publish(ctx, &crier.Announcement{Title: "Bürgerbüro geschlossen", Body: "Heute geschlossen.", Towns: []string{"soest"}}, "")
			if err != nil {
				t.Fatal(err)
			}
			id := res.Announcement.ID
			waitDone(t, srv.Client, id, time.Minute)
			caps, err := srv.Client.Captures(ctx, id, 10)
			if err != nil || len(caps) != 1 {
				t.Fatalf("captures: %d, %v; want 1", len(caps), err)
			}
			if link := tc.want + "/soest/" + id; !strings.Contains(string(caps[0].Payload), link) {
				t.Errorf("captured webhook does not link to %s:\n%s", link, caps[0].Payload)
			}
		})
	}
}
