package newsroom

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/access"
	"github.com/crierhq/crier/internal/ratelimit"
	"github.com/crierhq/crier/locale"
)

// codeTooMany is the error code of a sign-in refused while the account or
// the client's address is locked after failed attempts.
const codeTooMany = "too_many_requests"

// maxForm bounds the body of every form posted to the newsroom.
const maxForm = 1 << 20

// loginData is what the sign-in page shows.
type loginData struct {
	Name string
	Next string
	// Problem is the message of a failed sign-in.
	Problem string
	// SignedOut is set after a sign-out.
	SignedOut bool
	// SSO offers the sign-in through the identity provider.
	SSO bool
}

func (n *Newsroom) loginPage(w http.ResponseWriter, r *http.Request) {
	p := &page{Lang: language(r)}
	p.Title = p.T("login.title")
	p.Data = &loginData{Next: access.LocalPath(r.URL.Query().Get("next")), SignedOut: r.URL.Query().Has("out"), SSO: n.sso != nil}
	n.render(w, http.StatusOK, "login", p)
}

// loginForm signs a person in: a new session, whatever session the
// browser had before ended, so that a session fixed by someone else before
// the sign-in is worth nothing after it.
func (n *Newsroom) loginForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	name := strings.TrimSpace(r.PostFormValue("name"))
	data := &loginData{Name: name, Next: access.LocalPath(r.PostFormValue("next"))}
	lang := language(r)
	addr := client(r)
	p, err := n.login.Login(r.Context(), name, r.PostFormValue("password"), ratelimit.ClientKey(addr))
	if err != nil {
		n.log.Info("newsroom: sign-in refused", "addr", addr)
		n.recordFailure(r.Context(), name)
		n.loginFailed(w, r, lang, data, err)
		return
	}
	n.startSession(w, r, p, addr, data.Next)
}

// startSession signs p in: a new session, whatever session the browser
// had before ended, so that a session fixed by someone else before the
// sign-in is worth nothing after it; then on to next.
func (n *Newsroom) startSession(w http.ResponseWriter, r *http.Request, p *crier.Principal, addr, next string) {
	if c, err := r.Cookie(n.cookieName()); err == nil && c.Value != "" && len(c.Value) <= 128 {
		if err := n.sessions.DeleteSession(r.Context(), crier.TokenHash(c.Value), n.clock.Now()); err != nil {
			n.fail(w, r, nil, err)
			return
		}
	}
	secret := newSecret()
	now := n.clock.Now()
	if err := n.sessions.CreateSession(crier.NewContext(r.Context(), p), crier.TokenHash(secret),
		&crier.Session{User: p.Name, CreatedAt: now, LastSeen: now, Address: addr}); err != nil {
		n.fail(w, r, nil, err)
		return
	}
	n.log.Info("newsroom: signed in", "user", p.Name, "addr", addr)
	n.setCookie(w, secret)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (n *Newsroom) logout(w http.ResponseWriter, r *http.Request, v *visit) {
	if err := n.sessions.DeleteSession(r.Context(), crier.TokenHash(v.secret), n.clock.Now()); err != nil {
		n.fail(w, r, v, err)
		return
	}
	n.log.Info("newsroom: signed out", "user", v.p.Name)
	n.clearCookie(w)
	http.Redirect(w, r, "/admin/login?out", http.StatusSeeOther)
}

// loginFailed shows the sign-in page again with what went wrong: the
// same words for a wrong name and a wrong password.
func (n *Newsroom) loginFailed(w http.ResponseWriter, r *http.Request, lang string, data *loginData, err error) {
	status := http.StatusUnauthorized
	switch crier.ErrorCode(err) {
	case crier.EUNAUTHORIZED:
		data.Problem = locale.T(lang, "login.failed")
	case codeTooMany:
		status = http.StatusTooManyRequests
		data.Problem = access.Message(lang, err)
	case crier.EFORBIDDEN, crier.ETRANSIENT:
		status = http.StatusForbidden
		if crier.ErrorCode(err) == crier.ETRANSIENT {
			status = http.StatusServiceUnavailable
		}
		data.Problem = access.Message(lang, err)
	default:
		n.log.Error("newsroom: sign-in failed", "err", err)
		status = http.StatusInternalServerError
		data.Problem = locale.T(lang, "error.internal")
	}
	pg := &page{Lang: lang, Data: data}
	pg.Title = pg.T("login.title")
	data.SSO = n.sso != nil
	n.render(w, status, "login", pg)
}

// recordFailure writes a failed sign-in to the audit trail: with the name
// typed in when it could be a user's name, and without it otherwise,
// since a password typed into the wrong field must not be kept.
func (n *Newsroom) recordFailure(ctx context.Context, name string) {
	if n.audit == nil {
		return
	}
	e := crier.AuditEntry{Action: crier.AuditLoginFailed}
	if crier.ValidUserName(name) == nil {
		e.Subject = name
	}
	if err := n.audit.Record(ctx, e, n.clock.Now()); err != nil {
		n.log.Error("newsroom: record failed sign-in", "err", err)
	}
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// SingleSignOn signs people in through the county's identity provider
// (access.OIDC).
type SingleSignOn interface {
	// Start sends the browser to the provider, to come back to next.
	Start(w http.ResponseWriter, r *http.Request, next string) error
	// Finish completes the sign-in at the callback and returns the user
	// with the rights the provider's groups give, and where to go next.
	Finish(w http.ResponseWriter, r *http.Request) (*crier.User, string, error)
}

func (n *Newsroom) ssoStart(w http.ResponseWriter, r *http.Request) {
	if err := n.sso.Start(w, r, access.LocalPath(r.URL.Query().Get("next"))); err != nil {
		lang := language(r)
		n.loginFailed(w, r, lang, &loginData{Next: access.LocalPath(r.URL.Query().Get("next"))}, err)
	}
}

func (n *Newsroom) ssoCallback(w http.ResponseWriter, r *http.Request) {
	addr := client(r)
	u, next, err := n.sso.Finish(w, r)
	if err != nil {
		n.log.Info("newsroom: single sign-on refused", "addr", addr, "err", err)
		n.recordFailure(r.Context(), "")
		n.loginFailed(w, r, language(r), &loginData{}, err)
		return
	}
	p := &crier.Principal{Name: u.Name, Role: u.Role, Towns: u.Towns, Actual: u.Actual}
	n.startSession(w, r, p, addr, access.LocalPath(next))
}
