package crier_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/crierhq/crier"
)

// FuzzReadSubscriberCSV reads subscriber lists as an import gets them.
// Every address read is valid and appears once; every bad row is reported
// with the line of the file it starts on, which is never an empty line
// (the CSV reader skips those), and a repeated address names an earlier
// line.
func FuzzReadSubscriberCSV(f *testing.F) {
	for _, s := range []string{
		"email,name\nanna@example.org,Anna Schmidt\nJoerg@Example.ORG,Jörg Müller\n",
		"anna@example.org\nkeine-adresse\nanna@example.org\nx@y\r\nBcc: z@y\n",
		"\n\n\nkeine-adresse\n",
		"\"anna\n@example.org\",Anna\nkeine-adresse\n",
		"\"a\"b\",c\nx@y.de,\"offen\n",
		"Email;Name\n  \"bernd@example.org\"  ,  Bernd  \n,leer\n\"\"\n",
		"\ufeffemail\nanna@example.org,\"Anna \"\"die Erste\"\"\",zu,viele,felder\n",
		"\"x@y\r\n\r\n\",z\n\n\"",
	} {
		f.Add(s)
	}
	linePlace := regexp.MustCompile(`^line ([0-9]+)$`)
	repeats := regexp.MustCompile(`repeats line ([0-9]+)$`)
	f.Fuzz(func(t *testing.T, data string) {
		subs, problems := crier.ReadSubscriberCSV(strings.NewReader(data))
		lines := strings.Split(data, "\n")
		seen := map[string]bool{}
		for _, s := range subs {
			if e, err := crier.NormalizeEmail(s.Email); err != nil || e != s.Email {
				t.Fatalf("%q: imported %q, which is not a normalized address", data, s.Email)
			}
			if seen[s.Email] {
				t.Fatalf("%q: imported %q twice", data, s.Email)
			}
			seen[s.Email] = true
		}
		for _, p := range problems {
			m := linePlace.FindStringSubmatch(p.Field)
			if m == nil {
				t.Fatalf("%q: problem %q at %q, not at a line", data, p.Message, p.Field)
			}
			n, _ := strconv.Atoi(m[1])
			if n < 1 || n > len(lines) {
				t.Fatalf("%q: problem %q at line %d of %d", data, p.Message, n, len(lines))
			}
			if strings.TrimSuffix(lines[n-1], "\r") == "" {
				t.Fatalf("%q: problem %q at line %d, which is empty", data, p.Message, n)
			}
			if r := repeats.FindStringSubmatch(p.Message); r != nil {
				if first, _ := strconv.Atoi(r[1]); first >= n {
					t.Fatalf("%q: line %d repeats line %d", data, n, first)
				}
			}
		}
	})
}
