package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/email/smtptest"
	"github.com/crierhq/crier/channels/webhook/webhooktest"
	"github.com/crierhq/crier/netpath/dnstest"
	"github.com/crierhq/crier/netpath/proxytest"
)

// deadAddr returns an address on which nothing listens: connections to it
// are refused.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// switchable is an endpoint that can be blackholed: while black it accepts
// connections and never answers (a host whose uplink died behind a router
// that still accepts); otherwise it forwards them to target.
type switchable struct {
	ln       net.Listener
	target   string
	mu       sync.Mutex
	black    bool
	accepted int
	held     []net.Conn
}

func newSwitchable(t *testing.T, target string) *switchable {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &switchable{ln: ln, target: target, black: true}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.accepted++
			black := s.black
			s.held = append(s.held, c)
			s.mu.Unlock()
			if !black {
				go forward(c, s.target)
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, c := range s.held {
			c.Close()
		}
	})
	return s
}

func (s *switchable) setBlack(black bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.black = black
}

func (s *switchable) connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

func (s *switchable) URL() string { return "http://" + s.ln.Addr().String() }

func forward(c net.Conn, target string) {
	defer c.Close()
	up, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer up.Close()
	go io.Copy(up, c)
	io.Copy(c, up)
}

// failoverConfig writes a configuration whose radio webhook has a primary
// endpoint at primaryURL over the default route and a secondary endpoint
// at secondaryURL over the network "lte", bound to 127.0.0.2.
func failoverConfig(t *testing.T, primaryURL, secondaryURL, extra string) string {
	t.Helper()
	text := fmt.Sprintf(`mode: actual
public_url: https://krisen.kreis-soest.example
%s
networks:
  lte: {source: 127.0.0.2}
channels:
  - id: radio
    type: webhook
    endpoints:
      - {name: primary, url: %q, secret: "${RADIO_SECRET}"}
      - {name: lte-backup, url: %q, secret: "${RADIO_SECRET}", network: lte}
towns:
  - {id: soest, name: Stadt Soest, ags: "05974040", vars: {phone: "02921 103-0", office: "Am Vreithof 8", hours: "Mo–Fr 8–12 Uhr"}, channels: [radio]}
  - {id: werl, name: Stadt Werl, ags: "05974052", vars: {phone: "02922 800-0", office: "Hedwig-Dransfeld-Straße 23", hours: "Mo–Fr 8–12 Uhr"}, channels: [radio]}
`, extra, primaryURL, secondaryURL)
	path := filepath.Join(t.TempDir(), "crier.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// failoverRig builds crier with the failover configuration on an injected clock.
func failoverRig(t *testing.T, primaryURL, extra string) (*rig, *webhooktest.Receiver) {
	t.Helper()
	r := &rig{t: t, clock: rigClock()}
	secret := webhooktest.NewSecret(t)
	backup := webhooktest.NewReceiver(t, secret, r.clock)
	r.app = buildApp(t, r.clock, failoverConfig(t, primaryURL, backup.URL(), extra), map[string]string{"RADIO_SECRET": secret})
	return r, backup
}

// publishTo publishes the notice for the given towns on radio and returns its id.
func (r *rig) publishTo(towns ...string) string {
	r.t.Helper()
	a := e2eNotice()
	a.Towns, a.Channels = towns, []string{"radio"}
	a.Body = "Das Bürgerbüro der {{.Town.Name}} bleibt geschlossen. Telefon: {{.Vars.phone}}"
	res, err := r.app.engine.Publish(context.Background(), a, "")
	if err != nil {
		r.t.Fatal(err)
	}
	return res.Announcement.ID
}

func (r *rig) deliveries(id string) []*crier.Delivery {
	r.t.Helper()
	ds, err := r.app.db.Deliveries(context.Background(), crier.DeliveryFilter{Announcement: id})
	if err != nil {
		r.t.Fatal(err)
	}
	return ds
}

// TestFailoverRefusedPrimary: the primary refuses connections, so the
// same attempt goes on to the secondary over the LTE network.
func TestFailoverRefusedPrimary(t *testing.T) {
	r, backup := failoverRig(t, "http://"+deadAddr(t)+"/hook", "")
	id := r.publishTo("soest", "werl")
	if n := r.runOnce(); n != 2 {
		t.Fatalf("worked on %d jobs, want 2", n)
	}
	for _, d := range r.deliveries(id) {
		if d.State != crier.StateSent || d.Attempts != 1 || d.Endpoint != "lte-backup" {
			t.Errorf("%s: %s after %d attempts via %q; want sent in one attempt via lte-backup", d.Key, d.State, d.Attempts, d.Endpoint)
		}
		as, err := r.app.db.Attempts(context.Background(), d.ID)
		if err != nil || len(as) != 1 || as[0].Network != "lte" {
			t.Errorf("%s: attempts %+v, %v; want one, over the network lte", d.Key, as, err)
		}
	}
	if got := len(backup.Accepted()); got != 2 {
		t.Errorf("secondary accepted %d webhooks, want 2", got)
	}
	for _, q := range backup.Requests() {
		if q.RemoteIP != "127.0.0.2" {
			t.Errorf("a request reached the secondary from %s, want 127.0.0.2 (the lte network's source)", q.RemoteIP)
		}
	}
}

// sameReceiver rewrites a failover configuration so that both endpoints
// are declared to reach the same receiver (receiver: radio).
func sameReceiver(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(b), `secret: "${RADIO_SECRET}"`, `secret: "${RADIO_SECRET}", receiver: radio`)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestFailoverBlackholedPrimary: a primary that accepts and never answers
// times out; the request may have arrived, so there is no failover within
// that attempt (and no duplicate), but the timeout opens its breaker at
// once and later deliveries skip it. The endpoints are declared to reach
// the same receiver, so the ambiguous deliveries may go on through the
// secondary too. After the cool-down one send tries the primary; once it
// answers again it carries the traffic again.
func TestFailoverBlackholedPrimary(t *testing.T) {
	secret := webhooktest.NewSecret(t)
	clock := rigClock()
	primaryReceiver := webhooktest.NewReceiver(t, secret, clock)
	primary := newSwitchable(t, strings.TrimPrefix(primaryReceiver.URL(), "http://"))
	backup := webhooktest.NewReceiver(t, secret, clock)
	r := &rig{t: t, clock: clock}
	path := sameReceiver(t, failoverConfig(t, primary.URL()+"/hook", backup.URL(),
		"delivery: {send_timeout: 300ms, breaker: {failures: 3, cool_down: 30s}}"))
	r.app = buildApp(t, clock, path, map[string]string{"RADIO_SECRET": secret})

	id := r.publishTo("soest", "werl")
	r.runOnce()
	for _, d := range r.deliveries(id) {
		// Written, never answered: retried later with the same id, not failed over now.
		if d.State != crier.StateQueued || d.Attempts != 1 {
			t.Errorf("%s: %s after %d attempts; want queued for a retry", d.Key, d.State, d.Attempts)
		}
	}
	if n := len(backup.Requests()); n != 0 {
		t.Fatalf("the secondary got %d requests after an ambiguous failure, want none", n)
	}
	if st := r.chainState("radio", "primary"); st != "open" {
		t.Fatalf("primary breaker %s after a timeout, want open", st)
	}
	id2 := r.publishTo("soest")
	r.runOnce()

	// Retries and new deliveries now skip the primary at once.
	before := primary.connections()
	r.clock.Advance(10 * time.Second)
	id3 := r.publishTo("werl")
	r.runOnce()
	for _, ann := range []string{id, id2, id3} {
		for _, d := range r.deliveries(ann) {
			if d.State != crier.StateSent || d.Endpoint != "lte-backup" {
				t.Errorf("%s: %s via %q; want sent via lte-backup", d.Key, d.State, d.Endpoint)
			}
		}
	}
	if primary.connections() != before {
		t.Error("the open breaker let a send through to the blackholed primary")
	}
	if got := len(backup.Accepted()); got != 4 {
		t.Errorf("secondary accepted %d distinct webhooks, want 4 (no duplicates)", got)
	}

	// The primary comes back; after the cool-down one send probes it, and
	// from then on it carries the traffic.
	primary.setBlack(false)
	r.clock.Advance(31 * time.Second)
	id4 := r.publishTo("soest")
	r.runOnce()
	if st := r.chainState("radio", "primary"); st != "closed" {
		t.Errorf("after a successful probe the breaker is %s, want closed", st)
	}
	id5 := r.publishTo("werl")
	r.runOnce()
	for _, ann := range []string{id4, id5} {
		for _, d := range r.deliveries(ann) {
			if d.State != crier.StateSent || d.Endpoint != "primary" {
				t.Errorf("%s: %s via %q; want sent via primary", d.Key, d.State, d.Endpoint)
			}
		}
	}
	if got := len(primaryReceiver.Accepted()); got != 2 {
		t.Errorf("primary accepted %d webhooks after it came back, want 2", got)
	}
}

// TestFailoverBlackholedPrimaryOtherReceiver: when the secondary is
// another receiver (the default), a delivery whose request may have reached
// the blackholed primary is pinned there: it waits while the primary's
// breaker is open, without counting attempts, never goes to the secondary
// (which would not know its id), and is sent through the primary once it
// answers again. New deliveries meanwhile go through the secondary.
func TestFailoverBlackholedPrimaryOtherReceiver(t *testing.T) {
	secret := webhooktest.NewSecret(t)
	clock := rigClock()
	primaryReceiver := webhooktest.NewReceiver(t, secret, clock)
	primary := newSwitchable(t, strings.TrimPrefix(primaryReceiver.URL(), "http://"))
	backup := webhooktest.NewReceiver(t, secret, clock)
	r := &rig{t: t, clock: clock}
	path := failoverConfig(t, primary.URL()+"/hook", backup.URL(),
		"delivery: {send_timeout: 300ms, breaker: {failures: 3, cool_down: 30s}}")
	r.app = buildApp(t, clock, path, map[string]string{"RADIO_SECRET": secret})

	id := r.publishTo("soest", "werl")
	r.runOnce()
	for _, d := range r.deliveries(id) {
		if d.State != crier.StateQueued || d.Attempts != 1 || d.Pin != "primary" {
			t.Errorf("%s: %s after %d attempts, pinned to %q; want queued, 1, pinned to primary", d.Key, d.State, d.Attempts, d.Pin)
		}
	}
	id2 := r.publishTo("werl")
	for range 3 { // within the primary's cool-down of 30s
		r.clock.Advance(9 * time.Second)
		r.runOnce()
	}
	for _, d := range r.deliveries(id2) {
		if d.State != crier.StateSent || d.Endpoint != "lte-backup" {
			t.Errorf("%s: %s via %q; want a new delivery sent via lte-backup", d.Key, d.State, d.Endpoint)
		}
	}
	for _, d := range r.deliveries(id) {
		if d.State != crier.StateQueued || d.Attempts != 1 {
			t.Errorf("%s: %s after %d attempts; want waiting for the primary, no attempt counted", d.Key, d.State, d.Attempts)
		}
	}
	primary.setBlack(false)
	r.clock.Advance(time.Minute)
	for range 2 { // the half-open breaker lets one trial through; the other follows
		r.runOnce()
		r.clock.Advance(time.Second)
	}
	for _, d := range r.deliveries(id) {
		if d.State != crier.StateSent || d.Endpoint != "primary" {
			t.Errorf("%s: %s via %q; want sent via primary", d.Key, d.State, d.Endpoint)
		}
	}
	for _, q := range backup.Requests() {
		for _, d := range r.deliveries(id) {
			if q.ID == d.Key {
				t.Errorf("%s reached the secondary, another receiver", d.Key)
			}
		}
	}
}

// chainState returns the breaker state of one endpoint of a channel.
func (r *rig) chainState(channel, endpoint string) string {
	r.t.Helper()
	for _, h := range r.app.health() {
		if h.Channel == channel && h.Endpoint == endpoint {
			return string(h.State)
		}
	}
	r.t.Fatalf("no endpoint %s of channel %s", endpoint, channel)
	return ""
}

// writeConfig writes text as a configuration file and returns its path.
func writeTestConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "crier.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestNetworksCarryTheirTraffic: every endpoint's connections leave from
// its own network's source address, for HTTP and SMTP alike.
func TestNetworksCarryTheirTraffic(t *testing.T) {
	r := &rig{t: t, clock: rigClock(), smtp: smtptest.NewServer(t, smtptest.Options{})}
	secret := webhooktest.NewSecret(t)
	viaA := webhooktest.NewReceiver(t, secret, r.clock)
	viaB := webhooktest.NewReceiver(t, secret, r.clock)
	path := writeTestConfig(t, fmt.Sprintf(`mode: actual
public_url: https://krisen.kreis-soest.example
networks:
  net-a: {source: 127.0.0.2}
  net-b: {source: 127.0.0.3}
channels:
  - {id: radio, type: webhook, endpoints: [{url: %q, secret: "${S}", network: net-a}]}
  - {id: leitstelle, type: webhook, endpoints: [{url: %q, secret: "${S}", network: net-b}]}
  - {id: mail-soest, type: email, from: "Stadt Soest <presse@soest.example>", endpoints: [{host: 127.0.0.1, port: %d, tls: none, network: net-b}]}
towns:
  - {id: soest, name: Stadt Soest, vars: {phone: "02921 103-0", office: "Am Vreithof 8", hours: "Mo–Fr 8–12 Uhr"}, channels: [radio, leitstelle, mail-soest]}
`, viaA.URL(), viaB.URL(), r.smtp.Port()))
	r.app = buildApp(t, r.clock, path, map[string]string{"S": secret})
	a := e2eNotice()
	a.Towns = []string{"soest"}
	if _, err := r.app.db.AddSubscribers(context.Background(), []*crier.Subscriber{{Town: "soest", Email: "anna@example.org", State: crier.SubscriberConfirmed}}, r.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.app.engine.Publish(context.Background(), a, ""); err != nil {
		t.Fatal(err)
	}
	if n := r.runOnce(); n != 3 {
		t.Fatalf("worked on %d jobs, want 3", n)
	}
	for name, got := range map[string][]*webhooktest.Request{"127.0.0.2": viaA.Requests(), "127.0.0.3": viaB.Requests()} {
		if len(got) != 1 || got[0].RemoteIP != name {
			t.Errorf("want one request from %s, got %d (first from %v)", name, len(got), firstIP(got))
		}
	}
	if ms := r.smtp.Messages(); len(ms) != 1 || ms[0].RemoteIP != "127.0.0.3" {
		t.Errorf("mail: %d messages, first from %v; want one from 127.0.0.3", len(ms), ms)
	}
}

func firstIP(rs []*webhooktest.Request) string {
	if len(rs) == 0 {
		return "nowhere"
	}
	return rs[0].RemoteIP
}

// TestDNSFailover: each network resolves names through its own DNS
// server; a dead resolver on the primary network is a failure that proves
// nothing was sent, so the same attempt goes on over the secondary network.
func TestDNSFailover(t *testing.T) {
	deadDNS := dnstest.NewServer(t, "127.0.0.3:0")
	deadDNS.Stop()
	lteDNS := dnstest.NewServer(t, "127.0.0.2:0")
	lteDNS.Set("radio.kreis-soest.test", "127.0.0.1")
	secret := webhooktest.NewSecret(t)
	r := &rig{t: t, clock: rigClock()}
	receiver := webhooktest.NewReceiver(t, secret, r.clock)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(receiver.URL(), "http://"))
	url := "http://radio.kreis-soest.test:" + port + "/hook"
	path := writeTestConfig(t, fmt.Sprintf(`mode: actual
public_url: https://krisen.kreis-soest.example
networks:
  wan: {source: 127.0.0.3, dns: [%q], dial_timeout: 300ms}
  lte: {source: 127.0.0.2, dns: [%q]}
channels:
  - id: radio
    type: webhook
    endpoints:
      - {name: primary, url: %q, secret: "${S}", network: wan}
      - {name: lte-backup, url: %q, secret: "${S}", network: lte}
towns:
  - {id: soest, name: Stadt Soest, vars: {phone: "02921 103-0", office: "Am Vreithof 8", hours: "Mo–Fr 8–12 Uhr"}, channels: [radio]}
`, deadDNS.Addr(), lteDNS.Addr(), url, url))
	r.app = buildApp(t, r.clock, path, map[string]string{"S": secret})
	id := r.publishTo("soest")
	r.runOnce()
	ds := r.deliveries(id)
	if len(ds) != 1 || ds[0].State != crier.StateSent || ds[0].Attempts != 1 || ds[0].Endpoint != "lte-backup" {
		t.Fatalf("delivery: %+v; want sent in one attempt via lte-backup", ds[0])
	}
	if !slices.Contains(lteDNS.Sources(), "127.0.0.2") {
		t.Errorf("the lte resolver was asked from %v, want 127.0.0.2", lteDNS.Sources())
	}
	if q := receiver.Requests(); len(q) != 1 || q[0].RemoteIP != "127.0.0.2" {
		t.Errorf("receiver requests %d, first from %s; want one from 127.0.0.2", len(q), firstIP(q))
	}
}

// TestProxyNetwork: a network through a SOCKS5 proxy carries HTTP and SMTP.
func TestProxyNetwork(t *testing.T) {
	proxy := proxytest.NewSOCKS5(t, proxytest.SOCKS5Options{User: "krisenstab", Password: "geheim"})
	r := &rig{t: t, clock: rigClock(), smtp: smtptest.NewServer(t, smtptest.Options{})}
	secret := webhooktest.NewSecret(t)
	receiver := webhooktest.NewReceiver(t, secret, r.clock)
	proxyURL := strings.Replace(proxy.URL(), "socks5://", "socks5://krisenstab:${PROXY_PASSWORD}@", 1)
	path := writeTestConfig(t, fmt.Sprintf(`mode: actual
public_url: https://krisen.kreis-soest.example
networks:
  tunnel: {proxy: %q}
channels:
  - {id: radio, type: webhook, endpoints: [{url: %q, secret: "${S}", network: tunnel}]}
  - {id: mail-soest, type: email, from: "Stadt Soest <presse@soest.example>", endpoints: [{host: 127.0.0.1, port: %d, tls: none, network: tunnel}]}
towns:
  - {id: soest, name: Stadt Soest, vars: {phone: "02921 103-0", office: "Am Vreithof 8", hours: "Mo–Fr 8–12 Uhr"}, channels: [radio, mail-soest]}
`, proxyURL, receiver.URL(), r.smtp.Port()))
	r.app = buildApp(t, r.clock, path, map[string]string{"S": secret, "PROXY_PASSWORD": "geheim"})
	if _, err := r.app.db.AddSubscribers(context.Background(), []*crier.Subscriber{{Town: "soest", Email: "anna@example.org", State: crier.SubscriberConfirmed}}, r.clock.Now()); err != nil {
		t.Fatal(err)
	}
	a := e2eNotice()
	a.Towns = []string{"soest"}
	res, err := r.app.engine.Publish(context.Background(), a, "")
	if err != nil {
		t.Fatal(err)
	}
	r.runOnce()
	for _, d := range r.deliveries(res.Announcement.ID) {
		if d.State != crier.StateSent {
			t.Errorf("%s: %s (%s)", d.Key, d.State, d.Error)
		}
	}
	targets := proxy.Targets()
	for _, want := range []string{strings.TrimPrefix(receiver.URL(), "http://"), fmt.Sprintf("127.0.0.1:%d", r.smtp.Port())} {
		if !slices.Contains(targets, want) {
			t.Errorf("the proxy was not asked for %s; targets %v", want, targets)
		}
	}
	if len(receiver.Accepted()) != 1 || len(r.smtp.Messages()) != 1 {
		t.Errorf("%d webhooks and %d mails arrived, want 1 and 1", len(receiver.Accepted()), len(r.smtp.Messages()))
	}
}

// TestBacklogDrains: while every endpoint is down, deliveries wait and
// are retried; when the secondary comes back, the backlog drains and none
// is lost or sent twice.
func TestBacklogDrains(t *testing.T) {
	r, backup := failoverRig(t, "http://"+deadAddr(t)+"/hook", "")
	backup.Respond(http.StatusServiceUnavailable, nil)
	var ids []string
	for range 10 {
		ids = append(ids, r.publishTo("soest", "werl"))
		r.runOnce()
	}
	for round := 0; round < 5; round++ { // down for a while: rounds of retries
		r.clock.Advance(time.Minute)
		r.runOnce()
	}
	queued := 0
	for _, id := range ids {
		for _, d := range r.deliveries(id) {
			if d.State == crier.StateQueued {
				queued++
			}
		}
	}
	if queued != 20 {
		t.Fatalf("%d of 20 deliveries wait while everything is down, want all", queued)
	}
	// The secondary comes back. Retries are due within the capped backoff
	// (10 minutes), and the backlog drains.
	backup.Accept()
	for round := 0; round < 11; round++ {
		r.clock.Advance(time.Minute)
		r.runOnce()
	}
	for _, id := range ids {
		for _, d := range r.deliveries(id) {
			if d.State != crier.StateSent || d.Endpoint != "lte-backup" {
				t.Errorf("%s: %s via %q; want sent via lte-backup", d.Key, d.State, d.Endpoint)
			}
		}
	}
	if got := len(backup.Accepted()); got != 20 {
		t.Errorf("secondary accepted %d distinct webhooks, want 20", got)
	}
	for _, q := range backup.Requests() {
		if q.Duplicate {
			t.Errorf("webhook %s arrived twice", q.ID)
		}
	}
}
