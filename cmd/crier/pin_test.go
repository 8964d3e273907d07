package main

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/mastodon/mastodontest"
	"github.com/crierhq/crier/netpath"
	"github.com/crierhq/crier/server"
)

// door forwards connections on a fixed loopback address to a target while
// open; closed, the address refuses connections, as a host that is up but
// whose service is down, and the connections it forwarded are cut.
type door struct {
	t      *testing.T
	addr   string
	target string

	mu    sync.Mutex
	ln    net.Listener
	conns []net.Conn
}

func newDoor(t *testing.T, target string) *door {
	t.Helper()
	d := &door{t: t, addr: deadAddr(t), target: target}
	d.open()
	t.Cleanup(d.close)
	return d
}

func (d *door) URL() string { return "http://" + d.addr }

// open listens on the door's address and forwards what comes.
func (d *door) open() {
	d.t.Helper()
	ln, err := net.Listen("tcp", d.addr)
	if err != nil {
		d.t.Fatal(err)
	}
	d.mu.Lock()
	d.ln = ln
	d.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			d.mu.Lock()
			d.conns = append(d.conns, c)
			d.mu.Unlock()
			go forward(c, d.target)
		}
	}()
}

// close stops listening: connections are refused from now on.
func (d *door) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ln != nil {
		d.ln.Close()
		d.ln = nil
	}
	for _, c := range d.conns {
		c.Close()
	}
	d.conns = nil
}

// pinConfig writes the configuration of TestPinSurvivesRestart: soest
// posts through account a and fails over to account b on another
// instance, each behind a door; a breaker opens at the first failure and
// stays open for an hour unless a probe finds its endpoint back.
func pinConfig(t *testing.T, a, b *door, probeInterval string) string {
	return writeTestConfig(t, fmt.Sprintf(`mode: actual
public_url: https://krisen.kreis-soest.example
delivery:
  probe_interval: %s
  send_timeout: 5s
  backoff: {base: 200ms, max: 500ms}
  breaker: {failures: 1, cool_down: 1h}
channels:
  - id: social
    type: mastodon
    endpoints:
      - {name: a, server: %q, token: tok-a}
      - {name: b, server: %q, token: tok-b}
towns:
  - {id: soest, name: Stadt Soest, ags: "05974040", vars: {phone: "02921 103-0", office: "Am Vreithof 8", hours: "Mo–Fr 8–12 Uhr"}, channels: [social]}
`, probeInterval, a.URL(), b.URL()))
}

// account is one Mastodon account of TestPinSurvivesRestart: its
// instance, and the door in front of it.
type account struct {
	name, token string
	inst        *mastodontest.Server
	door        *door
}

// TestPinSurvivesRestart: an account's instance takes a post and drops
// the connection before answering (the post may exist), then refuses
// connections; crier is stopped (SIGKILL, and SIGTERM) and started again.
// The delivery is pinned to that account in the store: while it is down
// the delivery waits, even with the endpoint's breaker open, and never
// goes to the other account, which does not know its key, even when that
// one is up. Once the pinned account's instance answers again, the repeat
// goes there and is dropped by its Idempotency-Key: exactly one post, on
// the pinned account; none on the other. The pinned account is the first
// endpoint (the sequence as seen from outside), and the second one, which
// the first attempt reached by failing over, so that only the stored pin
// can say where to go after the restart.
func TestPinSurvivesRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts crier twice per case")
	}
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM} {
		for _, pinned := range []string{"a", "b"} {
			t.Run(sig.String()+"/pinned to "+pinned, func(t *testing.T) {
				testPinSurvivesRestart(t, sig, pinned)
			})
		}
	}
}

func testPinSurvivesRestart(t *testing.T, sig syscall.Signal, pinned string) {
	accounts := map[string]*account{}
	for _, name := range []string{"a", "b"} {
		inst := mastodontest.NewServer(t, mastodontest.Options{Tokens: []string{"tok-" + name}})
		accounts[name] = &account{name: name, token: "tok-" + name, inst: inst,
			door: newDoor(t, strings.TrimPrefix(inst.URL(), "http://"))}
	}
	pin, other := accounts[pinned], accounts["a"]
	if pinned == "a" {
		other = accounts["b"]
	}
	dataDir := newDataDir(t)
	p := startProcess(t, pinConfig(t, accounts["a"].door, accounts["b"].door, "1h"), dataDir, nil)
	c := processClient(t, p, dataDir)
	// The probes at start find both up; only then do things go wrong.
	deadline := time.Now().Add(30 * time.Second)
	for endpointOf(t, c, "social", "a").LastProbe.IsZero() || endpointOf(t, c, "social", "b").LastProbe.IsZero() {
		if time.Now().After(deadline) {
			t.Fatal("the endpoints were not probed within 30s of the start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if pinned == "b" {
		other.door.close() // a refuses: the first attempt fails over to b
	}
	pin.inst.Drop()
	n := e2eNotice()
	n.Towns = []string{"soest"}
	res, err := c.Publish(context.Background(), n, "")
	if err != nil {
		t.Fatal(err)
	}
	id := res.Announcement.ID
	d := waitDelivery(t, c, id, func(d *crier.Delivery) bool { return d.Attempts >= 1 && d.State == crier.StateQueued })
	if d.Pin != pinned || !d.Ambiguous {
		t.Fatalf("after the dropped answer: pinned to %q, ambiguous %v; want pinned to %s", d.Pin, d.Ambiguous, pinned)
	}
	pin.door.close()
	if pinned == "b" {
		other.door.open()
	}
	if sig == syscall.SIGKILL {
		p.kill()
	} else {
		p.cmd.Process.Signal(syscall.SIGTERM)
		<-p.exited
	}

	p = startProcess(t, pinConfig(t, accounts["a"].door, accounts["b"].door, "300ms"), dataDir, nil)
	c = processClient(t, p, dataDir)
	// The pinned endpoint refuses: its breaker opens, and the delivery
	// waits for it for the cool-down instead of moving on to the other
	// account, which is up.
	waitDelivery(t, c, id, func(d *crier.Delivery) bool {
		return d.State == crier.StateSent || d.NextAt.Sub(time.Now()) > 10*time.Minute
	})
	if n := len(other.inst.Statuses()); n != 0 {
		t.Fatalf("account %s got %d posts; the delivery was pinned to %s", other.name, n, pin.name)
	}
	if h := endpointOf(t, c, "social", pin.name); h.State != netpath.StateOpen || h.Pinned != 1 {
		t.Errorf("%s: %+v; want open with one delivery pinned", pin.name, h)
	}

	pin.inst.Accept()
	pin.door.open()
	waitDone(t, c, id, 30*time.Second)
	ds, err := c.AllDeliveries(context.Background(), id, server.DeliveryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].State != crier.StateSent || ds[0].Endpoint != pin.name {
		t.Errorf("deliveries: %+v; want one, sent via %s", ds, pin.name)
	}
	if got := pin.inst.StatusesOf(pin.token); len(got) != 1 {
		t.Errorf("account %s has %d posts, want exactly 1", pin.name, len(got))
	}
	if n := len(other.inst.Statuses()); n != 0 {
		t.Errorf("account %s has %d posts, want none", other.name, n)
	}
}

// waitDelivery polls the only delivery of announcement id until ok says
// so, at most 30s.
func waitDelivery(t *testing.T, c *server.Client, id string, ok func(*crier.Delivery) bool) *crier.Delivery {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ds, err := c.AllDeliveries(context.Background(), id, server.DeliveryQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 1 && ok(ds[0]) {
			return ds[0]
		}
		if time.Now().After(deadline) {
			for _, d := range ds {
				t.Logf("%+v", *d)
			}
			t.Fatalf("delivery of %s not as wanted within 30s", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
