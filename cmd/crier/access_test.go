package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/store/sqlite"
)

// exampleOIDC returns config.example.yaml with its commented oidc section
// put in, so that the example cannot rot.
func exampleOIDC(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	in := false
	for line := range strings.Lines(string(b)) {
		switch {
		case strings.HasPrefix(line, "# oidc:"):
			in = true
		case in && !strings.HasPrefix(line, "#   "):
			in = false
		}
		if in {
			line = strings.TrimPrefix(line, "# ")
		}
		out = append(out, line)
	}
	return strings.Join(out, "")
}

// TestConfigOIDCExample: the example's oidc section loads, its secret
// comes from the environment, its groups' towns are expanded, and serve's
// composition builds single sign-on from it without asking the provider.
func TestConfigOIDCExample(t *testing.T) {
	text := exampleOIDC(t)
	if !strings.Contains(text, "\noidc:\n") {
		t.Fatal("no oidc section in the example")
	}
	env := map[string]string{"CRIER_OIDC_CLIENT_SECRET": "s3cret"}
	c, err := LoadConfig(writeConfig(t, text), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.OIDC == nil || c.OIDC.ClientSecret != "s3cret" || c.OIDC.Groups["crier-soest-presse"].Role != crier.RoleEditor {
		t.Fatalf("oidc: %+v", c.OIDC)
	}
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "crier.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	accounts, sso, err := newAccess(c, db, c.directory(), []byte("instance secret of 32 bytes ...."), crier.SystemClock{}, nil)
	if err != nil || accounts == nil || sso == nil {
		t.Fatalf("newAccess: %v, %v, %v", accounts, sso, err)
	}
	if sso.Issuer() != "https://sso.kreis-soest.example/realms/kreis" {
		t.Errorf("issuer %q", sso.Issuer())
	}
}

// TestConfigOIDCProblems: every mistake in the oidc section is named
// with its field, and a secret written into the file is refused.
func TestConfigOIDCProblems(t *testing.T) {
	text, err := os.ReadFile(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	bad := string(text) + `
oidc:
  issuer: http://sso.kreis-soest.example/realms/kreis
  client_secret: written-into-the-file
  groups:
    crier-chefs: {role: boss}
    crier-presse: {role: editor}
    crier-paderborn: {role: viewer, towns: [soest, paderborn]}
`
	_, err = LoadConfig(writeConfig(t, bad), noEnv)
	for _, want := range []string{
		"oidc.issuer: must be an https URL",
		"oidc.client_id: is required",
		"oidc.client_secret: must come from the environment",
		`oidc.groups.crier-chefs.role: "boss" is no role`,
		"oidc.groups.crier-presse.towns: a group with role editor needs towns",
		`oidc.groups.crier-paderborn.towns[1]: unknown town "paderborn"`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in:\n%v", want, err)
		}
	}
	if err != nil && strings.Contains(err.Error(), "written-into-the-file") {
		t.Error("the problem quotes the secret")
	}
	_, err = LoadConfig(writeConfig(t, string(text)+"\noidc:\n  issuer: https://sso.example\n  client_id: crier\n  grups: {}\n"), noEnv)
	if err == nil || !strings.Contains(err.Error(), `unknown key "grups" in oidc`) {
		t.Errorf("misspelt key: %v", err)
	}
}
