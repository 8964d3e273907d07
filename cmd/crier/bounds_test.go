package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/server"
)

// The limits of issue 13's unbounded template work, end to end: through
// serve with the example's 14 towns, its HTTP API and the CLI.

// exampleWithLimits writes the example configuration with its limits
// section replaced by limits (indented lines).
func exampleWithLimits(t *testing.T, limits string) string {
	t.Helper()
	b, err := os.ReadFile(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "\nlimits:\n")
	if start < 0 {
		t.Fatal("the example has no limits section")
	}
	start += len("\nlimits:\n")
	end := start
	for end < len(text) && strings.HasPrefix(text[end:], "  ") {
		end += strings.IndexByte(text[end:], '\n') + 1
	}
	return writeConfig(t, text[:start]+limits+text[end:])
}

// post sends body to the API path as the admin, asking for English, and
// returns the status, the answer and how long it took.
func post(t *testing.T, srv *served, path, body string) (int, []byte, time.Duration) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+srv.Client.Token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept-Language", "en")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, answer, time.Since(start)
}

// problemsIn returns the problems of an error answer or of a plan.
func problemsIn(t *testing.T, answer []byte) []crier.Problem {
	t.Helper()
	var v struct {
		Error    struct{ Details []crier.Problem }
		Problems []crier.Problem
	}
	if err := json.Unmarshal(answer, &v); err != nil {
		t.Fatalf("answer is no JSON: %v: %.300s", err, answer)
	}
	return append(v.Error.Details, v.Problems...)
}

func announcementJSON(title, body string) string {
	b, _ := json.Marshal(map[string]any{"title": title, "body": body, "towns": []string{"all"}})
	return string(b)
}

// TestTemplateWorkBounded: bodies that would render without bound, for
// all 14 towns, are refused at once with a clear problem and a small
// answer, by preview and by publish.
func TestTemplateWorkBounded(t *testing.T) {
	srv := mustServe(t, "../../config.example.yaml", nil)
	const small = 32 << 10 // bytes an answer listing these problems needs at most
	for _, tc := range []struct {
		name, body, want string
	}{
		// 34 bytes of request body in the report; a million loops.
		{"a loop over a number", "{{range 1000000}}…{{end}}", "14 towns: line 1: {{range 1000000}}: a notice may loop only over"},
		{"output past the message limit", `{{range .Contacts}}{{printf "%0999999d" 0}}{{end}}`,
			"14 towns: template error in line 1: {{printf \"%0999999d\" 0}}: error calling printf: the rendered text is larger than the limit of 256 KiB per message"},
		{"a loop inside a loop", "{{range .Contacts}}{{range $.Contacts}}x{{end}}{{end}}", "14 towns: line 1: {{range}} inside another {{range}}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{"/api/v1/preview", "/api/v1/announcements"} {
				status, answer, took := post(t, srv, path, announcementJSON("Hinweis", tc.body))
				want := http.StatusUnprocessableEntity
				if path == "/api/v1/preview" {
					want = http.StatusOK // a preview lists the problems in its plan
				}
				if status != want {
					t.Fatalf("%s: %d, want %d: %.500s", path, status, want, answer)
				}
				if took > quick {
					t.Errorf("%s took %v", path, took)
				}
				if len(answer) > small {
					t.Errorf("%s: answer of %d bytes, want at most %d", path, len(answer), small)
				}
				found := false
				for _, p := range problemsIn(t, answer) {
					if strings.Contains(p.Message, tc.want) && len(p.Towns) == 14 {
						found = true
					}
				}
				if !found {
					t.Errorf("%s: no problem of all 14 towns says %q:\n%.1000s", path, tc.want, answer)
				}
			}
		})
	}
	if list, _ := srv.Client.Announcements(context.Background(), 10); len(list) != 0 {
		t.Errorf("%d announcements published", len(list))
	}
}

// TestLargeRequestSmallAnswer: a request of 800 KiB whose problems quote
// it, in every town and channel, gets an answer that stays small; one
// over the body limit gets 413, and the CLI says so.
func TestLargeRequestSmallAnswer(t *testing.T) {
	srv := mustServe(t, "../../config.example.yaml", nil)
	title := strings.Repeat("Bürgerbüro ", 800<<10/12) + "\nBcc: alle@example.org"
	status, answer, _ := post(t, srv, "/api/v1/announcements", announcementJSON(title, "Text"))
	if status != http.StatusUnprocessableEntity {
		t.Fatalf("%d, want 422: %.300s", status, answer)
	}
	if len(answer) > 32<<10 {
		t.Errorf("answer of %d bytes to a request of %d bytes, want a small one", len(answer), len(title))
	}

	big := announcementJSON("Hinweis", strings.Repeat("x", 1<<20))
	status, answer, _ = post(t, srv, "/api/v1/announcements", big)
	if status != http.StatusRequestEntityTooLarge || !strings.Contains(string(answer), "larger than the limit of 1 MiB") {
		t.Errorf("request of %d bytes: %d %.500s, want 413 naming the limit", len(big), status, answer)
	}
	file := filepath.Join(t.TempDir(), "gross.md")
	os.WriteFile(file, []byte("---\ntitle: Hinweis\ntowns: [soest]\n---\n"+strings.Repeat("Text ", 1<<18)+"\n"), 0o600)
	code, _, errOut := run(t, map[string]string{"CRIER_SERVER": srv.URL, "CRIER_TOKEN": srv.Client.Token}, "publish", file)
	if code != exitInvalid || !strings.Contains(errOut, "larger than the limit of 1 MiB") {
		t.Errorf("CLI publish of a notice over the limit: exit %d, want %d\n%s", code, exitInvalid, errOut)
	}
}

// TestLimitsConfigured: the limits section bounds an announcement's size,
// the rendering time, an import request and the problems listed.
func TestLimitsConfigured(t *testing.T) {
	t.Run("announcement and import", func(t *testing.T) {
		srv := mustServe(t, exampleWithLimits(t, "  message: 16KiB\n  announcement: 64KiB\n  import_body: 16KiB\n  problems: 3\n"), nil)
		// 2 KB per town and channel, over 14 towns: more than 64 KiB.
		status, answer, _ := post(t, srv, "/api/v1/preview", announcementJSON("Hinweis", strings.Repeat("Das Rathaus bleibt zu. ", 90)))
		if status != http.StatusUnprocessableEntity || !strings.Contains(string(answer), "larger than the limit of 64 KiB per announcement") {
			t.Errorf("preview over the announcement limit: %d %.500s", status, answer)
		}
		// A body over the message limit: one problem per group, 3 at most.
		status, answer, _ = post(t, srv, "/api/v1/announcements", announcementJSON("Hinweis", strings.Repeat("x", 20<<10)))
		ps := problemsIn(t, answer)
		if status != http.StatusUnprocessableEntity || len(ps) != 3 || !strings.Contains(ps[2].Message, "more problems") ||
			!strings.Contains(ps[0].Message, "16 KiB per message") {
			t.Errorf("publish over the message limit: %d %.1000s", status, answer)
		}

		dir := t.TempDir()
		var csv strings.Builder
		for i := range 1000 {
			fmt.Fprintf(&csv, "person%d@example.org,Person %d\n", i, i)
		}
		file := filepath.Join(dir, "liste.csv")
		os.WriteFile(file, []byte(csv.String()), 0o600)
		env := map[string]string{"CRIER_SERVER": srv.URL, "CRIER_TOKEN": srv.Client.Token}
		code, _, errOut := run(t, env, "subscribers", "import", file, "--town", "soest")
		if code != exitInvalid || !strings.Contains(errOut, "larger than the limit of 16 KiB") {
			t.Errorf("import of a batch over import_body: exit %d, want %d\n%s", code, exitInvalid, errOut)
		}
		code, _, errOut = run(t, env, "subscribers", "import", file, "--town", "soest", "--max-size", "10KiB")
		if code != exitInvalid || !strings.Contains(errOut, "ist größer als 10 KiB (--max-size)") {
			t.Errorf("import of a CSV over --max-size: exit %d, want %d\n%s", code, exitInvalid, errOut)
		}
		if subs, _ := srv.Client.Subscribers(context.Background(), "soest", ""); len(subs) != 0 {
			t.Errorf("refused imports wrote %d subscribers", len(subs))
		}
	})
	t.Run("render time", func(t *testing.T) {
		srv := mustServe(t, exampleWithLimits(t, "  render_time: 1ns\n"), nil)
		status, answer, _ := post(t, srv, "/api/v1/announcements", announcementJSON("Hinweis", "Das Rathaus bleibt zu."))
		if status != http.StatusUnprocessableEntity || !strings.Contains(string(answer), "took longer than the limit of 1ns") {
			t.Errorf("publish over the time limit: %d %.500s", status, answer)
		}
	})
	t.Run("bad values", func(t *testing.T) {
		_, err := LoadConfig(exampleWithLimits(t, "  message: 1000\n  announcement: -1KiB\n  render_time: 5\n"), noEnv)
		for _, want := range []string{"cannot read `1000` as a size such as 256KiB", "cannot read `-1KiB` as a size", "cannot read `5` as a duration"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error %v, want it to say %q", err, want)
			}
		}
		_, err = LoadConfig(exampleWithLimits(t, "  message: 2MiB\n  announcement: 1MiB\n  problems: -1\n"), noEnv)
		for _, want := range []string{"limits.message: 2MiB is larger than limits.announcement (1MiB)", "limits.problems: must not be negative"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error %v, want it to say %q", err, want)
			}
		}
	})
}

// TestCLIReadsLargeErrorAnswers: an error answer over 1 MiB (from a server
// that does not group its problems) is read and listed, not shown raw.
func TestCLIReadsLargeErrorAnswers(t *testing.T) {
	var details []crier.Problem
	for i := range 5000 {
		details = append(details, crier.Problem{Town: fmt.Sprintf("town%d", i), Field: "body", Message: strings.Repeat("zu lang ", 40)})
	}
	answer, _ := json.Marshal(map[string]any{"error": map[string]any{"code": "invalid", "message": "announcement rejected", "details": details}})
	if len(answer) < 1<<20 {
		t.Fatalf("answer of %d bytes, want more than 1 MiB", len(answer))
	}
	remote := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		w.Write(answer)
	}))
	t.Cleanup(remote.Close)
	file := filepath.Join(t.TempDir(), "notice.md")
	os.WriteFile(file, []byte("---\ntitle: Hinweis\ntowns: [soest]\n---\nText\n"), 0o600)
	code, _, errOut := run(t, map[string]string{"CRIER_SERVER": remote.URL, "CRIER_TOKEN": "t"}, "publish", file)
	if code != exitInvalid || !strings.Contains(errOut, " town4999: body: zu lang") || strings.Contains(errOut, `{"error"`) {
		t.Errorf("exit %d, want %d listing every problem\n%.500s", code, exitInvalid, errOut)
	}
	if _, err := (&server.Client{URL: remote.URL}).Publish(context.Background(), &crier.Announcement{}, ""); crier.ErrorCode(err) != crier.EINVALID {
		t.Errorf("client: %v, want the server's invalid error", err)
	}
}
