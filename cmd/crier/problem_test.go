package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProblemLanguage: the problems of an invalid notice are given in
// German by default and in English with the English setting, both when the
// server refuses a publish and when preview finds them on this machine.
func TestProblemLanguage(t *testing.T) {
	srv := mustServe(t, "../../config.example.yaml", nil)
	path := filepath.Join(t.TempDir(), "invalid.md")
	text := "---\ntitle: Bürgerbüro geschlossen\ntowns: [soest, dortmund]\nchannels: [radio, fax]\n---\n  \n"
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"": {
			"body: darf nicht leer sein",
			`towns[1]: unbekannter Ort oder unbekannte Gruppe "dortmund" (bekannt: `,
			`channels[1]: unbekannter Kanal "fax"`,
		},
		"en": {
			"body: must not be empty",
			`towns[1]: unknown town or group "dortmund" (known: `,
			`channels[1]: unknown channel "fax"`,
		},
	}
	// A town variable the town does not have, found for each town and
	// channel.
	missing := filepath.Join(t.TempDir(), "missing.md")
	if err := os.WriteFile(missing, []byte("---\ntitle: Fax\ntowns: [soest]\nchannels: [radio]\n---\nFax: {{.Vars.fax}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for lang, line := range map[string]string{
		"":   `Ort soest, Kanal radio: body: Zeile 1: der Ort hat keine Variable "fax" ({{.Vars.fax}})`,
		"en": `town soest, channel radio: body: line 1: the town has no variable "fax" ({{.Vars.fax}})`,
	} {
		env := map[string]string{"CRIER_SERVER": srv.URL, "CRIER_LANG": lang}
		code, _, errOut := run(t, env, "publish", missing, "--config", "../../config.example.yaml", "--data-dir", srv.DataDir)
		if code != exitInvalid || !strings.Contains(errOut, "  - "+line) {
			t.Errorf("CRIER_LANG=%q, a missing variable: exit %d, want %d and a line %q:\n%s", lang, code, exitInvalid, line, errOut)
		}
	}
	for lang, lines := range want {
		env := map[string]string{"CRIER_SERVER": srv.URL, "CRIER_LANG": lang}
		for _, args := range [][]string{
			{"publish", path, "--config", "../../config.example.yaml", "--data-dir", srv.DataDir},
			{"preview", path, "--config", "../../config.example.yaml"},
		} {
			code, out, errOut := run(t, env, args...)
			if code != exitInvalid {
				t.Errorf("CRIER_LANG=%q %s: exit %d, want %d\n%s%s", lang, args[0], code, exitInvalid, out, errOut)
			}
			for _, l := range lines {
				if !strings.Contains(errOut, "  - "+l) {
					t.Errorf("CRIER_LANG=%q %s: no line %q in\n%s", lang, args[0], l, errOut)
				}
			}
		}
	}
}

// TestConfigProblemLanguage: the problems of a configuration file are
// given in German by default and in English with the English setting.
func TestConfigProblemLanguage(t *testing.T) {
	example, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	config := filepath.Join(dir, "crier.yaml")
	bad := strings.Replace(string(example), "listen: 127.0.0.1:8080", "listen: irgendwo", 1)
	if bad == string(example) {
		t.Fatal("config.example.yaml has no listen: 127.0.0.1:8080 line to break")
	}
	if err := os.WriteFile(config, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	notice := filepath.Join(dir, "notice.md")
	if err := os.WriteFile(notice, []byte("---\ntitle: Test\ntowns: [soest]\n---\nText\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for lang, want := range map[string]string{
		"":   `  listen: "irgendwo" ist nicht Host:Port, z. B. 127.0.0.1:8080`,
		"en": `  listen: "irgendwo" is not host:port, e.g. 127.0.0.1:8080`,
	} {
		code, _, errOut := run(t, map[string]string{"CRIER_LANG": lang}, "preview", "--config", config, notice)
		if code != exitInvalid || !strings.Contains(errOut, "invalid configuration\n") || !strings.Contains(errOut, want+"\n") {
			t.Errorf("CRIER_LANG=%q: exit %d, want %d and the line %q:\n%s", lang, code, exitInvalid, want, errOut)
		}
	}
}

// TestTemplateProblemLanguage: a template syntax error in a notice's body
// and a body that would loop without bound are refused in German by
// default and in English with the English setting, by publish and by
// preview; Go's own text of the syntax error is kept as it is.
func TestTemplateProblemLanguage(t *testing.T) {
	srv := mustServe(t, "../../config.example.yaml", nil)
	dir := t.TempDir()
	for _, tc := range []struct {
		name, body string
		want       map[string]string
	}{
		{"syntax", "Das Rathaus {{if .Title}}bleibt zu.\n", map[string]string{
			"":   "body: Fehler in der Vorlage in Zeile 2: unexpected EOF",
			"en": "body: template error in line 2: unexpected EOF",
		}},
		{"unbounded", "{{range 1000000}}…{{end}}\n", map[string]string{
			"":   "body: Zeile 1: {{range 1000000}}: eine Schleife darf nur über eine Liste der Daten des Orts laufen",
			"en": "body: line 1: {{range 1000000}}: a notice may loop only over a list of the town's data",
		}},
	} {
		path := filepath.Join(dir, tc.name+".md")
		if err := os.WriteFile(path, []byte("---\ntitle: Hinweis\ntowns: [soest]\nchannels: [radio]\n---\n"+tc.body), 0o600); err != nil {
			t.Fatal(err)
		}
		for lang, line := range tc.want {
			env := map[string]string{"CRIER_SERVER": srv.URL, "CRIER_LANG": lang}
			for _, args := range [][]string{
				{"publish", path, "--config", "../../config.example.yaml", "--data-dir", srv.DataDir},
				{"preview", path, "--config", "../../config.example.yaml"},
			} {
				code, out, errOut := run(t, env, args...)
				if code != exitInvalid || !strings.Contains(errOut, line) {
					t.Errorf("%s, CRIER_LANG=%q %s: exit %d, want %d and %q:\n%s%s", tc.name, lang, args[0], code, exitInvalid, line, out, errOut)
				}
			}
		}
	}
}

// TestCSVProblemLanguage: the bad rows of a subscriber CSV are named in
// German by default and in English with the English setting.
func TestCSVProblemLanguage(t *testing.T) {
	srv := mustServe(t, "../../config.example.yaml", nil)
	bad := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(bad, []byte("anna@example.org\nkeine-adresse\nanna@example.org\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for lang, lines := range map[string][]string{
		"":   {`line 2: ungültige E-Mail-Adresse: "keine-adresse" is not a valid address`, "line 3: anna@example.org wiederholt Zeile 1"},
		"en": {`line 2: invalid address: "keine-adresse" is not a valid address`, "line 3: anna@example.org repeats line 1"},
	} {
		env := map[string]string{"CRIER_SERVER": srv.URL, "CRIER_LANG": lang}
		code, _, errOut := run(t, env, "subscribers", "import", bad, "--town", "soest",
			"--config", "../../config.example.yaml", "--data-dir", srv.DataDir)
		for _, l := range lines {
			if code != exitInvalid || !strings.Contains(errOut, l) {
				t.Errorf("CRIER_LANG=%q: exit %d, want %d and %q:\n%s", lang, code, exitInvalid, l, errOut)
			}
		}
	}
}
