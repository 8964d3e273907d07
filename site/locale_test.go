package site

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/locale"
)

// TestLocaleKeys checks that every text the site asks for is in the
// catalogue in German and English: the literal keys in its Go files and
// templates, and the ones it builds from events, availabilities and CAP
// categories. An unknown key would show as itself on a page.
func TestLocaleKeys(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	tmpls, _ := filepath.Glob("html/*.tmpl")
	keyRE := regexp.MustCompile(`"((?:site|notice|contact|mode|revision)\.[a-z_.A-Z]+[a-zA-Z_])"`)
	keys := map[string]bool{}
	for _, f := range append(files, tmpls...) {
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
	for _, e := range []string{"published", "updated", "canceled"} {
		keys["site.event."+e] = true
	}
	for _, a := range []Availability{Available, Limited, Unavailable} {
		keys["site.status."+string(a)] = true
	}
	for _, c := range crier.Categories {
		keys["site.cap.event."+c] = true
	}
	for _, k := range []string{"site.not_found.text", "site.error.text", "contact.address", "contact.phone", "contact.email", "contact.hours", "contact.website"} {
		keys[k] = true
	}
	if len(keys) < 40 {
		t.Fatalf("found only %d keys; is the pattern still right?", len(keys))
	}
	for k := range keys {
		if !locale.Has(k) {
			t.Errorf("locale has no %q", k)
		}
	}
}
