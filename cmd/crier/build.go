package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/access"
	"github.com/crierhq/crier/channels/capture"
	"github.com/crierhq/crier/channels/email"
	"github.com/crierhq/crier/channels/mastodon"
	"github.com/crierhq/crier/channels/slack"
	"github.com/crierhq/crier/channels/webhook"
	"github.com/crierhq/crier/netpath"
	"github.com/crierhq/crier/server"
	"github.com/crierhq/crier/store/sqlite"
	"github.com/crierhq/crier/templates"
)

// Files crier keeps in its data directory.
const (
	dbFile        = "crier.db"
	tokenFile     = "admin-token" // the admin API token, mode 0600
	secretFile    = "secret"      // key of subscriber links and address pseudonyms, mode 0600
	serverURLFile = "server.url"  // where serve listens, for the CLI
)

// unsubscribeValidity is how long an unsubscribe link in a mail works.
const unsubscribeValidity = 400 * 24 * time.Hour

// configPath returns the --config value, $CRIER_CONFIG, ./crier.yaml, or
// ./config.example.yaml, whichever is set or exists first.
func (m *Main) configPath(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if p := m.Getenv("CRIER_CONFIG"); p != "" {
		return p
	}
	for _, p := range []string{"crier.yaml", "config.example.yaml"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "crier.yaml"
}

// loadConfig loads and validates the configuration and logs its warnings.
func (m *Main) loadConfig(path string, log *slog.Logger) (*Config, error) {
	return m.load(path, log, LoadConfig)
}

// loadClientConfig loads the configuration for a command that never sends.
func (m *Main) loadClientConfig(path string) (*Config, error) {
	return m.load(path, nil, LoadClientConfig)
}

func (m *Main) load(path string, log *slog.Logger, load func(string, func(string) string) (*Config, error)) (*Config, error) {
	cfg, err := load(path, m.Getenv)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, m.noConfig(path)
	}
	if err != nil {
		return nil, err
	}
	if log != nil {
		for _, w := range cfg.Warnings() {
			log.Warn(w)
		}
	}
	return cfg, nil
}

// newLogger returns the logger the configuration asks for: text on a
// terminal, JSON with log.format: json or --log-json.
func (m *Main) newLogger(cfg *Config, json bool) *slog.Logger {
	level := slog.LevelInfo
	if cfg != nil {
		_ = level.UnmarshalText([]byte(cfg.Log.Level))
		json = json || cfg.Log.Format == "json"
	}
	opts := &slog.HandlerOptions{Level: level}
	if json {
		return slog.New(slog.NewJSONHandler(m.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(m.Stderr, opts))
}

// app is everything built from a configuration.
type app struct {
	cfg      *Config
	log      *slog.Logger
	clock    crier.Clock
	db       *sqlite.DB
	dir      *crier.Directory
	channels map[string]*crier.ChannelInfo
	capture  *capture.Channel
	networks map[string]*netpath.Network
	chains   []*netpath.Chain
	targets  *netpath.Targets
	// recovered carries the channels whose endpoint takes sends again.
	recovered chan string
	metrics   *server.Metrics
	engine    *crier.Engine
	workers   *crier.Workers
	tokens    crier.Tokens
	// pseudonyms stand for erased addresses and those past retention,
	// keyed by the same secret as tokens.
	pseudonyms *crier.Pseudonyms
	// instances is what the Mastodon endpoints know of their instances,
	// shared between them; the probes fill it, never a publish.
	instances *mastodon.Instances
	// accounts signs users in with a password; oidc, when configured,
	// through the identity provider (see newAccess). Set by serve.
	accounts *access.Accounts
	oidc     *access.OIDC
}

// buildPreview builds the engine without a store: enough to render and
// check every message.
func (m *Main) buildPreview(cfg *Config, log *slog.Logger) (*app, error) {
	a := &app{cfg: cfg, log: log, clock: m.Clock}
	var towns []*crier.Town
	for _, t := range cfg.Towns {
		towns = append(towns, t.Town())
	}
	a.dir = crier.NewDirectory(towns, cfg.Groups)
	r, err := templates.New(templates.Options{Dir: cfg.Templates, Logger: log, Clock: m.Clock})
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	a.channels = make(map[string]*crier.ChannelInfo)
	a.targets = netpath.NewTargets(netpath.BreakerOptions{
		Failures: cfg.Delivery.Breaker.Failures,
		CoolDown: cfg.Delivery.Breaker.CoolDown.Duration,
	}, m.Clock)
	a.instances = mastodon.NewInstances(log)
	if a.networks, err = buildNetworks(cfg); err != nil {
		return nil, err
	}
	for _, cc := range cfg.Channels {
		info, err := a.buildChannel(cc)
		if err != nil {
			a.closeChannels()
			return nil, err
		}
		a.channels[cc.ID] = info
	}

	a.engine = &crier.Engine{
		Directory: a.dir,
		Channels:  a.channels,
		Renderer:  r,
		Clock:     m.Clock,
		Mode:      cfg.Mode,
		PublicURL: cfg.PublicURL,
		Limits:    cfg.Limits.render(),
	}
	return a, nil
}

// build builds everything serve needs: the store in the data directory,
// the engine, the channels and the workers.
func (m *Main) build(ctx context.Context, cfg *Config, log *slog.Logger) (*app, error) {
	a, err := m.buildPreview(cfg, log)
	if err != nil {
		return nil, err
	}
	if err := m.privateDataDir(cfg.DataDir, cfg.Mode, log); err != nil {
		a.Close()
		return nil, err
	}
	secret, err := cfg.secret()
	if err != nil {
		a.Close()
		return nil, err
	}
	a.tokens = crier.Tokens{Secret: secret}
	a.pseudonyms = crier.NewPseudonyms(secret)
	a.db, err = sqlite.Open(ctx, filepath.Join(cfg.DataDir, dbFile))
	if err != nil {
		a.Close()
		return nil, err
	}
	// The channels start with what earlier probes learned, and the
	// probes keep what they learn.
	if err := a.instances.Load(ctx, a.db); err != nil {
		a.Close()
		return nil, err
	}
	a.instances.Keep(a.db)
	if err := a.keepGone(ctx); err != nil {
		a.Close()
		return nil, err
	}
	a.capture, err = capture.New(capture.Options{Store: a.db, Clock: m.Clock})
	if err != nil {
		a.Close()
		return nil, err
	}
	a.engine.Store = a.db
	a.engine.Submissions = a.db
	a.engine.Approval = cfg.approval()
	d := cfg.Delivery
	a.workers = &crier.Workers{
		Queue:           a.db,
		Channels:        a.channels,
		Capture:         a.capture,
		Clock:           m.Clock,
		Logger:          log,
		Concurrency:     d.Concurrency,
		Lease:           d.Lease.Duration,
		SendTimeout:     d.SendTimeout.Duration,
		MaxAttempts:     d.MaxAttempts,
		Backoff:         crier.Backoff{Base: d.Backoff.Base.Duration, Max: d.Backoff.Max.Duration},
		Poll:            d.Poll.Duration,
		ShutdownTimeout: d.ShutdownTimeout.Duration,
		Prefetch:        d.prefetch(),
		Unsubscribe:     a.unsubscribeURL,
	}
	a.engine.Notify = a.workers.Notify
	a.recovered = make(chan string, 256)
	return a, nil
}

// unsubscribeURL returns the recipient's signed one-click unsubscribe link.
func (a *app) unsubscribeURL(town, recipient string) string {
	tok := a.tokens.Sign(crier.PurposeUnsubscribe, town, recipient, a.clock.Now().Add(unsubscribeValidity))
	return strings.TrimRight(a.cfg.PublicURL, "/") + "/unsubscribe/" + url.PathEscape(tok)
}

// buildChannel turns a channel's configuration into a chain of its
// endpoints, in order, each behind a circuit breaker and reached over its
// own network.
func (a *app) buildChannel(cc ChannelConfig) (*crier.ChannelInfo, error) {
	info := &crier.ChannelInfo{
		ID:            cc.ID,
		Type:          cc.Type,
		PerSubscriber: cc.Type == "email",
		Personalizes:  cc.Type == "email",
		// Webhook receivers deduplicate on webhook-id, Mastodon on the
		// Idempotency-Key (for an hour); SMTP and Slack cannot.
		Deduplicates: cc.Type == "webhook" || cc.Type == "mastodon",
		Revisions:    cc.revisions(),
	}
	var endpoints []netpath.Endpoint
	rs := receivers(cc)
	for i, ep := range cc.Endpoints {
		ch, err := a.buildEndpoint(cc, ep, a.networks[ep.Network])
		if err != nil {
			err = fmt.Errorf("channel %s, endpoint %d (%s): %w", cc.ID, i, ep.Name, err)
			if a.cfg.Mode == crier.ModeActual && !a.cfg.secretsOptional {
				return nil, err
			}
			// In exercise and test mode everything goes to the capture
			// sink, and a preview never sends: an endpoint that cannot be
			// built (a secret not set here) must not stop a rehearsal.
			if !a.cfg.secretsOptional {
				a.log.Warn("endpoint not usable; fine in exercise mode, required for actual", "err", err)
			}
			ch = unusable{err: err, check: a.checkerFor(cc, ep)}
		}
		endpoints = append(endpoints, netpath.Endpoint{
			Name: ep.Name, Network: ep.Network, Channel: ch,
			Receiver: rs[i], Target: target(cc.Type, ep), Slots: a.cfg.Delivery.concurrency(cc.Type),
		})
	}
	chain, err := netpath.NewChain(netpath.ChainOptions{
		Channel:    cc.ID,
		Endpoints:  endpoints,
		Targets:    a.targets,
		Clock:      a.clock,
		Logger:     a.log.With("channel", cc.ID),
		OnChange:   a.onBreakerChange,
		OnFailover: a.onFailover,
		OnRecover:  a.onRecover,
	})
	if err != nil {
		return nil, fmt.Errorf("channel %s: %w", cc.ID, err)
	}
	a.chains = append(a.chains, chain)
	info.Channel = chain
	return info, nil
}

// buildEndpoint is the one place that turns an endpoint's configuration
// into an adapter: every connection it makes goes out on network n.
func (a *app) buildEndpoint(cc ChannelConfig, ep EndpointConfig, n *netpath.Network) (crier.Channel, error) {
	timeout := a.cfg.Delivery.SendTimeout.Duration
	log := a.log.With("channel", cc.ID, "endpoint", ep.Name)
	switch cc.Type {
	case "webhook":
		return webhook.New(webhook.Options{
			URL: ep.URL, Secret: ep.Secret, ProbeURL: ep.ProbeURL,
			Client: n.HTTPClient(timeout), Timeout: timeout, Clock: a.clock, Logger: log, Name: ep.Name,
		})
	case "email":
		return email.New(email.Options{
			Host: ep.Host, Port: ep.Port, TLS: ep.TLS, Username: ep.Username, Password: ep.Password,
			From: cc.From, Connections: a.cfg.Delivery.Concurrency["email"],
			NoChunking: ep.Chunking != nil && !*ep.Chunking,
			CAFile:     ep.CAFile, PinSHA256: ep.TLSPinSHA256,
			Dial: n.DialContext, Timeout: timeout, Clock: a.clock, Logger: log, Name: ep.Name,
		})
	case "mastodon":
		return mastodon.New(mastodon.Options{
			Server: ep.Server, Token: ep.Token, Visibility: cc.Visibility,
			Client: n.HTTPClient(timeout), Timeout: timeout, Clock: a.clock, Logger: log, Name: ep.Name,
			Instances: a.instances,
		})
	case "slack":
		return slack.New(slack.Options{
			Token: ep.Token, Channel: ep.Channel, WebhookURL: ep.WebhookURL, APIURL: ep.APIURL,
			Client: n.HTTPClient(timeout), Timeout: timeout, Clock: a.clock, Logger: log, Name: ep.Name,
		})
	}
	return nil, fmt.Errorf("channel type %q is not supported by this version", cc.Type)
}

// buildNetworks turns the configured networks into netpath networks;
// "default" is always the system route.
func buildNetworks(cfg *Config) (map[string]*netpath.Network, error) {
	nets := map[string]*netpath.Network{"default": netpath.DefaultNetwork()}
	for name, nc := range cfg.Networks {
		if name == "default" {
			continue
		}
		n, err := netpath.NewNetwork(netpath.NetworkOptions{
			Name: name, Source: nc.Source, Interface: nc.Interface, DNS: nc.DNS, Proxy: nc.Proxy,
			DialTimeout: nc.DialTimeout.Duration,
		})
		if err != nil {
			return nil, fmt.Errorf("network %s: %w", name, err)
		}
		nets[name] = n
	}
	return nets, nil
}

func (a *app) onBreakerChange(channel, endpoint, network string, from, to netpath.State) {
	if a.metrics != nil {
		a.metrics.ObserveBreaker(channel, endpoint, network, string(to))
	}
}

// goneFact is the kind of fact that says an endpoint answered that it no
// longer exists (HTTP 410). Its key is a hash of the endpoint's target (a
// target may hold a secret URL); its value is a goneState, or empty once a
// person cleared it.
const goneFact = "endpoint.gone"

type goneState struct {
	Since time.Time `json:"since"`
	Why   string    `json:"why"`
}

// goneKey is the fact key of a target.
func goneKey(target string) string {
	sum := sha256.Sum256([]byte(target))
	return hex.EncodeToString(sum[:16])
}

// keepGone marks gone the endpoints that were found gone before a restart
// and not cleared since, and keeps what the chains find from now on, so
// that only a person clears a gone endpoint.
func (a *app) keepGone(ctx context.Context) error {
	facts, err := a.db.Facts(ctx, goneFact)
	if err != nil {
		return err
	}
	gone := map[string]goneState{}
	for _, f := range facts {
		var g goneState
		if len(f.Value) > 0 && json.Unmarshal(f.Value, &g) == nil {
			gone[f.Key] = g
		}
	}
	a.targets.RestoreGone(func(key string) (time.Time, string, bool) {
		g, ok := gone[goneKey(key)]
		return g.Since, g.Why, ok
	})
	save := func(key string, value []byte) {
		f := crier.Fact{Kind: goneFact, Key: goneKey(key), Value: value, Learned: a.clock.Now()}
		if err := a.db.SaveFact(context.Background(), f); err != nil {
			a.log.Error("keep an endpoint's gone state", "err", err)
		}
	}
	a.targets.OnGone = func(key string, since time.Time, why string) {
		b, _ := json.Marshal(goneState{Since: since, Why: why})
		save(key, b)
	}
	a.targets.OnClear = func(key string) { save(key, nil) }
	return nil
}

// onRecover hands the channel of an endpoint that takes sends again to
// the goroutine that makes its waiting deliveries due (serve). It must not
// block: it runs while a breaker is locked.
func (a *app) onRecover(channel string) {
	if a.recovered == nil {
		return
	}
	select {
	case a.recovered <- channel:
	default:
		a.log.Debug("deliveries waiting for a recovered endpoint go at their time", "channel", channel)
	}
}

// hurry makes the deliveries of channels whose endpoint recovered due now
// and wakes the workers, until ctx ends.
func (a *app) hurry(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ch := <-a.recovered:
			// Through the workers, not the queue alone: a send under way
			// may still be held back on the open breaker and be queued for
			// its cool-down after the queue was hurried.
			n, err := a.workers.Hurry(ctx, ch)
			if err != nil {
				a.log.Warn("release deliveries of a recovered endpoint", "channel", ch, "err", err)
				continue
			}
			if n > 0 {
				a.log.Info("endpoint takes sends again; waiting deliveries go now", "channel", ch, "n", n)
			}
		}
	}
}

func (a *app) onFailover(channel, from, to string) {
	if a.metrics != nil {
		a.metrics.ObserveFailover(channel, from, to)
	}
}

// unusable stands for a channel that could not be built.
// Its messages are still checked as the real run would check them, with
// what its channel type can check without credentials.
type unusable struct {
	err   error
	check crier.Checker // nil when the type cannot check without the endpoint
}

func (u unusable) Send(context.Context, *crier.Message) (*crier.Receipt, error) {
	return nil, crier.Permanent(u.err)
}

// Check checks m as the endpoint would, as far as that needs no
// credentials.
func (u unusable) Check(ctx context.Context, m *crier.Message) []crier.Problem {
	if u.check == nil {
		return nil
	}
	return u.check.Check(ctx, m)
}

// Notes passes on the notes of its checker.
func (u unusable) Notes() []crier.Note {
	if n, ok := u.check.(crier.Noter); ok {
		return n.Notes()
	}
	return nil
}

// TextLimit passes on the limit of its checker, so that posts are fitted
// to it as the real run would fit them.
func (u unusable) TextLimit() crier.Limit {
	if l, ok := u.check.(crier.Limiter); ok {
		return l.TextLimit()
	}
	return crier.Limit{}
}

// checkerFor returns what checks the messages of an endpoint of cc without
// its credentials, or nil.
func (a *app) checkerFor(cc ChannelConfig, ep EndpointConfig) crier.Checker {
	switch cc.Type {
	case "mastodon":
		if c, err := mastodon.NewChecker(ep.Server, a.instances); err == nil {
			return c
		}
	case "slack":
		return slackChecker{checkFunc(slack.CheckMessage)}
	case "email":
		return checkFunc(email.CheckMessage)
	case "webhook":
		return checkFunc(webhook.CheckMessage)
	}
	return nil
}

// checkFunc is a crier.Checker made of a function that needs no context.
type checkFunc func(*crier.Message) []crier.Problem

func (f checkFunc) Check(_ context.Context, m *crier.Message) []crier.Problem { return f(m) }

// slackChecker checks a Slack endpoint's messages and gives Slack's limit.
type slackChecker struct{ checkFunc }

func (slackChecker) TextLimit() crier.Limit { return slack.TextLimit() }

// Probe reports why the endpoint cannot be used.
func (u unusable) Probe(context.Context) error { return crier.Permanent(u.err) }

func (a *app) closeChannels() {
	for _, c := range a.channels {
		if cl, ok := c.Channel.(crier.Closer); ok {
			if err := cl.Close(); err != nil {
				a.log.Warn("close channel", "channel", c.ID, "err", err)
			}
		}
	}
}

// Close releases the channels' connections and the store.
func (a *app) Close() error {
	a.closeChannels()
	if a.db != nil {
		return a.db.Close()
	}
	return nil
}

// secret returns the configured HMAC secret, or the one kept in the data
// directory, created on first use.
func (c *Config) secret() ([]byte, error) {
	if c.Secret != "" {
		return []byte(c.Secret), nil
	}
	s, err := readOrCreate(filepath.Join(c.DataDir, secretFile), 32)
	return []byte(s), err
}

// readOrCreate returns the content of a secret file, creating it with n
// random bytes (hex) and mode 0600 when it does not exist.
func readOrCreate(path string, n int) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	raw := make([]byte, n)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	s := hex.EncodeToString(raw)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	if _, err := f.WriteString(s + "\n"); err != nil {
		f.Close()
		return "", err
	}
	return s, f.Close()
}

// override applies command-line values over the configuration file's.
func (c *Config) override(dataDir, listen string) {
	if dataDir != "" {
		c.DataDir = dataDir
	}
	if listen != "" {
		c.Listen = listen
	}
}

// health returns the health of every endpoint of every channel, with the
// deliveries pinned to each.
func (a *app) health() []netpath.EndpointHealth {
	var out []netpath.EndpointHealth
	for _, c := range a.chains {
		out = append(out, c.Health()...)
	}
	if a.db == nil {
		return out
	}
	pinned, err := a.db.Pinned(context.Background())
	if err != nil {
		a.log.Warn("count pinned deliveries", "err", err)
		return out
	}
	for i := range out {
		out[i].Pinned = pinned[out[i].Channel][out[i].Endpoint]
	}
	return out
}

// resetEndpoint clears what keeps a channel's endpoint from taking sends.
func (a *app) resetEndpoint(channel, endpoint string) error {
	for _, c := range a.chains {
		if c.ID() == channel {
			return c.Reset(endpoint)
		}
	}
	return crier.Errorf(crier.ENOTFOUND, "no channel %q", channel)
}

// receivers returns the key-memory receiver of each endpoint of a
// channel (netpath.Endpoint.Receiver): the configured receiver name, or
// for Mastodon the account, known by its instance and token; "" (the
// endpoint's own) otherwise.
func receivers(cc ChannelConfig) []string {
	out := make([]string, len(cc.Endpoints))
	for i, ep := range cc.Endpoints {
		switch {
		case ep.Receiver != "":
			out[i] = "receiver " + ep.Receiver
		case cc.Type == "mastodon":
			sum := sha256.Sum256([]byte(strings.TrimRight(ep.Server, "/") + "\x00" + ep.Token))
			out[i] = "account " + hex.EncodeToString(sum[:8])
		}
	}
	return out
}

// target names the place an endpoint reaches over its network, so that
// endpoints of different channels that reach the same place share one
// breaker and one set of send slots (netpath.Endpoint.Target): a webhook
// receiver's or Slack's address, a mail relay, a Mastodon account (an
// instance answers 429 per account, so accounts are kept apart).
func target(typ string, ep EndpointConfig) string {
	var place string
	switch typ {
	case "webhook":
		place = ep.URL
	case "email":
		place = fmt.Sprintf("%s:%d", ep.Host, ep.Port)
	case "mastodon":
		sum := sha256.Sum256([]byte(strings.TrimRight(ep.Server, "/") + "\x00" + ep.Token))
		place = hex.EncodeToString(sum[:8])
	case "slack":
		place = ep.WebhookURL + ep.APIURL + "\x00" + ep.Token
	}
	return typ + " " + place + " via " + ep.Network
}
