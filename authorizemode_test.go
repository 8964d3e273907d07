package crier_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/store/sqlite"
)

func TestAuthorizeMode(t *testing.T) {
	editor := &crier.Principal{Name: "anna", Role: crier.RoleEditor, Towns: []string{"soest"}}
	allowed := &crier.Principal{Name: "bert", Role: crier.RoleEditor, Towns: []string{"soest"}, Actual: true}
	for _, tt := range []struct {
		p    *crier.Principal
		mode crier.Mode
		ok   bool
	}{
		{editor, crier.ModeExercise, true},
		{editor, crier.ModeTest, true},
		{editor, crier.ModeActual, false},
		{allowed, crier.ModeActual, true},
		{crier.AdminPrincipal, crier.ModeActual, true},
		{nil, crier.ModeActual, true}, // crier itself: the scheduler
	} {
		err := crier.AuthorizeMode(tt.p, tt.mode)
		if (err == nil) != tt.ok || (err != nil && crier.ErrorCode(err) != crier.EFORBIDDEN) {
			t.Errorf("%v, %s: %v", tt.p, tt.mode, err)
		}
	}
}

// TestEngineRefusesActual: the engine refuses a real notice from a person
// without the right, published or as an update of a real one, before it
// stores anything; cancelling a real notice stays open to them.
func TestEngineRefusesActual(t *testing.T) {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "crier.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	e := &crier.Engine{
		Directory: crier.NewDirectory([]*crier.Town{{ID: "soest", Name: "Soest", Channels: []string{"plain"}}}, nil),
		Channels:  map[string]*crier.ChannelInfo{"plain": {ID: "plain", Type: "webhook", Channel: limited{}}},
		Renderer:  &recordingRenderer{limits: map[string]int{}}, Store: db,
		Clock: fixedClock(time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)), Mode: crier.ModeActual,
		PublicURL: "https://krisen.example",
	}
	anna := crier.NewContext(context.Background(), &crier.Principal{Name: "anna", Role: crier.RoleEditor, Towns: []string{"soest"}})
	notice := func(mode crier.Mode) *crier.Announcement {
		return &crier.Announcement{Title: "Wasser", Body: "Abkochen.", Towns: []string{"soest"}, Mode: mode}
	}
	for _, mode := range []crier.Mode{crier.ModeActual, ""} { // "" takes the instance's: actual
		if _, err := e.Publish(anna, notice(mode), ""); crier.ErrorCode(err) != crier.EFORBIDDEN {
			t.Errorf("mode %q: %v, want forbidden", mode, err)
		}
	}
	if _, err := e.Publish(anna, notice(crier.ModeExercise), ""); err != nil {
		t.Fatalf("an exercise: %v", err)
	}
	published, err := e.Publish(crier.NewContext(context.Background(), crier.AdminPrincipal), notice(crier.ModeActual), "")
	if err != nil {
		t.Fatal(err)
	}
	id := published.Announcement.ID
	if _, err := e.Update(anna, id, &crier.Announcement{Title: "Wasser", Body: "Weiter abkochen.", Towns: []string{"soest"}}, ""); crier.ErrorCode(err) != crier.EFORBIDDEN {
		t.Errorf("update of a real notice: %v, want forbidden", err)
	}
	if _, err := e.Cancel(anna, id, "Entwarnung", ""); err != nil {
		t.Errorf("cancel of a real notice: %v", err)
	}
	if as, _ := db.Announcements(context.Background(), 10); len(as) != 2 {
		t.Errorf("%d announcements stored, want 2", len(as))
	}
}
