package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/capture"
	"github.com/crierhq/crier/channels/email"
	"github.com/crierhq/crier/channels/mastodon"
	"github.com/crierhq/crier/channels/slack"
	"github.com/crierhq/crier/channels/webhook"
	"github.com/crierhq/crier/store/sqlite"
	"github.com/crierhq/crier/templates"
)

// Files crier keeps in its data directory.
const (
	dbFile        = "crier.db"
	tokenFile     = "admin-token" // the admin API token, mode 0600
	secretFile    = "secret"      // HMAC key for subscriber links, mode 0600
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
	engine   *crier.Engine
	workers  *crier.Workers
	tokens   crier.Tokens
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
	var spare []string
	for _, cc := range cfg.Channels {
		if len(cc.Endpoints) > 1 {
			spare = append(spare, cc.ID)
		}
		info, err := a.buildChannel(cc)
		if err != nil {
			a.closeChannels()
			return nil, err
		}
		a.channels[cc.ID] = info
	}
	if len(spare) > 0 {
		log.Info("the first endpoint of each channel carries its traffic; secondary endpoints are not used yet",
			"channels_with_secondary_endpoints", len(spare))
	}
	a.engine = &crier.Engine{
		Directory: a.dir,
		Channels:  a.channels,
		Renderer:  r,
		Clock:     m.Clock,
		Mode:      cfg.Mode,
		PublicURL: cfg.PublicURL,
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
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		a.Close()
		return nil, fmt.Errorf("data dir: %w", err)
	}
	secret, err := cfg.secret()
	if err != nil {
		a.Close()
		return nil, err
	}
	a.tokens = crier.Tokens{Secret: secret}
	a.db, err = sqlite.Open(ctx, filepath.Join(cfg.DataDir, dbFile))
	if err != nil {
		a.Close()
		return nil, err
	}
	a.capture, err = capture.New(capture.Options{Store: a.db, Clock: m.Clock})
	if err != nil {
		a.Close()
		return nil, err
	}
	a.engine.Store = a.db
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
	return a, nil
}

// unsubscribeURL returns the recipient's signed one-click unsubscribe link.
func (a *app) unsubscribeURL(town, recipient string) string {
	tok := a.tokens.Sign(crier.PurposeUnsubscribe, town, recipient, a.clock.Now().Add(unsubscribeValidity))
	return strings.TrimRight(a.cfg.PublicURL, "/") + "/unsubscribe/" + url.PathEscape(tok)
}

// buildChannel is the one place that turns a channel's configuration into
// an adapter. Each endpoint list is ordered; until failover chains exist,
// the first endpoint carries the traffic.
func (a *app) buildChannel(cc ChannelConfig) (*crier.ChannelInfo, error) {
	info := &crier.ChannelInfo{ID: cc.ID, Type: cc.Type}
	ep := cc.Endpoints[0]
	var err error
	switch cc.Type {
	case "webhook":
		info.Deduplicates = true
		info.Channel, err = webhook.New(webhook.Options{
			URL:    ep.URL,
			Secret: ep.Secret,
			Client: &http.Client{Timeout: a.cfg.Delivery.SendTimeout.Duration},
			Clock:  a.clock,
			Logger: a.log.With("channel", cc.ID),
			Name:   ep.Name,
		})
	case "email":
		info.PerSubscriber = true
		info.Channel, err = email.New(email.Options{
			Host:        ep.Host,
			Port:        ep.Port,
			TLS:         ep.TLS,
			Username:    ep.Username,
			Password:    ep.Password,
			From:        cc.From,
			Connections: a.cfg.Delivery.Concurrency["email"],
			Timeout:     a.cfg.Delivery.SendTimeout.Duration,
			Clock:       a.clock,
			Logger:      a.log.With("channel", cc.ID),
			Name:        ep.Name,
		})
	case "mastodon":
		info.Deduplicates = true // Idempotency-Key, kept by the server for an hour
		info.Channel, err = mastodon.New(mastodon.Options{
			Server:     ep.Server,
			Token:      ep.Token,
			Visibility: cc.Visibility,
			Client:     &http.Client{},
			Timeout:    a.cfg.Delivery.SendTimeout.Duration,
			Clock:      a.clock,
			Logger:     a.log.With("channel", cc.ID),
			Name:       ep.Name,
		})
	case "slack":
		info.Channel, err = slack.New(slack.Options{
			Token:      ep.Token,
			Channel:    ep.Channel,
			WebhookURL: ep.WebhookURL,
			APIURL:     ep.APIURL,
			Client:     &http.Client{},
			Timeout:    a.cfg.Delivery.SendTimeout.Duration,
			Clock:      a.clock,
			Logger:     a.log.With("channel", cc.ID),
			Name:       ep.Name,
		})
	default:
		err = fmt.Errorf("channel type %q is not supported by this version", cc.Type)
	}
	if err != nil {
		if a.cfg.Mode == crier.ModeActual && !a.cfg.secretsOptional {
			return nil, fmt.Errorf("channel %s: %w", cc.ID, err)
		}
		// In exercise and test mode everything goes to the capture sink, and
		// a preview never sends: a channel that cannot be built (a secret
		// not set here) must not stop a rehearsal or a preview.
		if !a.cfg.secretsOptional {
			a.log.Warn("channel not usable; fine in exercise mode, required for actual", "channel", cc.ID, "err", err)
		}
		info.Channel = unusable{fmt.Errorf("channel %s is not usable: %w", cc.ID, err)}
	}
	return info, nil
}

// unusable stands for a channel that could not be built.
type unusable struct{ err error }

func (u unusable) Send(context.Context, *crier.Message) (*crier.Receipt, error) {
	return nil, crier.Permanent(u.err)
}

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
