package site

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// maxPage is the weight every page must stay under.
const maxPage = 50 << 10

// goldenPaths are the answers kept as golden files, by file name: every
// kind of page, both feeds for a town and for all towns, and a CAP
// document of each message type and status.
var goldenPaths = []struct{ file, path string }{
	{"index.html", "/"},
	{"feed.atom", "/feed.atom"},
	{"feed.rss", "/feed.rss"},
	{"soest.html", "/soest/"},
	{"soest.feed.atom", "/soest/feed.atom"},
	{"soest.feed.rss", "/soest/feed.rss"},
	{"soest.updated.html", "/soest/" + idBuergerbuero},
	{"soest.canceled.html", "/soest/" + idSprechstunde},
	{"soest.exercise.html", "/soest/" + idWasser},
	{"soest.expired.html", "/soest/" + idAbfall},
	{"lippstadt.html", "/lippstadt/"},
	{"soest.updated.cap.xml", capPath("soest", idBuergerbuero)},
	{"soest.updated.cap.json", "/soest/" + idBuergerbuero + ".cap.json"},
	{"soest.canceled.cap.xml", capPath("soest", idSprechstunde)},
	{"soest.exercise.cap.xml", capPath("soest", idWasser)},
	{"lippstadt.expires.cap.xml", capPath("lippstadt", idKfz)},
}

// TestGolden serves every kind of page, feed and CAP document of the Kreis
// Soest fixture and compares it with testdata/golden. Run
// go test ./site -update to rewrite the files after a deliberate change,
// and review the diff. Every page stays under 50 KB and every CAP document
// validates against the CAP 1.2 schema.
func TestGolden(t *testing.T) {
	s := mustSite(t, options(kreisSoestSource(t)))
	caps := map[string][]byte{}
	for _, g := range goldenPaths {
		body := mustGet(t, s, g.path)
		golden(t, g.file, body)
		if strings.HasSuffix(g.file, ".html") && len(body) > maxPage {
			t.Errorf("%s weighs %d bytes, more than %d", g.path, len(body), maxPage)
		}
		if strings.HasSuffix(g.file, ".cap.xml") {
			caps[g.file] = body
		}
	}
	validateCAP(t, caps)
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./site -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs from the golden file (-want +got):\n%s", name, diff)
	}
}
