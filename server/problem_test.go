package server

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crierhq/crier"
)

// TestProblemLanguage: the problems of a refused announcement and of a
// preview are given in the Accept-Language language, German by default,
// with their code and args for programs.
func TestProblemLanguage(t *testing.T) {
	e := newEnv(t)
	body := `{"title":"Bürgerbüro geschlossen","body":" ","towns":["soest"]}`
	for _, tt := range []struct {
		accept, want string
	}{
		{"", "darf nicht leer sein"},
		{"de-DE,de;q=0.9", "darf nicht leer sein"},
		{"en-GB,en;q=0.8", "must not be empty"},
	} {
		h := http.Header{}
		if tt.accept != "" {
			h.Set("Accept-Language", tt.accept)
		}
		status, _, b := rawRequestHeader(t, e, http.MethodPost, "/api/v1/announcements", testToken, body, h)
		var got errorResponse
		if err := json.Unmarshal(b, &got); err != nil || status != http.StatusUnprocessableEntity {
			t.Fatalf("Accept-Language %q: %d %s", tt.accept, status, b)
		}
		want := []crier.Problem{{Field: "body", Code: "empty", Message: tt.want}}
		if d := cmp.Diff(want, got.Error.Details); d != "" {
			t.Errorf("Accept-Language %q: details (-want +got):\n%s", tt.accept, d)
		}

		status, _, b = rawRequestHeader(t, e, http.MethodPost, "/api/v1/preview", testToken, body, h)
		var plan crier.Plan
		if err := json.Unmarshal(b, &plan); err != nil || status != http.StatusOK {
			t.Fatalf("preview, Accept-Language %q: %d %s", tt.accept, status, b)
		}
		if d := cmp.Diff(want, plan.Problems); d != "" {
			t.Errorf("preview, Accept-Language %q: problems (-want +got):\n%s", tt.accept, d)
		}
	}
}
