package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strings"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/site"
	"github.com/crierhq/crier/store/sqlite"
)

// pageStore is what the website reads from the database: the pages of
// announcements and the service status lists people set through the API.
type pageStore interface {
	Revisions(ctx context.Context, id string) ([]*crier.Announcement, error)
	Pages(ctx context.Context, town string, limit int) ([]*crier.Message, error)
	Page(ctx context.Context, town, id string) ([]*crier.Message, error)
	ServiceStatus(ctx context.Context, town string) ([]crier.ServiceStatus, error)
}

var _ pageStore = (*sqlite.DB)(nil)

// siteSource is the website's view of the database and the configuration:
// the towns in configuration order, each revision with the page stored for
// the town when it was published (crier.PageType messages), and the towns'
// status lists: the one stored through the API, or the configured one
// while none is stored.
type siteSource struct {
	db     pageStore
	dir    *crier.Directory
	status map[string][]site.ServiceStatus
}

var _ site.Source = (*siteSource)(nil)

func newSiteSource(db pageStore, dir *crier.Directory, cfg *Config) *siteSource {
	return &siteSource{db: db, dir: dir, status: configuredStatus(cfg)}
}

// configuredStatus returns every town's status list from the
// configuration, the default until a list is set through the API.
func configuredStatus(cfg *Config) map[string][]crier.ServiceStatus {
	out := map[string][]crier.ServiceStatus{}
	for _, t := range cfg.Towns {
		for _, st := range t.Status {
			out[t.ID] = append(out[t.ID], crier.ServiceStatus{
				Service: st.Service, Availability: crier.Availability(st.Availability), Text: st.Text,
			})
		}
	}
	return out
}

// Towns returns the configured towns in configuration order.
func (s *siteSource) Towns(context.Context) ([]*crier.Town, error) { return s.dir.Towns(), nil }

// Notices returns the town's newest limit announcements with their pages.
func (s *siteSource) Notices(ctx context.Context, town string, limit int) ([]*site.Notice, error) {
	if s.dir.Town(town) == nil {
		return nil, crier.Errorf(crier.ENOTFOUND, "town %s not found", town)
	}
	pages, err := s.db.Pages(ctx, town, limit)
	if err != nil {
		return nil, err
	}
	var out []*site.Notice
	// Pages come by announcement, then revision.
	for len(pages) > 0 {
		id := pages[0].Announcement
		end := 1
		for end < len(pages) && pages[end].Announcement == id {
			end++
		}
		group := pages[:end]
		pages = pages[end:]
		n, err := s.notice(ctx, town, id, group)
		if err != nil {
			return nil, err
		}
		if n != nil {
			out = append(out, n)
		}
	}
	return out, nil
}

// Notice returns one announcement with the town's pages, or not_found.
func (s *siteSource) Notice(ctx context.Context, town, id string) (*site.Notice, error) {
	if s.dir.Town(town) == nil {
		return nil, crier.Errorf(crier.ENOTFOUND, "town %s not found", town)
	}
	pages, err := s.db.Page(ctx, town, id)
	if err != nil {
		return nil, err
	}
	n, err := s.notice(ctx, town, id, pages)
	if err != nil {
		return nil, err
	}
	if n == nil {
		return nil, crier.Errorf(crier.ENOTFOUND, "announcement %s not found for town %s", id, town)
	}
	return n, nil
}

// notice matches the pages of one announcement to its revisions by
// number. A revision without a page for the town (it did not concern the
// town) is left out; nil when none has one.
func (s *siteSource) notice(ctx context.Context, town, id string, pages []*crier.Message) (*site.Notice, error) {
	if len(pages) == 0 {
		return nil, nil
	}
	revs, err := s.db.Revisions(ctx, id)
	if err != nil {
		return nil, err
	}
	n := &site.Notice{Town: town}
	for _, a := range revs {
		i := slices.IndexFunc(pages, func(m *crier.Message) bool { return m.Revision == a.Revision })
		if i < 0 {
			continue
		}
		n.Revisions = append(n.Revisions, &site.Revision{
			Announcement: a, Body: site.Body{HTML: pages[i].HTML, Text: pages[i].Text},
		})
	}
	if len(n.Revisions) == 0 {
		return nil, nil
	}
	return n, nil
}

// Status returns the town's status list as stored through the API, or the
// configured one while none is stored.
func (s *siteSource) Status(ctx context.Context, town string) ([]site.ServiceStatus, error) {
	lines, err := s.db.ServiceStatus(ctx, town)
	if err != nil {
		return nil, err
	}
	if len(lines) == 0 {
		return s.status[town], nil
	}
	return lines, nil
}

// subscribeForms returns site.Options.Subscribe: the address of the public
// subscribe form, /{town}/subscribe under public_url, of every town with
// an email channel, which crier serve answers. Served pages link to it
// beside themselves. An export links to it under public_url, not under its
// own --base-url, since the static copy has no form; when public_url is a
// loopback address (the default in exercise and test mode) nobody outside could
// reach it, and an export leaves the link out.
func subscribeForms(cfg *Config, dir *crier.Directory, export bool) func(town string) string {
	email := map[string]bool{}
	for _, ch := range cfg.Channels {
		if ch.Type == "email" {
			email[ch.ID] = true
		}
	}
	base := strings.TrimRight(cfg.PublicURL, "/")
	if u, err := url.Parse(base); err != nil || base == "" || export && loopbackHost(u.Hostname()) {
		return nil
	}
	return func(town string) string {
		t := dir.Town(town)
		if t == nil || !slices.ContainsFunc(t.Channels, func(id string) bool { return email[id] }) {
			return ""
		}
		return base + "/" + url.PathEscape(town) + "/subscribe"
	}
}

// loopbackHost reports whether host names this machine only.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && (ip.IsLoopback() || ip.IsUnspecified())
}

// newSite returns the emergency website over db for the configuration;
// baseURL is the public address of its feeds and CAP documents; export
// says whether it is for crier site export rather than crier serve.
func newSite(cfg *Config, db pageStore, dir *crier.Directory, clock crier.Clock, log *slog.Logger, baseURL string, export bool) (*site.Site, error) {
	s, err := site.New(site.Options{
		Subscribe:  subscribeForms(cfg, dir, export),
		Source:     newSiteSource(db, dir, cfg),
		BaseURL:    baseURL,
		Sender:     cfg.Sender, // a plain address: config validation refuses "Name <addr>"
		Title:      cfg.Site.Title,
		ImprintURL: cfg.Site.ImprintURL,
		PrivacyURL: cfg.Site.PrivacyURL,
		Mode:       cfg.Mode,
		Clock:      clock,
		Logger:     log,
		MaxAge:     cfg.Site.MaxAge.Duration,
	})
	if err != nil {
		return nil, fmt.Errorf("site: %w", err)
	}
	return s, nil
}

// siteCommand runs "crier site export".
func (m *Main) siteCommand(ctx context.Context, args []string) error {
	if err := m.subHelp("site", args); err != nil {
		return err
	}
	if len(args) == 0 || args[0] != "export" {
		return usageError("usage: crier site export DIR [--config FILE] [--data-dir DIR] [--base-url URL]")
	}
	return m.siteExport(ctx, args[1:])
}

// siteExport writes the website as static files. It reads the database
// without taking its lock (sqlite.OpenReadOnly), so it works next to a
// running crier serve and never changes anything.
func (m *Main) siteExport(ctx context.Context, args []string) error {
	fs := m.flags("site export")
	configFlag := fs.String("config", "", "configuration file (default $CRIER_CONFIG, ./crier.yaml or ./config.example.yaml)")
	dataDir := fs.String("data-dir", "", "data directory (overrides data_dir in the configuration)")
	baseURL := fs.String("base-url", "", "public address of the exported copy, for links in feeds and CAP documents (default public_url)")
	rest, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(rest) != 1 {
		return usageError("usage: crier site export DIR [--config FILE] [--data-dir DIR] [--base-url URL]")
	}
	cfg, err := m.loadClientConfig(m.configPath(*configFlag))
	if err != nil {
		return err
	}
	cfg.override(*dataDir, "")
	var towns []*crier.Town
	for _, t := range cfg.Towns {
		towns = append(towns, t.Town())
	}
	dir := crier.NewDirectory(towns, cfg.Groups)
	db, err := sqlite.OpenReadOnly(ctx, filepath.Join(cfg.DataDir, dbFile))
	if err != nil {
		return err
	}
	defer db.Close()
	base := cfg.PublicURL
	if *baseURL != "" {
		base = *baseURL
	}
	s, err := newSite(cfg, db, dir, m.Clock, nil, base, true)
	if err != nil {
		return err
	}
	written, err := s.Export(ctx, rest[0])
	if err != nil {
		return err
	}
	fmt.Fprintln(m.Stdout, m.t("cli.site_exported", len(written), rest[0]))
	return nil
}
