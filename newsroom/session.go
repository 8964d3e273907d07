package newsroom

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"

	"github.com/crierhq/crier"
)

// Names of the session cookie: with the __Host- prefix, which binds it to
// this host and a secure connection, when the public URL is https.
const (
	cookieName       = "crier_session"
	secureCookieName = "__Host-crier_session"
)

// csrfField is the name of the form field that carries the CSRF token.
const csrfField = "csrf"

// visit is one request of a signed-in person.
type visit struct {
	p      *crier.Principal
	lang   string
	secret string
}

// page returns the layout's data for the visit, with nav the active
// entry of the navigation.
func (v *visit) page(nav string) *page {
	return &page{Lang: v.lang, User: v.p, CSRF: csrfToken(v.secret), Nav: nav}
}

// csrfToken derives the session's CSRF token from its secret: a page can
// only carry it when it was rendered for this session, and the database
// never needs to keep it.
func csrfToken(secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("crier newsroom csrf"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// newSecret returns a random session secret of 256 bits.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (n *Newsroom) cookieName() string {
	if n.secure {
		return secureCookieName
	}
	return cookieName
}

// setCookie hands the browser the session secret: HttpOnly, SameSite=Lax,
// Secure behind https, for the session's absolute lifetime at most.
func (n *Newsroom) setCookie(w http.ResponseWriter, secret string) {
	c := &http.Cookie{Name: n.cookieName(), Value: secret, Path: Prefix, HttpOnly: true, Secure: n.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(n.limits.Absolute.Seconds())}
	if n.secure {
		c.Path = "/" // the __Host- prefix demands it
	}
	http.SetCookie(w, c)
}

// clearCookie tells the browser to forget the session.
func (n *Newsroom) clearCookie(w http.ResponseWriter) {
	c := &http.Cookie{Name: n.cookieName(), Value: "", Path: Prefix, HttpOnly: true, Secure: n.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: -1}
	if n.secure {
		c.Path = "/"
	}
	http.SetCookie(w, c)
}

// visitor returns the signed-in visit of r, or nil when r carries no
// session that is still valid.
func (n *Newsroom) visitor(r *http.Request) *visit {
	c, err := r.Cookie(n.cookieName())
	if err != nil || c.Value == "" || len(c.Value) > 128 {
		return nil
	}
	p, err := n.sessions.SessionPrincipal(r.Context(), crier.TokenHash(c.Value), n.clock.Now(), n.limits)
	if err != nil {
		if crier.ErrorCode(err) != crier.EUNAUTHORIZED {
			n.log.Error("newsroom: look up session", "err", err)
		}
		return nil
	}
	return &visit{p: p, lang: language(r), secret: c.Value}
}

// signedIn serves h to signed-in people only. Others are sent to the
// sign-in page, which brings them back; a state-changing request must
// carry the session's CSRF token, or it is refused with 403.
func (n *Newsroom) signedIn(h func(w http.ResponseWriter, r *http.Request, v *visit)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := n.visitor(r)
		if v == nil {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, "/admin/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			n.errorPage(w, r, nil, http.StatusUnauthorized, "error.signed_out")
			return
		}
		unsafe := r.Method != http.MethodGet && r.Method != http.MethodHead
		if unsafe {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
			// A form larger than the bound says so, rather than failing
			// its CSRF check for want of a parsed token.
			var tooLarge *http.MaxBytesError
			parse := r.ParseForm
			if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
				parse = func() error { return r.ParseMultipartForm(maxForm) }
			}
			if err := parse(); errors.As(err, &tooLarge) {
				n.errorPage(w, r, v, http.StatusRequestEntityTooLarge, "compose.too_large", crier.SizeText(maxForm))
				return
			}
		}
		if unsafe && !validCSRF(r, v.secret) {
			n.log.Info("newsroom: request without a valid CSRF token refused", "user", v.p.Name, "path", r.URL.Path)
			n.errorPage(w, r, v, http.StatusForbidden, "error.csrf")
			return
		}
		h(w, r.WithContext(crier.NewContext(r.Context(), v.p)), v)
	})
}

// validCSRF reports whether r carries the session's CSRF token, in the
// form or, for scripts, in the X-CSRF-Token header.
func validCSRF(r *http.Request, secret string) bool {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue(csrfField)
	}
	want := csrfToken(secret)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
