package mastodon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crierhq/crier"
)

// FactKind is the kind of the crier.Facts this package keeps: an
// instance's rules for a status, as the JSON of configuration.statuses
// (max_characters, characters_reserved_per_url), keyed by the instance's
// URL.
const FactKind = "mastodon.instance"

// NoteLimitUnknown is the code of the note a channel gives while its
// instance's rules are not known: Args are the instance's host and
// DefaultMaxCharacters.
const NoteLimitUnknown = "mastodon.limit_unknown"

const (
	// rulesRefresh is how long an instance's rules count as current; a
	// probe after that asks the instance again.
	rulesRefresh = time.Hour
	// instanceRetry is how long after a failed fetch of the instance's
	// configuration the next probe asks again.
	instanceRetry = 5 * time.Minute
)

// statusRules are the instance's rules for the length of a status.
type statusRules struct {
	MaxCharacters    int `json:"max_characters"`
	CharactersPerURL int `json:"characters_reserved_per_url"`
}

// defaultRules are Mastodon's own defaults, which stand in for an
// instance's rules while they are not known.
var defaultRules = statusRules{MaxCharacters: DefaultMaxCharacters, CharactersPerURL: DefaultCharactersPerURL}

// Instances keeps what crier knows about the Mastodon instances its
// channels post to: each instance's rules for the length of a status.
// Every channel on an instance shares what one of them learned. Only
// Probe asks an instance; Check and the sends read what is known, so that
// publishing never waits for an instance. Load reads what a store kept;
// once Keep has given it a store, what it learns is kept there and
// survives a restart. It is safe for concurrent use.
type Instances struct {
	log   *slog.Logger
	mu    sync.Mutex
	store crier.FactStore // nil until Keep
	m     map[string]*instance
}

// instance is what is known of one instance.
type instance struct {
	key   string // the instance's URL
	set   *Instances
	rules atomic.Pointer[statusRules] // nil while unknown

	mu       sync.Mutex // held while refreshing
	learned  time.Time  // when rules were learned
	failedAt time.Time  // the last failed fetch, zero after a success
	warned   bool
}

// NewInstances returns an empty set that keeps what it learns in memory.
// log receives a warning when an instance cannot be asked; nil discards.
func NewInstances(log *slog.Logger) *Instances {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Instances{log: log, m: make(map[string]*instance)}
}

// Keep makes the set keep what it learns in store from now on.
func (is *Instances) Keep(store crier.FactStore) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.store = store
}

// Load takes in every instance's rules that store keeps, unless the set
// learned newer ones. A stored fact that cannot be read is skipped with a
// warning. It fails only when store cannot be read.
func (is *Instances) Load(ctx context.Context, store crier.FactStore) error {
	facts, err := store.Facts(ctx, FactKind)
	if err != nil {
		return fmt.Errorf("load mastodon instances: %w", err)
	}
	for _, f := range facts {
		var r statusRules
		if err := json.Unmarshal(f.Value, &r); err != nil || r.MaxCharacters <= 0 {
			is.log.Warn("stored rules of a mastodon instance are unreadable; skipped", "instance", f.Key)
			continue
		}
		if r.CharactersPerURL <= 0 {
			r.CharactersPerURL = DefaultCharactersPerURL
		}
		in := is.instance(f.Key)
		in.mu.Lock()
		if in.rules.Load() == nil || f.Learned.After(in.learned) {
			in.rules.Store(&r)
			in.learned = f.Learned
		}
		in.mu.Unlock()
	}
	return nil
}

// instance returns the entry for the instance at key, made on first use.
func (is *Instances) instance(key string) *instance {
	is.mu.Lock()
	defer is.mu.Unlock()
	in := is.m[key]
	if in == nil {
		in = &instance{key: key, set: is}
		is.m[key] = in
	}
	return in
}

// save keeps r as what the instance at key said at learned, when Keep
// gave the set a store. A store that fails is logged: the rules are known in memory.
func (is *Instances) save(ctx context.Context, key string, r *statusRules, learned time.Time) {
	is.mu.Lock()
	store := is.store
	is.mu.Unlock()
	if store == nil {
		return
	}
	b, err := json.Marshal(r)
	if err == nil {
		err = store.SaveFact(ctx, crier.Fact{Kind: FactKind, Key: key, Value: b, Learned: learned})
	}
	if err != nil {
		is.log.Warn("cannot store the rules of a mastodon instance", "instance", key, "err", err)
	}
}

// instanceKey names the instance at u: its scheme, host and path,
// without a trailing slash.
func instanceKey(u *url.URL) string {
	return u.Scheme + "://" + strings.ToLower(u.Host) + strings.TrimRight(u.EscapedPath(), "/")
}

// knownRules returns the instance's rules if they are known.
func (ch *Channel) knownRules() *statusRules { return ch.inst.rules.Load() }

// rules returns the instance's rules, or Mastodon's defaults while they
// are not known.
func (ch *Channel) rules() statusRules {
	if r := ch.knownRules(); r != nil {
		return *r
	}
	return defaultRules
}

// Notes says, while the instance's rules are not known, that Check counts
// against Mastodon's default limit. It makes no request.
func (ch *Channel) Notes() []crier.Note {
	if ch.knownRules() != nil {
		return nil
	}
	limit := strconv.Itoa(DefaultMaxCharacters)
	return []crier.Note{{
		Code: NoteLimitUnknown,
		Args: []string{ch.host, limit},
		Message: fmt.Sprintf("character limit of %s unknown; checked against Mastodon's default of %s",
			ch.host, limit),
	}}
}

// refreshRules asks the instance for its rules when none are known, or
// those known are older than rulesRefresh, and no fetch failed within
// instanceRetry. When another channel is asking the same instance, it
// returns at once. A failed fetch keeps what is known.
func (ch *Channel) refreshRules(ctx context.Context) {
	in := ch.inst
	if !in.mu.TryLock() {
		return
	}
	defer in.mu.Unlock()
	now := ch.clock.Now()
	if in.rules.Load() != nil && now.Sub(in.learned) < rulesRefresh {
		return
	}
	if !in.failedAt.IsZero() && now.Sub(in.failedAt) < instanceRetry {
		return
	}
	r, err := ch.fetchRules(ctx)
	if err != nil && ctx.Err() != nil {
		return // the caller gave up; that says nothing about the instance
	}
	if err != nil {
		in.failedAt = now
		if !in.warned {
			in.warned = true
			ch.log.Warn("cannot read the instance's character limit; keeping what is known",
				"endpoint", ch.name, "known", in.rules.Load() != nil, "err", err)
		}
		return
	}
	if r.CharactersPerURL <= 0 {
		r.CharactersPerURL = DefaultCharactersPerURL
	}
	in.failedAt, in.warned = time.Time{}, false
	in.rules.Store(r)
	in.learned = now
	in.set.save(ctx, in.key, r, now)
}

// fetchRules reads configuration.statuses from GET /api/v2/instance. The
// document is public: the request carries no token.
func (ch *Channel) fetchRules(ctx context.Context) (*statusRules, error) {
	ctx, cancel := context.WithTimeout(ctx, ch.timeout)
	defer cancel()
	c := &call{kind: public}
	req, err := http.NewRequestWithContext(withCall(ctx, c), http.MethodGet, ch.server.JoinPath("api/v2/instance").String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := ch.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch instance: %w", stripURL(err))
	}
	defer closeBody(resp.Body)
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, excerptSize))
		return nil, fmt.Errorf("fetch instance: %w", &refusal{status: resp.StatusCode, text: serverText(b)})
	}
	var doc struct {
		Configuration struct {
			Statuses statusRules `json:"statuses"`
		} `json:"configuration"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("fetch instance: %w", err)
	}
	r := doc.Configuration.Statuses
	if r.MaxCharacters <= 0 {
		return nil, errors.New("fetch instance: configuration.statuses.max_characters is missing")
	}
	return &r, nil
}
