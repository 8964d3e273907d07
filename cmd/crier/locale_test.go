package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/crierhq/crier/locale"
)

// TestLocaleKeys: every key the CLI looks up by a literal (m.t, locale.T,
// locale.N) is in the catalog, so that no column or message shows a raw key.
func TestLocaleKeys(t *testing.T) {
	keyRE := regexp.MustCompile(`(?:m\.t|locale\.[TN])\((?:[^,()]+, )?"([a-z_]+\.[a-z_.]*[a-z_])"\s*[,)]`)
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range keyRE.FindAllStringSubmatch(string(b), -1) {
			keys[m[1]] = true
		}
	}
	if len(keys) < 50 {
		t.Fatalf("found only %d keys; is the pattern still right?", len(keys))
	}
	for k := range keys {
		if !locale.Has(k) {
			t.Errorf("locale has no %q", k)
		}
	}
}
