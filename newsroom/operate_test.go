package newsroom_test

import (
	"cmp"
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/access"
	"github.com/crierhq/crier/netpath"
	"github.com/crierhq/crier/newsroom"
	"github.com/crierhq/crier/schedule"
	"github.com/crierhq/crier/server"
	"github.com/crierhq/crier/store/sqlite"
	"github.com/crierhq/crier/templates"
)

// operateEnv is the newsroom with every store of the operations pages,
// behind the real API server, as crier serve runs it.
type operateEnv struct {
	*env
	engine *crier.Engine
	sched  *schedule.Scheduler

	mu     sync.Mutex
	health []netpath.EndpointHealth
	resets []string
}

// adminToken is the operator's token of the API server.
const adminToken = "operate-test-admin-token-0123456789"

// operateOptions change what newOperateEnv makes.
type operateOptions struct {
	// path is the database file; a new one when empty. The users anna and
	// root are added only to a new database.
	path string
	// publicURL is the address people reach crier at.
	publicURL string
	// trusted are the reverse proxies the server believes.
	trusted []netip.Prefix
}

func newOperateEnv(t *testing.T) *operateEnv { return newOperateEnvWith(t, operateOptions{}) }

func newOperateEnvWith(t *testing.T, opts operateOptions) *operateEnv {
	t.Helper()
	ctx := context.Background()
	path := opts.path
	if path == "" {
		path = filepath.Join(t.TempDir(), "crier.db")
	}
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c := &clock{t: testNow}
	r, err := templates.New(templates.Options{Clock: c})
	if err != nil {
		t.Fatal(err)
	}
	towns := []*crier.Town{
		{ID: "soest", Name: "Stadt Soest", AGS: "05974040", Language: "de", TimeZone: "Europe/Berlin"},
		{ID: "werl", Name: "Stadt Werl", AGS: "05974052", Language: "de", TimeZone: "Europe/Berlin"},
	}
	engine := &crier.Engine{
		Directory: crier.NewDirectory(towns, map[string][]string{"kreis-soest": {"soest", "werl"}}),
		Channels:  map[string]*crier.ChannelInfo{},
		Renderer:  r, Store: db, Clock: c, Mode: crier.ModeExercise,
		PublicURL: cmp.Or(opts.publicURL, "http://krisen.example"),
	}
	o := &operateEnv{engine: engine}
	o.sched = &schedule.Scheduler{Store: db, Engine: engine, Clock: c}
	o.health = []netpath.EndpointHealth{
		{Channel: "mastodon-soest", Endpoint: "primary", Network: "default", State: netpath.StateClosed,
			Latency: 42 * time.Millisecond},
		{Channel: "mastodon-soest", Endpoint: "backup", Network: "lte", State: netpath.StateGone, Failures: 1,
			LastError: `410 Gone <script>alert("x")</script>`, GoneSince: testNow.Add(-time.Hour)},
		{Channel: "mail-werl", Endpoint: "relay", Network: "default", State: netpath.StateOpen, Failures: 5,
			LastError: "dial tcp: connection refused", Until: testNow.Add(time.Minute)},
	}
	nr, err := newsroom.New(newsroom.Options{Engine: engine, Accounts: db, Sessions: db,
		Login: access.NewAccounts(db, nil, c, nil), Clock: c,
		Schedules: o.sched, Subscribers: db, Captures: db, Statuses: db,
		DefaultStatus: map[string][]crier.ServiceStatus{"soest": {{Service: "Bürgerbüro", Text: "geöffnet"}}},
		Endpoints: func() []netpath.EndpointHealth {
			o.mu.Lock()
			defer o.mu.Unlock()
			return append([]netpath.EndpointHealth(nil), o.health...)
		},
		ResetEndpoint: func(channel, endpoint string) error {
			o.mu.Lock()
			defer o.mu.Unlock()
			for _, h := range o.health {
				if h.Channel == channel && h.Endpoint == endpoint {
					o.resets = append(o.resets, channel+"/"+endpoint)
					return nil
				}
			}
			return crier.Errorf(crier.ENOTFOUND, "no endpoint %s of %s", endpoint, channel)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	api, err := server.New(server.Options{Engine: engine, Subscribers: db, Captures: db, Statuses: db,
		Accounts: db, Token: adminToken, Clock: c, Newsroom: nr, TrustedProxies: opts.trusted})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	o.env = &env{t: t, db: db, clock: c, nr: nr, srv: srv}
	if opts.path == "" {
		o.addUser("anna", crier.RoleEditor, "soest")
		o.addUser("root", crier.RoleAdmin)
	}
	return o
}

// api calls the API with a bearer token and returns the status.
func (o *operateEnv) api(method, path, token string) int {
	o.t.Helper()
	req, err := http.NewRequest(method, o.srv.URL+path, nil)
	if err != nil {
		o.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		o.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// mustContain fails the test unless body contains every one of want.
func mustContain(t *testing.T, what, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("%s: no %q in\n%s", what, w, body)
		}
	}
}

// mustNotContain fails the test when body contains any of bad.
func mustNotContain(t *testing.T, what, body string, bad ...string) {
	t.Helper()
	for _, b := range bad {
		if strings.Contains(body, b) {
			t.Errorf("%s: %q in\n%s", what, b, body)
		}
	}
}

var tokenSecret = regexp.MustCompile(`crier_[a-z2-7]{52}`)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// resetList returns the endpoints reset so far.
func (o *operateEnv) resetList() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.resets...)
}
