// Package browsertest runs crier's pages in headless Chromium for tests:
// it finds and starts the browser, bounds every step, saves a screenshot
// and the page's HTML when a test fails, and checks pages with axe-core
// against WCAG 2.1 AA at a desktop and a phone width.
//
// A test starts one browser and walks all its pages in it:
//
//	ctx := browsertest.Start(t)
//	browsertest.CheckPage(t, ctx, srv.URL+"/soest/")
//	browsertest.Do(t, ctx, "subscribe link", chromedp.Click(...), browsertest.Shows("E-Mail"))
//
// Without Chromium the tests skip, and fail when CI=true.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// StepTimeout bounds every browser step: a navigation, a click and what it
// waits for, one axe run.
const StepTimeout = 20 * time.Second

// startTimeout bounds the start of the browser.
const startTimeout = time.Minute

// Chromium returns the path of Chromium: $CHROME, /usr/bin/chromium, or
// chromium or chromium-browser on $PATH. Without one the test skips, and
// fails on CI (CI=true), where .ci/run installs Debian's chromium.
func Chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("CHROME"); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const msg = "chromium not found (Debian: apt-get install chromium, or set $CHROME); browser test not run"
	if os.Getenv("CI") == "true" {
		t.Fatal("CI=true: " + msg)
	}
	t.Skip(msg + " (CI=true makes this a failure)")
	return ""
}

// session is what Start keeps about its browser for the steps and the
// artifacts.
type session struct {
	mu     sync.Mutex
	step   string // the step under way, for the artifacts' names
	dir    string // where artifacts go, once made
	checks int    // Axe calls so far, numbering their artifacts
}

type sessionKey struct{}

func sessionFrom(ctx context.Context) *session {
	s, _ := ctx.Value(sessionKey{}).(*session)
	return s
}

// Start starts headless Chromium for the test, asking for German pages
// first, and returns the context of its one tab, for Do, Step, Axe and CheckPage (and chromedp.Run). The
// browser stops when the test ends. When the test has failed by then, a
// screenshot and the HTML of the page shown last are saved first (see
// Artifacts), named after the step under way.
func Start(t testing.TB) context.Context {
	t.Helper()
	chrome := Chromium(t)
	// The network of this machine may be closed: Chromium must not reach
	// out on its own, or its connections are refused many at a time.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-proxy-server", true),
		// German first, as crier's users, whatever this machine's locale.
		chromedp.Flag("lang", "de-DE"),
		chromedp.Flag("accept-lang", "de-DE,de,en"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	tab, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelTab)
	// The first action starts the browser, whose life is the context's:
	// it has no timeout of its own, and a start that hangs fails here.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(tab) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start %s: %v", chrome, err)
		}
	case <-time.After(startTimeout):
		t.Fatalf("%s did not start within %v", chrome, startTimeout)
	}
	s := &session{step: "start"}
	ctx := context.WithValue(tab, sessionKey{}, s)
	// Registered after the browser's cancels, this runs before them.
	t.Cleanup(func() {
		if t.Failed() {
			s.mu.Lock()
			step := s.step
			s.mu.Unlock()
			Artifacts(t, ctx, step)
		}
	})
	return ctx
}

// Step returns the context for one step of the browser in ctx, bounded by
// StepTimeout, and names the step (see Label).
func Step(ctx context.Context, name string) (context.Context, context.CancelFunc) {
	Label(ctx, name)
	return context.WithTimeout(ctx, StepTimeout)
}

// Label names the step under way in the browser of ctx, after which the
// artifacts of a failure are named; also for a part of a test that does
// not use the browser, such as waiting for a mail.
func Label(ctx context.Context, name string) {
	if s := sessionFrom(ctx); s != nil {
		s.mu.Lock()
		s.step = name
		s.mu.Unlock()
	}
}

// Do runs actions as the step name and ends the test if they fail.
func Do(t testing.TB, ctx context.Context, name string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := Step(ctx, name)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// Shows waits until the page has loaded and its text contains s.
func Shows(s string) chromedp.Action[chromedp.Void] {
	return Holds(fmt.Sprintf("document.body.innerText.includes(%q)", s))
}

// Holds waits until the page has loaded and the script js is true of it.
// After a click the next page replaces the current one, and an evaluation
// that meets the navigation fails: it tries again until the step's
// deadline.
func Holds(js string) chromedp.Action[chromedp.Void] {
	cond := fmt.Sprintf("document.readyState === 'complete' && !!(%s)", js)
	return func(ctx context.Context, target *chromedp.Target) (chromedp.Void, error) {
		var last error
		for {
			try, cancel := context.WithTimeout(ctx, 2*time.Second)
			ok, err := chromedp.Evaluate[bool](cond)(try, target)
			cancel()
			if err == nil && ok {
				return chromedp.Void{}, nil
			}
			if err != nil {
				last = err
			}
			select {
			case <-ctx.Done():
				return chromedp.Void{}, fmt.Errorf("never true: %s (last error: %v): %w", js, last, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
}

// unsafeName matches what a file name had better not hold.
var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// nextCheck numbers a check of the browser in ctx, so that the artifacts
// of two states of one page (a form, and the form with an error) do not
// overwrite each other.
func nextCheck(ctx context.Context) int {
	s := sessionFrom(ctx)
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks++
	return s.checks
}

// artifactDir returns the directory for the artifacts of the browser in
// ctx: $CRIER_TEST_ARTIFACTS, or else a new directory under $TMPDIR, not
// t.TempDir, which goes with the test; one for each browser.
func artifactDir(ctx context.Context) (string, error) {
	s := sessionFrom(ctx)
	if s != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.dir != "" {
			return s.dir, nil
		}
	}
	dir := os.Getenv("CRIER_TEST_ARTIFACTS")
	var err error
	if dir == "" {
		dir, err = os.MkdirTemp("", "crier-browser-")
	} else {
		err = os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		return "", err
	}
	if s != nil {
		s.dir = dir
	}
	return dir, nil
}

// Artifacts saves a full-page screenshot (PNG) and the HTML of the page
// shown in ctx's tab into $CRIER_TEST_ARTIFACTS, or a new directory under
// $TMPDIR that outlives the test, as files named after the test and name,
// and logs where. What it cannot save it logs; it never fails the test.
func Artifacts(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	dir, err := artifactDir(ctx)
	if err != nil {
		t.Logf("artifacts: %v", err)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, StepTimeout)
	defer cancel()
	base := filepath.Join(dir, unsafeName.ReplaceAllString(t.Name()+"-"+name, "-"))
	// A page that is just loading has nothing to capture: try again.
	var png []byte
	for try := 0; try < 5; try++ {
		if png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
	if err != nil {
		t.Logf("artifacts: screenshot: %v", err)
	} else if err := os.WriteFile(base+".png", png, 0o644); err != nil {
		t.Logf("artifacts: %v", err)
	}
	if page, err := chromedp.Run(ctx, chromedp.Evaluate[string]("document.documentElement.outerHTML")); err != nil {
		t.Logf("artifacts: page: %v", err)
	} else if err := os.WriteFile(base+".html", []byte(page), 0o644); err != nil {
		t.Logf("artifacts: %v", err)
	}
	t.Logf("%s: screenshot and page saved as %s.png and .html", name, base)
}
