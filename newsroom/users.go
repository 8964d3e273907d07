package newsroom

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/password"
)

// maxTokenName bounds what a person calls a token.
const maxTokenName = 100

// userRoutes adds the accounts pages: users for admins, and every
// person's own API tokens.
func (n *Newsroom) userRoutes(mux *http.ServeMux) {
	mux.Handle("GET /admin/users", n.signedIn(n.adminOnly(n.users)))
	mux.Handle("POST /admin/users", n.signedIn(n.adminOnly(n.addUser)))
	mux.Handle("GET /admin/users/{name}", n.signedIn(n.adminOnly(n.user)))
	mux.Handle("POST /admin/users/{name}/disable", n.signedIn(n.adminOnly(n.disableUser)))
	mux.Handle("POST /admin/users/{name}/password", n.signedIn(n.adminOnly(n.resetPassword)))
	mux.Handle("POST /admin/users/{name}/tokens/{id}/revoke", n.signedIn(n.adminOnly(n.revokeUserToken)))
	mux.Handle("GET /admin/tokens", n.signedIn(n.tokens))
	mux.Handle("POST /admin/tokens", n.signedIn(n.createToken))
	mux.Handle("POST /admin/tokens/{id}/revoke", n.signedIn(n.revokeToken))
}

// adminOnly serves h to admins only; others get 403 before anything is read.
func (n *Newsroom) adminOnly(h func(w http.ResponseWriter, r *http.Request, v *visit)) func(w http.ResponseWriter, r *http.Request, v *visit) {
	return func(w http.ResponseWriter, r *http.Request, v *visit) {
		if err := crier.Authorize(v.p, crier.ActionAdmin, nil); err != nil {
			n.fail(w, r, v, err)
			return
		}
		h(w, r, v)
	}
}

// userForm is what the form for a new user was filled in with.
type userForm struct {
	Name  string
	Role  string
	Towns []string
}

// Checked reports whether the town or group was ticked.
func (f *userForm) Checked(name string) bool { return slices.Contains(f.Towns, name) }

// usersData is what the users page shows.
type usersData struct {
	Users    []*crier.User
	Roles    []crier.Role
	Towns    []*crier.Town
	Groups   []string
	Form     userForm
	Problems fieldProblems
	Done     string
}

func (n *Newsroom) users(w http.ResponseWriter, r *http.Request, v *visit) {
	p := v.page("users")
	n.showUsers(w, r, v, p, http.StatusOK, &usersData{Form: userForm{Role: string(crier.RoleEditor)}, Done: doneNote(r, p)})
}

func (n *Newsroom) showUsers(w http.ResponseWriter, r *http.Request, v *visit, p *page, status int, d *usersData) {
	us, err := n.accounts.Users(r.Context())
	if err != nil {
		n.fail(w, r, v, err)
		return
	}
	d.Users, d.Roles, d.Towns, d.Groups = us, crier.Roles, n.engine.Directory.Towns(), n.engine.Directory.Groups()
	p.Title = p.T("operate.users.title")
	p.Data = d
	n.render(w, status, "users", p)
}

// addUser creates a user from the form: every problem is shown next to
// its field, and nothing is stored while there is one.
func (n *Newsroom) addUser(w http.ResponseWriter, r *http.Request, v *visit) {
	f := userForm{Name: strings.TrimSpace(r.PostFormValue("name")), Role: r.PostFormValue("role"), Towns: r.PostForm["towns"]}
	pw, again := r.PostFormValue("password"), r.PostFormValue("password2")
	u := &crier.User{Name: f.Name, Role: crier.Role(f.Role), CreatedAt: n.clock.Now().UTC()}
	ps := crier.ValidUserName(u.Name)
	if !u.Role.Valid() {
		ps = append(ps, crier.Problemf("role", "role_unknown", "%q is no role: use admin, editor, approver or viewer", f.Role))
	}
	towns, tps := n.engine.Directory.Resolve(f.Towns)
	for _, tp := range tps {
		tp.Field = "towns"
		ps = append(ps, tp)
	}
	if len(towns) == 0 && len(tps) == 0 && u.Role.Valid() && u.Role != crier.RoleAdmin {
		ps = append(ps, crier.Problemf("towns", "operate.towns_required", "a user with role %s needs at least one town", string(u.Role)))
	}
	if len(ps) == 0 {
		switch _, err := n.accounts.User(r.Context(), u.Name); {
		case err == nil:
			ps = append(ps, crier.Problemf("name", "operate.user_exists", "%q is taken", u.Name))
		case crier.ErrorCode(err) != crier.ENOTFOUND:
			n.fail(w, r, v, err)
			return
		}
	}
	ps = append(ps, password.Check(pw)...)
	if pw != again {
		ps = append(ps, crier.Problemf("password2", "operate.password_mismatch", "does not match the password"))
	}
	if u.Role == crier.RoleAdmin {
		towns = nil // an admin's role applies everywhere
	}
	u.Towns = towns
	if len(ps) == 0 {
		hash, err := password.Hash(pw)
		if err != nil {
			n.fail(w, r, v, err)
			return
		}
		u.PasswordHash = hash
		err = n.accounts.CreateUser(r.Context(), u)
		switch {
		case crier.ErrorCode(err) == crier.ECONFLICT:
			ps = append(ps, crier.Problemf("name", "operate.user_exists", "%q is taken", u.Name))
		case err != nil:
			n.fail(w, r, v, err)
			return
		default:
			n.log.Info("newsroom: user added", "by", v.p.Name, "user", u.Name, "role", u.Role, "towns", u.Towns)
			afterPost(w, r, "/admin/users/"+url.PathEscape(u.Name)+"?done=user_added")
			return
		}
	}
	p := v.page("users")
	n.showUsers(w, r, v, p, http.StatusUnprocessableEntity, &usersData{Form: f, Problems: formProblems(p.Lang, ps, nil)})
}

// userData is what a user's page shows.
type userData struct {
	User   *crier.User
	Tokens []*crier.APIToken
	// Self is set on the signed-in admin's own page.
	Self     bool
	Problems fieldProblems
	Done     string
}

func (n *Newsroom) user(w http.ResponseWriter, r *http.Request, v *visit) {
	p := v.page("users")
	n.showUser(w, r, v, p, http.StatusOK, &userData{Done: doneNote(r, p)})
}

func (n *Newsroom) showUser(w http.ResponseWriter, r *http.Request, v *visit, p *page, status int, d *userData) {
	u, err := n.accounts.User(r.Context(), r.PathValue("name"))
	if err != nil {
		n.fail(w, r, v, err)
		return
	}
	ts, err := n.accounts.Tokens(r.Context(), u.Name)
	if err != nil {
		n.fail(w, r, v, err)
		return
	}
	d.User, d.Tokens, d.Self = u, ts, u.Name == v.p.Name
	p.Title = p.T("operate.user.title", u.Name)
	p.Data = d
	n.render(w, status, "users_user", p)
}

// disableUser disables a user, which ends their sessions and tokens at
// once. The last active admin is never disabled: nobody could manage the
// accounts then but the operator with the admin token.
func (n *Newsroom) disableUser(w http.ResponseWriter, r *http.Request, v *visit) {
	name := r.PathValue("name")
	u, err := n.accounts.User(r.Context(), name)
	if err != nil {
		n.fail(w, r, v, err)
		return
	}
	// The store refuses to disable the last active admin.
	err = n.accounts.DisableUser(r.Context(), name)
	if crier.ErrorCode(err) == crier.ECONFLICT {
		p := v.page("users")
		ps := []crier.Problem{crier.Problemf("disable", "operate.last_admin",
			"%s is the last active admin and stays enabled; add another admin first", u.Name)}
		n.showUser(w, r, v, p, http.StatusConflict, &userData{Problems: formProblems(p.Lang, ps, nil)})
		return
	}
	if err != nil {
		n.fail(w, r, v, err)
		return
	}
	n.log.Info("newsroom: user disabled", "by", v.p.Name, "user", name)
	afterPost(w, r, "/admin/users/"+url.PathEscape(name)+"?done=user_disabled")
}

// resetPassword gives a user a new password, which ends their sessions.
func (n *Newsroom) resetPassword(w http.ResponseWriter, r *http.Request, v *visit) {
	name := r.PathValue("name")
	if _, err := n.accounts.User(r.Context(), name); err != nil {
		n.fail(w, r, v, err)
		return
	}
	pw := r.PostFormValue("password")
	ps := password.Check(pw)
	if pw != r.PostFormValue("password2") {
		ps = append(ps, crier.Problemf("password2", "operate.password_mismatch", "does not match the password"))
	}
	if len(ps) > 0 {
		p := v.page("users")
		n.showUser(w, r, v, p, http.StatusUnprocessableEntity, &userData{Problems: formProblems(p.Lang, ps, nil)})
		return
	}
	hash, err := password.Hash(pw)
	if err == nil {
		err = n.accounts.SetPassword(r.Context(), name, hash)
	}
	if err != nil {
		n.fail(w, r, v, err)
		return
	}
	n.log.Info("newsroom: password reset", "by", v.p.Name, "user", name)
	if name == v.p.Name {
		// The admin's own session ended with the old password.
		afterPost(w, r, "/admin/login")
		return
	}
	afterPost(w, r, "/admin/users/"+url.PathEscape(name)+"?done=password_set")
}

// revokeUserToken revokes one of a user's tokens.
func (n *Newsroom) revokeUserToken(w http.ResponseWriter, r *http.Request, v *visit) {
	name := r.PathValue("name")
	if err := n.revoke(r, name); err != nil {
		n.fail(w, r, v, err)
		return
	}
	afterPost(w, r, "/admin/users/"+url.PathEscape(name)+"?done=token_revoked")
}

// revoke revokes the token {id} of user, which stops working at once: a
// not_found error when user has no such token, whoever else has it.
func (n *Newsroom) revoke(r *http.Request, user string) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return crier.Errorf(crier.ENOTFOUND, "no token %q", r.PathValue("id"))
	}
	ts, err := n.accounts.Tokens(r.Context(), user)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(ts, func(t *crier.APIToken) bool { return t.ID == id }) {
		return crier.Errorf(crier.ENOTFOUND, "%s has no token %d", user, id)
	}
	if err := n.accounts.RevokeToken(r.Context(), id, n.clock.Now().UTC()); err != nil {
		return err
	}
	n.log.Info("newsroom: token revoked", "by", crier.PrincipalFrom(r.Context()).Name, "user", user, "token", id)
	return nil
}

// tokensData is what the page of a person's own tokens shows.
type tokensData struct {
	Tokens   []*crier.APIToken
	Name     string
	Problems fieldProblems
	Done     string
	// Secret is the new token's secret, shown on the page that answers
	// its creation and never again; Created is that token.
	Secret  string
	Created *crier.APIToken
}

func (n *Newsroom) tokens(w http.ResponseWriter, r *http.Request, v *visit) {
	p := v.page("tokens")
	n.showTokens(w, r, v, p, http.StatusOK, &tokensData{Done: doneNote(r, p)})
}

func (n *Newsroom) showTokens(w http.ResponseWriter, r *http.Request, v *visit, p *page, status int, d *tokensData) {
	ts, err := n.accounts.Tokens(r.Context(), v.p.Name)
	if err != nil {
		n.fail(w, r, v, err)
		return
	}
	d.Tokens = ts
	p.Title = p.T("operate.tokens.title")
	p.Data = d
	n.render(w, status, "tokens", p)
}

// createToken makes an API token for the signed-in person and shows its
// secret, this once: only its hash is stored.
func (n *Newsroom) createToken(w http.ResponseWriter, r *http.Request, v *visit) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	var ps []crier.Problem
	switch {
	case name == "":
		ps = append(ps, crier.Problemf("name", "required", "is required"))
	case utf8.RuneCountInString(name) > maxTokenName || strings.ContainsFunc(name, controlChar):
		ps = append(ps, crier.Problemf("name", "operate.token_name",
			"must be a single line of at most %v characters", strconv.Itoa(maxTokenName)))
	}
	p := v.page("tokens")
	if len(ps) > 0 {
		n.showTokens(w, r, v, p, http.StatusUnprocessableEntity, &tokensData{Name: name, Problems: formProblems(p.Lang, ps, nil)})
		return
	}
	secret := crier.NewTokenSecret()
	t := &crier.APIToken{User: v.p.Name, Name: name, CreatedAt: n.clock.Now().UTC()}
	if err := n.accounts.CreateToken(r.Context(), t, crier.TokenHash(secret)); err != nil {
		n.fail(w, r, v, err)
		return
	}
	n.log.Info("newsroom: token created", "user", v.p.Name, "token", t.ID)
	n.showTokens(w, r, v, p, http.StatusOK, &tokensData{Secret: secret, Created: t})
}

// revokeToken revokes one of the signed-in person's own tokens.
func (n *Newsroom) revokeToken(w http.ResponseWriter, r *http.Request, v *visit) {
	if err := n.revoke(r, v.p.Name); err != nil {
		n.fail(w, r, v, err)
		return
	}
	afterPost(w, r, "/admin/tokens?done=token_revoked")
}

// controlChar reports whether r is a control character, which no line of a
// form may hold.
func controlChar(r rune) bool { return r < ' ' || r == 0x7f }
