package main

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// tourLine is one line of a shell block of the README's tour: a command,
// or an output the README promises for the command before it ("#   …").
type tourLine struct {
	n       int    // line number in README.md
	command string // without its trailing comment
	output  []string
}

// readmeTour returns the commands of every ```sh block of the README's
// section "## A tour", up to the next section, with the outputs each
// promises, and the commands of the set-up block before it.
func readmeTour(t *testing.T) (setup, tour []*tourLine) {
	t.Helper()
	f, err := os.Open("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		section string
		inBlock bool
		last    *tourLine
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case !inBlock && strings.HasPrefix(line, "## "):
			section = strings.TrimPrefix(line, "## ")
		case !inBlock && line == "```sh":
			inBlock, last = true, nil
		case inBlock && line == "```":
			inBlock = false
		case !inBlock:
		case strings.HasPrefix(line, "#   ") && last != nil:
			// "#   Alle 17 Zustellungen versandt.": what the command prints.
			last.output = append(last.output, strings.TrimSpace(strings.TrimPrefix(line, "#")))
		case strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "":
			last = nil
		default:
			last = &tourLine{n: n, command: stripComment(line)}
			switch section {
			case "Set-up: two commands":
				setup = append(setup, last)
			case "A tour":
				tour = append(tour, last)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return setup, tour
}

// stripComment removes a shell comment: a # that starts a word outside
// quotes.
func stripComment(line string) string {
	var quote rune
	prev := ' '
	for i, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
		case r == '"' || r == '\'':
			quote = r
		case r == '#' && (prev == ' ' || prev == '\t'):
			return strings.TrimSpace(line[:i])
		}
		prev = r
	}
	return strings.TrimSpace(line)
}

// shellWords splits a command line as a shell would for the simple
// quoting the README uses: words apart by spaces, '…' and "…" keep spaces.
func shellWords(line string) []string {
	var (
		words []string
		word  strings.Builder
		quote rune
		in    bool
	)
	for _, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			word.WriteRune(r)
		case r == '"' || r == '\'':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				words = append(words, word.String())
				word.Reset()
				in = false
			}
		default:
			word.WriteRune(r)
			in = true
		}
	}
	if in {
		words = append(words, word.String())
	}
	return words
}

// placeholderID matches the README's stand-ins for ids: "3kq7…" and
// example ids such as "vevld5bc4rzmptsj".
var placeholderID = regexp.MustCompile(`[a-z0-9]+…|\b[a-z0-9]{16}\b`)

// outputPattern turns an output line of the README into a pattern: ids
// stand for any id, and a run of spaces for any.
func outputPattern(s string) *regexp.Regexp {
	var b strings.Builder
	last := 0
	for _, m := range placeholderID.FindAllStringIndex(s, -1) {
		b.WriteString(regexp.QuoteMeta(s[last:m[0]]))
		b.WriteString(`[a-z0-9]+`)
		last = m[1]
	}
	b.WriteString(regexp.QuoteMeta(s[last:]))
	return regexp.MustCompile(regexp.MustCompile(`\s+`).ReplaceAllString(b.String(), `\s+`))
}

// notCrier says why a set-up command that is not crier's is not run.
var notCrier = map[string]string{
	"go test": "the tests themselves",
}

// TestReadmeTour runs every command of the README's tour as written, in
// order, through Main in a directory holding the example configuration
// and example files, next to a serve started as the set-up block starts
// it (on a free port instead of 8080). The server's clock and the
// commands' read 26 November 2026, the day the tour's dates assume. A
// command that fails, or an output the README promises that the command
// does not print, fails the test with the README's line.
func TestReadmeTour(t *testing.T) {
	setup, tour := readmeTour(t)
	if len(tour) < 15 {
		t.Fatalf("found %d commands in the tour; has the README's \"## A tour\" moved?", len(tour))
	}
	dir := t.TempDir()
	copyFile(t, "../../config.example.yaml", filepath.Join(dir, "config.example.yaml"))
	examples, err := filepath.Glob("../../examples/*.md")
	if err != nil || len(examples) == 0 {
		t.Fatalf("examples: %v", err)
	}
	for _, e := range examples {
		copyFile(t, e, filepath.Join(dir, "examples", filepath.Base(e)))
	}
	t.Chdir(dir)
	berlinNow := time.Date(2026, 11, 26, 10, 0, 0, 0, berlin)
	clock := &shiftClock{offset: time.Until(berlinNow)}

	served := false
	for _, c := range setup {
		args := shellWords(c.command)
		switch {
		case len(args) >= 4 && strings.Join(args[:3], " ") == "go run ./cmd/crier" && args[3] == "serve":
			m, _, stderr := testMain(map[string]string{})
			m.Clock = clock
			// The set-up's own flags, and a free port for 127.0.0.1:8080.
			if len(args) != 6 || args[4] != "--config" {
				t.Fatalf("README.md:%d: serve with other flags than --config: %s", c.n, c.command)
			}
			_, stop := startServe(t, m, stderr, args[5], filepath.Join(dir, "data"))
			t.Cleanup(stop)
			served = true
		case notCrier[strings.Join(args[:min(2, len(args))], " ")] != "":
		default:
			t.Fatalf("README.md:%d: a set-up command the test does not know: %s", c.n, c.command)
		}
	}
	if !served {
		t.Fatal("the README's set-up starts no server")
	}

	var announcement, schedule string // the ids the tour's placeholders stand for
	for _, c := range tour {
		args := shellWords(c.command)
		if len(args) == 0 || args[0] != "crier" {
			t.Fatalf("README.md:%d: not a crier command: %s", c.n, c.command)
		}
		for i, a := range args {
			switch {
			case strings.HasSuffix(a, "…"):
				args[i] = announcement
			case a == "ID":
				args[i] = schedule
			}
		}
		m, stdout, stderr := testMain(map[string]string{})
		m.Clock = clock
		code := m.Run(t.Context(), args[1:])
		out := stdout.String() + stderr.String()
		if code != exitOK {
			t.Fatalf("README.md:%d: %s\nexit %d:\n%s", c.n, c.command, code, out)
		}
		for _, want := range c.output {
			if !outputPattern(want).MatchString(out) {
				t.Errorf("README.md:%d: %s\nprints no line like %q:\n%s", c.n, c.command, want, out)
			}
		}
		if m := regexp.MustCompile(`(Veröffentlicht|Geplant|Zeitplan angelegt): ([a-z0-9]+) – `).FindStringSubmatch(out); m != nil {
			if m[1] == "Veröffentlicht" {
				announcement = m[2]
			} else {
				schedule = m[2]
			}
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
