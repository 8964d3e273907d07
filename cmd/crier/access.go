package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/access"
	"github.com/crierhq/crier/store/sqlite"
)

// OIDCConfig configures single sign-on through an OpenID Connect identity
// provider (Keycloak, Entra ID, AD FS). Local accounts keep working
// beside it, also while the provider is down.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL; https unless on loopback.
	Issuer string `yaml:"issuer"`
	// ClientID is crier's client at the provider. Required.
	ClientID string `yaml:"client_id"`
	// ClientSecret is the client's secret, only from the environment:
	// client_secret: ${CRIER_OIDC_CLIENT_SECRET}. Optional for a public
	// client (PKCE alone).
	ClientSecret string `yaml:"client_secret"`
	// Scopes asked for; default openid, profile, email.
	Scopes []string `yaml:"scopes"`
	// GroupsClaim is the ID token claim with the groups; default "groups".
	GroupsClaim string `yaml:"groups_claim"`
	// NameClaim is the claim that becomes the user name, lower-cased and
	// cut at '@'; default "preferred_username".
	NameClaim string `yaml:"name_claim"`
	// Groups maps a group to a role and towns (or groups of towns, or
	// "all"). A user in several gets the highest of their roles, in the
	// towns of the groups that grant it; in none, they are refused.
	Groups map[string]OIDCGroup `yaml:"groups"`
}

// OIDCGroup is what one group of the identity provider grants.
type OIDCGroup struct {
	Role  crier.Role `yaml:"role"`
	Towns []string   `yaml:"towns"`
}

// checkOIDC checks the oidc section.
func (v *configCheck) checkOIDC() {
	o := v.c.OIDC
	if o == nil {
		return
	}
	v.httpURL("oidc.issuer", o.Issuer)
	if u, err := url.Parse(o.Issuer); err == nil && !v.unset("oidc.issuer") && u.Scheme == "http" && !isLoopback(u.Hostname()) {
		v.add("oidc.issuer", "config.oidc_https", "must be an https URL: ID tokens and secrets travel to it (http only for a loopback address)")
	}
	if !v.given("oidc.client_id", o.ClientID) {
		v.add("oidc.client_id", "config.oidc_required", "is required")
	}
	if o.ClientSecret != "" && len(v.c.env.vars["oidc.client_secret"]) == 0 {
		v.add("oidc.client_secret", "config.oidc_secret_env", "must come from the environment, such as ${CRIER_OIDC_CLIENT_SECRET}, not from the file")
	}
	if len(o.Groups) == 0 {
		v.add("oidc.groups", "config.oidc_required", "is required")
	}
	dir := v.c.directory()
	for _, g := range slices.Sorted(maps.Keys(o.Groups)) {
		gr, f := o.Groups[g], "oidc.groups."+g
		if !gr.Role.Valid() {
			v.add(f+".role", "role_unknown", "%q is no role: use admin, editor, approver or viewer", gr.Role)
			continue
		}
		if gr.Role != crier.RoleAdmin && len(gr.Towns) == 0 {
			v.add(f+".towns", "config.oidc_towns", "a group with role %s needs towns", gr.Role)
		}
		for i, t := range gr.Towns {
			if _, ps := dir.Resolve([]string{t}); len(ps) > 0 {
				tf := f + ".towns[" + strconv.Itoa(i) + "]"
				v.add(tf, "config.unknown_town", "unknown town %s", v.show(tf, t))
			}
		}
	}
}

// directory is the configured towns and groups.
func (c *Config) directory() *crier.Directory {
	var towns []*crier.Town
	for _, t := range c.Towns {
		towns = append(towns, t.Town())
	}
	return crier.NewDirectory(towns, c.Groups)
}

// newAccess builds the local logins and, when the oidc section is set,
// single sign-on, for serve and the newsroom. The login cookie's key is
// derived from the instance secret, so that a login under way survives a
// restart and works across servers that share the secret. It contacts no
// provider.
func newAccess(cfg *Config, db *sqlite.DB, dir *crier.Directory, secret []byte, clock crier.Clock, log *slog.Logger) (*access.Accounts, *access.OIDC, error) {
	accounts := access.NewAccounts(db, nil, clock, log)
	o := cfg.OIDC
	if o == nil {
		return accounts, nil, nil
	}
	groups := map[string]access.GroupRole{}
	for g, gr := range o.Groups {
		towns, _ := dir.Resolve(gr.Towns) // Validate reported unknown ones
		if gr.Role == crier.RoleAdmin {
			towns = nil
		}
		groups[g] = access.GroupRole{Role: gr.Role, Towns: towns}
	}
	sso, err := access.NewOIDC(access.OIDCOptions{
		Issuer:       o.Issuer,
		ClientID:     o.ClientID,
		ClientSecret: o.ClientSecret,
		RedirectURL:  strings.TrimRight(cfg.PublicURL, "/") + access.CallbackPath,
		Scopes:       o.Scopes,
		GroupsClaim:  o.GroupsClaim,
		NameClaim:    o.NameClaim,
		Groups:       groups,
		Users:        db,
		Clock:        clock,
		Logger:       log,
		Key:          oidcKey(secret),
	})
	if err != nil {
		return nil, nil, err
	}
	return accounts, sso, nil
}

// oidcKey derives the key of the single sign-on login cookie from the
// instance secret; nil (a random key) without one.
func oidcKey(secret []byte) []byte {
	if len(secret) == 0 {
		return nil
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("crier oidc login cookie"))
	return m.Sum(nil)
}
