//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sys/unix"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/webhook"
	"github.com/crierhq/crier/channels/webhook/webhooktest"
	"github.com/crierhq/crier/netpath"
	"github.com/crierhq/crier/server"
)

// TestNetnsLinkCutMidFanOut runs a fan-out to 100 towns over two real
// links: the radio webhook's primary endpoint lives in one network
// namespace, its backup in another, each joined to this one by its own
// veth pair, and crier's two networks are bound to this side's address of
// each pair. After the primary has answered some webhooks and holds the
// next ones unanswered, its link is cut at the far end. Every delivery must
// still end sent: the held ones, whose outcome crier cannot know, are
// repeated through the backup with the same webhook-id; the rest fail over
// or skip the primary once its breaker opens. Needs root and iproute2.
func TestNetnsLinkCutMidFanOut(t *testing.T) {
	const (
		towns       = 100
		answered    = 10 // webhooks the primary answers before it holds the rest
		concurrency = 4  // parallel webhook sends: all of them are held at the cut
	)
	links := newNetnsLinks(t, "primary", "backup")
	primary, backup := links[0], links[1]
	primaryHooks := newNetnsReceiver(t, primary, answered, answered+concurrency)
	backupHooks := newNetnsReceiver(t, backup, -1, 0)

	var b strings.Builder
	fmt.Fprintf(&b, `mode: actual
public_url: https://krisen.kreis-soest.example
delivery:
  concurrency: {webhook: %d}
  send_timeout: 2s
  poll: 50ms
  backoff: {base: 250ms, max: 1s}
  breaker: {failures: 8}
networks:
  wan: {source: %s, dial_timeout: 500ms}
  lte: {source: %s, dial_timeout: 500ms}
channels:
  - id: radio
    type: webhook
    endpoints:
      - {name: primary, url: %q, secret: "${S}", network: wan, receiver: radio}
      - {name: backup, url: %q, secret: "${S}", network: lte, receiver: radio}
towns:
`, concurrency, primary.hostIP, backup.hostIP, primaryHooks.url, backupHooks.url)
	var ids []string
	for i := 1; i <= towns; i++ {
		id := fmt.Sprintf("ort-%03d", i)
		ids = append(ids, id)
		fmt.Fprintf(&b, "  - {id: %s, name: \"Ort %03d\", channels: [radio]}\n", id, i)
	}
	a := buildApp(t, crier.SystemClock{}, writeTestConfig(t, b.String()), map[string]string{"S": webhooktest.NewSecret(t)})
	reg := prometheus.NewRegistry()
	a.metrics = server.NewMetrics(reg, a.db, a.db) // counts failovers

	ctx, stop := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		a.workers.Run(ctx)
	}()
	t.Cleanup(func() {
		stop()
		select {
		case <-stopped:
		case <-time.After(30 * time.Second):
			t.Error("the workers did not stop within 30s")
		}
	})

	start := time.Now()
	res, err := a.engine.Publish(context.Background(), &crier.Announcement{
		Title:    "Wasserrohrbruch",
		Body:     "In {{.Town.Name}} ist das Trinkwasser bis auf Weiteres abzukochen.",
		Towns:    ids,
		Channels: []string{"radio"},
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	announcement := res.Announcement.ID

	// Mid-fan-out: the primary has answered some webhooks and holds one per
	// send slot. Cut its link at the far end, as a line that goes dead
	// behind the router: packets vanish, nothing refuses them.
	select {
	case <-primaryHooks.reached:
	case <-time.After(30 * time.Second):
		t.Fatalf("the primary saw %d webhooks within 30s, want %d", len(primaryHooks.ids()), answered+concurrency)
	}
	cutAt := time.Now()
	mustIP(t, "-n", primary.ns, "link", "set", primary.nsIf, "down")
	primaryHooks.release() // their answers now go nowhere
	t.Logf("link to the primary cut %v after the publish", cutAt.Sub(start).Round(time.Millisecond))

	// Every delivery reaches a final state. The poll bounds the wait.
	var ds []*crier.Delivery
	deadline := time.Now().Add(60 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		ds, err = a.db.Deliveries(context.Background(), crier.DeliveryFilter{Announcement: announcement, Limit: 2 * towns})
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == towns && !slices.ContainsFunc(ds, func(d *crier.Delivery) bool { return !d.State.Final() }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries not final 60s after the publish: %v", stateCounts(ds))
		}
		<-tick.C
	}
	t.Logf("all %d deliveries final %v after the publish", towns, time.Since(start).Round(time.Millisecond))

	seenPrimary, seenBackup := primaryHooks.ids(), backupHooks.ids()
	wasAnswered := map[string]bool{}
	for _, id := range seenPrimary[:answered] {
		wasAnswered[id] = true
	}
	held := map[string]bool{}
	for _, id := range seenPrimary[answered:] {
		held[id] = true
	}
	onBackup := map[string]bool{}
	for _, id := range seenBackup {
		onBackup[id] = true
	}
	keys := map[string]bool{}
	for _, d := range ds {
		keys[d.Key] = true
		if d.State != crier.StateSent {
			t.Errorf("%s: %s after %d attempts (%s); want sent", d.Key, d.State, d.Attempts, d.Error)
			continue
		}
		switch {
		case wasAnswered[d.Key] && d.Endpoint != "primary":
			t.Errorf("%s: answered by the primary before the cut, but recorded via %q", d.Key, d.Endpoint)
		case !wasAnswered[d.Key] && d.Endpoint != "backup":
			t.Errorf("%s: sent via %q; after the cut only the backup can deliver", d.Key, d.Endpoint)
		case held[d.Key] && (!onBackup[d.Key] || d.Attempts < 2):
			t.Errorf("%s: held by the primary at the cut, then %d attempts, on the backup: %v; want it repeated through the backup",
				d.Key, d.Attempts, onBackup[d.Key])
		case !wasAnswered[d.Key] && !onBackup[d.Key]:
			t.Errorf("%s: recorded sent via the backup, which never got it", d.Key)
		}
		as, err := a.db.Attempts(context.Background(), d.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, at := range as {
			if at.ErrorCode == "" && at.Started.After(cutAt) && (at.Endpoint != "backup" || at.Network != "lte") {
				t.Errorf("%s: an attempt started after the cut succeeded via %s over %s; want backup over lte", d.Key, at.Endpoint, at.Network)
			}
		}
	}
	// Every request either endpoint got carried one of the delivery keys as
	// its webhook-id, repeats included: an id seen on both sides is one
	// delivery repeated with its own key, which a receiver reached both
	// ways drops the second time.
	both := 0
	for _, id := range slices.Concat(seenPrimary, seenBackup) {
		if !keys[id] {
			t.Errorf("a webhook arrived with id %q, which is no delivery's key", id)
		}
	}
	for key := range keys {
		if !held[key] && !wasAnswered[key] && !onBackup[key] {
			t.Errorf("%s: neither endpoint got it", key)
		}
		if (held[key] || wasAnswered[key]) && onBackup[key] {
			both++
		}
	}
	if len(held) == 0 || both < len(held) {
		t.Errorf("%d webhooks were held at the cut and %d ids reached both endpoints; want every held one repeated on the backup", len(held), both)
	}
	if from := primaryHooks.sources(); !slices.Equal(from, []string{primary.hostIP}) {
		t.Errorf("the primary got requests from %v, want only from %s (the wan network's source)", from, primary.hostIP)
	}
	if from := backupHooks.sources(); !slices.Equal(from, []string{backup.hostIP}) {
		t.Errorf("the backup got requests from %v, want only from %s (the lte network's source)", from, backup.hostIP)
	}
	// The first held send's timeout opened the primary's breaker at once,
	// and sends that came while the held ones kept the primary's slots
	// busy went to the backup: none waited for the dead link's timeouts.
	failovers := failoverCount(t, reg, "primary", "backup")
	for _, h := range a.health() {
		if h.Endpoint == "primary" && h.State == netpath.StateClosed {
			t.Errorf("the primary's breaker is closed after its link was cut: %+v", h)
		}
	}
	for _, h := range a.health() {
		t.Logf("endpoint %s: breaker %s, %d failures, last error: %s", h.Endpoint, h.State, h.Failures, h.LastError)
	}
	for _, s := range []crier.State{crier.StateQueued, crier.StateSending} {
		left, err := a.db.Deliveries(context.Background(), crier.DeliveryFilter{State: s})
		if err != nil {
			t.Fatal(err)
		}
		if len(left) > 0 {
			t.Errorf("%d deliveries stayed %s", len(left), s)
		}
	}
	t.Logf("primary answered %d, held %d at the cut; backup got %d requests; %d ids on both; %d failovers within an attempt",
		answered, len(held), len(seenBackup), both, failovers)
}

// stateCounts counts deliveries by state, for messages.
func stateCounts(ds []*crier.Delivery) map[crier.State]int {
	n := map[crier.State]int{}
	for _, d := range ds {
		n[d.State]++
	}
	return n
}

// failoverCount reads crier_failovers_total for one pair of endpoints.
func failoverCount(t *testing.T, reg *prometheus.Registry, from, to string) int {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, mf := range mfs {
		if mf.GetName() != "crier_failovers_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["from"] == from && labels["to"] == to {
				total += int(m.GetCounter().GetValue())
			}
		}
	}
	return total
}

// netnsLink is a network namespace joined to the test's own namespace by a
// veth pair with a /30 of its own.
type netnsLink struct {
	ns     string // the namespace's name
	hostIf string // this side of the veth pair
	nsIf   string // the namespace's side
	hostIP string
	nsIP   string
}

// newNetnsLinks creates one namespace per role, each joined to this one by
// its own veth pair, and removes them all when the test ends. It skips the
// test unless it runs as root with iproute2's ip, and when namespaces or
// veth pairs cannot be created here (a container without the capability).
//
// The addresses come from one /29 of 10.199.0.0/16, picked by process id
// among those this machine does not use. While the test runs, an
// unreachable route for the whole /29 stands behind the veth pairs' own
// routes, so that traffic for these addresses never takes the default
// route out of this machine, whatever state the links are in.
func newNetnsLinks(t *testing.T, roles ...string) []*netnsLink {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root: run this test as root to cover a link cut over real veth pairs")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skipf("the ip command (iproute2) is needed to create network namespaces: %v", err)
	}
	if len(roles) > 2 {
		t.Fatalf("a /29 holds two /30s, not %d", len(roles))
	}
	pid := os.Getpid()
	links := make([]*netnsLink, len(roles))
	for i, role := range roles {
		l := &netnsLink{
			ns:     fmt.Sprintf("crier-test-%d-%s", pid, role),
			hostIf: fmt.Sprintf("crh%d%c", pid, 'a'+i),
			nsIf:   fmt.Sprintf("crn%d%c", pid, 'a'+i),
		}
		if out, err := ip("netns", "add", l.ns); err != nil {
			t.Skipf("cannot create a network namespace here (%v): %s", err, out)
		}
		t.Cleanup(func() { cleanupIP(t, "netns", "del", l.ns) })
		links[i] = l
	}
	block := reserveBlock(t, pid)
	for i, l := range links {
		base := block.Addr().As4()
		base[3] += byte(4 * i)
		l.hostIP = addrPlus(base, 1).String()
		l.nsIP = addrPlus(base, 2).String()
		if out, err := ip("link", "add", l.hostIf, "type", "veth", "peer", "name", l.nsIf, "netns", l.ns); err != nil {
			t.Skipf("cannot create a veth pair here (%v): %s", err, out)
		}
		t.Cleanup(func() { cleanupIP(t, "link", "del", l.hostIf) })
		mustIP(t, "addr", "add", l.hostIP+"/30", "dev", l.hostIf)
		mustIP(t, "link", "set", l.hostIf, "up")
		mustIP(t, "-n", l.ns, "addr", "add", l.nsIP+"/30", "dev", l.nsIf)
		mustIP(t, "-n", l.ns, "link", "set", l.nsIf, "up")
	}
	return links
}

// reserveBlock picks a /29 of 10.199.0.0/16 that no interface or route of
// this machine covers or holds, starting at one derived from pid, and
// reserves it with an unreachable route, which a concurrent run cannot add
// twice. The route is removed when the test ends.
func reserveBlock(t *testing.T, pid int) netip.Prefix {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for try := range 64 {
		n := (pid + try) % 8192
		block := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 199, byte(n >> 5), byte(n&31) * 8}), 29)
		if slices.ContainsFunc(addrs, func(a net.Addr) bool {
			p, err := netip.ParsePrefix(a.String())
			return err == nil && p.Overlaps(block)
		}) {
			continue
		}
		used := false
		for _, how := range []string{"match", "root"} { // routes that cover the block, and routes inside it
			out, err := ip("-4", "route", "show", how, block.String())
			if err != nil {
				t.Fatalf("ip route show %s: %v: %s", how, err, out)
			}
			for line := range strings.Lines(out) {
				if f := strings.Fields(line); len(f) > 0 && f[0] != "default" {
					used = true
				}
			}
		}
		if used {
			continue
		}
		if out, err := ip("route", "add", "unreachable", block.String(), "metric", "4000"); err != nil {
			switch {
			case strings.Contains(out, "File exists"):
				continue
			case strings.Contains(out, "Operation not permitted"):
				t.Skipf("cannot add routes here (%v): %s", err, out)
			}
			t.Fatalf("reserve %s: %v: %s", block, err, out)
		}
		t.Cleanup(func() { cleanupIP(t, "route", "del", "unreachable", block.String(), "metric", "4000") })
		return block
	}
	t.Skip("no free /29 in 10.199.0.0/16 for the test links")
	return netip.Prefix{}
}

func addrPlus(base [4]byte, k byte) netip.Addr {
	base[3] += k
	return netip.AddrFrom4(base)
}

// ip runs the ip command with a bounded time and returns its output.
func ip(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	return string(out), err
}

func mustIP(t *testing.T, args ...string) {
	t.Helper()
	if out, err := ip(args...); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// cleanupIP undoes a setup step; a failure is reported, since it leaves
// something behind on this machine.
func cleanupIP(t *testing.T, args ...string) {
	if out, err := ip(args...); err != nil {
		t.Errorf("cleanup: ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// netnsReceiver is a minimal webhook receiver listening inside a network
// namespace. It records the webhook-id and source address of every POST
// and answers 200; it verifies nothing. It answers the first `answer`
// webhooks at once and holds every later one until release (never when
// answer is negative). reached is closed when it has seen notify webhooks.
type netnsReceiver struct {
	url     string
	answer  int
	notify  int
	reached chan struct{}
	gate    chan struct{}
	once    sync.Once

	mu   sync.Mutex
	seen []string
	from map[string]bool
}

func newNetnsReceiver(t *testing.T, l *netnsLink, answer, notify int) *netnsReceiver {
	t.Helper()
	ln, err := listenInNetns(l.ns, net.JoinHostPort(l.nsIP, "0"))
	if err != nil {
		t.Fatalf("listen in namespace %s: %v", l.ns, err)
	}
	r := &netnsReceiver{
		url:     "http://" + ln.Addr().String() + "/hook",
		answer:  answer,
		notify:  notify,
		reached: make(chan struct{}),
		gate:    make(chan struct{}),
		from:    map[string]bool{},
	}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() {
		r.release()
		srv.Close()
	})
	return r
}

func (r *netnsReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	io.Copy(io.Discard, req.Body)
	id := req.Header.Get(webhook.HeaderID)
	if req.Method != http.MethodPost || id == "" {
		w.WriteHeader(http.StatusOK) // a health probe
		return
	}
	host, _, _ := net.SplitHostPort(req.RemoteAddr)
	r.mu.Lock()
	r.seen = append(r.seen, id)
	r.from[host] = true
	n := len(r.seen)
	r.mu.Unlock()
	if n == r.notify {
		close(r.reached)
	}
	if r.answer >= 0 && n > r.answer {
		select {
		case <-r.gate:
		case <-req.Context().Done():
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}

// release lets held webhooks be answered.
func (r *netnsReceiver) release() { r.once.Do(func() { close(r.gate) }) }

// ids returns the webhook-ids received, in order, repeats included.
func (r *netnsReceiver) ids() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.seen)
}

// sources returns the addresses webhooks came from, sorted.
func (r *netnsReceiver) sources() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for a := range r.from {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

// listenInNetns opens a TCP listener inside the named network namespace. A
// socket belongs to the namespace it was created in, so a thread of this
// process enters the namespace just to create it and then returns; the
// listener is served from any thread. A thread that cannot return stays
// locked and ends with its goroutine.
func listenInNetns(ns, addr string) (net.Listener, error) {
	type result struct {
		ln  net.Listener
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		home, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: err}
			return
		}
		defer home.Close()
		target, err := os.Open(filepath.Join("/run/netns", ns))
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: err}
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("enter: %w", err)}
			return
		}
		ln, lerr := net.Listen("tcp", addr)
		if err := unix.Setns(int(home.Fd()), unix.CLONE_NEWNET); err != nil {
			if ln != nil {
				ln.Close()
			}
			done <- result{err: errors.Join(lerr, fmt.Errorf("return from the namespace: %w", err))}
			return // the thread stays locked and is discarded
		}
		runtime.UnlockOSThread()
		done <- result{ln, lerr}
	}()
	r := <-done
	return r.ln, r.err
}
