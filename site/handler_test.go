package site

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
)

func TestRoutes(t *testing.T) {
	s := mustSite(t, options(kreisSoestSource(t)))
	tests := []struct {
		path        string
		code        int
		contentType string
	}{
		{"/", 200, "text/html; charset=utf-8"},
		{"/feed.atom", 200, "application/atom+xml; charset=utf-8"},
		{"/feed.rss", 200, "application/rss+xml; charset=utf-8"},
		{"/soest/", 200, "text/html; charset=utf-8"},
		{"/wickede/", 200, "text/html; charset=utf-8"},
		{"/soest/feed.atom", 200, "application/atom+xml; charset=utf-8"},
		{"/soest/feed.rss", 200, "application/rss+xml; charset=utf-8"},
		{"/soest/" + idKfz, 200, "text/html; charset=utf-8"},
		{"/soest/" + idKfz + ".cap.xml", 200, "application/cap+xml; charset=utf-8"},
		{"/soest/" + idKfz + ".cap.json", 200, "application/json; charset=utf-8"},
		{"/lippstadt/" + idKfz, 200, "text/html; charset=utf-8"},
		// unknown towns, announcements, and announcements of other towns
		{"/hamm/", 404, ""},
		{"/hamm/feed.atom", 404, ""},
		{"/soest/zzzzzzzz", 404, ""},
		{"/soest/zzzzzzzz.cap.xml", 404, ""},
		{"/wickede/" + idKfz, 404, ""},
		{"/wickede/" + idKfz + ".cap.xml", 404, ""},
		{"/wickede/" + idKfz + ".cap.json", 404, ""},
		// paths the site does not have
		{"/soest/" + idKfz + "/", 404, ""},
		{"/soest/" + idKfz + ".html", 404, ""},
		{"/index.html", 404, ""},
		{"/soest/index.html", 404, ""},
		{"/soest/../etc/passwd", 404, ""},
		{"/.env", 404, ""},
		{"/soest/.cap.xml", 404, ""},
		{"/soest/feed.json", 404, ""},
		{"/a/b/c", 404, ""},
	}
	for _, tt := range tests {
		res, body := get(t, s, http.MethodGet, tt.path)
		if res.StatusCode != tt.code {
			t.Errorf("GET %s: %d, want %d", tt.path, res.StatusCode, tt.code)
			continue
		}
		if tt.code != 200 {
			if !bytes.Contains(body, []byte("Seite nicht gefunden")) || res.Header.Get("Cache-Control") != "no-cache" {
				t.Errorf("GET %s: 404 page %q, Cache-Control %q", tt.path, body, res.Header.Get("Cache-Control"))
			}
			continue
		}
		if got := res.Header.Get("Content-Type"); got != tt.contentType {
			t.Errorf("GET %s: Content-Type %q, want %q", tt.path, got, tt.contentType)
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("GET %s: headers %v", tt.path, res.Header)
		}
		if csp := res.Header.Get("Content-Security-Policy"); strings.HasPrefix(tt.contentType, "text/html") &&
			(!strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "style-src 'sha256-")) {
			t.Errorf("GET %s: Content-Security-Policy %q", tt.path, csp)
		}
	}
}

func TestRedirectToTown(t *testing.T) {
	s := mustSite(t, options(kreisSoestSource(t)))
	res, _ := get(t, s, http.MethodGet, "/soest")
	if res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != "soest/" {
		t.Errorf("GET /soest: %s, Location %q; want 301 to the relative soest/", res.Status, res.Header.Get("Location"))
	}
	// Mounted under a prefix, the relative Location still works.
	mux := http.NewServeMux()
	mux.Handle("/notfall/", http.StripPrefix("/notfall", s))
	res, _ = get(t, mux, http.MethodGet, "/notfall/soest")
	reqURL, _ := url.Parse("http://example.org/notfall/soest")
	if loc, _ := reqURL.Parse(res.Header.Get("Location")); loc == nil || loc.Path != "/notfall/soest/" {
		t.Errorf("under a prefix: Location %q resolves to %v", res.Header.Get("Location"), loc)
	}
	if res, _ := get(t, s, http.MethodGet, "/hamm"); res.StatusCode != 404 {
		t.Errorf("GET /hamm: %s, want 404 and no redirect to a town that is not there", res.Status)
	}
}

func TestMethods(t *testing.T) {
	s := mustSite(t, options(kreisSoestSource(t)))
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions, "PROPFIND"} {
		for _, path := range []string{"/", "/soest/", "/soest/" + idKfz + ".cap.xml", "/nirgendwo"} {
			res, _ := get(t, s, m, path)
			if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("%s %s: %s, Allow %q; want 405 with GET, HEAD", m, path, res.Status, res.Header.Get("Allow"))
			}
		}
	}
	// HEAD answers as GET without a body.
	for _, path := range []string{"/", "/soest/feed.atom", "/soest/" + idKfz + ".cap.xml"} {
		getRes, getBody := get(t, s, http.MethodGet, path)
		headRes, headBody := get(t, s, http.MethodHead, path)
		if headRes.StatusCode != 200 || len(headBody) != 0 {
			t.Errorf("HEAD %s: %s with %d bytes", path, headRes.Status, len(headBody))
		}
		for _, h := range []string{"ETag", "Last-Modified", "Cache-Control", "Content-Type", "Content-Length"} {
			if getRes.Header.Get(h) != headRes.Header.Get(h) {
				t.Errorf("HEAD %s: %s %q, GET says %q", path, h, headRes.Header.Get(h), getRes.Header.Get(h))
			}
		}
		if getRes.Header.Get("Content-Length") != strconv.Itoa(len(getBody)) {
			t.Errorf("GET %s: Content-Length %q for %d bytes", path, getRes.Header.Get("Content-Length"), len(getBody))
		}
	}
	if res, body := get(t, s, http.MethodHead, "/nirgendwo/"); res.StatusCode != 404 || len(body) != 0 {
		t.Errorf("HEAD of a missing page: %s with %d bytes", res.Status, len(body))
	}
}

// TestConditionalGet checks ETag, Last-Modified and Cache-Control, 304
// answers, and that a change (an update, an expiry passing) changes both
// validators.
func TestConditionalGet(t *testing.T) {
	src := kreisSoestSource(t)
	clock := &movingClock{t: now}
	o := options(src)
	o.Clock = clock
	s := mustSite(t, o)

	paths := []string{"/", "/feed.atom", "/feed.rss", "/soest/", "/soest/feed.atom", "/soest/feed.rss",
		"/soest/" + idKfz, "/soest/" + idKfz + ".cap.xml", "/soest/" + idKfz + ".cap.json"}
	for _, path := range paths {
		res, _ := get(t, s, http.MethodGet, path)
		etag, lm := res.Header.Get("ETag"), res.Header.Get("Last-Modified")
		if !strings.HasPrefix(etag, `"`) || strings.HasPrefix(etag, "W/") || lm == "" {
			t.Errorf("GET %s: ETag %q, Last-Modified %q", path, etag, lm)
			continue
		}
		if cc := res.Header.Get("Cache-Control"); cc != "public, max-age=60, stale-while-revalidate=60, stale-if-error=86400" {
			t.Errorf("GET %s: Cache-Control %q", path, cc)
		}
		if res, body := get(t, s, http.MethodGet, path, "If-None-Match", etag); res.StatusCode != http.StatusNotModified || len(body) != 0 {
			t.Errorf("GET %s with its ETag: %s, %d bytes", path, res.Status, len(body))
		}
		if res, _ := get(t, s, http.MethodGet, path, "If-None-Match", `"other", `+etag); res.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s with a list holding its ETag: %s", path, res.Status)
		}
		if res, _ := get(t, s, http.MethodGet, path, "If-None-Match", `"other"`); res.StatusCode != http.StatusOK {
			t.Errorf("GET %s with another ETag: %s", path, res.Status)
		}
		if res, _ := get(t, s, http.MethodGet, path, "If-Modified-Since", lm); res.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s If-Modified-Since its Last-Modified: %s", path, res.Status)
		}
		earlier := mustParseHTTPTime(t, lm).Add(-time.Second).Format(http.TimeFormat)
		if res, _ := get(t, s, http.MethodGet, path, "If-Modified-Since", earlier); res.StatusCode != http.StatusOK {
			t.Errorf("GET %s If-Modified-Since a second before: %s", path, res.Status)
		}
		// If-None-Match wins over If-Modified-Since.
		if res, _ := get(t, s, http.MethodGet, path, "If-None-Match", `"other"`, "If-Modified-Since", lm); res.StatusCode != http.StatusOK {
			t.Errorf("GET %s with another ETag and its Last-Modified: %s", path, res.Status)
		}
	}

	// An update changes the town page, its feed and the CAP document.
	before := map[string]*http.Response{}
	for _, path := range paths {
		before[path], _ = get(t, s, http.MethodGet, path)
	}
	src.update(idKfz, &crier.Announcement{Title: "Kfz-Zulassungsstelle: Termine entfallen", Body: "Neu.", Reason: "Neu"}, now.Add(-time.Minute))
	for _, path := range paths {
		res, _ := get(t, s, http.MethodGet, path, "If-None-Match", before[path].Header.Get("ETag"))
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s after an update with the old ETag: %s", path, res.Status)
		}
		if res.Header.Get("Last-Modified") == before[path].Header.Get("Last-Modified") {
			t.Errorf("GET %s after an update: Last-Modified stays %s", path, res.Header.Get("Last-Modified"))
		}
	}

	// When a notice expires, the town page changes although nothing was
	// published: Last-Modified moves to the expiry.
	clock.t = now
	src = kreisSoestSource(t)
	o.Source = src
	s = mustSite(t, o)
	res, _ := get(t, s, http.MethodGet, "/lippstadt/")
	if lm := res.Header.Get("Last-Modified"); lm != "Thu, 26 Nov 2026 08:00:00 GMT" {
		t.Errorf("Lippstadt: Last-Modified %q, want the update of 08:00 UTC", lm)
	}
	clock.t = time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC)
	after, _ := get(t, s, http.MethodGet, "/lippstadt/", "If-Modified-Since", res.Header.Get("Last-Modified"))
	if after.StatusCode != http.StatusOK || after.Header.Get("Last-Modified") != "Thu, 31 Dec 2026 17:00:00 GMT" {
		t.Errorf("after the expiry: %s, Last-Modified %q", after.Status, after.Header.Get("Last-Modified"))
	}
}

type movingClock struct{ t time.Time }

func (c *movingClock) Now() time.Time { return c.t }

func mustParseHTTPTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := http.ParseTime(s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// TestSourceFailure: a failing source is a 500 that is logged and never
// cached, not a 404.
func TestSourceFailure(t *testing.T) {
	src := kreisSoestSource(t)
	var logs bytes.Buffer
	o := options(src)
	o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	s := mustSite(t, o)
	src.fail = errors.New("database is locked")
	for _, path := range []string{"/", "/soest/", "/soest/" + idKfz, "/feed.atom", "/soest/" + idKfz + ".cap.xml"} {
		res, body := get(t, s, http.MethodGet, path)
		if res.StatusCode != 500 || res.Header.Get("Cache-Control") != "no-store" || !bytes.Contains(body, []byte("vorübergehend")) {
			t.Errorf("GET %s with a failing source: %s, Cache-Control %q", path, res.Status, res.Header.Get("Cache-Control"))
		}
		if bytes.Contains(body, []byte("locked")) {
			t.Errorf("GET %s shows the internal error", path)
		}
	}
	if !strings.Contains(logs.String(), "database is locked") {
		t.Errorf("the failure is not logged: %s", logs.String())
	}
}

func TestNewOptions(t *testing.T) {
	src := newSource(t)
	_, err := New(Options{
		BaseURL: "ftp://x", Sender: "a, b", ImprintURL: "javascript:alert(1)", PrivacyURL: "/datenschutz",
		Mode: "drill", Title: "a\nb", Limit: -1,
	})
	var fields []string
	for _, p := range crier.ErrorDetails(err) {
		fields = append(fields, p.Field)
	}
	want := "source base_url imprint_url privacy_url mode sender title limit"
	if crier.ErrorCode(err) != crier.EINVALID || strings.Join(fields, " ") != want {
		t.Errorf("New: %v; problems with %v, want %s", err, fields, want)
	}
	s := mustSite(t, Options{Source: src, BaseURL: "https://example.org/notfall"})
	if s.base.String() != "https://example.org/notfall/" || s.sender != "example.org" {
		t.Errorf("base %s sender %s", s.base, s.sender)
	}
	if got := s.abs("", "soest/feed.atom"); got != "https://example.org/notfall/soest/feed.atom" {
		t.Errorf("abs = %s", got)
	}
	if _, err := New(Options{Source: src, BaseURL: "https://example.org/?a=1"}); err == nil {
		t.Error("a base URL with a query is accepted")
	}
}

func TestRel(t *testing.T) {
	tests := []struct{ from, to, want string }{
		{"", "", "./"},
		{"", "soest/", "soest/"},
		{"", "feed.atom", "feed.atom"},
		{"soest/", "", "../"},
		{"soest/", "soest/k3v7", "k3v7"},
		{"soest/", "soest/feed.atom", "feed.atom"},
		{"soest/k3v7", "soest/", "./"},
		{"soest/k3v7", "soest/k3v7.cap.xml", "k3v7.cap.xml"},
		{"soest/k3v7", "lippstadt/k3v7", "../lippstadt/k3v7"},
		{"index.html", "soest/index.html", "soest/index.html"},
		{"soest/index.html", "index.html", "../index.html"},
		{"soest/k3v7.html", "soest/index.html", "index.html"},
		{"a/b/c", "", "../../"},
		{"", "x:y/", "./x:y/"},
	}
	for _, tt := range tests {
		if got := rel(tt.from, tt.to); got != tt.want {
			t.Errorf("rel(%q, %q) = %q, want %q", tt.from, tt.to, got, tt.want)
		}
	}
}

// TestEnglishTown: a town whose language is English gets English pages and
// feeds; the overview stays German.
func TestEnglishTown(t *testing.T) {
	src := kreisSoestSource(t)
	src.town("soest").Language = "en"
	s := mustSite(t, options(src))
	page := string(mustGet(t, s, "/soest/"))
	for _, want := range []string{`<html lang="en">`, "Current notices", "Skip to content", "Service status", "Phone", "Legal notice", "EXERCISE – not a real notice"} {
		if !strings.Contains(page, want) {
			t.Errorf("English town page lacks %q", want)
		}
	}
	if index := string(mustGet(t, s, "/")); !strings.Contains(index, `<html lang="de">`) || !strings.Contains(index, "Aktuelle Meldungen") {
		t.Error("the overview is not German")
	}
	checkPage(t, "english", []byte(page))
}

// TestEmptySite: a site without announcements and status lists still has
// every page and feed.
func TestEmptySite(t *testing.T) {
	s := mustSite(t, Options{Source: newSource(t), Clock: fixedClock(now)})
	for _, path := range []string{"/", "/soest/"} {
		page := mustGet(t, s, path)
		checkPage(t, path, page)
		if !bytes.Contains(page, []byte("Zurzeit gibt es keine aktuellen Meldungen.")) || bytes.Contains(page, []byte("Impressum")) {
			t.Errorf("%s of an empty site:\n%s", path, page)
		}
	}
	f := atomFeedOf(t, s, "/soest/feed.atom")
	if len(f.Entries) != 0 || f.Updated != "1970-01-01T00:00:00Z" || f.Links[0].Href != "feed.atom" {
		t.Errorf("empty feed: updated %q, links %+v", f.Updated, f.Links)
	}
	rssFeedOf(t, s, "/feed.rss")
	res, _ := get(t, s, http.MethodGet, "/soest/")
	if res.Header.Get("Last-Modified") != "" {
		t.Errorf("an empty page claims a Last-Modified %q", res.Header.Get("Last-Modified"))
	}
}

// TestConcurrent serves every page from many goroutines at once (run with
// -race).
func TestConcurrent(t *testing.T) {
	s := mustSite(t, options(kreisSoestSource(t)))
	srv := httptest.NewServer(s)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errs := make(chan error, 64)
	for i := 0; i < 16; i++ {
		go func() {
			for _, g := range goldenPaths {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+g.path, nil)
				res, err := srv.Client().Do(req)
				if err == nil {
					res.Body.Close()
					if res.StatusCode != 200 {
						err = errors.New(g.path + ": " + res.Status)
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for i := 0; i < 16; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
