package site

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/crierhq/crier"
)

// Export writes the site as static files under dir, creating it: the same
// pages, feeds and CAP documents the server answers, with links between
// them relative and ending in file names (soest/index.html,
// soest/ID.html), so that the copy works from any web space and from
// file://. Feeds and CAP documents link absolutely under Options.BaseURL
// when it is set, which for an outside host should be that host's address.
//
// Each file is written to a temporary name and renamed, so that a web
// server never sends a half-written file, and gets the time its content
// last changed as its modification time. A successful export lists the
// files it wrote in dir/.crier-export; the next one removes those of them
// that it does not write again (announcements no longer listed), so that
// the copy answers as the server does. Files that no export wrote are
// left alone. Export returns the paths written, relative to dir, with
// slashes.
func (s *Site) Export(ctx context.Context, dir string) ([]string, error) {
	written, err := s.export(ctx, dir)
	if err != nil {
		return written, err
	}
	if err := replaceManifest(dir, written); err != nil {
		return written, err
	}
	return written, nil
}

// manifestName is the file in an export's directory that lists the paths
// the export wrote, one per line.
const manifestName = ".crier-export"

// replaceManifest removes the files that the previous export listed and
// that written lacks, and lists written instead. A listed path that is
// not a local path under dir is ignored.
func replaceManifest(dir string, written []string) error {
	keep := make(map[string]bool, len(written))
	for _, w := range written {
		keep[w] = true
	}
	old, err := os.ReadFile(filepath.Join(dir, manifestName))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("export: %w", err)
	}
	for path := range strings.Lines(string(old)) {
		path = strings.TrimSpace(path)
		if path == "" || keep[path] || !filepath.IsLocal(filepath.FromSlash(path)) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(path))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("export: remove a file of the previous export: %w", err)
		}
	}
	list := strings.Join(written, "\n") + "\n"
	return writeFile(filepath.Join(dir, manifestName), &document{body: []byte(list)})
}

// export writes the site's files under dir and returns their paths.
func (s *Site) export(ctx context.Context, dir string) ([]string, error) {
	p := paths{files: true}
	var written []string
	write := func(path string, d *document, err error) error {
		if err != nil {
			return fmt.Errorf("render %s: %w", path, err)
		}
		if err := writeFile(filepath.Join(dir, filepath.FromSlash(path)), d); err != nil {
			return err
		}
		written = append(written, path)
		return ctx.Err()
	}
	d, err := s.indexPage(ctx, p)
	if err := write(p.index(), d, err); err != nil {
		return written, err
	}
	for _, kind := range []string{"atom", "rss"} {
		d, err := s.feed(ctx, p, "", kind)
		if err := write(p.feed("", kind), d, err); err != nil {
			return written, err
		}
	}
	towns, err := s.towns(ctx)
	if err != nil {
		return written, err
	}
	for _, t := range towns {
		d, err := s.townPage(ctx, p, t.ID)
		if err := write(p.town(t.ID), d, err); err != nil {
			return written, err
		}
		for _, kind := range []string{"atom", "rss"} {
			d, err := s.feed(ctx, p, t.ID, kind)
			if err := write(p.feed(t.ID, kind), d, err); err != nil {
				return written, err
			}
		}
		ns, err := s.notices(ctx, t.ID)
		if err != nil {
			return written, err
		}
		for _, n := range ns {
			id := n.ID()
			for _, f := range []struct {
				path   string
				render func(context.Context, paths, string, string) (*document, error)
			}{
				{p.notice(t.ID, id), s.noticePage},
				{p.capXML(t.ID, id), s.capXML},
				{p.capJSON(t.ID, id), s.capJSON},
			} {
				d, err := f.render(ctx, p, t.ID, id)
				if err := write(f.path, d, err); err != nil {
					return written, err
				}
			}
		}
	}
	return written, nil
}

// feed renders the Atom ("atom") or RSS ("rss") feed of a town, or of
// every town for "".
func (s *Site) feed(ctx context.Context, p paths, town, kind string) (*document, error) {
	if kind == "rss" {
		return s.rss(ctx, p, town)
	}
	return s.atom(ctx, p, town)
}

// writeFile writes d to path through a temporary file in the same
// directory and sets its modification time to d.modified.
func writeFile(path string, d *document) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".crier-*")
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(d.body)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && !d.modified.IsZero() {
		err = os.Chtimes(tmp, d.modified, d.modified)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("export %s: %w", path, err)
	}
	return nil
}

// notFound returns the error for a path the site does not have.
func notFound(path string) error {
	return crier.Errorf(crier.ENOTFOUND, "no page %s", path)
}
