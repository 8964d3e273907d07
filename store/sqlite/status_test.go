package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crierhq/crier"
)

// TestServiceStatus: a town's list is replaced as a whole, kept per town,
// keeps the time of unchanged lines, survives a reopen, and an empty list
// removes it.
func TestServiceStatus(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crier.db")
	db := MustOpen(t, path)
	if got, err := db.ServiceStatus(ctx, "soest"); err != nil || len(got) != 0 {
		t.Fatalf("ServiceStatus before any = %v, %v; want none", got, err)
	}
	first := []crier.ServiceStatus{
		{Service: "Bürgerbüro", Availability: crier.ServiceDown, Text: "geschlossen"},
		{Service: "Telefon", Availability: crier.ServiceUp, Text: "erreichbar unter 02921 103-0"},
	}
	if err := db.SetServiceStatus(ctx, "soest", first, t0); err != nil {
		t.Fatal(err)
	}
	if err := db.SetServiceStatus(ctx, "werl", []crier.ServiceStatus{{Service: "Rathaus", Text: "offen"}}, t0); err != nil {
		t.Fatal(err)
	}
	later := t0.Add(time.Hour)
	second := []crier.ServiceStatus{
		{Service: "Telefon", Availability: crier.ServiceUp, Text: "erreichbar unter 02921 103-0"},
		{Service: "Bürgerbüro", Availability: crier.ServiceLimited, Text: "nur mit Termin"},
		{Service: "Kfz-Zulassung", Text: "ab Montag"},
	}
	if err := db.SetServiceStatus(ctx, "soest", second, later); err != nil {
		t.Fatal(err)
	}
	want := []crier.ServiceStatus{
		{Service: "Telefon", Availability: crier.ServiceUp, Text: "erreichbar unter 02921 103-0", Updated: t0},
		{Service: "Bürgerbüro", Availability: crier.ServiceLimited, Text: "nur mit Termin", Updated: later},
		{Service: "Kfz-Zulassung", Text: "ab Montag", Updated: later},
	}
	got, err := db.ServiceStatus(ctx, "soest")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ServiceStatus after replace (-want +got):\n%s", d)
	}

	// Invalid lists change nothing and name every problem.
	bad := []crier.ServiceStatus{
		{Service: "", Availability: "open", Text: "x"},
		{Service: "Telefon", Text: "zwei\nZeilen"},
		{Service: "Telefon", Text: "nochmal"},
	}
	err = db.SetServiceStatus(ctx, "soest", bad, later)
	if crier.ErrorCode(err) != crier.EINVALID {
		t.Fatalf("SetServiceStatus(bad) = %v, want invalid", err)
	}
	var fields []string
	for _, p := range crier.ErrorDetails(err) {
		fields = append(fields, p.Field)
	}
	if d := cmp.Diff([]string{"status[0].service", "status[0].availability", "status[1].text", "status[2].service"}, fields); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}

	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = MustOpen(t, path)
	if got, err := db.ServiceStatus(ctx, "soest"); err != nil || cmp.Diff(want, got) != "" {
		t.Errorf("ServiceStatus after reopen = %v, %v", got, err)
	}
	if err := db.SetServiceStatus(ctx, "soest", nil, later); err != nil {
		t.Fatal(err)
	}
	if got, err := db.ServiceStatus(ctx, "soest"); err != nil || len(got) != 0 {
		t.Errorf("ServiceStatus after clearing = %v, %v; want none", got, err)
	}
	if got, err := db.ServiceStatus(ctx, "werl"); err != nil || len(got) != 1 || got[0].Service != "Rathaus" {
		t.Errorf("Werl's list after clearing Soest's = %v, %v", got, err)
	}
}
