package site

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// capSchema returns the path of the OASIS CAP 1.2 schema, kept unchanged
// in testdata/cap.
func capSchema(tb testing.TB) string {
	tb.Helper()
	xsd, err := filepath.Abs(filepath.Join("testdata", "cap", "CAP-v1.2.xsd"))
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := os.Stat(xsd); err != nil {
		tb.Fatalf("the CAP 1.2 schema: %v", err)
	}
	return xsd
}

// unavailable fails the test on CI (CI=true), where the tools must be
// there, and skips it elsewhere with the reason.
func unavailable(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf("CI=true: "+format, args...)
	}
	tb.Skipf(format+" (CI=true makes this a failure)", args...)
}

// validateCAP checks every document against the CAP 1.2 schema with
// xmllint --noout --schema, in one run. docs maps a name for messages to
// the document. It runs as a subtest, so that a missing xmllint skips
// only the validation, and fails on CI.
func validateCAP(t *testing.T, docs map[string][]byte) {
	t.Helper()
	if len(docs) == 0 {
		t.Fatal("no CAP documents to validate")
	}
	t.Run("xmllint", func(t *testing.T) {
		xsd := capSchema(t)
		xmllint, err := exec.LookPath("xmllint")
		if err != nil {
			unavailable(t, "xmllint not found (Debian: apt-get install libxml2-utils); %d CAP documents not validated", len(docs))
		}
		dir := t.TempDir()
		names := make([]string, 0, len(docs))
		for name := range docs {
			names = append(names, name)
		}
		sort.Strings(names)
		args := []string{"--noout", "--nonet", "--schema", xsd}
		for i, name := range names {
			path := filepath.Join(dir, fmt.Sprintf("%03d-%s.xml", i, strings.NewReplacer("/", "_", " ", "_").Replace(name)))
			if err := os.WriteFile(path, docs[name], 0o644); err != nil {
				t.Fatal(err)
			}
			args = append(args, path)
		}
		out, err := exec.Command(xmllint, args...).CombinedOutput()
		var exit *exec.ExitError
		switch {
		case errors.As(err, &exit):
			t.Errorf("%d CAP documents, not all valid:\n%s", len(docs), out)
			for _, name := range names {
				t.Logf("%s:\n%s", name, docs[name])
			}
		case err != nil:
			t.Fatalf("run xmllint: %v", err)
		}
	})
}
