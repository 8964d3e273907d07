package access_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/access"
	"github.com/google/go-cmp/cmp"
)

const annaPassword = "Hochwasser an der Möhne 2026"

// TestLogin: the right password signs in with the user's role and
// towns; an unknown name, a wrong or huge password, a disabled user and
// an external one get the same answer; the answer never says whether the
// name exists, and the log never holds a password.
func TestLogin(t *testing.T) {
	ctx := context.Background()
	db := MustOpenStore(t)
	MustAddUser(t, db, "anna", crier.RoleEditor, annaPassword, "soest", "werl")
	MustAddUser(t, db, "dora", crier.RoleViewer, annaPassword, "soest")
	if err := db.DisableUser(ctx, "dora"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ProvisionUser(ctx, &crier.User{Name: "emil", Role: crier.RoleEditor, External: "https://sso.example", Subject: "1", CreatedAt: newClock().Now()}); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	a := access.NewAccounts(db, nil, newClock(), slog.New(slog.NewTextHandler(&logs, nil)))
	p, err := a.Login(ctx, "anna", annaPassword, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	want := &crier.Principal{Name: "anna", Role: crier.RoleEditor, Towns: []string{"soest", "werl"}}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("principal (-want +got):\n%s", diff)
	}
	var messages []string
	for _, try := range []struct{ name, pw string }{
		{"anna", "Hochwasser an der Möhne 2025"},
		{"anna", strings.Repeat(annaPassword, 100)},
		{"nobody", annaPassword},
		{"dora", annaPassword},
		{"emil", ""},
		{"emil", "!"},
	} {
		_, err := a.Login(ctx, try.name, try.pw, "192.0.2.2")
		if crier.ErrorCode(err) != crier.EUNAUTHORIZED {
			t.Errorf("%s: %v, want unauthorized", try.name, err)
		}
		messages = append(messages, crier.ErrorMessage(err))
	}
	for _, m := range messages[1:] {
		if m != messages[0] {
			t.Errorf("refusals differ: %q and %q", messages[0], m)
		}
	}
	if strings.Contains(logs.String(), "Möhne") {
		t.Errorf("a password is in the log:\n%s", logs.String())
	}
}

// TestLoginTiming: an unknown name takes about as long as a wrong
// password, because a dummy hash is checked.
func TestLoginTiming(t *testing.T) {
	ctx := context.Background()
	db := MustOpenStore(t)
	MustAddUser(t, db, "anna", crier.RoleEditor, annaPassword, "soest")
	a := access.NewAccounts(db, nil, newClock(), nil)
	a.Login(ctx, "nobody", "x", "192.0.2.1") // make the dummy hash
	took := func(name string) time.Duration {
		start := time.Now()
		if _, err := a.Login(ctx, name, "wrong password!", "192.0.2.1"); crier.ErrorCode(err) != crier.EUNAUTHORIZED {
			t.Fatalf("%s: %v", name, err)
		}
		return time.Since(start)
	}
	known, unknown := took("anna"), took("nobody")
	if unknown < known/3 {
		t.Errorf("an unknown name took %v, a wrong password %v: the difference tells which names exist", unknown, known)
	}
}

// TestLoginLimited: after five wrong passwords the account is locked,
// for the right password too, with a Retry-After; after the wait the
// right password works.
func TestLoginLimited(t *testing.T) {
	ctx := context.Background()
	db := MustOpenStore(t)
	MustAddUser(t, db, "anna", crier.RoleEditor, annaPassword, "soest")
	c := newClock()
	a := access.NewAccounts(db, nil, c, nil)
	for range access.AccountFailures - 1 {
		a.Limiter().Failed("anna", "192.0.2.1") // as many wrong passwords, without their hashing
	}
	if _, err := a.Login(ctx, "anna", "guess guess guess", "192.0.2.1"); crier.ErrorCode(err) != crier.EUNAUTHORIZED {
		t.Fatal(err)
	}
	_, err := a.Login(ctx, "anna", annaPassword, "198.51.100.7")
	var e *crier.Error
	if crier.ErrorCode(err) != access.CodeTooMany || !errorAs(err, &e) || e.RetryAfter != 3*time.Minute {
		t.Fatalf("right password while locked: %v, want %s with a RetryAfter of 3m", err, access.CodeTooMany)
	}
	c.Advance(3 * time.Minute)
	if _, err := a.Login(ctx, "anna", annaPassword, "198.51.100.7"); err != nil {
		t.Fatalf("after the wait: %v", err)
	}
}

// TestTokens: a login's token works for the user and is revoked by
// RevokeToken; the admin gets none and cannot revoke theirs.
func TestTokens(t *testing.T) {
	ctx := context.Background()
	db := MustOpenStore(t)
	MustAddUser(t, db, "anna", crier.RoleEditor, annaPassword, "soest")
	c := newClock()
	a := access.NewAccounts(db, nil, c, nil)
	p, err := a.Login(ctx, "anna", annaPassword, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	secret, tok, err := a.IssueToken(ctx, p, "crier login on laptop-3\x1b[31m"+strings.Repeat("x", 200))
	if err != nil {
		t.Fatal(err)
	}
	if len(tok.Name) > access.MaxTokenName || strings.ContainsRune(tok.Name, 0x1b) || !strings.HasPrefix(tok.Name, "crier login on laptop-3") {
		t.Errorf("token name %q", tok.Name)
	}
	held, err := db.TokenPrincipal(ctx, crier.TokenHash(secret), c.Now())
	if err != nil || held.Name != "anna" || held.Token != tok.ID {
		t.Fatalf("token's principal: %+v, %v", held, err)
	}
	if err := a.RevokeToken(ctx, held); err != nil {
		t.Fatal(err)
	}
	if _, err := db.TokenPrincipal(ctx, crier.TokenHash(secret), c.Now()); crier.ErrorCode(err) != crier.EUNAUTHORIZED {
		t.Errorf("revoked token: %v", err)
	}
	if _, _, err := a.IssueToken(ctx, crier.AdminPrincipal, "x"); crier.ErrorCode(err) != crier.ECONFLICT {
		t.Errorf("token for the admin: %v", err)
	}
	if err := a.RevokeToken(ctx, crier.AdminPrincipal); crier.ErrorCode(err) != crier.ECONFLICT {
		t.Errorf("revoke the admin token: %v", err)
	}
}

// TestMessage: refusals read in German or English; other errors keep
// their message.
func TestMessage(t *testing.T) {
	db := MustOpenStore(t)
	a := access.NewAccounts(db, nil, newClock(), nil)
	_, err := a.Login(context.Background(), "nobody", "x", "192.0.2.1")
	if got := access.Message("de", err); got != "Benutzername oder Passwort ist falsch." {
		t.Errorf("German: %q", got)
	}
	if got := access.Message("en", err); got != "Wrong user name or password." {
		t.Errorf("English: %q", got)
	}
	if got := access.Message("de", crier.Errorf(crier.ECONFLICT, "busy")); got != "busy" {
		t.Errorf("other error: %q", got)
	}
}
