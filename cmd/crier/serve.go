package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/netpath"
	"github.com/crierhq/crier/newsroom"
	"github.com/crierhq/crier/server"
	"github.com/prometheus/client_golang/prometheus"
)

// purgeInterval is how often serve applies the retention period.
const purgeInterval = time.Hour

// serve runs the API, the workers and the queue until ctx ends.
func (m *Main) serve(ctx context.Context, args []string) error {
	fs := m.flags("serve")
	configFlag := fs.String("config", "", "configuration file (default $CRIER_CONFIG, ./crier.yaml or ./config.example.yaml)")
	logJSON := fs.Bool("log-json", false, "log JSON lines instead of text")
	dataDir := fs.String("data-dir", "", "data directory (overrides data_dir in the configuration)")
	listen := fs.String("listen", "", "listen address (overrides listen in the configuration)")
	if _, err := parse(fs, args); err != nil {
		return flagError(err)
	}
	boot := m.newLogger(nil, *logJSON)
	cfg, err := m.loadConfig(m.configPath(*configFlag), boot)
	if err != nil {
		return err
	}
	cfg.override(*dataDir, *listen)
	log := m.newLogger(cfg, *logJSON)
	a, err := m.build(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()

	if n, err := a.db.Recover(ctx); err != nil {
		return fmt.Errorf("recover leases: %w", err)
	} else if n > 0 {
		log.Info("resuming deliveries interrupted by the last stop", "n", n)
	}
	token, err := readOrCreate(filepath.Join(cfg.DataDir, tokenFile), 32)
	if err != nil {
		return fmt.Errorf("admin token: %w", err)
	}

	if a.accounts, a.oidc, err = newAccess(cfg, a.db, a.dir, a.tokens.Secret, m.Clock, log); err != nil {
		return err
	}
	sched := m.scheduler(a, cfg, log)
	a.engine.Schedules = sched // approved submissions with a publish_at
	reg := prometheus.NewRegistry()
	metrics := server.NewMetrics(reg, a.db, a.db)
	a.metrics = metrics
	// Every endpoint has its crier_endpoint_up series from the start, not
	// only after its breaker first changes. No send or probe has run yet.
	for _, h := range a.health() {
		metrics.SetEndpoint(h.Channel, h.Endpoint, h.Network, string(h.State))
	}
	a.workers.Observe = metrics.ObserveAttempt
	web, err := newSite(cfg, a.db, a.dir, m.Clock, log, cfg.PublicURL, false)
	if err != nil {
		return err
	}
	retention := &crier.Retention{Store: a.db, Pseudonyms: a.pseudonyms, Period: cfg.Privacy.Retention.Period(),
		Clock: m.Clock, Logger: log}
	proxies, _ := cfg.HTTP.proxies() // Validate reported any that do not parse
	opts := newsroom.Options{
		Engine:        a.engine,
		Accounts:      a.db,
		Sessions:      a.db,
		Audit:         a.db,
		Login:         a.accounts,
		Schedules:     sched,
		Subscribers:   a.db,
		Captures:      a.db,
		Drafts:        a.db,
		Statuses:      a.db,
		DefaultStatus: configuredStatus(cfg),
		Endpoints:     a.health,
		ResetEndpoint: a.resetEndpoint,
		PublicURL:     cfg.PublicURL,
		Limits:        cfg.Newsroom.limits(),
		Clock:         m.Clock,
		Logger:        log,
	}
	if a.oidc != nil { // a nil *access.OIDC is no SingleSignOn
		opts.SSO = a.oidc
	}
	admin, err := newsroom.New(opts)
	if err != nil {
		return err
	}
	srv, err := server.New(server.Options{
		Engine:        a.engine,
		Store:         a.db,
		Subscribers:   a.db,
		Captures:      a.db,
		Queue:         a.db,
		Directory:     a.dir,
		Channels:      a.channels,
		Token:         token,
		Accounts:      a.db,
		Logins:        a.accounts,
		Clock:         m.Clock,
		Logger:        log,
		Metrics:       metrics,
		Version:       version,
		Endpoints:     a.health,
		ResetEndpoint: a.resetEndpoint,
		Schedules:     sched,
		Site:          web,
		Newsroom:      admin,
		Tokens:        &a.tokens,
		PrivacyURL:    cfg.Site.PrivacyURL,
		Statuses:      a.db,
		DefaultStatus: configuredStatus(cfg),
		Privacy:       a.db,
		Audit:         a.db,
		Pseudonyms:    a.pseudonyms,
		Retention:     retention,

		// The http section: who the client is, and how many connections it may hold.
		TrustedProxies:    proxies,
		ProxyHeader:       cfg.HTTP.proxyHeader(),
		MaxConnsPerClient: cfg.HTTP.MaxConnsPerClient,

		// The limits section: what one request may send and be answered.
		MaxBody:       int64(cfg.Limits.RequestBody),
		MaxImportBody: int64(cfg.Limits.ImportBody),
		MaxProblems:   cfg.Limits.Problems,
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	base := "http://" + ln.Addr().String()
	if err := os.WriteFile(filepath.Join(cfg.DataDir, serverURLFile), []byte(base+"\n"), 0o600); err != nil {
		ln.Close()
		return fmt.Errorf("write server address: %w", err)
	}
	hs := srv.HTTPServer(server.Timeouts{Read: cfg.HTTP.ReadTimeout.Duration,
		Write: cfg.HTTP.WriteTimeout.Duration, Idle: cfg.HTTP.IdleTimeout.Duration})

	ctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		a.workers.Run(ctx)
	}()
	go func() {
		defer wg.Done()
		if cfg.Mode != crier.ModeActual {
			// In exercise and test mode nothing leaves the machine, probes
			// included: the checks count against what is stored, or the
			// defaults. "crier check" probes on request.
			return
		}
		prober := &netpath.Prober{Chains: a.chains, Interval: cfg.Delivery.ProbeInterval.Duration, Clock: m.Clock, Logger: log}
		prober.Run(ctx)
	}()
	wg.Go(func() { sched.Run(ctx) })
	wg.Go(func() { a.hurry(ctx) })
	wg.Go(func() { retention.Run(ctx, purgeInterval) })
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()
	log.Info("crier is serving", "url", base, "public_url", cfg.PublicURL, "mode", cfg.Mode, "towns", len(cfg.Towns),
		"channels", len(cfg.Channels), "data_dir", cfg.DataDir)
	if m.OnListen != nil {
		m.OnListen(base)
	}

	select {
	case <-ctx.Done():
		log.Info("stopping: no new deliveries are claimed; in-flight ones finish")
	case err = <-serveErr:
		log.Error("http server stopped", "err", err)
		stop()
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("http shutdown", "err", err)
	}
	srv.Wait() // subscribe requests answered but not yet decided
	wg.Wait()
	log.Info("stopped")
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
