package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestServices sets, shows, removes and clears a town's service status
// through the CLI against a running server, and reads it on the town's
// page of the emergency website: a set list replaces the configured one,
// clearing restores it.
func TestServices(t *testing.T) {
	srv := mustServe(t, "../../config.example.yaml", nil)
	env := map[string]string{"CRIER_SERVER": srv.URL, "CRIER_TOKEN": srv.Client.Token}
	enEnv := map[string]string{"CRIER_SERVER": srv.URL, "CRIER_TOKEN": srv.Client.Token, "CRIER_LANG": "en"}
	page := func() string {
		t.Helper()
		resp, err := http.Get(srv.URL + "/soest/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /soest/: %d, %v", resp.StatusCode, err)
		}
		return string(b)
	}
	cli := func(env map[string]string, wantCode int, wants []string, args ...string) string {
		t.Helper()
		code, out, errOut := run(t, env, append([]string{"services"}, args...)...)
		if code != wantCode {
			t.Fatalf("services %v: exit %d, want %d\n%s%s", args, code, wantCode, out, errOut)
		}
		for _, w := range wants {
			if !strings.Contains(out+errOut, w) {
				t.Errorf("services %v lacks %q:\n%s%s", args, w, out, errOut)
			}
		}
		return out
	}

	// The configured list of config.example.yaml.
	cli(env, exitOK, []string{"Bürgerbüro: nicht verfügbar – geschlossen", "Telefon: verfügbar – erreichbar unter 02921 103-0",
		"aus der Konfiguration"}, "soest")
	if p := page(); !strings.Contains(p, "erreichbar unter 02921 103-0") {
		t.Fatalf("/soest/ lacks the configured status:\n%s", p)
	}

	cli(env, exitOK, []string{"Erreichbarkeit für soest gesetzt: Kfz-Zulassung: eingeschränkt – nur mit Termin"},
		"soest", "set", "Kfz-Zulassung", "limited", "nur mit Termin")
	cli(enEnv, exitOK, []string{"Service status for soest set: Bürgerbüro: available – wieder geöffnet"},
		"soest", "set", "Bürgerbüro", "up", "wieder geöffnet")
	out := cli(env, exitOK, []string{"Bürgerbüro: verfügbar – wieder geöffnet", "Telefon:", "Kfz-Zulassung: eingeschränkt – nur mit Termin"}, "soest")
	if strings.Contains(out, "Konfiguration") || strings.Contains(out, "geschlossen") {
		t.Errorf("stored list shown as configured or with the old line:\n%s", out)
	}
	p := page()
	for _, w := range []string{"Kfz-Zulassung", "nur mit Termin", "wieder geöffnet"} {
		if !strings.Contains(p, w) {
			t.Errorf("/soest/ lacks %q after set", w)
		}
	}
	if strings.Contains(p, ">geschlossen<") {
		t.Errorf("/soest/ still shows the replaced line")
	}

	cli(env, exitOK, []string{"Telefon aus der Erreichbarkeit für soest entfernt."}, "soest", "remove", "Telefon")
	if p := page(); strings.Contains(p, "erreichbar unter 02921 103-0") {
		t.Errorf("/soest/ still shows the removed line")
	}

	// Bad input: exit 2, nothing changes.
	cli(env, exitInvalid, []string{"usage: crier services"}, "soest", "set", "Telefon", "up")
	cli(env, exitInvalid, []string{"availability \"offen\""}, "soest", "set", "Telefon", "offen", "x")
	cli(env, exitInvalid, []string{"status[0].text"}, "soest", "set", "Telefon", "up", "zwei\nZeilen")
	cli(env, exitInvalid, []string{"usage: crier services"})
	cli(env, exitFailure, []string{"nirgendwo"}, "nirgendwo")
	cli(env, exitFailure, []string{"Fax"}, "soest", "remove", "Fax")

	cli(env, exitOK, []string{"Erreichbarkeit für soest zurückgesetzt"}, "soest", "clear")
	cli(enEnv, exitOK, []string{"Bürgerbüro: unavailable – geschlossen", "from the configuration"}, "soest")
	p = page()
	if !strings.Contains(p, "erreichbar unter 02921 103-0") || strings.Contains(p, "Kfz-Zulassung") {
		t.Errorf("/soest/ after clear does not show the configured list again:\n%s", p)
	}
}
