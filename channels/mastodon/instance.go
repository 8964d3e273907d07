package mastodon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// instanceRetry is how long after a failed fetch of the instance's
// configuration the next check asks again.
const instanceRetry = 5 * time.Minute

// statusRules are the instance's rules for the length of a status.
type statusRules struct {
	MaxCharacters    int `json:"max_characters"`
	CharactersPerURL int `json:"characters_reserved_per_url"`
}

// instance caches the instance's status rules, fetched once.
type instance struct {
	rules atomic.Pointer[statusRules] // nil until fetched

	mu      sync.Mutex // held while fetching
	retryAt time.Time  // after a failed fetch
	warned  bool
}

// knownRules returns the instance's rules if they have been fetched,
// without a request.
func (ch *Channel) knownRules() *statusRules { return ch.inst.rules.Load() }

// statusRules returns the instance's rules, fetching them on first use.
// When the instance cannot be asked, or does not say, it returns
// Mastodon's defaults and logs a warning, once; a failed fetch is tried
// again instanceRetry later.
func (ch *Channel) statusRules(ctx context.Context) statusRules {
	if r := ch.knownRules(); r != nil {
		return *r
	}
	defaults := statusRules{MaxCharacters: DefaultMaxCharacters, CharactersPerURL: DefaultCharactersPerURL}
	in := &ch.inst
	in.mu.Lock()
	defer in.mu.Unlock()
	if r := ch.knownRules(); r != nil {
		return *r
	}
	now := ch.clock.Now()
	if now.Before(in.retryAt) {
		return defaults
	}
	r, err := ch.fetchRules(ctx)
	if err != nil && ctx.Err() != nil {
		return defaults // the caller gave up; that says nothing about the instance
	}
	if err != nil {
		in.retryAt = now.Add(instanceRetry)
		if !in.warned {
			in.warned = true
			ch.log.Warn("cannot read the instance's character limit; counting against Mastodon's default",
				"endpoint", ch.name, "limit", DefaultMaxCharacters, "err", err)
		}
		return defaults
	}
	if r.CharactersPerURL <= 0 {
		r.CharactersPerURL = DefaultCharactersPerURL
	}
	ch.inst.rules.Store(r)
	return *r
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
