package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/email/smtptest"
	"github.com/crierhq/crier/newsroom"
)

// TestWatchFanOutCPU measures what following a large fan-out live costs
// the server: "crier serve" in-process sends one notice to a town of
// 20 000 confirmed subscribers (CRIER_BENCH_RECIPIENTS) through the
// in-process SMTP sink, first with nobody watching, then with five
// newsroom pages (five signed-in sessions) following its progress over
// server-sent events, alternating, CRIER_WATCH_BENCH_RUNS pairs (3). It
// reports the process's CPU time (user + system) from the publish until
// every delivery is final and the sink has every mail, and the extra CPU
// time of the watched runs in percent of the unwatched median. The
// process holds the sink and the five clients too, so the base includes
// their work, and the extra includes the clients' reading of the events.
//
//	CRIER_WATCH_BENCH=1 go test -count=1 -v -run TestWatchFanOutCPU ./cmd/crier
func TestWatchFanOutCPU(t *testing.T) {
	if os.Getenv("CRIER_WATCH_BENCH") == "" {
		t.Skip("set CRIER_WATCH_BENCH=1 to measure the live page's cost during a 20 000-mail fan-out")
	}
	n := 20000
	if s := os.Getenv("CRIER_BENCH_RECIPIENTS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 {
			t.Fatalf("CRIER_BENCH_RECIPIENTS=%q is not a positive number", s)
		}
	}
	runs := 3
	if s := os.Getenv("CRIER_WATCH_BENCH_RUNS"); s != "" {
		var err error
		if runs, err = strconv.Atoi(s); err != nil || runs < 1 {
			t.Fatalf("CRIER_WATCH_BENCH_RUNS=%q is not a positive number", s)
		}
	}
	const watchers = 5

	var mails atomic.Int64
	sink := smtptest.NewServer(t, smtptest.Options{Discard: true, OnMessage: func(*smtptest.Message) { mails.Add(1) }})
	config := filepath.Join(t.TempDir(), "crier.yaml")
	// Over plain http on loopback, so that the session cookie is not
	// Secure.
	cfg := strings.Replace(benchMailConfig(sink.Port(), 8), "public_url: https://krisen.kreis-soest.example",
		"public_url: http://127.0.0.1:8080", 1)
	if err := os.WriteFile(config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := mustServe(t, config, nil)
	ctx := context.Background()
	subs := make([]*crier.Subscriber, n)
	for i := range subs {
		subs[i] = &crier.Subscriber{Town: "soest", Email: fmt.Sprintf("buerger%05d@soest.example", i),
			State: crier.SubscriberConfirmed, Source: "Test"}
	}
	for batch := range slices.Chunk(subs, 2000) {
		if _, _, err := srv.Client.AddSubscribers(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	const password = "Hellweg-Börde-Soest-2026"
	if code, _, errOut := runIn(t, nil, password+"\n", "users", "add", "presse", "--role", "viewer", "--towns", "soest",
		"--password-stdin", "--config", config, "--data-dir", srv.DataDir); code != exitOK {
		t.Fatalf("users add: exit %d\n%s", code, errOut)
	}
	pages := make([]*http.Client, watchers)
	for i := range pages {
		pages[i] = watchLogin(t, srv.URL, "presse", password)
	}

	var last string // the last announcement
	fanOut := func(watched bool) (cpu, wall time.Duration) {
		t.Helper()
		want := mails.Load() + int64(n)
		before, start := processCPU(), time.Now()
		res, err := srv.Client.Publish(ctx, benchNotice("soest"), "")
		if err != nil {
			t.Fatal(err)
		}
		id := res.Announcement.ID
		last = id
		var wg sync.WaitGroup
		if watched {
			for _, c := range pages {
				wg.Go(func() { watchFollow(t, c, srv.URL, id) })
			}
		}
		deadline := time.Now().Add(5 * time.Minute)
		for {
			// The wait is bounded; both kinds of run pay alike for its
			// status requests.
			if mails.Load() >= want {
				st, err := srv.Client.Status(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if st.Done {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("fan-out %s not done after 5 minutes: %d of %d mails", id, mails.Load()-want+int64(n), n)
			}
			time.Sleep(50 * time.Millisecond)
		}
		wg.Wait()
		return processCPU() - before, time.Since(start)
	}

	var base, watched, walls []time.Duration
	fanOut(false) // warm up: caches, connections, the first allocation of everything
	for i := range runs {
		// Every other pair runs the watched fan-out first, so that a
		// database growing with every run favours neither.
		var b, w, wall time.Duration
		if i%2 == 0 {
			b, _ = fanOut(false)
			w, wall = fanOut(true)
		} else {
			w, wall = fanOut(true)
			b, _ = fanOut(false)
		}
		base, watched, walls = append(base, b), append(watched, w), append(walls, wall)
		t.Logf("pair %d: without pages %v, with %d pages %v (%+.1f %%)", i+1, b.Round(time.Millisecond), watchers,
			w.Round(time.Millisecond), 100*(float64(w)/float64(b)-1))
	}
	mb, mw, wall := median(base), median(watched), median(walls)
	measured := 100 * (float64(mw)/float64(mb) - 1)
	t.Logf("median CPU time of a %d-mail fan-out: %v without, %v with %d live pages: %+.1f %% (%v)",
		n, mb.Round(time.Millisecond), mw.Round(time.Millisecond), watchers, measured, (mw - mb).Round(time.Millisecond))

	// On a shared machine the difference of two fan-outs is mostly noise.
	// What the pages add can be bounded directly: one poll of the counts
	// per interval for all of them, and the opening of each stream. A
	// status request through the API does the same query and more
	// (authentication, HTTP, JSON of the totals); its CPU time bounds a
	// poll from above. The events themselves (a few hundred bytes of JSON
	// per page and change) are measured by BenchmarkProgressEvent in
	// newsroom.
	const probes = 200
	before := processCPU()
	for range probes {
		if _, err := srv.Client.Status(ctx, last); err != nil {
			t.Fatal(err)
		}
	}
	perPoll := (processCPU() - before) / probes
	polls := int(wall/newsroom.DefaultWatchInterval) + 2
	bound := time.Duration(polls+watchers) * perPoll
	extra := 100 * float64(bound) / float64(mb)
	t.Logf("bound: (%d polls in a %v fan-out + %d openings) × %v per status request = %v, %.2f %% of %v",
		polls, wall.Round(time.Millisecond), watchers, perPoll.Round(time.Microsecond), bound.Round(time.Millisecond), extra,
		mb.Round(time.Millisecond))
	if extra >= 5 {
		t.Errorf("the polls of the live pages cost up to %.1f %% extra CPU time, want < 5 %%", extra)
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// processCPU returns the user and system CPU time this process used so
// far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// watchLogin signs in to the newsroom at base and returns a client with
// the session.
func watchLogin(t *testing.T, base, name, password string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.PostForm(base+"/admin/login", url.Values{"name": {name}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in as %s: %s", name, res.Status)
	}
	return c
}

// watchFollow reads the live progress of announcement id as the page's
// script does, until its "end" event.
func watchFollow(t *testing.T, c *http.Client, base, id string) {
	res, err := c.Get(base + "/admin/announcements/" + id + "/events")
	if err != nil {
		t.Error(err)
		return
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("events of %s: %s", id, res.Status)
		return
	}
	r := bufio.NewScanner(res.Body)
	r.Buffer(nil, 1<<20)
	for r.Scan() {
		if strings.HasPrefix(r.Text(), "event: end") {
			return
		}
	}
	t.Errorf("events of %s ended without an end event: %v", id, r.Err())
}
