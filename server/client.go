package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/crierhq/crier"
)

// Client talks to a crier server's HTTP API.
//
// Errors the API answers with are returned as *crier.Error carrying the
// server's code, message and details, so crier.ErrorCode and
// crier.ErrorDetails work on them. Failures to reach the server or to read
// its answer are returned as plain wrapped errors.
type Client struct {
	// URL is the server's base URL, e.g. "http://127.0.0.1:8080".
	URL string
	// Token is the API token sent as a bearer token.
	Token string
	// HTTP is the client used for requests; http.DefaultClient when nil.
	HTTP *http.Client
	// Language is sent as Accept-Language, the language the server gives
	// problems and notes in ("de" or "en"); none is sent when it is empty,
	// and the server answers in German.
	Language string
}

// MaxErrorAnswer bounds how much of an error answer the Client reads. The
// server keeps its error answers far smaller (it groups and caps
// problems); a larger one is reported as too large, not shown raw.
const MaxErrorAnswer = 16 << 20

// DeliveryQuery selects a page of an announcement's deliveries; empty
// fields match everything.
type DeliveryQuery struct {
	Town    string
	Channel string
	State   crier.State
	// After is the id after which the page starts; 0 for the first page.
	After int64
	// Limit is the page size; 0 means the server's DefaultPage.
	Limit int
}

// Publish publishes a. A non-empty idempotencyKey makes a repeated call
// return the first result with Existing set instead of publishing again.
// An announcement with problems is rejected with an EINVALID error whose
// details list every problem; nothing is queued then.
func (c *Client) Publish(ctx context.Context, a *crier.Announcement, idempotencyKey string) (*crier.PublishResult, error) {
	var res crier.PublishResult
	if err := c.create(ctx, "/api/v1/announcements", a, idempotencyKey, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// create POSTs in to path with the Idempotency-Key header when key is not
// empty, and decodes the answer into out.
func (c *Client) create(ctx context.Context, path string, in any, key string, out any) error {
	return c.createQuery(ctx, path, nil, in, key, out)
}

// createQuery is create with the query q.
func (c *Client) createQuery(ctx context.Context, path string, q url.Values, in any, key string, out any) error {
	req, err := c.newRequest(ctx, http.MethodPost, path, q, in)
	if err != nil {
		return err
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	return c.send(req, out)
}

// Preview renders and checks a for every targeted town × channel without
// committing anything. Problems are in the plan, not in the error.
func (c *Client) Preview(ctx context.Context, a *crier.Announcement) (*crier.Plan, error) {
	var p crier.Plan
	if err := c.call(ctx, http.MethodPost, "/api/v1/preview", nil, a, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Announcements returns up to limit announcements, newest first; limit 0
// means the server's default page. A user sees those of their towns.
func (c *Client) Announcements(ctx context.Context, limit int) ([]*crier.Announcement, error) {
	page, err := c.FindAnnouncements(ctx, AnnouncementQuery{Limit: limit})
	if err != nil {
		return nil, err
	}
	return page.Announcements, nil
}

// AnnouncementQuery selects a page of announcements; empty fields match
// everything.
type AnnouncementQuery struct {
	Town  string
	State string // one of crier.AnnouncementStates
	Mode  crier.Mode
	// Before and After are a previous page's NextBefore and NextAfter.
	Before, After string
	// Limit is the page size; 0 means the server's DefaultPage.
	Limit int
}

// FindAnnouncements returns one page of the announcements matching f that
// concern the token's towns, newest first.
func (c *Client) FindAnnouncements(ctx context.Context, f AnnouncementQuery) (*AnnouncementPage, error) {
	q := url.Values{}
	for k, v := range map[string]string{"town": f.Town, "state": f.State, "mode": string(f.Mode),
		"before": f.Before, "after": f.After} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var page AnnouncementPage
	if err := c.call(ctx, http.MethodGet, "/api/v1/announcements", limitQuery(q, f.Limit), nil, &page); err != nil {
		return nil, err
	}
	return &page, nil
}

// Status returns the delivery progress of an announcement, or a not_found
// error.
func (c *Client) Status(ctx context.Context, id string) (*Status, error) {
	var st Status
	if err := c.call(ctx, http.MethodGet, "/api/v1/announcements/"+url.PathEscape(id), nil, nil, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// Deliveries returns one page of an announcement's deliveries in id order
// and the After value of the next page, which is 0 after the last page.
func (c *Client) Deliveries(ctx context.Context, id string, f DeliveryQuery) ([]*crier.Delivery, int64, error) {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("town", f.Town)
	set("channel", f.Channel)
	set("state", string(f.State))
	if f.After > 0 {
		q.Set("after", strconv.FormatInt(f.After, 10))
	}
	var page deliveryPage
	path := "/api/v1/announcements/" + url.PathEscape(id) + "/deliveries"
	if err := c.call(ctx, http.MethodGet, path, limitQuery(q, f.Limit), nil, &page); err != nil {
		return nil, 0, err
	}
	return page.Deliveries, page.NextAfter, nil
}

// AllDeliveries pages through every delivery of an announcement matching
// f, starting after f.After, with pages of f.Limit.
func (c *Client) AllDeliveries(ctx context.Context, id string, f DeliveryQuery) ([]*crier.Delivery, error) {
	var all []*crier.Delivery
	for {
		ds, next, err := c.Deliveries(ctx, id, f)
		if err != nil {
			return nil, err
		}
		all = append(all, ds...)
		if next == 0 {
			return all, nil
		}
		if next <= f.After {
			return nil, fmt.Errorf("list deliveries: server paged back from %d to %d", f.After, next)
		}
		f.After = next
	}
}

// Attempts returns the attempts of one delivery, oldest first, or a
// not_found error.
func (c *Client) Attempts(ctx context.Context, deliveryID int64) ([]*crier.Attempt, error) {
	var out attemptList
	path := "/api/v1/deliveries/" + strconv.FormatInt(deliveryID, 10) + "/attempts"
	if err := c.call(ctx, http.MethodGet, path, nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Attempts, nil
}

// Retry puts an announcement's deliveries in the given states (failed and
// unknown when none are given) back in the queue and returns how many.
// Other states are refused with an EINVALID error.
func (c *Client) Retry(ctx context.Context, id string, states []crier.State) (int, error) {
	var out retryResult
	path := "/api/v1/announcements/" + url.PathEscape(id) + "/retry"
	if err := c.call(ctx, http.MethodPost, path, nil, retryRequest{States: states}, &out); err != nil {
		return 0, err
	}
	return out.Requeued, nil
}

// Subscribers returns the subscribers of town (every town when empty),
// optionally only those in state.
func (c *Client) Subscribers(ctx context.Context, town string, state crier.SubscriberState) ([]*crier.Subscriber, error) {
	q := url.Values{}
	if town != "" {
		q.Set("town", town)
	}
	if state != "" {
		q.Set("state", string(state))
	}
	var out subscriberList
	if err := c.call(ctx, http.MethodGet, "/api/v1/subscribers", q, nil, &out); err != nil {
		return nil, err
	}
	return out.Subscribers, nil
}

// AddSubscribers inserts or updates subscribers by town and address, all
// or none. When any row has a problem, the EINVALID error lists each
// with its row index ("subscribers[3].email") and nothing is written.
func (c *Client) AddSubscribers(ctx context.Context, subs []*crier.Subscriber) (added, updated int, err error) {
	var out subscriberResult
	if err := c.call(ctx, http.MethodPost, "/api/v1/subscribers", nil, subscriberList{Subscribers: subs}, &out); err != nil {
		return 0, 0, err
	}
	return out.Added, out.Updated, nil
}

// InviteSubscribers sends every pending address of town a confirmation
// mail through the queue, at most one per address and clock hour.
func (c *Client) InviteSubscribers(ctx context.Context, town string) (*InviteResult, error) {
	var out InviteResult
	if err := c.call(ctx, http.MethodPost, "/api/v1/subscribers/"+url.PathEscape(town)+"/invite", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RemoveSubscriber unsubscribes an address from a town's list, or returns
// a not_found error when the town or the address is unknown.
func (c *Client) RemoveSubscriber(ctx context.Context, town, email string) error {
	path := "/api/v1/subscribers/" + url.PathEscape(town) + "/" + url.PathEscape(email)
	return c.call(ctx, http.MethodDelete, path, nil, nil, nil)
}

// EraseAddress erases an address from a town's list, or from every list
// when town is empty, and from every delivery, attempt and capture there;
// the address travels in the body. Nothing stored is a not_found error.
func (c *Client) EraseAddress(ctx context.Context, town, email string) (*crier.Erasure, error) {
	var out crier.Erasure
	if err := c.call(ctx, http.MethodPost, "/api/v1/subscribers/erase", nil, addressRequest{Email: email, Town: town}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PersonalData returns everything the server stores about an address;
// the address travels in the body. Nothing stored is a not_found error.
func (c *Client) PersonalData(ctx context.Context, email string) (*crier.PersonalData, error) {
	var out crier.PersonalData
	if err := c.call(ctx, http.MethodPost, "/api/v1/subscribers/show", nil, addressRequest{Email: email}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Purge runs the server's retention purge now and returns what it
// removed; an invalid error when the retention period is off.
func (c *Client) Purge(ctx context.Context) (*crier.Purge, error) {
	var out crier.Purge
	if err := c.call(ctx, http.MethodPost, "/api/v1/purge", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Captures returns what the exercise sink received, oldest first,
// optionally only for one announcement; limit 0 means the server's default.
func (c *Client) Captures(ctx context.Context, announcement string, limit int) ([]*crier.Capture, error) {
	q := url.Values{}
	if announcement != "" {
		q.Set("announcement", announcement)
	}
	var out captureList
	if err := c.call(ctx, http.MethodGet, "/api/v1/captures", limitQuery(q, limit), nil, &out); err != nil {
		return nil, err
	}
	return out.Captures, nil
}

// RecentCaptures is Captures newest first: with a limit, the latest ones.
func (c *Client) RecentCaptures(ctx context.Context, announcement string, limit int) ([]*crier.Capture, error) {
	q := url.Values{"order": {"newest"}}
	if announcement != "" {
		q.Set("announcement", announcement)
	}
	var out captureList
	if err := c.call(ctx, http.MethodGet, "/api/v1/captures", limitQuery(q, limit), nil, &out); err != nil {
		return nil, err
	}
	return out.Captures, nil
}

// Towns returns the configured towns in configuration order.
func (c *Client) Towns(ctx context.Context) ([]*crier.Town, error) {
	var out townList
	if err := c.call(ctx, http.MethodGet, "/api/v1/towns", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Towns, nil
}

// Channels returns the configured channels ordered by id.
func (c *Client) Channels(ctx context.Context) ([]Channel, error) {
	var out channelList
	if err := c.call(ctx, http.MethodGet, "/api/v1/channels", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Channels, nil
}

// Endpoints returns the health of every channel endpoint.
func (c *Client) Endpoints(ctx context.Context) ([]Endpoint, error) {
	var out endpointList
	if err := c.call(ctx, http.MethodGet, "/api/v1/endpoints", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Endpoints, nil
}

// ResetEndpoint clears what keeps a channel's endpoint from taking sends
// (gone, a refused probe, an open breaker) and returns the health of every
// endpoint afterwards.
func (c *Client) ResetEndpoint(ctx context.Context, channel, endpoint string) ([]Endpoint, error) {
	var out endpointList
	path := "/api/v1/endpoints/" + url.PathEscape(channel) + "/" + url.PathEscape(endpoint) + "/reset"
	if err := c.call(ctx, http.MethodPost, path, nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Endpoints, nil
}

// Health asks /readyz and returns nil when the server is ready, or an
// error with the server's reason.
func (c *Client) Health(ctx context.Context) error {
	// No token: /readyz is open, and the token goes nowhere it is not needed.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.URL, "/")+"/readyz", nil)
	if err != nil {
		return fmt.Errorf("new request: %w", err)
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return fmt.Errorf("api request: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return fmt.Errorf("read readiness: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		reason := strings.TrimSpace(string(body))
		if reason == "" {
			reason = resp.Status
		}
		return errors.New(reason)
	}
	return nil
}

func (c *Client) call(ctx context.Context, method, path string, q url.Values, in, out any) error {
	req, err := c.newRequest(ctx, method, path, q, in)
	if err != nil {
		return err
	}
	return c.send(req, out)
}

// newRequest builds a request to path with q and, when in is not nil, in
// as its JSON body.
func (c *Client) newRequest(ctx context.Context, method, path string, q url.Values, in any) (*http.Request, error) {
	u := strings.TrimRight(c.URL, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("new request: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.Language != "" {
		req.Header.Set("Accept-Language", c.Language)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	return req, nil
}

// send does req and decodes a successful answer into out (when not nil)
// or an error answer into a *crier.Error.
func (c *Client) send(req *http.Request, out any) error {
	resp, err := c.http().Do(req)
	if err != nil {
		return fmt.Errorf("api request: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return responseError(req, resp)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode response of %s %s: %w", req.Method, req.URL.Path, err)
	}
	return nil
}

// responseError turns an error answer into the *crier.Error it carries,
// or, for an answer not from the API (a proxy's error page), into a plain
// error naming the status.
//
// An answer larger than MaxErrorAnswer is reported as such, with its
// status, and never shown raw.
func responseError(req *http.Request, resp *http.Response) error {
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxErrorAnswer+1))
	if err != nil {
		return fmt.Errorf("read response of %s %s: %w", req.Method, req.URL.Path, err)
	}
	if len(body) > MaxErrorAnswer {
		return fmt.Errorf("%s %s: answer %s is larger than %s and was not read", req.Method, req.URL.Path,
			resp.Status, crier.SizeText(MaxErrorAnswer))
	}
	var er errorResponse
	if json.Unmarshal(body, &er) == nil && er.Error.Code != "" {
		return &crier.Error{Code: er.Error.Code, Message: er.Error.Message, Details: er.Error.Details}
	}
	snippet := strings.TrimSpace(string(body))
	if len(snippet) > 200 {
		snippet = snippet[:200] + "…"
	}
	return fmt.Errorf("%s %s: unexpected answer %s: %q", req.Method, req.URL.Path, resp.Status, snippet)
}

func (c *Client) http() *http.Client {
	if c.HTTP == nil {
		return http.DefaultClient
	}
	return c.HTTP
}

// limitQuery adds limit to q when it is positive.
func limitQuery(q url.Values, limit int) url.Values {
	if limit <= 0 {
		return q
	}
	if q == nil {
		q = url.Values{}
	}
	q.Set("limit", strconv.Itoa(limit))
	return q
}

// Login trades a user's name and password for a new API token named
// tokenName (POST /api/v1/login); it needs no Token. An unauthorized
// error for a wrong name or password, CodeTooManyRequests over the
// server's login rate limit.
func (c *Client) Login(ctx context.Context, name, password, tokenName string) (*LoginResult, error) {
	var out LoginResult
	in := LoginRequest{Name: name, Password: password, TokenName: tokenName}
	if err := c.call(ctx, http.MethodPost, "/api/v1/login", nil, in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Logout revokes the client's Token at once (POST /api/v1/logout).
func (c *Client) Logout(ctx context.Context) error {
	return c.call(ctx, http.MethodPost, "/api/v1/logout", nil, nil, nil)
}
