package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier/channels/webhook/webhooktest"
)

// composeCountyConfig is crier for Kreis Soest's 14 towns, each with its
// own Mastodon account, Slack channel, email list and website webhook,
// and the site page: 14 × 5 messages per preview.
func composeCountyConfig() string {
	var b strings.Builder
	b.WriteString("mode: exercise\npublic_url: https://krisen.kreis-soest.example\nchannels:\n")
	var ids []string
	for _, t := range benchKreisSoest {
		ids = append(ids, t.id)
		fmt.Fprintf(&b, "  - id: mastodon-%s\n    type: mastodon\n    endpoints: [{server: \"https://social.example\", token: \"${MASTODON_TOKEN}\"}]\n", t.id)
		fmt.Fprintf(&b, "  - id: slack-%s\n    type: slack\n    endpoints: [{token: \"${SLACK_BOT_TOKEN}\", channel: \"#krisenstab-%s\"}]\n", t.id, t.id)
		fmt.Fprintf(&b, "  - id: mail-%s\n    type: email\n    from: \"%s <presse@%s.example>\"\n", t.id, t.name, t.id)
		fmt.Fprintf(&b, "    endpoints: [{host: relay.kommunal-it.example, port: 587, tls: starttls, username: presse-%s, password: \"${SMTP_PASSWORD}\"}]\n", t.id)
		fmt.Fprintf(&b, "  - id: web-%s\n    type: webhook\n    endpoints: [{url: %q, secret: \"${WEBHOOK_SECRET}\"}]\n", t.id, t.website+"/crier-hook")
	}
	b.WriteString("towns:\n")
	for _, t := range benchKreisSoest {
		fmt.Fprintf(&b, "  - id: %s\n    name: %q\n    ags: %q\n", t.id, t.name, t.ags)
		fmt.Fprintf(&b, "    vars: {phone: %q, office: %q, hours: %q, website: %q, hashtag: %q}\n", t.phone, t.office, t.hours, t.website, t.hashtag)
		fmt.Fprintf(&b, "    channels: [mastodon-%s, slack-%s, mail-%s, web-%s]\n", t.id, t.id, t.id, t.id)
	}
	fmt.Fprintf(&b, "groups:\n  kreis-soest: [%s]\n", strings.Join(ids, ", "))
	return b.String()
}

// composeSession is a press officer of the county signed in to the
// newsroom of a crier serve running in-process.
type composeSession struct {
	url    string
	client *http.Client
	form   url.Values
}

var (
	composeCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	composeKey  = regexp.MustCompile(`name="key" value="([^"]+)"`)
)

// newComposeSession starts crier serve with composeCountyConfig, adds
// an editor of the county with the users command, signs in and opens the
// compose form, filled in with the outage notice for the county.
func newComposeSession(tb testing.TB) *composeSession {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "crier.yaml")
	if err := os.WriteFile(path, []byte(composeCountyConfig()), 0o600); err != nil {
		tb.Fatal(err)
	}
	env := map[string]string{"MASTODON_TOKEN": "mastodon-token", "SLACK_BOT_TOKEN": "xoxb-slack-token",
		"SMTP_PASSWORD": "smtp-password", "WEBHOOK_SECRET": webhooktest.NewSecret(tb), "CRIER_LANG": "en"}
	m, _, stderr := testMain(env)
	srv, stop := startServe(tb, m, stderr, path, newDataDir(tb))
	tb.Cleanup(stop)
	cm, out, errOut := testMain(env)
	cm.Stdin = strings.NewReader("Presseamt Kreis Soest 2026\n")
	if code := cm.Run(tb.Context(), []string{"users", "add", "presse", "--role", "editor", "--towns", "kreis-soest",
		"--password-stdin", "--config", path, "--data-dir", srv.DataDir}); code != exitOK {
		tb.Fatalf("users add: exit %d\n%s%s", code, out, errOut)
	}
	jar, _ := cookiejar.New(nil)
	s := &composeSession{url: srv.URL, client: &http.Client{Jar: jar, Timeout: time.Minute}}
	res, err := s.client.PostForm(s.url+"/admin/login", url.Values{"name": {"presse"}, "password": {"Presseamt Kreis Soest 2026"}})
	if err != nil {
		tb.Fatal(err)
	}
	res.Body.Close()
	res, err = s.client.Get(s.url + "/admin/compose")
	if err != nil {
		tb.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	csrf, key := composeCSRF.FindSubmatch(page), composeKey.FindSubmatch(page)
	if res.StatusCode != http.StatusOK || csrf == nil || key == nil {
		tb.Fatalf("compose page: %s\n%s", res.Status, page)
	}
	n := benchNotice()
	s.form = url.Values{"csrf": {string(csrf[1])}, "key": {string(key[1])}, "title": {n.Title}, "body": {n.Body},
		"towns": {"kreis-soest"}, "channels_listed": {"1"}, "when": {"now"}, "mode": {"exercise"}}
	for _, t := range benchKreisSoest {
		s.form["channels"] = append(s.form["channels"], "mastodon-"+t.id, "slack-"+t.id, "mail-"+t.id, "web-"+t.id)
	}
	return s
}

// preview posts the form to the preview as the page's script does and
// returns the HTML of the matrix.
func (s *composeSession) preview(tb testing.TB) string {
	req, err := http.NewRequest(http.MethodPost, s.url+"/admin/compose/preview", strings.NewReader(s.form.Encode()))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", s.form.Get("csrf"))
	res, err := s.client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		tb.Fatalf("preview: %s, %v\n%s", res.Status, err, body)
	}
	return string(body)
}

// checkMatrix fails unless the matrix has the 14 × 5 cells and no
// problem.
func checkMatrix(tb testing.TB, html string) {
	tb.Helper()
	if n := strings.Count(html, `<div class="cell" id="cell-`); n != 14*5 || !strings.Contains(html, `data-problems="0"`) {
		tb.Fatalf("matrix: %d cells without problems, want 70:\n%s", n, html)
	}
	for _, id := range []string{"cell-soest-mastodon-soest", "cell-werl-slack-werl", "cell-wickede-mail-wickede", "cell-lippstadt-web-lippstadt", "cell-ense-site"} {
		if !strings.Contains(html, `id="`+id+`"`) {
			tb.Fatalf("matrix lacks %s", id)
		}
	}
}

// TestComposePreviewThroughServe: the newsroom of crier serve previews
// the county's notice for 14 towns × 5 channels, for an editor of the
// county group.
func TestComposePreviewThroughServe(t *testing.T) {
	s := newComposeSession(t)
	checkMatrix(t, s.preview(t))
}

// BenchmarkComposePreview measures POST /admin/compose/preview, what the
// compose page's script sends while a press officer types, through crier
// serve for Kreis Soest's 14 towns × 5 channels (Mastodon, Slack, email,
// webhook and the site page): signed in as an editor of the county, with
// the session, CSRF and authorization checks, rendering and checking every
// message, and the matrix's HTML. Reports the latency's p50 and p95.
func BenchmarkComposePreview(b *testing.B) {
	s := newComposeSession(b)
	checkMatrix(b, s.preview(b))
	var times []time.Duration
	for b.Loop() {
		start := time.Now()
		s.preview(b)
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	b.ReportMetric(benchMillis(benchPercentile(times, 50)), "p50-ms")
	b.ReportMetric(benchMillis(benchPercentile(times, 95)), "p95-ms")
}
