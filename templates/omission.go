package templates

import (
	"strings"

	"github.com/crierhq/crier"
)

// omissionFromRunes is how much of the missing text Omission.From shows.
const omissionFromRunes = 40

// omission returns what of the body's plain text bodyText the post text
// leaves out, or nil when it carries every paragraph. Both are compared
// with white space made single spaces, so that a template may rewrap the
// text. A paragraph the post carries only the beginning of counts as
// missing, with the characters after that beginning.
func omission(bodyText, text string) *crier.Omission {
	post := oneLine(text)
	var o crier.Omission
	for _, p := range strings.Split(strings.ReplaceAll(bodyText, "\r\n", "\n"), "\n\n") {
		words := strings.Fields(p)
		if len(words) == 0 {
			continue
		}
		o.Total++
		if strings.Contains(post, strings.Join(words, " ")) {
			continue
		}
		kept := keptWords(post, words)
		rest := strings.Join(words[kept:], " ")
		o.Paragraphs++
		o.Characters += runes(rest)
		if o.From == "" {
			o.From = startOf(rest, omissionFromRunes)
		}
	}
	if o.Paragraphs == 0 {
		return nil
	}
	return &o
}

// keptWords returns how many of the paragraph's first words post carries
// in a row.
func keptWords(post string, words []string) int {
	kept := 0
	for kept < len(words) && strings.Contains(post, strings.Join(words[:kept+1], " ")) {
		kept++
	}
	return kept
}

// startOf returns s cut to at most n characters at a word boundary, with
// " …" when it cuts.
func startOf(s string, n int) string {
	if runes(s) <= n {
		return s
	}
	r := []rune(s)
	cut := strings.LastIndexByte(string(r[:n]), ' ')
	if cut <= 0 {
		return string(r[:n]) + " …"
	}
	return string(r[:n])[:cut] + " …"
}
