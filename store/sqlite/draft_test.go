package sqlite_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
)

// TestDrafts: a draft is its owner's alone, survives a reopen, is bounded
// in size and in number per user, and goes with its user's flag for real
// notices unchanged.
func TestDrafts(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crier.db")
	db := MustOpen(t, path)
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	for _, name := range []string{"anna", "bert"} {
		if err := db.CreateUser(ctx, &crier.User{Name: name, Role: crier.RoleEditor, Towns: []string{"soest"}, PasswordHash: "x", CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	d := &crier.Draft{User: "anna", Title: "Wasser", Form: "title=Wasser", UpdatedAt: now}
	if err := db.SaveDraft(ctx, d); err != nil || d.ID == 0 {
		t.Fatalf("save: %v, id %d", err, d.ID)
	}
	if _, err := db.Draft(ctx, "bert", d.ID); crier.ErrorCode(err) != crier.ENOTFOUND {
		t.Errorf("bert reads anna's draft: %v", err)
	}
	if err := db.SaveDraft(ctx, &crier.Draft{ID: d.ID, User: "bert", Form: "x"}); crier.ErrorCode(err) != crier.ENOTFOUND {
		t.Errorf("bert overwrites anna's draft: %v", err)
	}
	if err := db.DeleteDraft(ctx, "bert", d.ID); crier.ErrorCode(err) != crier.ENOTFOUND {
		t.Errorf("bert deletes anna's draft: %v", err)
	}
	if err := db.SaveDraft(ctx, &crier.Draft{User: "anna", Form: strings.Repeat("x", crier.MaxDraftSize+1)}); crier.ErrorCode(err) != crier.EINVALID {
		t.Errorf("huge draft: %v", err)
	}
	d.Form, d.Title, d.UpdatedAt = "title=Wasser+abkochen", "Wasser abkochen", now.Add(time.Minute)
	if err := db.SaveDraft(ctx, d); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = MustOpen(t, path)
	got, err := db.Draft(ctx, "anna", d.ID)
	if err != nil || got.Form != d.Form || got.Title != d.Title || !got.UpdatedAt.Equal(d.UpdatedAt) {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
	for range crier.MaxDrafts - 1 {
		if err := db.SaveDraft(ctx, &crier.Draft{User: "anna", Form: "a", UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.SaveDraft(ctx, &crier.Draft{User: "anna", Form: "a"}); crier.ErrorCode(err) != crier.ECONFLICT {
		t.Errorf("draft %d: %v", crier.MaxDrafts+1, err)
	}
	if ds, err := db.Drafts(ctx, "anna"); err != nil || len(ds) != crier.MaxDrafts || ds[0].ID != d.ID || ds[0].Form != "" {
		t.Errorf("anna's drafts: %d, first %+v, %v", len(ds), ds[0], err)
	}
	if ds, err := db.Drafts(ctx, "bert"); err != nil || len(ds) != 0 {
		t.Errorf("bert's drafts: %v, %v", ds, err)
	}
	if err := db.DeleteDraft(ctx, "anna", d.ID); err != nil {
		t.Fatal(err)
	}

	// The flag for real notices: off for a new user, and what sessions
	// and tokens carry.
	if u, _ := db.User(ctx, "anna"); u.Actual {
		t.Error("a new user may publish real notices")
	}
	if err := db.SetActual(ctx, "anna", true); err != nil {
		t.Fatal(err)
	}
	if err := db.SetActual(ctx, "nobody", true); crier.ErrorCode(err) != crier.ENOTFOUND {
		t.Errorf("set actual of nobody: %v", err)
	}
	tok := &crier.APIToken{User: "anna", CreatedAt: now}
	if err := db.CreateToken(ctx, tok, crier.TokenHash("s")); err != nil {
		t.Fatal(err)
	}
	if p, err := db.TokenPrincipal(ctx, crier.TokenHash("s"), now); err != nil || !p.Actual {
		t.Errorf("token principal: %+v, %v", p, err)
	}
	if err := db.CreateSession(ctx, crier.TokenHash("c"), &crier.Session{User: "anna", CreatedAt: now, LastSeen: now}); err != nil {
		t.Fatal(err)
	}
	if p, err := db.SessionPrincipal(ctx, crier.TokenHash("c"), now, crier.SessionLimits{Idle: time.Hour, Absolute: time.Hour}); err != nil || !p.Actual {
		t.Errorf("session principal: %+v, %v", p, err)
	}
}
