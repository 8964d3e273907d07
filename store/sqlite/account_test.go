package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/store/sqlite"
	"github.com/google/go-cmp/cmp"
)

// TestAccounts: users and tokens survive a reopen; a revoked token, or
// one of a disabled user, stops working at once, also when another
// process (OpenShared) changes them next to the lock holder.
func TestAccounts(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crier.db")
	db := MustOpen(t, path)
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	anna := &crier.User{Name: "anna", Role: crier.RoleEditor, Towns: []string{"soest", "werl"}, PasswordHash: "$argon2id$x", CreatedAt: now}
	if err := db.CreateUser(ctx, anna); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateUser(ctx, anna); crier.ErrorCode(err) != crier.ECONFLICT {
		t.Fatalf("second anna: %v", err)
	}
	secret := "crier_secret"
	tok := &crier.APIToken{User: "anna", Name: "laptop", CreatedAt: now}
	if err := db.CreateToken(ctx, tok, crier.TokenHash(secret)); err != nil || tok.ID == 0 {
		t.Fatalf("create token: %v, id %d", err, tok.ID)
	}
	if err := db.CreateToken(ctx, &crier.APIToken{User: "bert"}, crier.TokenHash("x")); crier.ErrorCode(err) != crier.ENOTFOUND {
		t.Fatalf("token for nobody: %v", err)
	}
	p, err := db.TokenPrincipal(ctx, crier.TokenHash(secret), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := &crier.Principal{Name: "anna", Role: crier.RoleEditor, Towns: []string{"soest", "werl"}, Token: tok.ID}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("principal (-want +got):\n%s", diff)
	}
	if _, err := db.TokenPrincipal(ctx, crier.TokenHash("crier_other"), now); crier.ErrorCode(err) != crier.EUNAUTHORIZED {
		t.Errorf("unknown token: %v", err)
	}

	// Another process revokes the token while this one holds the lock.
	shared, err := sqlite.OpenShared(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := shared.RevokeToken(ctx, tok.ID, now.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	shared.Close()
	if _, err := db.TokenPrincipal(ctx, crier.TokenHash(secret), now.Add(3*time.Hour)); crier.ErrorCode(err) != crier.EUNAUTHORIZED {
		t.Errorf("revoked token: %v", err)
	}
	toks, err := db.Tokens(ctx, "anna")
	if err != nil || len(toks) != 1 || !toks[0].LastUsed.Equal(now.Add(time.Hour)) || !toks[0].Revoked.Equal(now.Add(2*time.Hour)) {
		t.Fatalf("tokens = %+v, %v", toks, err)
	}

	other := &crier.APIToken{User: "anna", CreatedAt: now}
	if err := db.CreateToken(ctx, other, crier.TokenHash("crier_2")); err != nil {
		t.Fatal(err)
	}
	if err := db.DisableUser(ctx, "anna"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.TokenPrincipal(ctx, crier.TokenHash("crier_2"), now); crier.ErrorCode(err) != crier.EUNAUTHORIZED {
		t.Errorf("token of a disabled user: %v", err)
	}
	if err := db.SetPassword(ctx, "anna", "$argon2id$y"); err != nil {
		t.Fatal(err)
	}
	if err := db.DisableUser(ctx, "bert"); crier.ErrorCode(err) != crier.ENOTFOUND {
		t.Errorf("disable nobody: %v", err)
	}
	if err := db.RevokeToken(ctx, 99, now); crier.ErrorCode(err) != crier.ENOTFOUND {
		t.Errorf("revoke no token: %v", err)
	}

	db.Close()
	db = MustOpen(t, path)
	u, err := db.User(ctx, "anna")
	if err != nil {
		t.Fatal(err)
	}
	wantUser := &crier.User{Name: "anna", Role: crier.RoleEditor, Towns: []string{"soest", "werl"},
		PasswordHash: "$argon2id$y", Disabled: true, CreatedAt: now}
	if diff := cmp.Diff(wantUser, u); diff != "" {
		t.Errorf("user after reopen (-want +got):\n%s", diff)
	}
}

// TestProvisionUser: an external user is made without a usable password,
// takes new role and towns at the next login, survives a reopen, and can
// neither take over a local account nor another identity's name; a
// disabled one stays disabled.
func TestProvisionUser(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crier.db")
	db := MustOpen(t, path)
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	const issuer = "https://sso.kreis-soest.example/realms/kreis"
	u, err := db.ProvisionUser(ctx, &crier.User{Name: "anna", Role: crier.RoleEditor, Towns: []string{"soest", "werl"},
		CreatedAt: now, External: issuer, Subject: "f81d4fae"})
	if err != nil {
		t.Fatal(err)
	}
	if u.PasswordHash != crier.NoPassword || u.Disabled {
		t.Errorf("provisioned user: %+v", u)
	}
	u, err = db.ProvisionUser(ctx, &crier.User{Name: "anna", Role: crier.RoleViewer, Towns: []string{"werl"},
		CreatedAt: now.Add(time.Hour), External: issuer, Subject: "f81d4fae"})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = MustOpen(t, path)
	stored, err := db.User(ctx, "anna")
	if err != nil {
		t.Fatal(err)
	}
	want := &crier.User{Name: "anna", Role: crier.RoleViewer, Towns: []string{"werl"}, PasswordHash: crier.NoPassword,
		CreatedAt: now, External: issuer, Subject: "f81d4fae"}
	if diff := cmp.Diff(want, stored); diff != "" {
		t.Errorf("stored (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(u, stored); diff != "" {
		t.Errorf("returned and stored differ (-returned +stored):\n%s", diff)
	}
	if err := db.CreateUser(ctx, &crier.User{Name: "bert", Role: crier.RoleAdmin, PasswordHash: "$argon2id$x", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	for _, other := range []*crier.User{
		{Name: "bert", Role: crier.RoleEditor, External: issuer, Subject: "0badc0de"},
		{Name: "anna", Role: crier.RoleEditor, External: issuer, Subject: "0badc0de"},
		{Name: "anna", Role: crier.RoleEditor, External: "https://evil.example", Subject: "f81d4fae"},
		{Name: "anna.schmidt", Role: crier.RoleEditor, External: issuer, Subject: "f81d4fae"},
	} {
		if _, err := db.ProvisionUser(ctx, other); crier.ErrorCode(err) != crier.ECONFLICT {
			t.Errorf("%s from %s (%s): %v, want a conflict", other.Name, other.External, other.Subject, err)
		}
	}
	if b, _ := db.User(ctx, "bert"); b.Role != crier.RoleAdmin || b.External != "" {
		t.Errorf("local bert changed: %+v", b)
	}
	if err := db.DisableUser(ctx, "anna"); err != nil {
		t.Fatal(err)
	}
	u, err = db.ProvisionUser(ctx, &crier.User{Name: "anna", Role: crier.RoleEditor, External: issuer, Subject: "f81d4fae", CreatedAt: now})
	if err != nil || !u.Disabled {
		t.Errorf("disabled user provisioned again: %+v, %v", u, err)
	}
}

// TestLastAdminStays: the last active admin is never disabled, also when
// two admins disable each other at the same moment, and also through a
// second connection to the file (crier users next to crier serve).
func TestLastAdminStays(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crier.db")
	db := MustOpen(t, path)
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	for _, name := range []string{"anna", "bert"} {
		if err := db.CreateUser(ctx, &crier.User{Name: name, Role: crier.RoleAdmin, PasswordHash: "$argon2id$x", CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	shared, err := sqlite.OpenShared(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer shared.Close()
	errs := make(chan error, 2)
	go func() { errs <- db.DisableUser(ctx, "anna") }()
	go func() { errs <- shared.DisableUser(ctx, "bert") }()
	var conflicts int
	for range 2 {
		switch err := <-errs; crier.ErrorCode(err) {
		case crier.ECONFLICT:
			conflicts++
		case "":
		default:
			t.Fatalf("disable: %v", err)
		}
	}
	if conflicts != 1 {
		t.Fatalf("%d of two disables refused, want exactly one", conflicts)
	}
	users, err := db.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	active := 0
	for _, u := range users {
		if !u.Disabled {
			active++
		}
	}
	if active != 1 {
		t.Fatalf("%d active admins left, want 1", active)
	}
	if err := db.DisableUser(ctx, "nobody"); crier.ErrorCode(err) != crier.ENOTFOUND {
		t.Fatalf("disable an unknown user: %v", err)
	}
}

// TestAccountChangesAudited: single sign-on's provisioning and a change of
// rights it brings, a repeated login that changes nothing, and the
// permission for real notices are in the audit trail with what changed.
func TestAccountChangesAudited(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t, filepath.Join(t.TempDir(), "crier.db"))
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	const issuer = "https://sso.kreis-soest.example/realms/kreis"
	login := func(role crier.Role, towns ...string) {
		t.Helper()
		if _, err := db.ProvisionUser(ctx, &crier.User{Name: "anna", Role: role, Towns: towns, CreatedAt: now,
			External: issuer, Subject: "f81d4fae"}); err != nil {
			t.Fatal(err)
		}
	}
	login(crier.RoleEditor, "soest")
	login(crier.RoleEditor, "soest") // nothing changed: no entry
	login(crier.RoleViewer, "werl")
	if err := db.SetActual(ctx, "anna", true); err != nil {
		t.Fatal(err)
	}
	entries, err := db.AuditEntries(ctx, crier.AuditFilter{Action: "user."})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, fmt.Sprintf("%s %s %v %v", e.Action, e.Subject, e.Towns, e.Detail))
	}
	want := []string{
		"user.add anna [soest] map[issuer:" + issuer + " role:editor]",
		"user.change anna [werl] map[issuer:" + issuer + " role:viewer]",
		"user.actual anna [werl] map[actual:true]",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("audit entries (-want +got):\n%s", diff)
	}
}
