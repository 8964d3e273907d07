package server

import (
	"encoding/json"
	"net/http"
	"strings"
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

// TestCodedProblemLanguage: problems of the request itself and of
// subscriber rows are given in the Accept-Language language too, with the
// address check's own text kept as it is. (The renderer's problems are
// tested through crier itself: this server renders with a fake.)
func TestCodedProblemLanguage(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct {
		name, method, path, body string
		status                   int
		de, en                   string
	}{
		{"server-set field", http.MethodPost, "/api/v1/announcements", `{"id":"x","title":"T","body":"B","towns":["soest"]}`,
			http.StatusUnprocessableEntity,
			"wird vom Server vergeben; weglassen", "is assigned by the server; leave it out"},
		{"unknown field", http.MethodPost, "/api/v1/announcements", `{"titel":"T"}`,
			http.StatusBadRequest, "unbekanntes Feld", "unknown field"},
		{"query parameter", http.MethodGet, "/api/v1/announcements?limit=viele", "",
			http.StatusUnprocessableEntity, `"viele" ist keine positive ganze Zahl`, `"viele" is not a positive whole number`},
		{"subscriber row", http.MethodPost, "/api/v1/subscribers",
			`{"subscribers":[{"town":"soest","email":"nobody","state":"confirmed"}]}`,
			http.StatusUnprocessableEntity, `ungültige E-Mail-Adresse: "nobody" is not a valid address`,
			`invalid address: "nobody" is not a valid address`},
	} {
		for lang, want := range map[string]string{"": tt.de, "en": tt.en} {
			h := http.Header{}
			if lang != "" {
				h.Set("Accept-Language", lang)
			}
			status, _, b := rawRequestHeader(t, e, tt.method, tt.path, testToken, tt.body, h)
			var got errorResponse
			if err := json.Unmarshal(b, &got); err != nil || status != tt.status {
				t.Fatalf("%s, Accept-Language %q: %d %s", tt.name, lang, status, b)
			}
			found := false
			for _, p := range got.Error.Details {
				found = found || p.Code != "" && strings.Contains(p.Message, want)
			}
			if !found {
				t.Errorf("%s, Accept-Language %q: no coded problem says %q:\n%s", tt.name, lang, want, b)
			}
		}
	}
}
