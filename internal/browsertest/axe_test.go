package browsertest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// recorder is a testing.TB that records failures instead of failing, so
// that a test can see what the harness reports.
type recorder struct {
	testing.TB
	mu       sync.Mutex
	failures []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) { r.Errorf("FATAL: "+format, args...) }

func (r *recorder) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.failures) > 0
}

func (r *recorder) report() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.failures, "\n")
}

// goodPage is accessible at every width.
const goodPage = `<!doctype html>
<html lang="de"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Gut</title></head>
<body><main><h1>Gut</h1><p>Alles lesbar, auch <a href="/bad">auf dem Telefon</a>.</p>
<form><label for="e">E-Mail</label> <input id="e" type="email"></form></main></body></html>`

// badPage breaks rules of every kind the public site could: no language,
// no title, an image without text, a link without a name, an input
// without a label, grey on white, a box wider than a phone, a link whose
// focus does not show, and one that is focused off the screen.
const badPage = `<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>Schlecht</h1>
<p style="color:#aaaaaa;background:#ffffff">Kaum lesbar</p>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<a href="/good"></a>
<input type="text">
<div class="breit" style="width:600px">Zu breit</div>
<p><a href="/good" style="outline:none">Ohne Rahmen</a> <a href="/good" style="position:absolute;left:-10000px">Versteckt</a></p>
</main></body></html>`

// spacingPage fits a phone, but not with the text spacing of WCAG 1.4.12:
// thirty letters of a 16 px monospace font that must not wrap.
const spacingPage = `<!doctype html>
<html lang="de"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Eng</title></head>
<body><main><h1>Eng</h1><p class="eng" style="font:16px monospace;white-space:nowrap">Wasserversorgungsunterbrechung</p></main></body></html>`

func pages(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		// The site's own policy: no script at all. The check must work
		// under it all the same.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
		switch r.URL.Path {
		case "/good":
			fmt.Fprint(w, goodPage)
		case "/bad":
			fmt.Fprint(w, badPage)
		case "/spacing":
			fmt.Fprint(w, spacingPage)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestCheckPage: the check passes an accessible page, under a policy that
// forbids scripts, and reports every violation of a bad one, with its
// rule, the failing element and the width, saving the page as it looked.
func TestCheckPage(t *testing.T) {
	artifacts := t.TempDir()
	t.Setenv("CRIER_TEST_ARTIFACTS", artifacts)
	srv := pages(t)
	ctx := Start(t)

	good := &recorder{TB: t}
	CheckPage(good, ctx, srv.URL+"/good")
	if good.Failed() {
		t.Errorf("the accessible page failed:\n%s", good.report())
	}

	bad := &recorder{TB: t}
	CheckPage(bad, ctx, srv.URL+"/bad")
	got := bad.report()
	for _, want := range []string{
		srv.URL + "/bad at 1280 px", srv.URL + "/bad at 320 px",
		"html-has-lang (serious)", "document-title (serious)", "image-alt (critical)", "link-name (serious)",
		"label (critical)", "color-contrast (serious)", "Kaum lesbar", "dequeuniversity.com/rules/axe/",
		"reflow (serious)", "608 px wide in a 320 px viewport", "div.breit",
		"focus-visible (serious)", ">Ohne Rahmen</a>", "focused without an outline", ">Versteckt</a>", "not in the viewport",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the report lacks %q:\n%s", want, got)
		}
	}
	// The page is wide enough at 1280 px: the reflow violation is the
	// phone's alone.
	if at1280, _, _ := strings.Cut(got, "at 320 px"); strings.Contains(at1280, "reflow") {
		t.Errorf("reflow reported at 1280 px:\n%s", got)
	}
	spacing := &recorder{TB: t}
	CheckPage(spacing, ctx, srv.URL+"/spacing")
	got = spacing.report()
	if !strings.Contains(got, "text-spacing (serious)") || !strings.Contains(got, "p.eng") ||
		strings.Contains(got, "at 1280 px") || strings.Contains(got, "reflow") {
		t.Errorf("want text-spacing at 320 px alone, got:\n%s", got)
	}

	for _, name := range []string{"axe-02-bad-1280px.png", "axe-02-bad-1280px.html", "axe-02-bad-320px.png", "axe-02-bad-320px.html"} {
		path := filepath.Join(artifacts, "TestCheckPage-"+name)
		if info, err := os.Stat(path); err != nil || info.Size() == 0 {
			t.Errorf("artifact %s: %v", name, err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(artifacts, "TestCheckPage-axe-02-bad-320px.html")); err != nil || !strings.Contains(string(b), "Kaum lesbar") {
		t.Errorf("saved page: %v\n%s", err, b)
	}
}

// TestArtifactsOnFailure: a test that fails leaves the page it was on,
// named after its step.
func TestArtifactsOnFailure(t *testing.T) {
	artifacts := t.TempDir()
	t.Setenv("CRIER_TEST_ARTIFACTS", artifacts)
	srv := pages(t)
	t.Run("failing", func(t *testing.T) {
		rec := &recorder{TB: t}
		ctx := Start(rec)
		Do(rec, ctx, "open the good page", chromedp.Navigate(srv.URL+"/good"))
		rec.Errorf("something went wrong")
	})
	path := filepath.Join(artifacts, "TestArtifactsOnFailure-failing-open-the-good-page")
	for _, ext := range []string{".png", ".html"} {
		if info, err := os.Stat(path + ext); err != nil || info.Size() == 0 {
			t.Errorf("artifact %s: %v", ext, err)
		}
	}
}

func TestShorten(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"kurz", 10, "kurz"},
		{"a\n   b", 10, "a b"},
		{"Straßenbahn", 5, "Stra…"},
		{"Straßenbahn", 6, "Straß…"},
	} {
		if got := shorten(c.in, c.n); got != c.want {
			t.Errorf("shorten(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}
