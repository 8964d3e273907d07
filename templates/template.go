package templates

import (
	"embed"
	"errors"
	htmltemplate "html/template"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/crierhq/crier"
)

// Template names: <kind>.<part>. A file holding one is named <name>.tmpl.
const (
	emailSubject   = "email.subject"
	emailHTML      = "email.html"
	emailText      = "email.text"
	socialText     = "social.text"
	webhookPayload = "webhook.payload"
)

// names lists every template name, in the order messages list them.
var names = []string{emailSubject, emailHTML, emailText, socialText, webhookPayload}

// kinds maps a channel type to the kind of templates rendering it.
var kinds = map[string]string{
	"email":    "email",
	"webhook":  "webhook",
	"mastodon": "social",
	"slack":    "social",
	"site":     "site",
}

//go:embed default/*.tmpl
var defaultFS embed.FS

// tmpl is one parsed template, never executed itself: each render executes
// a clone that carries the town's functions.
type tmpl struct {
	// name is the template's file, relative to the override directory, or
	// under default/ for a built-in one. Problems and errors show it.
	name string
	text *texttemplate.Template
	html *htmltemplate.Template
}

// parseTemplate parses src as the template called name, a file holding the
// template kindPart (e.g. "email.html"). HTML parts use html/template.
func parseTemplate(name, kindPart, src string) (*tmpl, error) {
	// The functions are placeholders with the real signatures; execute
	// replaces them with the town's.
	fm := funcs("", time.UTC)
	t := &tmpl{name: name}
	var err error
	if strings.HasSuffix(kindPart, ".html") {
		t.html, err = htmltemplate.New(name).Option("missingkey=error").Funcs(fm).Parse(src)
		if err == nil {
			err = escapeCheck(t.html)
		}
	} else {
		t.text, err = texttemplate.New(name).Option("missingkey=error").Funcs(fm).Parse(src)
	}
	return t, err
}

// escapeCheck reports html/template's contextual escaping errors (an
// attribute left open, a {{.}} inside a comment), which html/template finds
// only on the first execution, so that they too fail at start. It runs on a
// clone, because an executed html/template can no longer be cloned.
func escapeCheck(t *htmltemplate.Template) error {
	c, err := t.Clone()
	if err != nil {
		return err
	}
	err = c.Execute(io.Discard, nil)
	if _, ok := errors.AsType[*htmltemplate.Error](err); ok {
		return err
	}
	return nil
}

// execute runs the template with the functions fm on d, writing to w.
func (t *tmpl) execute(fm map[string]any, d *Data, w io.Writer) error {
	if t.html != nil {
		c, err := t.html.Clone()
		if err != nil {
			return err
		}
		return c.Funcs(fm).Execute(w, d)
	}
	c, err := t.text.Clone()
	if err != nil {
		return err
	}
	return c.Funcs(fm).Execute(w, d)
}

// parseDefaults parses the embedded templates.
func parseDefaults() (map[string]*tmpl, error) {
	out := make(map[string]*tmpl)
	for _, n := range names {
		file := "default/" + n + ".tmpl"
		src, err := defaultFS.ReadFile(file)
		if errors.Is(err, fs.ErrNotExist) {
			continue // webhook.payload is built in Go
		}
		if err != nil {
			return nil, err
		}
		t, err := parseTemplate(file, n, string(src))
		if err != nil {
			return nil, err
		}
		out[n] = t
	}
	return out, nil
}

// parseOverrides parses every *.tmpl file of fsys (the override directory)
// and returns them by their path in fsys, with a problem for every file
// that is broken, misnamed or misplaced.
func parseOverrides(fsys fs.FS) (map[string]*tmpl, []crier.Problem) {
	out := make(map[string]*tmpl)
	var problems []crier.Problem
	add := func(p crier.Problem) { problems = append(problems, p) }
	err := fs.WalkDir(fsys, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			add(crier.Problemf("template "+p, "template.read", "cannot be read: %v", err))
			return nil
		}
		if p != "." && strings.HasPrefix(e.Name(), ".") {
			if e.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if e.IsDir() || path.Ext(p) != ".tmpl" {
			return nil
		}
		kindPart := strings.TrimSuffix(path.Base(p), ".tmpl")
		if !slices.Contains(names, kindPart) {
			add(crier.Problemf("template "+p, "template.unknown_name", "unknown template %q; the names are %v",
				path.Base(p), strings.Join(fileNames(), ", ")))
			return nil
		}
		if !validPlace(p) {
			add(crier.Problemf("template "+p, "template.misplaced",
				"misplaced; templates go in the directory itself, in <town>/, in channel/<channel>/ or in <town>/channel/<channel>/"))
			return nil
		}
		src, err := fs.ReadFile(fsys, p)
		if err != nil {
			add(crier.Problemf("template "+p, "template.read", "cannot be read: %v", err))
			return nil
		}
		t, err := parseTemplate(p, kindPart, string(src))
		if err != nil {
			add(describeProblem("template "+p, p, err))
			return nil
		}
		out[p] = t
		return nil
	})
	if err != nil {
		add(crier.Problemf("template .", "template.read", "cannot be read: %v", err))
	}
	return out, problems
}

// validPlace reports whether an override file's directory is one of the
// four places templates are looked up in.
func validPlace(p string) bool {
	dirs := strings.Split(path.Dir(p), "/")
	switch {
	case p == path.Base(p):
		return true // <name>.tmpl
	case len(dirs) == 1:
		return dirs[0] != "channel" // <town>/<name>.tmpl
	case len(dirs) == 2:
		return dirs[0] == "channel" // channel/<channel>/<name>.tmpl
	case len(dirs) == 3:
		return dirs[0] != "channel" && dirs[1] == "channel" // <town>/channel/<channel>/<name>.tmpl
	}
	return false
}

func fileNames() []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = n + ".tmpl"
	}
	return out
}

// candidates returns the override paths for a template name of a town and
// channel, most specific first.
func candidates(town, channel, name string) []string {
	file := name + ".tmpl"
	return []string{
		path.Join(town, "channel", channel, file),
		path.Join(town, file),
		path.Join("channel", channel, file),
		file,
	}
}
