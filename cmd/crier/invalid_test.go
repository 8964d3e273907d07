package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
)

// TestPublishRejectsBadInput sends announcements with every kind of bad
// input, alone and all at once: each is refused with 422 listing every
// problem, and nothing is queued.
func TestPublishRejectsBadInput(t *testing.T) {
	srv := mustServe(t, "../../config.example.yaml", nil)
	srv.Client.Language = "en" // the problems below are the English ones
	ctx := context.Background()
	good := func() *crier.Announcement {
		return &crier.Announcement{
			Title: "Bürgerbüro geschlossen",
			Body:  "Das Bürgerbüro der {{.Town.Name}} bleibt geschlossen. Telefon: {{.Vars.phone}}",
			Towns: []string{"soest", "werl"},
		}
	}
	past := time.Now().Add(-time.Hour)
	cases := []struct {
		name   string
		change func(a *crier.Announcement)
		want   []string // substrings, one per expected problem
	}{
		{"unknown town", func(a *crier.Announcement) { a.Towns = []string{"soest", "dortmund"} },
			[]string{`towns[1]: unknown town or group "dortmund"`}},
		{"template error", func(a *crier.Announcement) { a.Body = "Zeile eins\n\nFax: {{.Vars.fax}}" },
			[]string{"town soest, channel mail-soest", "town soest, channel radio", "town werl, channel mail-werl", "town werl, channel radio"}},
		{"subject with CR/LF", func(a *crier.Announcement) { a.Title = "Bürgerbüro\r\nBcc: alle@example.org" },
			[]string{"title: must be a single line"}},
		{"empty body", func(a *crier.Announcement) { a.Body = "  \n" },
			[]string{"body: must not be empty"}},
		{"expires in the past", func(a *crier.Announcement) { a.Expires = past },
			[]string{"expires: " + past.UTC().Format("2006-01-02T15:04")}},
		{"unknown channel", func(a *crier.Announcement) { a.Channels = []string{"radio", "fax"} },
			[]string{`channels[1]: unknown channel "fax"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := good()
			tc.change(a)
			_, err := srv.Client.Publish(ctx, a, "")
			assertProblems(t, err, tc.want)
		})
	}
	t.Run("all at once", func(t *testing.T) {
		a := good()
		a.Towns = []string{"soest", "werl", "dortmund"}
		a.Title = "Bürgerbüro\r\nBcc: alle@example.org"
		a.Expires = past
		a.Channels = []string{"radio", "mail-soest", "mail-werl", "fax"}
		a.Body = "Zeile eins\n\nFax: {{.Vars.fax}}"
		_, err := srv.Client.Publish(ctx, a, "")
		assertProblems(t, err, []string{
			`towns[2]: unknown town or group "dortmund"`,
			`channels[3]: unknown channel "fax"`,
			"title: must be a single line",
			"expires: " + past.UTC().Format("2006-01-02T15:04"),
			`town soest, channel mail-soest: body: line 3: the town has no variable "fax"`,
			`town werl, channel radio: body: line 3: the town has no variable "fax"`,
		})
		if n := len(crier.ErrorDetails(err)); n != 8 {
			t.Errorf("%d problems, want 8 (4 of the announcement, 4 of the template in 2 towns × 2 channels)", n)
		}
		// The template problem names the template and its line.
		for _, p := range crier.ErrorDetails(err) {
			if p.Town == "soest" && p.Channel == "mail-soest" && !strings.Contains(p.String(), "line 3") {
				t.Errorf("template problem without its line: %s", p)
			}
		}
	})

	// Nothing was queued by any of them.
	depth, err := queueDepth(t, srv)
	if err != nil || depth != 0 {
		t.Errorf("queue depth after refused publishes = %d, %v; want 0", depth, err)
	}
	list, err := srv.Client.Announcements(ctx, 10)
	if err != nil || len(list) != 0 {
		t.Errorf("announcements after refused publishes: %d, %v; want none", len(list), err)
	}

	// The CLI exits 2 and lists the problems.
	file := filepath.Join(t.TempDir(), "bad.md")
	os.WriteFile(file, []byte("---\ntitle: Test\ntowns: [soest, dortmund]\nchannels: [fax]\n---\n{{.Vars.fax}}\n"), 0o600)
	code, _, errOut := run(t, map[string]string{"CRIER_SERVER": srv.URL, "CRIER_LANG": "en"}, "publish", file, "--config", "../../config.example.yaml", "--data-dir", srv.DataDir)
	if code != exitInvalid || !strings.Contains(errOut, `unknown town or group "dortmund"`) || !strings.Contains(errOut, `unknown channel "fax"`) {
		t.Errorf("CLI publish of a bad notice: exit %d, want %d\n%s", code, exitInvalid, errOut)
	}
}

func assertProblems(t *testing.T, err error, want []string) {
	t.Helper()
	if crier.ErrorCode(err) != crier.EINVALID {
		t.Fatalf("publish: %v (code %q), want an %q error", err, crier.ErrorCode(err), crier.EINVALID)
	}
	var got []string
	for _, p := range crier.ErrorDetails(err) {
		got = append(got, p.String())
	}
	text := strings.Join(got, "\n")
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("no problem mentions %q; problems:\n%s", w, text)
		}
	}
}

// queueDepth reads the queue depth from the server's metrics.
func queueDepth(t *testing.T, srv *served) (int, error) {
	t.Helper()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	body := string(b)
	n := 0
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "crier_queue_depth{") {
			var v float64
			fields := strings.Fields(line)
			if _, err := fmt.Sscan(fields[len(fields)-1], &v); err != nil {
				return 0, err
			}
			n += int(v)
		}
	}
	return n, nil
}
