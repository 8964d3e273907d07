// Package locale holds every user-facing string of crier in German and
// English, and formats dates for people.
//
// German is the default: an unknown or empty language gets German text, and
// an unknown key is returned as it is, so that a missing string shows up
// plainly instead of as an empty line. Messages that take arguments use fmt
// verbs; explicit argument indexes (%[2]s) let a translation reorder them.
package locale

import (
	"fmt"
	"slices"
	"strings"
)

// Default is the language used when a requested one is not available.
const Default = "de"

// languages lists the supported languages, the default first. Each entry
// in catalog has one text per language, in this order.
var languages = []string{"de", "en"}

// Languages returns the supported language tags, the default first.
func Languages() []string {
	return append([]string(nil), languages...)
}

// Match returns the supported language for a BCP 47 tag or a POSIX locale
// name: "de-DE", "en_GB.UTF-8" and "EN" give "de", "en" and "en". Anything
// else, including "", gives Default.
func Match(tag string) string {
	base, _, _ := strings.Cut(tag, "-")
	base, _, _ = strings.Cut(base, "_")
	base, _, _ = strings.Cut(base, ".")
	base = strings.ToLower(strings.TrimSpace(base))
	for i, l := range languages {
		if l == base {
			return languages[i]
		}
	}
	return Default
}

// Accept returns the language for an HTTP Accept-Language header: the first
// of its tags, in the order the header lists them, that the catalogue
// has ("fr, en-GB;q=0.8" gives "en"), and Default when none is. Quality
// values are not weighed: browsers list the tags in their order.
func Accept(header string) string {
	for part := range strings.SplitSeq(header, ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		if slices.Contains(languages, base) {
			return base
		}
	}
	return Default
}

// T returns the text for key in lang, formatted with args by fmt.Sprintf
// when any are given. An unsupported lang falls back to German; an unknown
// key is returned unchanged.
func T(lang, key string, args ...any) string {
	texts, ok := index[key]
	if !ok {
		return key
	}
	s := texts[langIndex(Match(lang))]
	if len(args) > 0 {
		s = fmt.Sprintf(s, args...)
	}
	return s
}

// N returns the text for key in lang for the count n: the key's ".one"
// form when n is 1 and the catalogue has one, else the key itself. n is the
// first formatting argument, followed by args.
func N(lang, key string, n int, args ...any) string {
	k := key
	if _, ok := index[key+".one"]; ok && n == 1 {
		k = key + ".one"
	}
	return T(lang, k, append([]any{n}, args...)...)
}

// Has reports whether the catalogue has key.
func Has(key string) bool {
	_, ok := index[key]
	return ok
}

// Keys returns every key of the catalogue in catalogue order.
func Keys() []string {
	keys := make([]string, len(entries))
	for i, e := range entries {
		keys[i] = e.key
	}
	return keys
}

func langIndex(lang string) int {
	for i, l := range languages {
		if l == lang {
			return i
		}
	}
	return 0
}

// entries is every message of the catalogue: catalog, then the parts of
// the newsroom, each in a file of its own.
var entries = slices.Concat(catalog, newsroomCatalog, composeCatalog, watchCatalog, operateCatalog, accessCatalog, auditCatalog,
	approvalCatalog, scopeCatalog, reviewCatalog)

// index maps each key to its texts, one per language.
var index = func() map[string][]string {
	m := make(map[string][]string, len(entries))
	for _, e := range entries {
		m[e.key] = []string{e.de, e.en}
	}
	return m
}()
