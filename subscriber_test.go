package crier_test

import (
	"strings"
	"testing"

	"github.com/crierhq/crier"
)

// TestNormalizeEmail checks the one address syntax of the form, the
// import and the API: plain addresses on internet domains only.
func TestNormalizeEmail(t *testing.T) {
	for in, want := range map[string]string{
		"Anna@Example.ORG":     "Anna@example.org",
		" jörg@soest.example ": "jörg@soest.example",
		"a@b.example":          "a@b.example",
		"x@Stadt-Soest.DE":     "x@stadt-soest.de",
		"post@müller.example":  "post@müller.example",
		"a@b":                  "",
		"a@localhost":          "",
		"x@[127.0.0.1]":        "",
		"x@[IPv6:::1]":         "",
		"x@127.0.0.1":          "",
		"x@-soest.example":     "",
		"x@soest..example":     "",
		"x@soest.example.":     "",
		"x@soe_st.example":     "",
		strings.Repeat("a", 65) + "@soest.example":                           "",
		"a@" + strings.Repeat("b", 64) + ".example":                          "",
		strings.Repeat("a", 64) + "@" + strings.Repeat("b.", 94) + "example": "",
		"":                        "",
		"anna":                    "",
		"Anna <anna@example.org>": "",
		"a@b\r\nBcc: x@y":         "",
		"a@b, c@d":                "",
	} {
		got, err := crier.NormalizeEmail(in)
		if want == "" {
			if err == nil {
				t.Errorf("NormalizeEmail(%q) = %q, want an error", in, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
