package mastodon

import (
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rivo/uniseg"
)

// Mastodon's defaults, used when an instance does not say otherwise.
const (
	// DefaultMaxCharacters is the length Mastodon allows a status unless
	// the instance is configured otherwise.
	DefaultMaxCharacters = 500
	// DefaultCharactersPerURL is what every link counts for, whatever its
	// real length.
	DefaultCharactersPerURL = 23
)

// Length returns the length of a status with the given text and spoiler
// text (content warning) as Mastodon counts it against an instance's
// character limit: the grapheme clusters of the spoiler text and the text
// together, where every http or https URL in the text counts as urlChars
// characters whatever its real length, and a mention of an account on
// another instance, @user@domain, counts as @user. A urlChars of zero or
// less means DefaultCharactersPerURL.
//
// The rules follow Mastodon's StatusLengthValidator. Where its link parser
// is stricter (it wants a known top-level domain, so a made-up host such as
// social.example is not a link to it), Length counts a shorter text than
// Mastodon does.
func Length(text, spoilerText string, urlChars int) int {
	if urlChars <= 0 {
		urlChars = DefaultCharactersPerURL
	}
	return uniseg.GraphemeClusterCount(spoilerText + countable(text, urlChars))
}

// entity is a part of a text that counts as something else.
type entity struct {
	start, end int
	as         string
}

// countable returns text with every link replaced by urlChars characters
// and every remote mention by its local part.
func countable(text string, urlChars int) string {
	if strings.TrimSpace(text) == "" {
		return ""
	}
	ents := append(links(text, strings.Repeat("x", urlChars)), mentions(text)...)
	slices.SortStableFunc(ents, func(a, b entity) int { return a.start - b.start })
	var b strings.Builder
	pos := 0
	for _, e := range ents {
		if e.start < pos {
			continue // overlaps an earlier entity, which wins
		}
		b.WriteString(text[pos:e.start])
		b.WriteString(e.as)
		pos = e.end
	}
	b.WriteString(text[pos:])
	return b.String()
}

var (
	linkStart = regexp.MustCompile(`(?i)https?://`)
	// mention is Mastodon's MENTION_RE without its look-behind, which
	// mentions checks by hand.
	mention = regexp.MustCompile(`(?i)@([a-z0-9_]+(?:[a-z0-9_.-]+[a-z0-9_]+)?)(@[\pL\pN\pM_.-]+[\pL\pN\pM_]+)?`)
)

// links finds the http and https URLs in text.
func links(text, placeholder string) []entity {
	var ents []entity
	for _, m := range linkStart.FindAllStringIndex(text, -1) {
		if r, _ := utf8.DecodeLastRuneInString(text[:m[0]]); m[0] > 0 && !linkMayFollow(r) {
			continue
		}
		end := linkEnd(text, m[1])
		if end < 0 {
			continue
		}
		ents = append(ents, entity{start: m[0], end: end, as: placeholder})
	}
	return ents
}

// linkMayFollow reports whether a link is recognized after r.
func linkMayFollow(r rune) bool {
	return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("@＠$#＃", r)
}

// linkEnd returns where the link whose host starts at i ends, or -1 when
// no valid host follows.
func linkEnd(text string, i int) int {
	host := i
	for host < len(text) {
		r, size := utf8.DecodeRuneInString(text[host:])
		if !isHostRune(r) {
			break
		}
		host += size
	}
	h := strings.TrimRight(text[i:host], ".-_")
	if dot := strings.LastIndexByte(h, '.'); dot <= 0 || dot == len(h)-1 || strings.HasPrefix(h, "-") {
		return -1
	}
	end := i + len(h)
	if end < host { // the host ended in punctuation: so does the link
		return end
	}
	// The rest of the link: an optional port, path, query and fragment,
	// up to white space, without trailing punctuation or an unbalanced
	// closing parenthesis.
	for end < len(text) {
		r, size := utf8.DecodeRuneInString(text[end:])
		if unicode.IsSpace(r) || strings.ContainsRune(`<>"`, r) {
			break
		}
		end += size
	}
	for end > i+len(h) {
		r, size := utf8.DecodeLastRuneInString(text[:end])
		rest := text[i:end]
		if strings.ContainsRune(`.,:;!?'*$%[]~&|@「」(`, r) ||
			r == ')' && strings.Count(rest, "(") < strings.Count(rest, ")") {
			end -= size
			continue
		}
		break
	}
	return end
}

func isHostRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) || r == '.' || r == '-' || r == '_'
}

// mentions finds the mentions in text; a remote mention counts as its local part.
func mentions(text string) []entity {
	var ents []entity
	for _, m := range mention.FindAllStringSubmatchIndex(text, -1) {
		if r, _ := utf8.DecodeLastRuneInString(text[:m[0]]); m[0] > 0 && !mentionMayFollow(r) {
			continue
		}
		ents = append(ents, entity{start: m[0], end: m[1], as: "@" + text[m[2]:m[3]]})
	}
	return ents
}

// mentionMayFollow reports whether a mention is recognized after r.
func mentionMayFollow(r rune) bool {
	return r != '=' && r != '/' && !isWordRune(r)
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) || unicode.Is(unicode.Pc, r)
}
