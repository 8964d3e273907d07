package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMissingConfigSaysWhereItLooked: run from a directory without a
// configuration, a command names every place it tried and how to name the
// file, in German by default and in English on request.
func TestMissingConfigSaysWhereItLooked(t *testing.T) {
	t.Chdir(t.TempDir())
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	notice := "---\ntitle: Bürgerbüro geschlossen\ntowns: [soest]\n---\nHeute geschlossen.\n"
	if err := os.WriteFile("notice.md", []byte(notice), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		lang string
		want []string
	}{
		{"", []string{"$CRIER_CONFIG (nicht gesetzt)", filepath.Join(wd, "crier.yaml"), filepath.Join(wd, "config.example.yaml"), "--config DATEI"}},
		{"en", []string{"$CRIER_CONFIG (not set)", filepath.Join(wd, "crier.yaml"), filepath.Join(wd, "config.example.yaml"), "--config FILE"}},
	} {
		for _, args := range [][]string{{"list"}, {"check"}, {"preview", "notice.md"}} {
			code, _, errOut := run(t, map[string]string{"CRIER_LANG": tc.lang}, args...)
			if code != exitInvalid {
				t.Errorf("%s (lang %q): exit %d, want %d", args[0], tc.lang, code, exitInvalid)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("%s (lang %q): stderr lacks %q:\n%s", args[0], tc.lang, w, errOut)
				}
			}
		}
	}

	missing := filepath.Join(wd, "elsewhere.yaml")
	_, _, errOut := run(t, map[string]string{"CRIER_CONFIG": missing, "CRIER_LANG": "en"}, "list")
	if !strings.Contains(errOut, "$CRIER_CONFIG="+missing) || !strings.Contains(errOut, "--config FILE") {
		t.Errorf("missing $CRIER_CONFIG file:\n%s", errOut)
	}
	_, _, errOut = run(t, map[string]string{"CRIER_LANG": "en"}, "list", "--config", "other.yaml")
	if !strings.Contains(errOut, "--config other.yaml → "+filepath.Join(wd, "other.yaml")) {
		t.Errorf("missing --config file:\n%s", errOut)
	}
}
