package main

import (
	"bytes"
	"cmp"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // towns name IANA time zones; do not depend on the host's zoneinfo

	"go.yaml.in/yaml/v3"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/email"
	"github.com/crierhq/crier/newsroom"
	"github.com/crierhq/crier/schedule"
)

// Config is crier's configuration, read from one YAML file by LoadConfig.
// config.example.yaml at the repository root is the complete, commented
// reference. A setting that is absent, empty or zero takes its default.
//
// String values may refer to environment variables as ${NAME}; $$ stands
// for a literal dollar sign. Keys are never expanded. A variable that is
// unset or empty is a problem in actual mode; in exercise and test mode,
// where nothing leaves the machine, it expands to the empty string, the
// checks of the field it is used in are skipped, and Warnings names it.
type Config struct {
	// Listen is the address of the HTTP server. Default "127.0.0.1:8080".
	Listen string `yaml:"listen"`
	// PublicURL is the absolute URL under which people reach this
	// instance; links in mails, feeds and CAP messages start with it,
	// unsubscribe links included. Required in actual mode, where it must be
	// https unless its host is a loopback address. In exercise and test
	// mode it defaults to defaultPublicURL, for a tour on this machine. It
	// is never derived from Listen: the address crier listens on is rarely
	// the one people reach it under (a proxy, a port forward, --listen).
	PublicURL string `yaml:"public_url"`
	// DataDir holds the SQLite database, the admin token and the generated
	// secret. A relative path is relative to the config file's directory;
	// LoadConfig makes it absolute. Default "./data".
	DataDir string `yaml:"data_dir"`
	// Mode is the instance mode: exercise (the default), test or actual.
	// Only an actual instance sends anything; the others capture every
	// message for people to read.
	Mode crier.Mode `yaml:"mode"`
	// Sender is the CAP sender, a plain address such as
	// "presse@kreis-soest.example". Optional.
	Sender string `yaml:"sender"`
	// Secret seals the links in subscriber mails. Optional: when
	// empty, crier generates one and keeps it in DataDir. When set, at least
	// 32 characters.
	Secret string `yaml:"secret"`
	// Templates is an optional directory of template overrides. A relative
	// path is relative to the config file's directory; LoadConfig makes it
	// absolute. It must exist.
	Templates string `yaml:"templates"`
	// HTTP configures the HTTP server of serve.
	HTTP HTTPConfig `yaml:"http"`
	// Limits bound the work one request can cause: rendering, request
	// bodies, the problems an answer lists.
	Limits LimitsConfig `yaml:"limits"`
	// Log configures the process log.
	Log LogConfig `yaml:"log"`
	// Delivery tunes the delivery workers.
	Delivery DeliveryConfig `yaml:"delivery"`
	// Schedule tunes the scheduler of publish_at and recurring schedules.
	Schedule ScheduleConfig `yaml:"schedule"`
	// Newsroom configures the web interface under /admin/.
	Newsroom NewsroomConfig `yaml:"newsroom"`
	// Site configures the emergency website that serve answers outside the
	// API and site export writes.
	Site SiteConfig `yaml:"site"`
	// Privacy says how long personal data is kept.
	Privacy PrivacyConfig `yaml:"privacy"`
	// Networks are the ways out of this machine besides the system route,
	// by name. The network "default" is the system route; it is always
	// there and may be listed only empty.
	Networks map[string]NetworkConfig `yaml:"networks"`
	// Channels are the configured destinations.
	Channels []ChannelConfig `yaml:"channels"`
	// Towns are the municipalities crier publishes for.
	Towns []TownConfig `yaml:"towns"`
	// Groups name lists of towns that announcements can target at once.
	// Names are slugs that differ from every town id and from "all".
	Groups map[string][]string `yaml:"groups"`
	// OIDC, when set, lets people sign in to the newsroom through an
	// OpenID Connect identity provider.
	OIDC *OIDCConfig `yaml:"oidc"`
	// Approval says which announcements wait for an approver (four-eyes
	// approval) in every town without a rule of its own. Default: off.
	Approval ApprovalConfig `yaml:"approval"`

	env configEnv // where ${NAME} was used; filled by LoadConfig
	// publicURLDefault is set when PublicURL is defaultPublicURL because
	// the file sets none (exercise and test mode).
	publicURLDefault bool
	// secretsOptional allows unset environment variables in every mode
	// (LoadClientConfig).
	secretsOptional bool
}

// HTTPConfig configures the HTTP server of serve. Zero durations and
// counts take the defaults of package server.
type HTTPConfig struct {
	// TrustedProxies are the reverse proxies in front of crier, as CIDR
	// prefixes or single IP addresses. Only from these peers is
	// ProxyHeader believed, for the rate limits, the connection cap and
	// the request log. Default none: every peer is the client.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// ProxyHeader is the header the trusted proxies set: x-forwarded-for
	// (the default) or forwarded (RFC 7239).
	ProxyHeader string `yaml:"proxy_header"`
	// ReadTimeout bounds reading one request, body included; the headers
	// get at most 10s of it. Default 1m.
	ReadTimeout Duration `yaml:"read_timeout"`
	// WriteTimeout bounds answering one request, from the end of its
	// headers. Default 2m.
	WriteTimeout Duration `yaml:"write_timeout"`
	// IdleTimeout is how long a kept-alive connection may wait for its
	// next request. Default 1m.
	IdleTimeout Duration `yaml:"idle_timeout"`
	// MaxConnsPerClient caps the connections one client address (one /64
	// for IPv6) holds open at a time; API requests with the admin token
	// do not count. Default 64.
	MaxConnsPerClient int `yaml:"max_conns_per_client"`
}

// proxies parses TrustedProxies; Validate reports what does not parse.
func (h HTTPConfig) proxies() ([]netip.Prefix, []int) {
	var out []netip.Prefix
	var bad []int
	for i, s := range h.TrustedProxies {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil || a.Zone() != "" {
				bad = append(bad, i)
				continue
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, bad
}

// proxyHeader is the canonical name of ProxyHeader, "" for the default.
func (h HTTPConfig) proxyHeader() string {
	return map[string]string{"x-forwarded-for": "X-Forwarded-For", "forwarded": "Forwarded"}[h.ProxyHeader]
}

// LimitsConfig bounds the work one request can cause. Zero values take
// the defaults of packages crier and server.
type LimitsConfig struct {
	// Message is the largest that each rendered part of one message
	// (subject, HTML, plain text, payload) and each town's rendered body
	// may be. Default 256KiB (crier.DefaultMaxMessage).
	Message Size `yaml:"message"`
	// Announcement is the largest that all rendered messages and pages of
	// one announcement may be together, over all its towns and channels.
	// Default 32MiB (crier.DefaultMaxAnnouncement).
	Announcement Size `yaml:"announcement"`
	// RenderTime bounds rendering one announcement for all its towns.
	// Default 5s (crier.DefaultRenderTimeout).
	RenderTime Duration `yaml:"render_time"`
	// RequestBody is the largest request body of the API routes that take
	// an announcement, a schedule, a retry or a status list; larger ones
	// are answered 413. Default 1MiB (server.MaxBody).
	RequestBody Size `yaml:"request_body"`
	// ImportBody is the largest subscriber import in one API request;
	// larger ones are answered 413. crier subscribers import sends 1000
	// rows per request. Default 8MiB (server.MaxImportBody).
	ImportBody Size `yaml:"import_body"`
	// Problems is the most problems one answer lists, after grouping the
	// ones many towns share. Default 100 (server.MaxProblems).
	Problems int `yaml:"problems"`
}

// render returns the rendering limits for the engine.
func (l LimitsConfig) render() crier.RenderLimits {
	return crier.RenderLimits{MaxMessage: int(l.Message), MaxAnnouncement: int64(l.Announcement),
		Timeout: l.RenderTime.Duration}.WithDefaults()
}

// Size is a number of bytes written with its unit: "512B", "256KiB",
// "32MiB", "1GiB" (a space before the unit is allowed). A bare number is
// a problem: its unit is unclear.
type Size int64

// sizeUnits are the units of a Size, longest first.
var sizeUnits = []struct {
	name string
	n    int64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}

// UnmarshalYAML reads a size; a bad one is a *yaml.TypeError with its
// line, like the decoder's own type errors.
func (z *Size) UnmarshalYAML(n *yaml.Node) error {
	bad := &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: cannot read `%s` as a size such as 256KiB or 8MiB", n.Line, n.Value)}}
	if n.Kind != yaml.ScalarNode {
		return bad
	}
	v, err := parseSize(n.Value)
	if err != nil {
		return bad
	}
	*z = v
	return nil
}

// parseSize reads a size such as "256KiB"; see Size.
func parseSize(s string) (Size, error) {
	for _, u := range sizeUnits {
		num, ok := strings.CutSuffix(s, u.name)
		if !ok {
			continue
		}
		v, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
		if err != nil || v < 0 || v > (1<<62)/u.n {
			break
		}
		return Size(v * u.n), nil
	}
	return 0, fmt.Errorf("cannot read %q as a size such as 256KiB or 8MiB", s)
}

// Set reads a size from a command-line flag.
func (z *Size) Set(s string) error {
	v, err := parseSize(s)
	if err != nil {
		return err
	}
	*z = v
	return nil
}

// String writes z as it is read.
func (z Size) String() string {
	for _, u := range sizeUnits {
		if z != 0 && int64(z)%u.n == 0 {
			return strconv.FormatInt(int64(z)/u.n, 10) + u.name
		}
	}
	return "0B"
}

// LogConfig configures the process log.
type LogConfig struct {
	// Format is "text" (the default) or "json".
	Format string `yaml:"format"`
	// Level is "debug", "info" (the default), "warn" or "error".
	Level string `yaml:"level"`
}

// DeliveryConfig tunes the delivery workers.
type DeliveryConfig struct {
	// Concurrency is the number of parallel sends per channel type. Types
	// not listed keep their default: 8 for email, 4 for the others.
	Concurrency map[string]int `yaml:"concurrency"`
	// Lease is how long a worker holds a claimed delivery before another
	// worker may take it over. Default 2m.
	Lease Duration `yaml:"lease"`
	// SendTimeout bounds one send; it must be shorter than Lease. Default 30s.
	SendTimeout Duration `yaml:"send_timeout"`
	// MaxAttempts is the number of tries before a delivery fails. Default 12.
	MaxAttempts int `yaml:"max_attempts"`
	// Backoff spaces the retries of a failed delivery.
	Backoff BackoffConfig `yaml:"backoff"`
	// Poll is how often idle workers look for due deliveries. Default 1s.
	Poll Duration `yaml:"poll"`
	// ShutdownTimeout is how long a stopping process lets in-flight sends
	// finish before canceling them. Default 20s.
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
	// Breaker guards every endpoint: after Failures consecutive failures
	// (transient errors), or at once after a send or probe that got no
	// answer in time, the endpoint is skipped for CoolDown, then one send
	// tries it again; a send or probe that succeeds closes it at once and
	// releases the deliveries that waited for it.
	Breaker BreakerConfig `yaml:"breaker"`
	// ProbeInterval is how often every endpoint is probed in the
	// background, over its own network. Default 30s.
	ProbeInterval Duration `yaml:"probe_interval"`
	// Prefetch is how many rounds of concurrency deliveries per channel
	// type are claimed ahead of the sends, 0 to 8, default
	// crier.DefaultPrefetch; true means the default and false 0. It keeps
	// connections busy while outcomes are recorded and lets one commit
	// record more of them. After a crash, email deliveries that were
	// claimed (being sent or waiting) become unknown: (1 + prefetch) ×
	// concurrency per type at most.
	Prefetch *Prefetch `yaml:"prefetch"`
}

// concurrency returns the parallel sends of a channel type: also the most
// sends one endpoint may have in flight at once (netpath.Endpoint.Slots),
// so that a hung endpoint holds no more than that.
func (d DeliveryConfig) concurrency(typ string) int {
	if n := d.Concurrency[typ]; n > 0 {
		return n
	}
	return crier.DefaultConcurrency
}

// prefetch returns the configured prefetch, or the default.
func (d DeliveryConfig) prefetch() int {
	if d.Prefetch == nil {
		return crier.DefaultPrefetch
	}
	return int(*d.Prefetch)
}

// maxPrefetch bounds delivery.prefetch: more rounds only widen what a
// crash leaves unknown.
const maxPrefetch = 8

// Prefetch is delivery.prefetch: a number of rounds, or true (the default)
// or false (none), as earlier configurations wrote it.
type Prefetch int

// UnmarshalYAML reads a number from 0 to maxPrefetch, true or false.
func (p *Prefetch) UnmarshalYAML(n *yaml.Node) error {
	var b bool
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" && n.Decode(&b) == nil {
		*p = 0
		if b {
			*p = crier.DefaultPrefetch
		}
		return nil
	}
	v, err := strconv.Atoi(n.Value)
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || err != nil || v < 0 || v > maxPrefetch {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: cannot read `%s` as a prefetch: a number "+
			"of rounds from 0 to %d, or true or false", n.Line, n.Value, maxPrefetch)}}
	}
	*p = Prefetch(v)
	return nil
}

// BreakerConfig configures the circuit breaker of every endpoint.
type BreakerConfig struct {
	// Failures in a row that open the breaker. Default 3.
	Failures int `yaml:"failures"`
	// CoolDown is how long an open breaker skips its endpoint. Default 30s.
	CoolDown Duration `yaml:"cool_down"`
}

// BackoffConfig spaces retries: exponential from Base, capped at Max.
type BackoffConfig struct {
	// Base is the delay after the first failure. Default 5s.
	Base Duration `yaml:"base"`
	// Max caps the delay; at least Base. Default 10m.
	Max Duration `yaml:"max"`
}

// Duration is a time.Duration written as a Go duration string, such as
// "30s", "2m" or "1h30m". A bare number is a problem: its unit is unclear.
type Duration struct{ time.Duration }

// UnmarshalYAML reads a duration string; a bad one is a *yaml.TypeError
// with its line, like the decoder's own type errors.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: cannot read `%s` as a duration such as 30s or 2m", n.Line, n.Value)}}
	}
	d.Duration = v
	return nil
}

// NetworkConfig is a way out of this machine: a bound source address or an
// interface, optionally with its own DNS servers, or a proxy. Source and
// Interface exclude each other.
type NetworkConfig struct {
	// Source is the local IP address connections are bound to, e.g. the
	// address an LTE router gave this machine.
	Source string `yaml:"source"`
	// Interface is the network interface connections are bound to, e.g. "wwan0".
	Interface string `yaml:"interface"`
	// DNS lists the resolvers of this network as IP:port, e.g. "192.168.8.1:53".
	DNS []string `yaml:"dns"`
	// Proxy is a socks5://, socks5h://, http:// or https:// proxy URL.
	Proxy string `yaml:"proxy"`
	// DialTimeout bounds resolving a name and connecting on this network;
	// when it passes, a send moves on to the channel's next endpoint.
	// Default 3s.
	DialTimeout Duration `yaml:"dial_timeout"`
}

// ChannelConfig is a configured destination: its type and an ordered list
// of endpoints, tried in turn when one is unreachable.
type ChannelConfig struct {
	// ID is the channel's slug, unique among channels.
	ID string `yaml:"id"`
	// Type is webhook, email, mastodon or slack.
	Type string `yaml:"type"`
	// From is the sender mailbox of an email channel, e.g.
	// "Stadt Soest <presse@soest.example>". Required for email, not
	// allowed for other types.
	From string `yaml:"from"`
	// Visibility of a Mastodon channel's posts: public (default), unlisted,
	// private or direct. Not allowed for other types.
	Visibility string `yaml:"visibility"`
	// Revisions is how a Mastodon or Slack channel treats its earlier post
	// when the announcement is updated or canceled: edit (default: edit it,
	// delete it on cancel) or reply (answer it). Not allowed for other
	// types.
	Revisions string `yaml:"revisions"`
	// Endpoints are the ways to reach the channel, in order; at least one.
	Endpoints []EndpointConfig `yaml:"endpoints"`
}

// revisions returns the channel's Revisions, crier.RevisionsEdit when unset.
func (cc ChannelConfig) revisions() string {
	if cc.Revisions == "" {
		return crier.RevisionsEdit
	}
	return cc.Revisions
}

// EndpointConfig is one way to reach a channel: an address, credentials
// and the network to go out on. Which fields it takes depends on the
// channel's type; a field of another type is a problem.
//
//   - webhook: url and secret, both required; probe_url optional.
//   - email: host (required), port, tls, username and password.
//   - mastodon: server and token, both required.
//   - slack: token and channel (a bot, optionally api_url), or webhook_url
//     (an incoming webhook).
type EndpointConfig struct {
	// Name labels the endpoint in logs, metrics and delivery history.
	// Default: the host it talks to, followed by " via NETWORK" when the
	// network is not the default one.
	Name string `yaml:"name"`
	// Network names the network to go out on. Default "default", the
	// system route.
	Network string `yaml:"network"`

	// URL is the webhook receiver's absolute http or https URL.
	URL string `yaml:"url"`
	// Secret signs webhook payloads: "whsec_" followed by the standard
	// base64 encoding of a key of at least 24 bytes.
	Secret string `yaml:"secret"`

	// Host is the mail relay's host name or IP address, without port.
	Host string `yaml:"host"`
	// Port is the mail relay's port. Default: 587 for starttls, 465 for
	// implicit, 25 for none.
	Port int `yaml:"port"`
	// TLS is "starttls" (the default), "implicit" or "none". A password is
	// sent over "none" only to a relay on this machine.
	TLS string `yaml:"tls"`
	// Username and Password authenticate at the relay; each requires the other.
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// Chunking false sends every mail with DATA even when the relay offers
	// CHUNKING. Default true: a mail goes out with its commands in one
	// write (BDAT, RFC 3030), one round trip instead of two, and a session
	// lost before the relay's reply leaves it unknown rather than retried.
	Chunking *bool `yaml:"chunking"`
	// CAFile names a PEM file of certificate authorities trusted for this
	// relay only, besides the system's: a relay with an internal CA.
	CAFile string `yaml:"ca_file"`
	// TLSPinSHA256 pins the relay's public key: the SHA-256 of its
	// SubjectPublicKeyInfo in hex or base64. It then decides alone: for a
	// relay with a self-signed certificate. Not together with ca_file.
	TLSPinSHA256 string `yaml:"tls_pin_sha256"`

	// Server is the Mastodon instance's absolute http or https URL.
	Server string `yaml:"server"`
	// Token is the Mastodon access token, or the Slack bot token.
	Token string `yaml:"token"`

	// Channel is the Slack channel a bot token posts to, e.g. "#krisenstab".
	Channel string `yaml:"channel"`
	// WebhookURL is a Slack incoming webhook, used instead of token and channel.
	WebhookURL string `yaml:"webhook_url"`
	// ProbeURL is an optional URL of a webhook receiver that health probes
	// may request (HEAD, unsigned) to see that it is reachable.
	ProbeURL string `yaml:"probe_url"`
	// APIURL is the base of the Slack Web API for a bot token; default
	// https://slack.com/api/.
	APIURL string `yaml:"api_url"`

	// Receiver names the receiver behind the endpoint as far as its memory
	// of delivery keys goes: endpoints of one channel with the same
	// receiver reach the same webhook receiver or Mastodon account (over
	// different networks, say), so a delivery whose earlier attempt may
	// have arrived can go through any of them. Default: a receiver of the
	// endpoint's own, except that Mastodon endpoints with the same server
	// and token are known to be one account.
	Receiver string `yaml:"receiver"`
}

// SiteConfig configures the emergency website.
type SiteConfig struct {
	// Title names the site; default "Notfall-Informationen".
	Title string `yaml:"title"`
	// ImprintURL and PrivacyURL are absolute http or https addresses of the
	// operator's legal notice and privacy statement, linked from every
	// page. Optional.
	ImprintURL string `yaml:"imprint_url"`
	PrivacyURL string `yaml:"privacy_url"`
	// MaxAge is how long browsers and proxies may reuse a page; default 1m.
	MaxAge Duration `yaml:"max_age"`
}

// PrivacyConfig says how long crier keeps personal data.
type PrivacyConfig struct {
	// Retention is how long the personal data of finished deliveries is
	// kept: after it, serve replaces their recipients' addresses by
	// pseudonyms, deletes their earlier attempts, and deletes idempotency
	// keys and unsubscribed list entries as old. Days ("90d") or a
	// duration ("36h"), at least a day; "off" keeps everything. Default
	// 90d.
	Retention Retention `yaml:"retention"`
}

// Retention is a retention period: whole days ("90d"), a Go duration
// ("36h"), or "off" (also 0) for none.
type Retention struct {
	Duration time.Duration
	Off      bool
}

// UnmarshalYAML reads a retention period; a bad one is a *yaml.TypeError
// with its line.
func (r *Retention) UnmarshalYAML(n *yaml.Node) error {
	v, ok := parseRetention(n.Value)
	if n.Kind != yaml.ScalarNode || !ok {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: cannot read `%s` as a retention period such as 90d, 36h or off", n.Line, n.Value)}}
	}
	*r = v
	return nil
}

func parseRetention(s string) (Retention, bool) {
	s = strings.TrimSpace(s)
	switch s {
	case "off", "0":
		return Retention{Off: true}, true
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 100*365 {
			return Retention{}, false
		}
		return Retention{Duration: time.Duration(n) * 24 * time.Hour, Off: n == 0}, true
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return Retention{}, false
	}
	return Retention{Duration: d, Off: d == 0}, true
}

// Period is the retention period, 0 when it is off.
func (r Retention) Period() time.Duration {
	if r.Off {
		return 0
	}
	return r.Duration
}

// StatusConfig is one line of a town's service status on the website.
type StatusConfig struct {
	// Service names the service, e.g. "Bürgerbüro". Required.
	Service string `yaml:"service"`
	// Availability is up, limited or down; optional.
	Availability string `yaml:"availability"`
	// Text says what holds, e.g. "geschlossen". Optional.
	Text string `yaml:"text"`
}

// ApprovalConfig says when an editor's announcement waits for an
// approver before it is published.
type ApprovalConfig struct {
	// Mode is required, optional (the editor chooses) or off (the default).
	Mode string `yaml:"mode"`
	// FromSeverity, when set, is the CAP severity from which Mode applies:
	// Severe means Severe and Extreme; below it, approval is off.
	FromSeverity string `yaml:"from_severity"`
}

// rule returns the approval rule as the engine sees it.
func (ac ApprovalConfig) rule() crier.ApprovalRule {
	mode := crier.ApprovalMode(ac.Mode)
	if mode == "" {
		mode = crier.ApprovalOff
	}
	return crier.ApprovalRule{Mode: mode, FromSeverity: ac.FromSeverity}
}

// approval returns the approval policy of the configuration, or nil when
// no town needs approval, ever.
func (c *Config) approval() *crier.ApprovalPolicy {
	p := &crier.ApprovalPolicy{Default: c.Approval.rule(), Towns: map[string]crier.ApprovalRule{}}
	on := p.Default.Mode != crier.ApprovalOff
	for _, t := range c.Towns {
		if t.Approval != nil {
			p.Towns[t.ID] = t.Approval.rule()
			on = on || p.Towns[t.ID].Mode != crier.ApprovalOff
		}
	}
	if !on {
		return nil
	}
	return p
}

// checkApproval checks an approval block at path.
func (v *configCheck) checkApproval(path string, ac ApprovalConfig) {
	if ac.Mode != "" {
		v.oneOf(path+".mode", ac.Mode, "required", "optional", "off")
	}
	if ac.FromSeverity != "" {
		v.oneOf(path+".from_severity", ac.FromSeverity, crier.Severities...)
		if ac.Mode == "" || ac.Mode == "off" {
			v.add(path+".from_severity", "config.approval_severity_off", "has no effect while the approval mode is off")
		}
	}
}

// TownConfig is a municipality crier publishes for.
type TownConfig struct {
	// ID is the town's slug, unique among towns and groups; "all" is reserved.
	ID string `yaml:"id"`
	// Name is the display name, e.g. "Stadt Soest". Required.
	Name string `yaml:"name"`
	// AGS is the official municipality code: the 8-digit Amtlicher
	// Gemeindeschlüssel or the 12-digit Regionalschlüssel. Optional;
	// unique when set.
	AGS string `yaml:"ags"`
	// Language is a BCP 47 tag. Default "de".
	Language string `yaml:"language"`
	// TimeZone is an IANA time zone. Default "Europe/Berlin".
	TimeZone string `yaml:"time_zone"`
	// Vars are free template variables (phone, office address, office
	// hours, website, hashtag...). Names are letters, digits and
	// underscores, not starting with a digit.
	Vars map[string]string `yaml:"vars"`
	// Channels lists the ids of the channels the town publishes to; it may
	// be empty.
	Channels []string `yaml:"channels"`
	// Status is the town's service status list on the website, in display
	// order; optional. It is the default: a list set through the API or
	// "crier services" is stored and shows instead until it is cleared.
	Status []StatusConfig `yaml:"status"`
	// Approval, when set, replaces the top-level approval for this town.
	Approval *ApprovalConfig `yaml:"approval"`
}

// Town returns the town as the engine sees it. It shares nothing with t.
func (t TownConfig) Town() *crier.Town {
	return &crier.Town{
		ID:       t.ID,
		Name:     t.Name,
		AGS:      t.AGS,
		Language: t.Language,
		TimeZone: t.TimeZone,
		Vars:     maps.Clone(t.Vars),
		Channels: slices.Clone(t.Channels),
	}
}

// Channel types a configuration may name. Adapters for some of them may
// come later; the configuration accepts and checks them already.
var channelTypes = []string{"email", "mastodon", "slack", "webhook"}

// endpointFields lists, per channel type, the endpoint fields besides name
// and network that it takes.
var endpointFields = map[string][]string{
	"webhook":  {"url", "secret", "probe_url"},
	"email":    {"host", "port", "tls", "username", "password", "chunking", "ca_file", "tls_pin_sha256"},
	"mastodon": {"server", "token"},
	"slack":    {"token", "channel", "webhook_url", "api_url"},
}

var (
	slugPattern    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	varNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	agsPattern     = regexp.MustCompile(`^[0-9]{8}([0-9]{4})?$`)
	languagePat    = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$`)
	hostPattern    = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$`)
	integerPattern = regexp.MustCompile(`^(0|[1-9][0-9]{0,17})$`)
)

// LoadConfig reads the configuration at path: it parses the YAML, expands
// ${NAME} in string values with getenv (os.Getenv when nil), decodes it
// strictly (unknown keys and type mismatches are problems with their
// line), fills in defaults, makes data_dir and templates absolute
// relative to the file's directory, and validates the result. Every
// problem of a step is reported at once in an EINVALID *crier.Error.
// Values taken from the environment never appear in an error.
func LoadConfig(path string, getenv func(string) string) (*Config, error) {
	return loadConfig(path, getenv, false)
}

// LoadClientConfig reads the configuration as LoadConfig does, for
// commands that only render or talk to a running server (preview, publish,
// status…): they never send, so environment variables that are not set are
// allowed in every mode. A press officer's shell need not hold the
// server's secrets.
func LoadClientConfig(path string, getenv func(string) string) (*Config, error) {
	return loadConfig(path, getenv, true)
}

func loadConfig(path string, getenv func(string) string, secretsOptional bool) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	c, err := parseConfig(data, getenv)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	c.resolvePaths(filepath.Dir(abs))
	c.secretsOptional = secretsOptional
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// parseConfig turns the file's bytes into a Config with defaults filled in.
func parseConfig(data []byte, getenv func(string) string) (*Config, error) {
	root, err := parseDocument(data)
	if err != nil {
		return nil, err
	}
	// Unknown keys are found on the file as written: the decoder that
	// checks them reads a stream, not the expanded tree.
	lines := unknownKeys(data)

	expansions := expandTree(root, getenv)
	c := new(Config)
	if err := root.Decode(c); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, &crier.Error{Code: crier.EINVALID, Message: redact(err.Error(), expansions)}
		}
		for _, e := range te.Errors {
			lines = append(lines, redact(e, expansions))
		}
	}
	if len(lines) > 0 {
		slices.SortStableFunc(lines, func(a, b string) int { return cmp.Compare(lineOf(a), lineOf(b)) })
		problems := make([]crier.Problem, len(lines))
		for i, l := range lines {
			problems[i] = crier.Problem{Message: l}
		}
		return nil, &crier.Error{Code: crier.EINVALID, Message: "cannot read configuration", Details: problems}
	}
	c.env = recordEnv(root, expansions)
	c.setDefaults()
	return c, nil
}

// parseDocument parses data as exactly one YAML document that is not empty.
func parseDocument(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	err := dec.Decode(&root)
	if errors.Is(err, io.EOF) || err == nil && isEmptyDocument(&root) {
		return nil, crier.Errorf(crier.EINVALID, "the file is empty")
	}
	if err != nil {
		return nil, &crier.Error{Code: crier.EINVALID, Message: "not valid YAML", Err: err}
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return nil, crier.Errorf(crier.EINVALID, "line %d: a second YAML document; the file must hold one", next.Line)
	case !errors.Is(err, io.EOF):
		return nil, &crier.Error{Code: crier.EINVALID, Message: "not valid YAML", Err: err}
	}
	return &root, nil
}

func isEmptyDocument(n *yaml.Node) bool {
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	return n.Kind == 0 || n.Kind == yaml.DocumentNode || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

var unknownKeyPattern = regexp.MustCompile(`^line (\d+): field (.+) not found in type (\S+)$`)

// unknownKeys decodes data with KnownFields and returns its unknown-key
// errors, reworded for people. Type errors are left to the decoding of the
// expanded tree: "${SMTP_PORT}" is not an int until it is expanded.
func unknownKeys(data []byte) []string {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var te *yaml.TypeError
	if err := dec.Decode(new(Config)); !errors.As(err, &te) {
		return nil
	}
	var out []string
	for _, e := range te.Errors {
		m := unknownKeyPattern.FindStringSubmatch(e)
		if m == nil {
			continue
		}
		i := slices.IndexFunc(configSections, func(s configSection) bool { return s.t.String() == m[3] })
		if i < 0 {
			out = append(out, e)
			continue
		}
		s := configSections[i]
		out = append(out, fmt.Sprintf("line %s: unknown key %q %s (known: %s)", m[1], m[2], s.where, strings.Join(yamlKeys(s.t), ", ")))
	}
	return out
}

// configSection names a configuration type for people.
type configSection struct {
	t     reflect.Type
	where string
}

var configSections = []configSection{
	{reflect.TypeFor[Config](), "at the top level"},
	{reflect.TypeFor[LogConfig](), "in log"},
	{reflect.TypeFor[DeliveryConfig](), "in delivery"},
	{reflect.TypeFor[BackoffConfig](), "in delivery.backoff"},
	{reflect.TypeFor[NetworkConfig](), "in a network"},
	{reflect.TypeFor[ChannelConfig](), "in a channel"},
	{reflect.TypeFor[EndpointConfig](), "in an endpoint"},
	{reflect.TypeFor[TownConfig](), "in a town"},
	{reflect.TypeFor[OIDCConfig](), "in oidc"},
	{reflect.TypeFor[OIDCGroup](), "in an oidc group"},
}

// yamlKeys returns the keys a struct type takes, in declaration order.
func yamlKeys(t reflect.Type) []string {
	var keys []string
	for f := range t.Fields() {
		if name, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); f.IsExported() && name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	return keys
}

func lineOf(msg string) int {
	var n int
	fmt.Sscanf(msg, "line %d:", &n)
	return n
}

// expansion records what expanding one scalar did.
type expansion struct {
	original string         // the value as written
	vars     []string       // the variables it names, in order
	missing  []string       // those that were unset or empty
	bad      *crier.Problem // a syntax problem, if any, without its field
}

// expandTree replaces ${NAME} and $$ in every scalar value under n, never in
// mapping keys, and returns what it did per changed node. An alias is
// expanded where its anchor is defined, so that no value is expanded twice.
func expandTree(n *yaml.Node, getenv func(string) string) map[*yaml.Node]*expansion {
	out := map[*yaml.Node]*expansion{}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c)
			}
		case yaml.MappingNode:
			for i := 1; i < len(n.Content); i += 2 {
				walk(n.Content[i])
			}
		case yaml.ScalarNode:
			if !strings.Contains(n.Value, "$") {
				return
			}
			e := &expansion{original: n.Value}
			n.Value = expandString(n.Value, getenv, e)
			out[n] = e
			// A plain or quoted "${SMTP_PORT}" may fill an int field, and
			// an empty result leaves any field at its zero value.
			if n.Style&yaml.TaggedStyle == 0 && n.Value != e.original {
				switch {
				case n.Value == "":
					n.Tag = ""
					n.Style = 0 // a plain empty scalar is null
				case integerPattern.MatchString(n.Value):
					n.Tag = "!!int"
				default:
					n.Tag = "!!str"
				}
			}
		}
	}
	walk(n)
	return out
}

// expandString expands ${NAME} with getenv and $$ to $; any other $ stays.
func expandString(s string, getenv func(string) string, e *expansion) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 || i == len(s)-1 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			s = s[i+2:]
		case '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				e.bad = new(crier.Problemf("", "config.env_unterminated", "unterminated ${ (write $$ for a literal dollar sign)"))
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			s = s[i+2+end+1:]
			if !envNamePattern.MatchString(name) {
				e.bad = new(crier.Problemf("", "config.env_name",
					"${...} must hold a variable name: letters, digits and underscores (write $$ for a literal dollar sign)"))
				continue
			}
			e.vars = append(e.vars, name)
			v := getenv(name)
			if v == "" {
				e.missing = append(e.missing, name)
			}
			b.WriteString(v)
		default:
			b.WriteByte('$')
			s = s[i+1:]
		}
	}
}

// redact replaces, in a decoder's message, every expanded value the way the
// decoder quotes it with the value as written, e.g. `${SMTP_PASSWORD}`.
func redact(msg string, expansions map[*yaml.Node]*expansion) string {
	for n, e := range expansions {
		if n.Value == e.original || n.Value == "" {
			continue
		}
		forms := []string{"`" + n.Value + "`"}
		if len(n.Value) > 10 {
			forms = append(forms, "`"+n.Value[:7]+"...`")
		}
		for _, f := range forms {
			msg = strings.ReplaceAll(msg, f, "`"+e.original+"`")
		}
	}
	return msg
}

// envUse is one ${NAME} in the file.
type envUse struct {
	Field   string // e.g. "channels[radio].endpoints[0].secret"
	Var     string
	Missing bool // unset or empty
}

// configEnv records where the file used environment variables.
type configEnv struct {
	uses     []envUse
	problems []crier.Problem     // malformed ${...}
	vars     map[string][]string // field → variables used in it
	// unchecked are the fields whose checks Validate skips: they use a
	// missing variable (reported by mode) or a malformed ${...} (reported
	// as such).
	unchecked map[string]bool
}

// recordEnv walks the expanded tree and names the field of every variable
// use with the same paths Validate uses. It follows aliases and merge keys,
// so that a value shared through an anchor is recorded for every field
// that receives it.
func recordEnv(root *yaml.Node, expansions map[*yaml.Node]*expansion) configEnv {
	env := configEnv{vars: map[string][]string{}, unchecked: map[string]bool{}}
	reported := map[*yaml.Node]bool{}
	active := map[*yaml.Node]bool{}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.AliasNode:
			if n.Alias != nil && !active[n.Alias] {
				active[n.Alias] = true
				walk(n.Alias, path)
				delete(active, n.Alias)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if k := n.Content[i]; k.Value == "<<" && k.Tag == "!!merge" {
					walk(n.Content[i+1], path)
				} else {
					walk(n.Content[i+1], joinPath(path, k.Value))
				}
			}
		case yaml.SequenceNode:
			labels := sequenceLabels(path, n)
			for i, c := range n.Content {
				walk(c, path+"["+labels[i]+"]")
			}
		case yaml.ScalarNode:
			e := expansions[n]
			if e == nil {
				return
			}
			if e.bad != nil {
				env.unchecked[path] = true
				if !reported[n] {
					reported[n] = true
					p := *e.bad
					p.Field = path
					env.problems = append(env.problems, p)
				}
			}
			for _, v := range e.vars {
				m := slices.Contains(e.missing, v)
				env.uses = append(env.uses, envUse{Field: path, Var: v, Missing: m})
				env.vars[path] = append(env.vars[path], v)
				if m {
					env.unchecked[path] = true
				}
			}
		}
	}
	walk(root, "")
	return env
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// sequenceLabels names the elements of a YAML sequence in field paths:
// towns and channels by id (see idLabels), anything else by index.
func sequenceLabels(path string, n *yaml.Node) []string {
	ids := make([]string, len(n.Content))
	if path == "towns" || path == "channels" {
		for i, item := range n.Content {
			for j := 0; item.Kind == yaml.MappingNode && j+1 < len(item.Content); j += 2 {
				if item.Content[j].Value == "id" && item.Content[j+1].Kind == yaml.ScalarNode {
					ids[i] = item.Content[j+1].Value
				}
			}
		}
	}
	return idLabels(ids)
}

// idLabels names list elements in field paths: by id when the id is a
// slug that is unique in the list and not a number, so that
// "towns[soest].vars.phone" can be found in the file; otherwise by index.
func idLabels(ids []string) []string {
	count := map[string]int{}
	for _, id := range ids {
		count[id]++
	}
	labels := make([]string, len(ids))
	for i, id := range ids {
		labels[i] = strconv.Itoa(i)
		if count[id] == 1 && slugPattern.MatchString(id) && !integerPattern.MatchString(id) {
			labels[i] = id
		}
	}
	return labels
}

// setDefaults fills every absent, empty or zero setting with its default.
func (c *Config) setDefaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.Listen, "127.0.0.1:8080")
	def(&c.DataDir, "./data")
	if c.Mode == "" {
		c.Mode = crier.ModeExercise
	}
	if c.PublicURL == "" && c.Mode != crier.ModeActual {
		c.PublicURL = defaultPublicURL
		c.publicURLDefault = true
	}
	def(&c.Log.Format, "text")
	def(&c.Log.Level, "info")

	d := &c.Delivery
	if d.Concurrency == nil {
		d.Concurrency = map[string]int{}
	}
	for _, t := range channelTypes {
		if _, ok := d.Concurrency[t]; !ok {
			d.Concurrency[t] = crier.DefaultConcurrency
			if t == "email" {
				d.Concurrency[t] = 8
			}
		}
	}
	dur := func(p *Duration, v time.Duration) {
		if p.Duration == 0 {
			p.Duration = v
		}
	}
	dur(&d.Lease, crier.DefaultLease)
	dur(&d.SendTimeout, crier.DefaultSendTimeout)
	dur(&d.Backoff.Base, 5*time.Second)
	dur(&d.Backoff.Max, 10*time.Minute)
	dur(&d.Poll, crier.DefaultPoll)
	dur(&d.ShutdownTimeout, crier.DefaultShutdownTimeout)
	dur(&d.Breaker.CoolDown, 30*time.Second)
	dur(&d.ProbeInterval, 30*time.Second)
	dur(&c.Schedule.Grace, schedule.DefaultGrace)
	dur(&c.Newsroom.SessionIdle, newsroom.DefaultIdle)
	dur(&c.Newsroom.SessionLifetime, newsroom.DefaultAbsolute)
	if r := &c.Privacy.Retention; !r.Off && r.Duration == 0 {
		r.Duration = crier.DefaultRetention
	}
	if d.Breaker.Failures == 0 {
		d.Breaker.Failures = 3
	}
	if d.MaxAttempts == 0 {
		d.MaxAttempts = crier.DefaultMaxAttempts
	}

	for i := range c.Channels {
		ch := &c.Channels[i]
		if ch.Type == "mastodon" {
			def(&ch.Visibility, "public")
		}
		names := map[string]bool{}
		for j := range ch.Endpoints {
			ep := &ch.Endpoints[j]
			def(&ep.Network, "default")
			if ch.Type == "email" {
				def(&ep.TLS, "starttls")
				if ep.Port == 0 {
					ep.Port = map[string]int{"implicit": 465, "none": 25}[ep.TLS]
				}
				if ep.Port == 0 {
					ep.Port = 587
				}
			}
			if ep.Name != "" {
				names[ep.Name] = true
			}
		}
		for j := range ch.Endpoints {
			ep := &ch.Endpoints[j]
			if ep.Name != "" {
				continue
			}
			name := ep.host(ch.Type)
			if name == "" {
				name = "endpoint " + strconv.Itoa(j+1)
			}
			if ep.Network != "default" {
				name += " via " + ep.Network
			}
			if names[name] {
				name += " #" + strconv.Itoa(j+1)
			}
			names[name] = true
			ep.Name = name
		}
	}
	for i := range c.Towns {
		def(&c.Towns[i].Language, "de")
		def(&c.Towns[i].TimeZone, "Europe/Berlin")
	}
}

// defaultPublicURL is public_url in exercise and test mode when the file
// sets none: the default listen address, so that the links of a tour on
// this machine work. Actual mode has no default.
const defaultPublicURL = "http://127.0.0.1:8080"

// host returns the host an endpoint talks to, or "" when it cannot tell.
func (e *EndpointConfig) host(channelType string) string {
	fromURL := func(s string) string {
		if u, err := url.Parse(s); err == nil {
			return u.Hostname()
		}
		return ""
	}
	switch channelType {
	case "webhook":
		return fromURL(e.URL)
	case "email":
		return e.Host
	case "mastodon":
		return fromURL(e.Server)
	case "slack":
		if e.WebhookURL != "" {
			return fromURL(e.WebhookURL)
		}
		return "slack.com"
	}
	return ""
}

// resolvePaths makes data_dir, templates and every endpoint's ca_file
// absolute, relative to dir.
func (c *Config) resolvePaths(dir string) {
	paths := []*string{&c.DataDir, &c.Templates}
	for i := range c.Channels {
		for j := range c.Channels[i].Endpoints {
			paths = append(paths, &c.Channels[i].Endpoints[j].CAFile)
		}
	}
	for _, p := range paths {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
}

// Warnings returns what is fine now but worth a line in the log: in
// exercise and test mode, every environment variable that is not set
// (required in actual mode), channels no town uses, an https public_url
// without trusted proxies, and trusted proxies that are every address.
func (c *Config) Warnings() []string {
	var out []string
	if c.Mode == crier.ModeExercise || c.Mode == crier.ModeTest {
		var order []string
		fields := map[string][]string{}
		for _, u := range c.env.uses {
			if !u.Missing || slices.Contains(fields[u.Var], u.Field) {
				continue
			}
			if fields[u.Var] == nil {
				order = append(order, u.Var)
			}
			fields[u.Var] = append(fields[u.Var], u.Field)
		}
		if len(order) > 0 {
			out = append(out, fmt.Sprintf("%d environment variable(s) not set: %s: fine in %s mode, required in actual mode",
				len(order), strings.Join(order, ", "), c.Mode))
		}
	}
	used := map[string]bool{}
	for _, t := range c.Towns {
		for _, id := range t.Channels {
			used[id] = true
		}
	}
	for _, ch := range c.Channels {
		if ch.ID != "" && !used[ch.ID] {
			out = append(out, fmt.Sprintf("channel %s is not used by any town", ch.ID))
		}
	}
	if c.publicURLDefault {
		out = append(out, fmt.Sprintf("public_url is not set: links in messages, feeds and CAP documents start with %s, "+
			"which only this machine reaches: fine in %s mode, required in actual mode", c.PublicURL, c.Mode))
	}
	out = append(out, receiverWarnings(c.Channels)...)
	if u, err := url.Parse(c.PublicURL); err == nil && u.Scheme == "https" && len(c.HTTP.TrustedProxies) == 0 &&
		c.Mode == crier.ModeActual {
		out = append(out, "public_url is https, so a reverse proxy serves crier, but http.trusted_proxies is empty: "+
			"the subscribe rate limit and the connection cap count every visitor as the proxy")
	}
	proxies, _ := c.HTTP.proxies()
	for _, p := range proxies {
		if p.Bits() == 0 {
			out = append(out, fmt.Sprintf("http.trusted_proxies has %s: every peer may name any client address, "+
				"and so escape the subscribe rate limit and the connection cap", p))
		}
	}
	return out
}

// receiverWarnings names the webhook channels whose endpoints are not
// declared to reach the same receiver: a delivery whose attempt may have
// arrived then waits for the endpoint that may have it instead of failing
// over. Mastodon endpoints need no word: the same server and token are
// known to be one account, and other accounts never share keys.
func receiverWarnings(channels []ChannelConfig) []string {
	var out []string
	for _, ch := range channels {
		if len(ch.Endpoints) < 2 || ch.Type != "webhook" {
			continue
		}
		rs := receivers(ch)
		if !slices.ContainsFunc(rs, func(r string) bool { return r != rs[0] || r == "" }) {
			continue
		}
		var names []string
		for _, ep := range ch.Endpoints {
			names = append(names, ep.Name)
		}
		out = append(out, fmt.Sprintf("channel %s: endpoints %s are not declared to reach the same receiver (receiver:); "+
			"a delivery whose outcome is unknown waits for its endpoint instead of failing over", ch.ID, strings.Join(names, ", ")))
	}
	return out
}

// Validate checks the configuration and returns an EINVALID *crier.Error
// whose Details list every problem with its field path, such as
// "channels[radio].endpoints[0].url", "towns[soest].channels[1]" or
// "groups.kreis-soest[3]". Towns and channels appear in paths by id when
// it is a unique slug, otherwise by index.
//
// A field that uses an environment variable that is not set is a problem
// in actual mode; in exercise and test mode it is not (see Warnings), and
// the checks of that field are skipped. Messages never quote secrets, URLs
// (they may carry credentials) or values taken from the environment.
func (c *Config) Validate() error {
	v := &configCheck{c: c}
	v.problems = append(v.problems, c.env.problems...)
	v.checkTop()
	v.checkNetworks()
	v.checkChannels()
	v.checkTowns()
	v.checkGroups()
	v.checkDelivery()
	v.checkSchedule()
	v.checkNewsroom()
	v.checkSite()
	v.checkHTTP()
	if r := v.c.Privacy.Retention; !r.Off && r.Duration != 0 && r.Duration < 24*time.Hour {
		v.add("privacy.retention", "config.retention", "must be at least a day (1d), or off")
	}
	v.checkLimits()
	v.checkOIDC()
	v.checkApproval("approval", c.Approval)
	if c.Mode != crier.ModeExercise && c.Mode != crier.ModeTest && !c.secretsOptional {
		for _, u := range c.env.uses {
			if u.Missing {
				v.add(u.Field, "config.env_unset", "environment variable %s is not set", u.Var)
			}
		}
	}
	return crier.Invalid("invalid configuration", v.problems)
}

// configCheck collects the problems of one Validate call.
type configCheck struct {
	c        *Config
	problems []crier.Problem
}

// add records a problem at field with a code (see crier.Problemf), so
// that the CLI can give it in the reader's language.
func (v *configCheck) add(field, code, format string, args ...any) {
	v.problems = append(v.problems, crier.Problemf(field, code, format, args...))
}

// unset reports whether field uses an environment variable that is not set
// or a malformed ${...}. That is reported on its own (or allowed, in
// exercise and test mode), and the field's other checks are skipped.
func (v *configCheck) unset(field string) bool { return v.c.env.unchecked[field] }

// given reports whether field has a value, or would have one if its
// environment variable were set.
func (v *configCheck) given(field, value string) bool { return value != "" || v.unset(field) }

// show quotes a value for a message, unless it came from the environment.
func (v *configCheck) show(field, value string) string {
	if vars := v.c.env.vars[field]; len(vars) > 0 {
		return "the value of ${" + strings.Join(vars, "}, ${") + "}"
	}
	return strconv.Quote(value)
}

func (v *configCheck) oneOf(field, value string, allowed ...string) {
	if !v.unset(field) && !slices.Contains(allowed, value) {
		v.add(field, "config.not_one_of", "%s is not one of %s", v.show(field, value), strings.Join(allowed, ", "))
	}
}

// httpURL checks that value is an absolute http or https URL. It never
// quotes the value: URLs may carry credentials.
func (v *configCheck) httpURL(field, value string) {
	if v.unset(field) {
		return
	}
	u, err := url.Parse(value)
	switch {
	case err != nil:
		v.add(field, "config.bad_url", "is not a valid URL")
	case u.Scheme != "http" && u.Scheme != "https":
		v.add(field, "config.http_url", "must be an absolute http or https URL")
	case u.Host == "":
		v.add(field, "config.no_host", "has no host")
	}
}

func (v *configCheck) slug(field, id string) bool {
	switch {
	case id == "" && !v.unset(field):
		v.add(field, "required", "is required")
	case !v.unset(field) && !slugPattern.MatchString(id):
		v.add(field, "config.slug", "%s is not a slug: lower-case letters, digits and hyphens, starting with a letter or digit", v.show(field, id))
	default:
		return true
	}
	return false
}

func (v *configCheck) checkTop() {
	c := v.c
	if !v.unset("listen") {
		if _, port, err := net.SplitHostPort(c.Listen); err != nil {
			v.add("listen", "config.listen", "%s is not host:port, e.g. 127.0.0.1:8080", v.show("listen", c.Listen))
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			v.add("listen", "config.listen_port", "%s has no valid port number", v.show("listen", c.Listen))
		}
	}
	v.checkPublicURL()
	if c.DataDir == "" && !v.unset("data_dir") {
		v.add("data_dir", "required", "is required")
	}
	v.oneOf("mode", string(c.Mode), string(crier.ModeExercise), string(crier.ModeActual), string(crier.ModeTest))
	if c.Sender != "" && !v.unset("sender") {
		if _, err := crier.NormalizeEmail(c.Sender); err != nil {
			v.add("sender", "config.sender", "%s is not a plain email address such as presse@kreis-soest.example", v.show("sender", c.Sender))
		}
	}
	if c.Secret != "" && !v.unset("secret") && len(c.Secret) < 32 {
		v.add("secret", "config.secret_short", "must be at least 32 characters long")
	}
	if c.Templates != "" && !v.unset("templates") {
		if fi, err := os.Stat(c.Templates); err != nil || !fi.IsDir() {
			v.add("templates", "config.not_dir", "%s is not a directory", v.show("templates", c.Templates))
		}
	}
	v.oneOf("log.format", c.Log.Format, "text", "json")
	v.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
}

// checkPublicURL checks public_url, the start of every link crier sends
// out. In actual mode it is required, and https unless its host is a
// loopback address: people open these links, unsubscribe links included,
// from outside, and one-click unsubscribing (RFC 8058, the header
// List-Unsubscribe-Post) needs an https link.
func (v *configCheck) checkPublicURL() {
	c := v.c
	if v.unset("public_url") {
		return
	}
	if c.PublicURL == "" && c.Mode == crier.ModeActual {
		v.add("public_url", "config.public_url_required", "is required in actual mode: the https address under which people reach this instance, e.g. https://krisen.kreis-soest.example; links in mails, feeds and CAP documents start with it")
		return
	}
	v.httpURL("public_url", c.PublicURL)
	u, err := url.Parse(c.PublicURL)
	if err != nil {
		return
	}
	if u.RawQuery != "" || u.Fragment != "" {
		v.add("public_url", "config.url_query", "must not have a query or fragment: links are built by appending paths")
	}
	if c.Mode == crier.ModeActual && u.Scheme == "http" && u.Host != "" && !isLoopback(u.Hostname()) {
		v.add("public_url", "config.https", "must be an https URL in actual mode: people open its links from outside (http only for a loopback address)")
	}
}

func (v *configCheck) checkNetworks() {
	for _, name := range slices.Sorted(maps.Keys(v.c.Networks)) {
		n := v.c.Networks[name]
		path := "networks." + name
		if name == "default" {
			if n.Source != "" || n.Interface != "" || len(n.DNS) > 0 || n.Proxy != "" {
				v.add(path, "config.default_network", "the default network is the system route and cannot be redefined")
			}
			continue
		}
		if !slugPattern.MatchString(name) {
			v.add(path, "config.slug_name", "%q is not a slug: lower-case letters, digits and hyphens, starting with a letter or digit", name)
		}
		if n.Source != "" && !v.unset(path+".source") {
			if _, err := netip.ParseAddr(n.Source); err != nil {
				v.add(path+".source", "config.not_ip", "%s is not an IP address", v.show(path+".source", n.Source))
			}
		}
		if n.Interface != "" && !v.unset(path+".interface") && strings.ContainsAny(n.Interface, " \t/") {
			v.add(path+".interface", "config.not_interface", "%s is not an interface name", v.show(path+".interface", n.Interface))
		}
		if n.Source != "" && n.Interface != "" {
			v.add(path, "config.source_interface", "source and interface exclude each other: set one")
		}
		if n.DialTimeout.Duration < 0 {
			v.add(path+".dial_timeout", "positive", "must be positive")
		}
		for i, s := range n.DNS {
			f := fmt.Sprintf("%s.dns[%d]", path, i)
			if v.unset(f) {
				continue
			}
			if ap, err := netip.ParseAddrPort(s); err != nil || ap.Port() == 0 {
				v.add(f, "config.dns", "%s is not IP:port, e.g. 192.168.8.1:53", v.show(f, s))
			}
		}
		if n.Proxy != "" && !v.unset(path+".proxy") {
			u, err := url.Parse(n.Proxy)
			switch {
			case err != nil:
				v.add(path+".proxy", "config.bad_url", "is not a valid URL")
			case !slices.Contains([]string{"socks5", "socks5h", "http", "https"}, u.Scheme):
				v.add(path+".proxy", "config.proxy_scheme", "must be a socks5://, socks5h://, http:// or https:// URL")
			case u.Hostname() == "":
				v.add(path+".proxy", "config.no_host", "has no host")
			}
		}
	}
}

func (v *configCheck) checkChannels() {
	ids := make([]string, len(v.c.Channels))
	for i, ch := range v.c.Channels {
		ids[i] = ch.ID
	}
	labels := idLabels(ids)
	first := map[string]int{}
	for i := range v.c.Channels {
		ch := &v.c.Channels[i]
		path := "channels[" + labels[i] + "]"
		if v.slug(path+".id", ch.ID) {
			if ch.ID == crier.PageType {
				v.add(path+".id", "config.reserved_page", "%q is reserved: the emergency website's pages are stored under it", crier.PageType)
			}
			if j, ok := first[ch.ID]; ok {
				v.add(path+".id", "config.duplicate_channel", "duplicate id %s (also channels[%v])", v.show(path+".id", ch.ID), j)
			} else {
				first[ch.ID] = i
			}
		}
		known := slices.Contains(channelTypes, ch.Type)
		switch {
		case ch.Type == "" && !v.unset(path+".type"):
			v.add(path+".type", "config.required_one_of", "is required: one of %s", strings.Join(channelTypes, ", "))
		case !known && !v.unset(path+".type"):
			v.add(path+".type", "config.unknown_type", "unknown channel type %s (known: %s)", v.show(path+".type", ch.Type), strings.Join(channelTypes, ", "))
		}
		if ch.Type == "email" {
			switch {
			case !v.given(path+".from", ch.From):
				v.add(path+".from", "config.from_required", "is required for email channels, e.g. \"Stadt Soest <presse@soest.example>\"")
			case !v.unset(path + ".from"):
				if _, err := mail.ParseAddress(ch.From); err != nil {
					v.add(path+".from", "config.from_invalid", "%s is not a valid mailbox, e.g. \"Stadt Soest <presse@soest.example>\"", v.show(path+".from", ch.From))
				}
			}
		} else if known && v.given(path+".from", ch.From) {
			v.add(path+".from", "config.from_field", "is not a field of %s channels (only email channels take it)", ch.Type)
		}
		if ch.Type == "mastodon" {
			v.oneOf(path+".visibility", ch.Visibility, "public", "unlisted", "private", "direct")
		} else if known && v.given(path+".visibility", ch.Visibility) {
			v.add(path+".visibility", "config.visibility_field", "is not a field of %s channels (only mastodon channels take it)", ch.Type)
		}
		if known && v.given(path+".revisions", ch.Revisions) {
			if ch.Type == "mastodon" || ch.Type == "slack" {
				v.oneOf(path+".revisions", ch.Revisions, crier.RevisionsEdit, crier.RevisionsReply)
			} else {
				v.add(path+".revisions", "config.revisions_field", "is not a field of %s channels (only mastodon and slack channels take it)", ch.Type)
			}
		}
		if len(ch.Endpoints) == 0 {
			v.add(path+".endpoints", "config.no_endpoint", "needs at least one endpoint")
		}
		names := map[string]int{}
		for j := range ch.Endpoints {
			ep := &ch.Endpoints[j]
			epath := fmt.Sprintf("%s.endpoints[%d]", path, j)
			if k, ok := names[ep.Name]; ok && ep.Name != "" {
				v.add(epath+".name", "config.endpoint_name", "%s is also the name of %s.endpoints[%v]", v.show(epath+".name", ep.Name), path, k)
			} else {
				names[ep.Name] = j
			}
			v.checkEndpoint(epath, ch.Type, ep)
		}
	}
}

func (v *configCheck) checkEndpoint(path, typ string, e *EndpointConfig) {
	f := func(name string) string { return path + "." + name }
	if e.Network != "default" && !v.unset(f("network")) {
		if _, ok := v.c.Networks[e.Network]; !ok {
			known := []string{"default"}
			for _, name := range slices.Sorted(maps.Keys(v.c.Networks)) {
				if name != "default" {
					known = append(known, name)
				}
			}
			v.add(f("network"), "config.unknown_network", "unknown network %s (known: %s)", v.show(f("network"), e.Network), strings.Join(known, ", "))
		}
	}
	allowed, ok := endpointFields[typ]
	if !ok {
		return // the unknown type is reported; its fields cannot be judged
	}
	values := e.values()
	set := func(name string) bool { return v.given(f(name), values[name]) }
	if e.Receiver != "" && !slugPattern.MatchString(e.Receiver) {
		v.add(f("receiver"), "config.receiver", "%s is not a name of lower-case letters, digits and dashes", v.show(f("receiver"), e.Receiver))
	}
	for _, name := range []string{"url", "secret", "host", "port", "tls", "username", "password", "chunking", "ca_file", "tls_pin_sha256", "server", "token", "channel", "webhook_url", "api_url", "probe_url"} {
		if set(name) && !slices.Contains(allowed, name) {
			v.add(f(name), "config.endpoint_field", "is not a field of %s endpoints (they take %s)", typ, strings.Join(allowed, ", "))
		}
	}
	required := func(name string) {
		if !set(name) {
			v.add(f(name), "config.endpoint_required", "is required for %s endpoints", typ)
		}
	}
	switch typ {
	case "webhook":
		required("url")
		if e.URL != "" {
			v.httpURL(f("url"), e.URL)
		}
		if set("probe_url") {
			v.httpURL(f("probe_url"), e.ProbeURL)
		}
		required("secret")
		if e.Secret != "" && !v.unset(f("secret")) {
			if p, bad := webhookSecretProblem(f("secret"), e.Secret); bad {
				v.problems = append(v.problems, p)
			}
		}
	case "email":
		v.checkMailEndpoint(path, e)
	case "mastodon":
		required("server")
		if e.Server != "" {
			v.httpURL(f("server"), e.Server)
		}
		required("token")
	case "slack":
		bot := set("token") || set("channel")
		switch {
		case bot && set("webhook_url"):
			v.add(path, "config.slack_both", "set either token and channel (a bot) or webhook_url (an incoming webhook), not both")
		case set("webhook_url"):
			v.httpURL(f("webhook_url"), e.WebhookURL)
		case set("token") && !set("channel"):
			v.add(f("channel"), "config.slack_channel", "is required with token, e.g. \"#krisenstab\"")
		case set("channel") && !set("token"):
			v.add(f("token"), "config.slack_token", "is required with channel")
		case !bot:
			v.add(path, "config.slack_none", "needs token and channel (a bot) or webhook_url (an incoming webhook)")
		}
		switch {
		case set("api_url") && !bot:
			v.add(f("api_url"), "config.slack_api_url", "goes with token and channel (a bot), not with webhook_url")
		case set("api_url"):
			v.httpURL(f("api_url"), e.APIURL)
		}
	}
}

func (v *configCheck) checkMailEndpoint(path string, e *EndpointConfig) {
	f := func(name string) string { return path + "." + name }
	switch {
	case !v.given(f("host"), e.Host):
		v.add(f("host"), "config.host_required", "is required for email endpoints")
	case v.unset(f("host")):
	case strings.Contains(e.Host, "://"):
		v.add(f("host"), "config.host_url", "must be a host name, not a URL")
	case isHostPort(e.Host):
		v.add(f("host"), "config.host_port", "must not include a port; set port")
	case !hostPattern.MatchString(e.Host) && !isIP(e.Host):
		v.add(f("host"), "config.host_invalid", "%s is not a host name or IP address", v.show(f("host"), e.Host))
	}
	if !v.unset(f("port")) && (e.Port < 1 || e.Port > 65535) {
		v.add(f("port"), "config.port_range", "%v is not between 1 and 65535", e.Port)
	}
	v.oneOf(f("tls"), e.TLS, "starttls", "implicit", "none")
	user, pass := v.given(f("username"), e.Username), v.given(f("password"), e.Password)
	switch {
	case user && !pass:
		v.add(f("password"), "config.password", "is required with username")
	case pass && !user:
		v.add(f("username"), "config.username", "is required with password")
	}
	if pass && e.TLS == "none" && !v.unset(f("host")) && !isLoopback(e.Host) {
		v.add(f("tls"), "config.tls_none", "none would send the password unencrypted to another machine: use starttls or implicit")
	}
	ca, pin := v.given(f("ca_file"), e.CAFile), v.given(f("tls_pin_sha256"), e.TLSPinSHA256)
	switch {
	case (ca || pin) && e.TLS == "none":
		v.add(f("tls"), "config.tls_none_cert", "none has no certificate to check: ca_file and tls_pin_sha256 need starttls or implicit")
	case ca && pin:
		v.add(f("tls_pin_sha256"), "config.ca_and_pin", "set ca_file or tls_pin_sha256, not both: a pinned key is trusted whoever signed it")
	}
	if pin && !v.unset(f("tls_pin_sha256")) {
		if _, err := email.ParsePin(e.TLSPinSHA256); err != nil {
			v.add(f("tls_pin_sha256"), "config.pin_format", "is not a SHA-256 in hex (64 digits) or base64, e.g. the output of: openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | sha256sum")
		}
	}
	if ca && !v.unset(f("ca_file")) {
		if pem, err := os.ReadFile(e.CAFile); err != nil {
			v.add(f("ca_file"), "config.ca_unreadable", "cannot be read: %v", err)
		} else if !x509.NewCertPool().AppendCertsFromPEM(pem) {
			v.add(f("ca_file"), "config.ca_no_pem", "%s holds no PEM certificate", e.CAFile)
		}
	}
}

// values returns the endpoint's type-specific fields by key, "" when unset.
func (e *EndpointConfig) values() map[string]string {
	port, chunking := "", ""
	if e.Port != 0 {
		port = strconv.Itoa(e.Port)
	}
	if e.Chunking != nil {
		chunking = strconv.FormatBool(*e.Chunking)
	}
	return map[string]string{
		"url": e.URL, "secret": e.Secret,
		"host": e.Host, "port": port, "tls": e.TLS, "username": e.Username, "password": e.Password,
		"chunking": chunking, "ca_file": e.CAFile, "tls_pin_sha256": e.TLSPinSHA256, "server": e.Server, "token": e.Token,
		"channel": e.Channel, "webhook_url": e.WebhookURL, "api_url": e.APIURL, "probe_url": e.ProbeURL,
	}
}

// webhookSecretProblem checks the Standard Webhooks secret format without
// quoting the secret.
func webhookSecretProblem(field, s string) (crier.Problem, bool) {
	b64, ok := strings.CutPrefix(s, "whsec_")
	if !ok {
		return crier.Problemf(field, "config.whsec_prefix", "must start with whsec_ followed by base64"), true
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		key, err = base64.RawStdEncoding.DecodeString(b64)
	}
	switch {
	case err != nil:
		return crier.Problemf(field, "config.whsec_base64", "must be whsec_ followed by standard base64"), true
	case len(key) < 24:
		return crier.Problemf(field, "config.whsec_short", "must encode a key of at least 24 bytes after whsec_"), true
	}
	return crier.Problem{}, false
}

func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

func isHostPort(s string) bool {
	_, _, err := net.SplitHostPort(s)
	return err == nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

func (v *configCheck) checkTowns() {
	ids := make([]string, len(v.c.Towns))
	for i, t := range v.c.Towns {
		ids[i] = t.ID
	}
	labels := idLabels(ids)
	channels := map[string]bool{}
	for _, ch := range v.c.Channels {
		channels[ch.ID] = true
	}
	firstID, firstAGS := map[string]string{}, map[string]string{}
	for i := range v.c.Towns {
		t := &v.c.Towns[i]
		path := "towns[" + labels[i] + "]"
		f := func(name string) string { return path + "." + name }
		if t.Approval != nil {
			v.checkApproval(f("approval"), *t.Approval)
		}
		if v.slug(f("id"), t.ID) {
			switch other, dup := firstID[t.ID]; {
			case t.ID == "all":
				v.add(f("id"), "config.all_reserved", "\"all\" is reserved: it targets every town")
			case dup:
				v.add(f("id"), "config.duplicate_id", "duplicate id %s (also %s)", v.show(f("id"), t.ID), other)
			default:
				firstID[t.ID] = fmt.Sprintf("towns[%d]", i)
			}
		}
		switch {
		case !v.given(f("name"), t.Name):
			v.add(f("name"), "required", "is required")
		case strings.ContainsAny(t.Name, "\r\n"):
			v.add(f("name"), "config.single_line", "must be a single line")
		}
		if t.AGS != "" && !v.unset(f("ags")) {
			if !agsPattern.MatchString(t.AGS) {
				v.add(f("ags"), "config.ags", "%s must be 8 digits (AGS) or 12 digits (ARS)", v.show(f("ags"), t.AGS))
			} else if other, dup := firstAGS[t.AGS]; dup {
				v.add(f("ags"), "config.ags_duplicate", "%s is also the code of %s", v.show(f("ags"), t.AGS), other)
			} else {
				firstAGS[t.AGS] = path
			}
		}
		if !v.unset(f("language")) && !languagePat.MatchString(t.Language) {
			v.add(f("language"), "config.language", "%s is not a language tag such as de or de-DE", v.show(f("language"), t.Language))
		}
		if !v.unset(f("time_zone")) {
			if _, err := time.LoadLocation(t.TimeZone); err != nil || t.TimeZone == "Local" {
				v.add(f("time_zone"), "config.time_zone", "%s is not an IANA time zone such as Europe/Berlin", v.show(f("time_zone"), t.TimeZone))
			}
		}
		for _, name := range slices.Sorted(maps.Keys(t.Vars)) {
			if !varNamePattern.MatchString(name) {
				v.add(f("vars")+"."+name, "config.var_name", "is not usable in templates: use letters, digits and underscores, not starting with a digit")
			}
		}
		seen := map[string]bool{}
		for j, id := range t.Channels {
			cf := fmt.Sprintf("%s.channels[%d]", path, j)
			switch {
			case v.unset(cf):
			case !channels[id]:
				v.add(cf, "config.unknown_channel", "unknown channel %s", v.show(cf, id))
			case seen[id]:
				v.add(cf, "config.channel_twice", "channel %s is listed twice", v.show(cf, id))
			}
			seen[id] = true
		}
	}
}

// checkHTTP checks the HTTP server's settings.
func (v *configCheck) checkHTTP() {
	h := &v.c.HTTP
	_, bad := h.proxies()
	for _, i := range bad {
		field := fmt.Sprintf("http.trusted_proxies[%d]", i)
		if !v.unset(field) {
			v.add(field, "config.trusted_proxy", "%s is neither a CIDR prefix such as 10.0.0.0/8 nor an IP address", v.show(field, h.TrustedProxies[i]))
		}
	}
	if h.ProxyHeader != "" {
		v.oneOf("http.proxy_header", h.ProxyHeader, "x-forwarded-for", "forwarded")
	}
	for _, d := range []struct {
		field string
		value time.Duration
	}{{"http.read_timeout", h.ReadTimeout.Duration}, {"http.write_timeout", h.WriteTimeout.Duration}, {"http.idle_timeout", h.IdleTimeout.Duration}} {
		if d.value < 0 {
			v.add(d.field, "negative", "must not be negative")
		}
	}
	if h.MaxConnsPerClient < 0 {
		v.add("http.max_conns_per_client", "negative", "must not be negative")
	}
}

// checkLimits checks the limits: none negative, and a message no larger
// than an announcement.
func (v *configCheck) checkLimits() {
	l := &v.c.Limits
	for _, f := range []struct {
		field string
		value int64
	}{{"limits.message", int64(l.Message)}, {"limits.announcement", int64(l.Announcement)},
		{"limits.render_time", int64(l.RenderTime.Duration)}, {"limits.request_body", int64(l.RequestBody)},
		{"limits.import_body", int64(l.ImportBody)}, {"limits.problems", int64(l.Problems)}} {
		if f.value < 0 {
			v.add(f.field, "negative", "must not be negative")
		}
	}
	if r := l.render(); l.Message > 0 && int64(r.MaxMessage) > r.MaxAnnouncement {
		v.add("limits.message", "config.limit_message", "%s is larger than limits.announcement (%s)", Size(r.MaxMessage), Size(r.MaxAnnouncement))
	}
}

// checkSite checks the website's settings and every town's status list.
func (v *configCheck) checkSite() {
	s := &v.c.Site
	if strings.ContainsAny(s.Title, "\r\n") && !v.unset("site.title") {
		v.add("site.title", "config.single_line", "must be a single line")
	}
	for _, f := range []struct{ field, value string }{{"site.imprint_url", s.ImprintURL}, {"site.privacy_url", s.PrivacyURL}} {
		if f.value != "" {
			v.httpURL(f.field, f.value)
		}
	}
	if s.MaxAge.Duration < 0 {
		v.add("site.max_age", "negative", "must not be negative")
	}
	ids := make([]string, len(v.c.Towns))
	for i, t := range v.c.Towns {
		ids[i] = t.ID
	}
	labels := idLabels(ids)
	status := configuredStatus(v.c)
	for i, t := range v.c.Towns {
		// The rules of a list set through the API, which crier services
		// sends back whole with the configured lines it did not touch.
		for _, p := range crier.CheckServiceStatus(status[t.ID]) {
			p.Field = fmt.Sprintf("towns[%s].%s", labels[i], p.Field)
			v.problems = append(v.problems, p)
		}
	}
}

func (v *configCheck) checkGroups() {
	towns := map[string]bool{}
	for _, t := range v.c.Towns {
		towns[t.ID] = true
	}
	for _, name := range slices.Sorted(maps.Keys(v.c.Groups)) {
		path := "groups." + name
		switch {
		case !slugPattern.MatchString(name):
			v.add(path, "config.slug_name", "%q is not a slug: lower-case letters, digits and hyphens, starting with a letter or digit", name)
		case name == "all":
			v.add(path, "config.all_reserved", "\"all\" is reserved: it targets every town")
		case towns[name]:
			v.add(path, "config.group_town", "a town has the id %q; a group needs another name", name)
		}
		members := v.c.Groups[name]
		if len(members) == 0 {
			v.add(path, "config.no_members", "has no members")
		}
		seen := map[string]bool{}
		for i, m := range members {
			f := fmt.Sprintf("%s[%d]", path, i)
			_, isGroup := v.c.Groups[m]
			switch {
			case v.unset(f):
			case towns[m] && seen[m]:
				v.add(f, "config.town_twice", "town %s is listed twice", v.show(f, m))
			case towns[m]:
			case isGroup:
				v.add(f, "config.group_member", "%s is a group; members must be towns", v.show(f, m))
			default:
				v.add(f, "config.unknown_town", "unknown town %s", v.show(f, m))
			}
			seen[m] = true
		}
	}
}

func (v *configCheck) checkDelivery() {
	d := &v.c.Delivery
	for _, typ := range slices.Sorted(maps.Keys(d.Concurrency)) {
		f := "delivery.concurrency." + typ
		switch {
		case !slices.Contains(channelTypes, typ):
			v.add(f, "config.unknown_type_name", "unknown channel type %q (known: %s)", typ, strings.Join(channelTypes, ", "))
		case d.Concurrency[typ] < 1:
			v.add(f, "at_least_one", "must be at least 1")
		}
	}
	for _, p := range []struct {
		field string
		d     time.Duration
	}{
		{"delivery.lease", d.Lease.Duration},
		{"delivery.send_timeout", d.SendTimeout.Duration},
		{"delivery.backoff.base", d.Backoff.Base.Duration},
		{"delivery.backoff.max", d.Backoff.Max.Duration},
		{"delivery.poll", d.Poll.Duration},
		{"delivery.shutdown_timeout", d.ShutdownTimeout.Duration},
		{"delivery.breaker.cool_down", d.Breaker.CoolDown.Duration},
		{"delivery.probe_interval", d.ProbeInterval.Duration},
	} {
		if p.d <= 0 {
			v.add(p.field, "positive", "must be positive")
		}
	}
	if d.Breaker.Failures < 1 {
		v.add("delivery.breaker.failures", "at_least_one", "must be at least 1")
	}
	if d.SendTimeout.Duration > 0 && d.SendTimeout.Duration >= d.Lease.Duration {
		v.add("delivery.send_timeout", "config.send_timeout", "must be shorter than lease (%s): a send that outlives its lease may be repeated", d.Lease)
	}
	if d.Backoff.Base.Duration > 0 && d.Backoff.Base.Duration > d.Backoff.Max.Duration {
		v.add("delivery.backoff.base", "config.backoff", "must not exceed backoff.max (%s)", d.Backoff.Max)
	}
	if d.MaxAttempts < 1 {
		v.add("delivery.max_attempts", "at_least_one", "must be at least 1")
	}
}

// NewsroomConfig configures the web interface under /admin/.
type NewsroomConfig struct {
	// SessionIdle ends a session this long after its last request.
	// Default 1h.
	SessionIdle Duration `yaml:"session_idle"`
	// SessionLifetime ends a session this long after the sign-in, however
	// busy. Default 12h; at least SessionIdle.
	SessionLifetime Duration `yaml:"session_lifetime"`
}

func (v *configCheck) checkNewsroom() {
	n := v.c.Newsroom
	switch {
	case n.SessionIdle.Duration < time.Minute:
		v.add("newsroom.session_idle", "config.at_least", "must be at least %s", "1m")
	case n.SessionLifetime.Duration < n.SessionIdle.Duration:
		v.add("newsroom.session_lifetime", "config.at_least", "must be at least %s", "newsroom.session_idle")
	}
}

// limits are the newsroom's session limits.
func (n NewsroomConfig) limits() crier.SessionLimits {
	return crier.SessionLimits{Idle: n.SessionIdle.Duration, Absolute: n.SessionLifetime.Duration}
}
