package crier_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// packages returns every package directory of the module with its
// non-test imports and whether it has a package doc comment.
func packages(t *testing.T) map[string]*pkgInfo {
	t.Helper()
	pkgs := map[string]*pkgInfo{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && path != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		p := pkgs[dir]
		if p == nil {
			p = &pkgInfo{imports: map[string]string{}}
			pkgs[dir] = p
		}
		if f.Doc != nil && strings.TrimSpace(f.Doc.Text()) != "" {
			p.doc = true
		}
		for _, imp := range f.Imports {
			ip, _ := strconv.Unquote(imp.Path.Value)
			p.imports[ip] = path
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

type pkgInfo struct {
	imports map[string]string // import path → file that imports it
	doc     bool
}

// TestPackageDocs checks that every package says what it is for.
func TestPackageDocs(t *testing.T) {
	for dir, p := range packages(t) {
		if !p.doc {
			t.Errorf("package %s has no package doc comment", dir)
		}
	}
}

// TestRootImportsOnlyStdlib keeps the vocabulary free of transports,
// storage and encodings: it imports the standard library only, and not
// even net/http or database/sql.
func TestRootImportsOnlyStdlib(t *testing.T) {
	forbidden := []string{"net/http", "database/sql"}
	for ip, file := range packages(t)["."].imports {
		first, _, _ := strings.Cut(ip, "/")
		if strings.Contains(first, ".") {
			t.Errorf("%s imports %s: the root package uses the standard library only", file, ip)
		}
		for _, f := range forbidden {
			if ip == f || strings.HasPrefix(ip, f+"/") {
				t.Errorf("%s imports %s: the root package must not know transports or storage", file, ip)
			}
		}
	}
}

// TestChannelsStayAdapters forbids channel adapters from reaching into the
// store, the queue or the server: they get plain options and messages.
func TestChannelsStayAdapters(t *testing.T) {
	const mod = "github.com/crierhq/crier/"
	for dir, p := range packages(t) {
		if !strings.HasPrefix(dir, "channels/") {
			continue
		}
		for ip, file := range p.imports {
			for _, f := range []string{"store", "queue", "server", "cmd", "templates"} {
				if ip == mod+f || strings.HasPrefix(ip, mod+f+"/") {
					t.Errorf("%s imports %s: channels must not depend on %s", file, ip, f)
				}
			}
		}
	}
}
