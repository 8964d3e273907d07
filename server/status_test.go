package server

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crierhq/crier"
)

// fakeStatuses is an in-memory crier.ServiceStatusStore.
type fakeStatuses struct {
	mu    sync.Mutex
	lists map[string][]crier.ServiceStatus
}

func (f *fakeStatuses) ServiceStatus(_ context.Context, town string) ([]crier.ServiceStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.lists[town]), nil
}

func (f *fakeStatuses) SetServiceStatus(_ context.Context, town string, lines []crier.ServiceStatus, now time.Time) error {
	if err := crier.Invalid("invalid service status", crier.CheckServiceStatus(lines)); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lists == nil {
		f.lists = map[string][]crier.ServiceStatus{}
	}
	out := slices.Clone(lines)
	for i := range out {
		out[i].Updated = now
	}
	f.lists[town] = out
	return nil
}

var configuredSoest = []crier.ServiceStatus{{Service: "Bürgerbüro", Availability: crier.ServiceUp, Text: "geöffnet"}}

func statusEnv(t *testing.T) (*env, *fakeStatuses) {
	st := &fakeStatuses{}
	e := newEnv(t, func(o *Options) {
		o.Statuses = st
		o.DefaultStatus = map[string][]crier.ServiceStatus{"soest": configuredSoest}
	})
	return e, st
}

// TestServiceStatus: the configured list shows until one is set; a set
// list replaces it whole; an empty list restores the configured one.
func TestServiceStatus(t *testing.T) {
	e, _ := statusEnv(t)
	ctx := context.Background()
	got, err := e.client.ServiceStatus(ctx, "soest")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(&ServiceStatusList{Town: "soest", Status: configuredSoest, Configured: true}, got); d != "" {
		t.Errorf("configured list (-want +got):\n%s", d)
	}
	if got, err := e.client.ServiceStatus(ctx, "werl"); err != nil || got.Status == nil || len(got.Status) != 0 || got.Configured {
		t.Errorf("Werl without any list = %+v, %v; want an empty list", got, err)
	}
	set := []crier.ServiceStatus{
		{Service: " Bürgerbüro ", Availability: crier.ServiceDown, Text: "geschlossen"},
		{Service: "Telefon", Text: "erreichbar unter 02921 103-0"},
	}
	got, err = e.client.SetServiceStatus(ctx, "soest", set)
	if err != nil {
		t.Fatal(err)
	}
	want := &ServiceStatusList{Town: "soest", Status: []crier.ServiceStatus{
		{Service: "Bürgerbüro", Availability: crier.ServiceDown, Text: "geschlossen", Updated: testNow},
		{Service: "Telefon", Text: "erreichbar unter 02921 103-0", Updated: testNow},
	}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("after PUT (-want +got):\n%s", d)
	}
	if got, err := e.client.ServiceStatus(ctx, "soest"); err != nil || cmp.Diff(want, got) != "" {
		t.Errorf("GET after PUT = %+v, %v", got, err)
	}
	got, err = e.client.SetServiceStatus(ctx, "soest", nil)
	if err != nil || !got.Configured || cmp.Diff(configuredSoest, got.Status) != "" {
		t.Errorf("after clearing = %+v, %v; want the configured list", got, err)
	}
}

// TestServiceStatusInvalid: every problem of a list comes in one 422 with
// its index, nothing is stored; unknown towns are 404; a body without
// "status" never clears a list.
func TestServiceStatusInvalid(t *testing.T) {
	e, st := statusEnv(t)
	ctx := context.Background()
	long := strings.Repeat("ä", crier.MaxServiceTextRunes+1)
	lines := []crier.ServiceStatus{
		{Service: "", Availability: "open", Text: "x"},
		{Service: "Telefon", Text: "zwei\nZeilen"},
		{Service: "Telefon", Text: "nochmal"},
		{Service: "Kfz", Text: long},
		{Service: "Amt"},
	}
	for range crier.MaxServiceStatusLines {
		lines = append(lines, crier.ServiceStatus{Service: "x" + string(rune('a'+len(lines))), Text: "ok"})
	}
	_, err := e.client.SetServiceStatus(ctx, "soest", lines)
	if crier.ErrorCode(err) != crier.EINVALID {
		t.Fatalf("SetServiceStatus = %v, want invalid", err)
	}
	if status, _ := e.seen.last(); status != http.StatusUnprocessableEntity {
		t.Errorf("status %d, want 422", status)
	}
	want := []string{"status", "status[0].service", "status[0].availability", "status[1].text",
		"status[2].service", "status[3].text", "status[4].text"}
	if d := cmp.Diff(want, problemPlaces(crier.ErrorDetails(err))); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
	if len(st.lists) != 0 {
		t.Errorf("stored %v after an invalid list", st.lists)
	}

	if _, err := e.client.ServiceStatus(ctx, "nirgendwo"); crier.ErrorCode(err) != crier.ENOTFOUND {
		t.Errorf("GET unknown town: %v, want not_found", err)
	}
	if _, err := e.client.SetServiceStatus(ctx, "nirgendwo", nil); crier.ErrorCode(err) != crier.ENOTFOUND {
		t.Errorf("PUT unknown town: %v, want not_found", err)
	}
	if status, body := rawRequest(t, e, http.MethodPut, "/api/v1/towns/soest/status", testToken, `{}`); status != http.StatusUnprocessableEntity {
		t.Errorf("PUT {}: %d %s, want 422", status, body)
	}
	if status, body := rawRequest(t, e, http.MethodPut, "/api/v1/towns/soest/status", testToken, `{"status":[],"extra":1}`); status != http.StatusBadRequest {
		t.Errorf("PUT with an unknown field: %d %s, want 400", status, body)
	}
}

// TestServiceStatusAuth: both routes need the token; without a store they
// answer 501.
func TestServiceStatusAuth(t *testing.T) {
	e, _ := statusEnv(t)
	for _, method := range []string{http.MethodGet, http.MethodPut} {
		if status, _ := rawRequest(t, e, method, "/api/v1/towns/soest/status", "", `{"status":[]}`); status != http.StatusUnauthorized {
			t.Errorf("%s without a token: %d, want 401", method, status)
		}
		if status, _ := rawRequest(t, e, method, "/api/v1/towns/soest/status", "wrong", `{"status":[]}`); status != http.StatusUnauthorized {
			t.Errorf("%s with a wrong token: %d, want 401", method, status)
		}
	}
	e = newEnv(t)
	if _, err := e.client.ServiceStatus(context.Background(), "soest"); crier.ErrorCode(err) != CodeNotImplemented {
		t.Errorf("GET without a store: %v, want not_implemented", err)
	}
	if status, _ := e.seen.last(); status != http.StatusNotImplemented {
		t.Errorf("GET without a store: %d, want 501", status)
	}
}
