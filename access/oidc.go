package access

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/crierhq/crier"
)

// Single sign-on settings.
const (
	// CallbackPath is where the identity provider sends people back to,
	// under the public URL: the redirect URL to register with it.
	CallbackPath = "/admin/oidc/callback"
	// DefaultGroupsClaim is the ID token claim that lists the groups.
	DefaultGroupsClaim = "groups"
	// DefaultNameClaim is the ID token claim that names the user.
	DefaultNameClaim = "preferred_username"
	// loginValidity is how long a started login may take at the
	// identity provider.
	loginValidity = 10 * time.Minute
	// providerTimeout bounds every request to the identity provider.
	providerTimeout = 10 * time.Second
	// maxFinished bounds the memory of finished logins kept to refuse
	// their replay.
	maxFinished = 10000
	// stateCookie keeps a started login's state, nonce and PKCE verifier.
	stateCookie = "crier_oidc"
	// home is where a login goes when it names no page to return to.
	home = "/admin/"
)

// DefaultScopes are the scopes asked for when OIDCOptions names none.
var DefaultScopes = []string{oidc.ScopeOpenID, "profile", "email"}

// GroupRole is what membership in one group of the identity provider
// grants: a role in some towns (IDs, groups expanded; none for admin).
type GroupRole struct {
	Role  crier.Role
	Towns []string
}

// ExternalUsers keeps the users who sign in with single sign-on
// (store/sqlite.DB).
type ExternalUsers interface {
	// ProvisionUser stores u (u.External and u.Subject set) as the
	// identity provider describes them now, and returns the stored user.
	// A conflict error when the name belongs to a local account or to
	// another identity.
	ProvisionUser(ctx context.Context, u *crier.User) (*crier.User, error)
}

// OIDCOptions configures OpenID Connect login.
type OIDCOptions struct {
	// Issuer is the identity provider's issuer URL, such as
	// "https://sso.example/realms/kreis"; its discovery document is at
	// Issuer + "/.well-known/openid-configuration".
	Issuer string
	// ClientID and ClientSecret are crier's registration at the provider.
	ClientID     string
	ClientSecret string
	// RedirectURL is the absolute URL of CallbackPath under the public
	// URL; the login cookie is sent to its path only, and is Secure when
	// it is https.
	RedirectURL string
	// Scopes are asked for; DefaultScopes when empty. "openid" is always
	// asked for.
	Scopes []string
	// GroupsClaim names the claim that lists the user's groups (a list of
	// strings, or one string); DefaultGroupsClaim when empty.
	GroupsClaim string
	// NameClaim names the claim that becomes the user's name, lower-cased
	// and cut at an '@'; DefaultNameClaim when empty.
	NameClaim string
	// Groups maps a group, as the claim names it, to a role and towns.
	// Several matching groups give the highest of their roles, in the
	// towns of every group that grants that role. A leading '/' of a
	// group path (Keycloak) is ignored.
	Groups map[string]GroupRole
	// Users keeps the signed-in users. Required.
	Users ExternalUsers
	// Client makes the requests to the provider; one with a timeout of
	// 10 s when nil.
	Client *http.Client
	// Clock defaults to the system clock.
	Clock crier.Clock
	// Logger defaults to discarding everything.
	Logger *slog.Logger
	// Key signs the login cookie, at least 32 bytes; random when empty,
	// so that logins under way are lost at a restart. crier serve derives
	// it from the instance secret, which several servers behind one name
	// share.
	Key []byte
}

// OIDC signs people in through an OpenID Connect identity provider with
// the authorization code flow, PKCE (S256), state and nonce, and maps the
// provider's groups to a role and towns. It talks to the provider only
// when someone signs in, so crier starts, and local accounts work, while
// the provider is down. It is safe for concurrent use.
type OIDC struct {
	opts   OIDCOptions
	scopes []string
	secure bool
	cookie string // path of the login cookie

	mu       sync.Mutex
	provider *oidc.Provider
	finished map[string]time.Time // state → when it may be forgotten
}

// NewOIDC checks o and returns an OIDC. It does not contact the provider.
func NewOIDC(o OIDCOptions) (*OIDC, error) {
	var problems []string
	if u, err := url.Parse(o.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		problems = append(problems, "the issuer is no http(s) URL")
	}
	if o.ClientID == "" {
		problems = append(problems, "no client ID")
	}
	redirect, err := url.Parse(o.RedirectURL)
	if err != nil || (redirect.Scheme != "https" && redirect.Scheme != "http") || redirect.Host == "" {
		problems = append(problems, "the redirect URL is no http(s) URL")
	}
	if len(o.Groups) == 0 {
		problems = append(problems, "no group grants a role")
	}
	for g, r := range o.Groups {
		if !r.Role.Valid() {
			problems = append(problems, fmt.Sprintf("group %q: %q is no role", g, r.Role))
		}
	}
	if o.Users == nil {
		problems = append(problems, "no user store")
	}
	if len(o.Key) > 0 && len(o.Key) < 32 {
		problems = append(problems, "the cookie key is shorter than 32 bytes")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("single sign-on: %s", strings.Join(problems, "; "))
	}
	o.GroupsClaim = cmp.Or(o.GroupsClaim, DefaultGroupsClaim)
	o.NameClaim = cmp.Or(o.NameClaim, DefaultNameClaim)
	if o.Client == nil {
		o.Client = &http.Client{Timeout: providerTimeout}
	}
	if o.Clock == nil {
		o.Clock = crier.SystemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if len(o.Key) == 0 {
		o.Key = make([]byte, 32)
		_, _ = rand.Read(o.Key) // never fails (crypto/rand)
	}
	scopes := slices.Clone(o.Scopes)
	if len(scopes) == 0 {
		scopes = slices.Clone(DefaultScopes)
	}
	if !slices.Contains(scopes, oidc.ScopeOpenID) {
		scopes = append([]string{oidc.ScopeOpenID}, scopes...)
	}
	return &OIDC{opts: o, scopes: scopes, secure: redirect.Scheme == "https",
		cookie: path.Dir(redirect.Path), finished: map[string]time.Time{}}, nil
}

// Issuer is the configured issuer URL.
func (o *OIDC) Issuer() string { return o.opts.Issuer }

// unreachable is the error of a provider that cannot be asked.
func unreachable(err error) error { return refuse(crier.ETRANSIENT, "access.oidc.unreachable", err) }

// refused is the error of a login the provider's answer does not allow.
func refused(err error) error { return refuse(crier.EUNAUTHORIZED, "access.oidc.failed", err) }

// providerFor returns the provider, discovering it at the first call
// that succeeds.
func (o *OIDC) providerFor(ctx context.Context) (*oidc.Provider, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider != nil {
		return o.provider, nil
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, o.opts.Client), providerTimeout)
	defer cancel()
	p, err := oidc.NewProvider(ctx, o.opts.Issuer)
	if err != nil {
		return nil, unreachable(fmt.Errorf("discover %s: %w", o.opts.Issuer, err))
	}
	o.provider = p
	return p, nil
}

func (o *OIDC) config(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: o.opts.ClientID, ClientSecret: o.opts.ClientSecret,
		Endpoint: p.Endpoint(), RedirectURL: o.opts.RedirectURL, Scopes: o.scopes}
}

// loginState is what the login cookie keeps between Start and Finish.
type loginState struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"x"`
	Expires  int64  `json:"e"` // unix seconds
}

// Start sends the browser to the identity provider to sign in (302),
// with a fresh state, nonce and PKCE challenge kept in a signed,
// HttpOnly cookie for the callback. next is the page to return to after
// the login: a local path only, anything else becomes /admin/. An error
// (nothing written) when the provider cannot be reached.
func (o *OIDC) Start(w http.ResponseWriter, r *http.Request, next string) error {
	p, err := o.providerFor(r.Context())
	if err != nil {
		o.opts.Logger.WarnContext(r.Context(), "single sign-on: provider unreachable", "err", err)
		return err
	}
	st := loginState{State: rand.Text(), Nonce: rand.Text(), Verifier: oauth2.GenerateVerifier(),
		Next: LocalPath(next), Expires: o.opts.Clock.Now().Add(loginValidity).Unix()}
	http.SetCookie(w, &http.Cookie{Name: stateCookie, Value: o.seal(st), Path: o.cookie,
		MaxAge: int(loginValidity / time.Second), HttpOnly: true, Secure: o.secure, SameSite: http.SameSiteLaxMode})
	w.Header().Set("Cache-Control", "no-store")
	u := o.config(p).AuthCodeURL(st.State, oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier))
	http.Redirect(w, r, u, http.StatusFound)
	return nil
}

// Finish completes a login at the callback: it checks the state against
// the login cookie (and drops the cookie), refuses a state seen before,
// exchanges the code with the PKCE verifier, verifies the ID token
// (signature, issuer, audience, expiry, nonce), maps its groups to a role
// and towns, and provisions the user. It returns the user and the local
// path to go to next; the caller starts the session. Errors: forbidden
// when no configured group matches, the account is disabled, or its name
// belongs to another account; transient when the provider cannot be
// reached; unauthorized for anything else wrong with the login. Their
// messages are safe to show.
func (o *OIDC) Finish(w http.ResponseWriter, r *http.Request) (*crier.User, string, error) {
	ctx := r.Context()
	http.SetCookie(w, &http.Cookie{Name: stateCookie, Path: o.cookie, MaxAge: -1, HttpOnly: true, Secure: o.secure,
		SameSite: http.SameSiteLaxMode})
	st, err := o.loginState(r)
	if err != nil {
		return nil, "", refused(err)
	}
	if e := r.FormValue("error"); e != "" {
		return nil, "", refused(fmt.Errorf("provider answered %q", truncate(e, 100)))
	}
	if !o.finish(st) {
		return nil, "", refused(errors.New("login finished before"))
	}
	p, err := o.providerFor(ctx)
	if err != nil {
		return nil, "", err
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, o.opts.Client), providerTimeout)
	defer cancel()
	tok, err := o.config(p).Exchange(ctx, r.FormValue("code"), oauth2.VerifierOption(st.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
			return nil, "", refused(fmt.Errorf("exchange code: %w", err))
		}
		return nil, "", unreachable(fmt.Errorf("exchange code: %w", err))
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, "", refused(errors.New("no ID token in the answer"))
	}
	idt, err := p.VerifierContext(ctx, &oidc.Config{ClientID: o.opts.ClientID, Now: o.opts.Clock.Now}).Verify(ctx, raw)
	if err != nil {
		return nil, "", refused(fmt.Errorf("verify ID token: %w", err))
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(st.Nonce)) != 1 {
		return nil, "", refused(errors.New("ID token with another nonce"))
	}
	u, err := o.user(ctx, idt)
	if err != nil {
		return nil, "", err
	}
	o.opts.Logger.InfoContext(ctx, "single sign-on", "user", u.Name, "role", u.Role, "towns", strings.Join(u.Towns, ","))
	return u, st.Next, nil
}

// user maps the ID token's claims to a user and provisions them.
func (o *OIDC) user(ctx context.Context, idt *oidc.IDToken) (*crier.User, error) {
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return nil, refused(fmt.Errorf("claims: %w", err))
	}
	name, _ := claims[o.opts.NameClaim].(string)
	name, _, _ = strings.Cut(strings.ToLower(strings.TrimSpace(name)), "@")
	if len(crier.ValidUserName(name)) > 0 {
		return nil, refuse(crier.EFORBIDDEN, "access.oidc.no_name", nil, o.opts.NameClaim)
	}
	role, towns, ok := o.grant(groupsOf(claims[o.opts.GroupsClaim]))
	if !ok {
		o.opts.Logger.InfoContext(ctx, "single sign-on refused: no group grants a role", "user", name)
		return nil, refuse(crier.EFORBIDDEN, "access.oidc.no_group", nil)
	}
	u, err := o.opts.Users.ProvisionUser(ctx, &crier.User{Name: name, Role: role, Towns: towns,
		CreatedAt: o.opts.Clock.Now().UTC(), External: idt.Issuer, Subject: idt.Subject})
	if crier.ErrorCode(err) == crier.ECONFLICT {
		return nil, refuse(crier.EFORBIDDEN, "access.oidc.name_taken", err, name)
	}
	if err != nil {
		return nil, err
	}
	if u.Disabled {
		return nil, refuse(crier.EFORBIDDEN, "access.oidc.disabled", nil, name)
	}
	return u, nil
}

// groupsOf reads a groups claim: a list of strings, or one string.
func groupsOf(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, g := range v {
			if s, ok := g.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// grant combines what the groups grant: the highest role, in the towns of
// every group that grants that role. A lower role's towns are not
// lifted to the higher role. ok is false when no group matches.
func (o *OIDC) grant(groups []string) (role crier.Role, towns []string, ok bool) {
	best := len(crier.Roles)
	var matched []GroupRole
	for _, g := range groups {
		gr, found := o.opts.Groups[g]
		if !found {
			gr, found = o.opts.Groups[strings.TrimPrefix(g, "/")]
		}
		if !found {
			continue
		}
		matched = append(matched, gr)
		best = min(best, slices.Index(crier.Roles, gr.Role))
	}
	if len(matched) == 0 || best < 0 || best >= len(crier.Roles) {
		return "", nil, false
	}
	role = crier.Roles[best]
	if role == crier.RoleAdmin {
		return role, nil, true
	}
	for _, gr := range matched {
		if gr.Role != role {
			continue
		}
		for _, t := range gr.Towns {
			if !slices.Contains(towns, t) {
				towns = append(towns, t)
			}
		}
	}
	slices.Sort(towns)
	return role, towns, true
}

// seal encodes st with its HMAC.
func (o *OIDC) seal(st loginState) string {
	b, _ := json.Marshal(st)
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + base64.RawURLEncoding.EncodeToString(o.mac(payload))
}

func (o *OIDC) mac(payload string) []byte {
	m := hmac.New(sha256.New, o.opts.Key)
	m.Write([]byte("crier oidc login\x00" + payload))
	return m.Sum(nil)
}

// loginState reads and checks the login cookie and the callback's state.
func (o *OIDC) loginState(r *http.Request) (loginState, error) {
	var st loginState
	c, err := r.Cookie(stateCookie)
	if err != nil {
		return st, errors.New("no login under way in this browser")
	}
	payload, sig, ok := strings.Cut(c.Value, ".")
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if !ok || err != nil || !hmac.Equal(got, o.mac(payload)) {
		return st, errors.New("login cookie not signed by this server")
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil || json.Unmarshal(b, &st) != nil {
		return st, errors.New("login cookie damaged")
	}
	if o.opts.Clock.Now().Unix() > st.Expires {
		return st, errors.New("login took too long")
	}
	if subtle.ConstantTimeCompare([]byte(r.FormValue("state")), []byte(st.State)) != 1 {
		return st, errors.New("state differs from the login cookie's")
	}
	return st, nil
}

// finish records st's state as finished; false when it was before.
func (o *OIDC) finish(st loginState) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, seen := o.finished[st.State]; seen {
		return false
	}
	if len(o.finished) >= maxFinished {
		now := o.opts.Clock.Now()
		for s, until := range o.finished {
			if now.After(until) {
				delete(o.finished, s)
			}
		}
		for s := range o.finished {
			if len(o.finished) < maxFinished {
				break
			}
			delete(o.finished, s) // the provider refuses a code twice too
		}
	}
	o.finished[st.State] = time.Unix(st.Expires, 0)
	return true
}

// LocalPath returns next when it is a page of the newsroom, such as
// "/admin/announcements?town=soest", and "/admin/" otherwise: an absolute
// or scheme-relative URL ("//evil.example"), a backslash trick, control
// characters, a path that climbs out with "..", a path outside /admin/,
// or the sign-in page itself. It keeps sign-ins, by password and by
// single sign-on, from leading elsewhere.
func LocalPath(next string) string {
	if next == "" || len(next) > 2048 || next[0] != '/' || strings.HasPrefix(next, "//") ||
		strings.Contains(next, `\`) {
		return home
	}
	for _, r := range next {
		if r < ' ' || r == 0x7f {
			return home
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, home) ||
		strings.Contains(u.Path, "/../") || strings.HasSuffix(u.Path, "/..") || strings.HasPrefix(u.Path, "/admin/login") {
		return home
	}
	return u.RequestURI()
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
