package newsroom

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/locale"
	"github.com/crierhq/crier/password"
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
}

func (n *Newsroom) loginPage(w http.ResponseWriter, r *http.Request) {
	p := &page{Lang: language(r)}
	p.Title = p.T("login.title")
	p.Data = &loginData{Next: safeNext(r.URL.Query().Get("next")), SignedOut: r.URL.Query().Has("out")}
	n.render(w, http.StatusOK, "login", p)
}

// loginForm signs a person in: a new session, whatever session the
// browser had before ended, so that a session fixed by someone else before
// the sign-in is worth nothing after it.
func (n *Newsroom) loginForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	name := strings.TrimSpace(r.PostFormValue("name"))
	data := &loginData{Name: name, Next: safeNext(r.PostFormValue("next"))}
	lang := language(r)
	addr := n.client(r)
	p, err := n.login.Login(r.Context(), name, r.PostFormValue("password"), addr)
	if err != nil {
		status := http.StatusUnauthorized
		switch crier.ErrorCode(err) {
		case crier.EUNAUTHORIZED:
			data.Problem = locale.T(lang, "login.failed")
		case codeTooMany:
			status = http.StatusTooManyRequests
			data.Problem = locale.T(lang, "login.locked")
		default:
			n.log.Error("newsroom: sign-in failed", "err", err)
			status = http.StatusInternalServerError
			data.Problem = locale.T(lang, "error.internal")
		}
		n.log.Info("newsroom: sign-in refused", "addr", addr)
		n.recordFailure(r.Context(), name)
		pg := &page{Lang: lang, Data: data}
		pg.Title = pg.T("login.title")
		n.render(w, status, "login", pg)
		return
	}
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
	http.Redirect(w, r, data.Next, http.StatusSeeOther)
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

// safeNext returns next when it is a path of the newsroom, and the
// newsroom's start page otherwise: a sign-in never leads elsewhere.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || next == "" || u.Scheme != "" || u.Host != "" || u.User != nil ||
		!strings.HasPrefix(u.Path, Prefix) || strings.ContainsAny(next, "\\\r\n") || strings.HasPrefix(next, "//") ||
		strings.Contains(u.Path, "/../") || strings.HasPrefix(u.Path, "/admin/login") {
		return Prefix
	}
	return u.RequestURI()
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// AccountLogin checks passwords against the account store alone, without
// limits on failed attempts; crier serve uses access.Login, which adds
// them.
type AccountLogin struct {
	Accounts crier.AccountStore
}

// dummyHash is checked for unknown names, so that they take as long as
// known ones.
var dummyHash = func() string {
	h, err := password.Hash("crier dummy password for unknown names")
	if err != nil {
		panic(err)
	}
	return h
}()

// Login returns the principal of the user name when password is theirs.
func (l AccountLogin) Login(ctx context.Context, name, pw, _ string) (*crier.Principal, error) {
	u, err := l.Accounts.User(ctx, name)
	hash := dummyHash
	switch {
	case err == nil:
		hash = u.PasswordHash
	case crier.ErrorCode(err) != crier.ENOTFOUND:
		return nil, err
	}
	ok, verr := password.Verify(hash, pw)
	if err != nil || verr != nil || !ok || u.Disabled {
		return nil, crier.Errorf(crier.EUNAUTHORIZED, "wrong name or password")
	}
	return &crier.Principal{Name: u.Name, Role: u.Role, Towns: u.Towns}, nil
}
