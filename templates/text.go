package templates

import (
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"
)

// oneLine collapses every run of white space, line breaks included, into
// one space and trims the ends.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// firstParagraph returns the first non-empty paragraph of plain text on
// one line.
func firstParagraph(s string) string {
	for _, p := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n\n") {
		if p = oneLine(p); p != "" {
			return p
		}
	}
	return ""
}

// excerpt returns the first paragraph of s, shortened to at most n runes:
// at the end of a sentence when one ends in the second half of the
// allowance, else at a word boundary with "…". n < 1 gives "".
func excerpt(n int, s string) string {
	p := firstParagraph(s)
	if n < 1 {
		return ""
	}
	r := []rune(p)
	if len(r) <= n {
		return p
	}
	for i := n - 1; i >= n/2; i-- {
		if sentenceEnd(r, i) {
			return string(r[:i+1])
		}
	}
	for i := n - 1; i > 0; i-- {
		if r[i] == ' ' {
			return strings.TrimRight(string(r[:i]), " ,;:–-") + "…"
		}
	}
	return string(r[:n-1]) + "…"
}

// lead returns the leading paragraphs of s that fit into n characters
// (runes, with two for each blank line between them), each as it is, so
// that a list keeps its lines. When even the first paragraph is longer
// than n, it returns the excerpt of n characters instead. n < 1 gives "".
func lead(n int, s string) string {
	if n < 1 {
		return ""
	}
	var out []string
	used := 0
	for _, p := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n\n") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		size := runes(p)
		if len(out) > 0 {
			size += 2
		}
		if used+size > n {
			break
		}
		out = append(out, p)
		used += size
	}
	if len(out) == 0 {
		return excerpt(n, s)
	}
	return strings.Join(out, "\n\n")
}

// sentenceEnd reports whether r[i] ends a sentence: a full stop, question
// or exclamation mark after a lower-case word or a closing bracket or
// quote, followed by a space and an upper-case letter. Dates ("bis 4.
// Dezember") and common abbreviations ("z. B. Ausweise", "bzw. Pässe") are
// not sentence ends.
func sentenceEnd(r []rune, i int) bool {
	if i < 1 || i+2 >= len(r) || !strings.ContainsRune(".!?", r[i]) || r[i+1] != ' ' {
		return false
	}
	if after := r[i+2]; !unicode.IsUpper(after) && after != '„' && after != '"' {
		return false
	}
	if strings.ContainsRune(")\"“", r[i-1]) {
		return true
	}
	start := i
	for start > 0 && unicode.IsLetter(r[start-1]) {
		start--
	}
	word := string(r[start:i])
	return unicode.IsLower(r[i-1]) && runes(word) > 1 && !abbreviations[strings.ToLower(word)]
}

// abbreviations are words that end with a full stop inside a sentence.
var abbreviations = map[string]bool{
	"bzw": true, "ca": true, "evtl": true, "ggf": true, "inkl": true, "max": true, "min": true, "mind": true,
	"nr": true, "sog": true, "str": true, "tel": true, "usw": true, "vgl": true, "zzgl": true, "etc": true,
	"bspw": true, "allg": true, "ehem": true, "gem": true,
}

// hashtag returns s as a hashtag: "Bad Sassendorf" gives "#BadSassendorf",
// "#Soest" stays. Characters a hashtag cannot hold are dropped; nothing
// left gives "".
func hashtag(s string) string {
	var b strings.Builder
	for _, c := range s {
		if unicode.IsLetter(c) || unicode.IsDigit(c) || c == '_' {
			b.WriteRune(c)
		}
	}
	if b.Len() == 0 {
		return ""
	}
	return "#" + b.String()
}

// runes returns the number of characters (Unicode code points) in s.
func runes(s string) int { return utf8.RuneCountInString(s) }

// sub returns a - b.
func sub(a, b int) int { return a - b }

// jsonValue returns v as JSON, without escaping <, > and & (the output is
// not embedded in HTML).
func jsonValue(v any) (string, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// mdEscape makes a value from a town's variables safe to put into Markdown
// source: it shows up as the same text, never as markup, a link or HTML.
// URLs are left alone apart from angle brackets, so that they still turn
// into links.
func mdEscape(s string) string {
	special := "\\`*_[]<>&!~#|"
	if looksLikeURL(s) {
		special = "\\<>"
	}
	var b strings.Builder
	for i, c := range s {
		if strings.ContainsRune(special, c) || (i == 0 && strings.ContainsRune("-+=>", c)) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	out := b.String()
	// "1. Etage" at the start of a line would begin an ordered list.
	if d := strings.IndexFunc(out, func(c rune) bool { return c < '0' || c > '9' }); d > 0 &&
		(out[d] == '.' || out[d] == ')') {
		out = out[:d] + "\\" + out[d:]
	}
	return out
}

// looksLikeURL reports whether s is a single web address.
func looksLikeURL(s string) bool {
	if strings.ContainsFunc(s, unicode.IsSpace) {
		return false
	}
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "www.")
}
