package locale

import (
	"fmt"
	"strings"
)

// Problem returns the text of a validation problem with the given code (a
// crier.Problem's Code, e.g. "title.empty", kept under "problem."+code) in
// lang, made of args, and whether the catalogue has it. english is the
// problem's Message: what a component added after the coded text (such as
// the endpoints that reported it) is kept. A problem the catalogue does
// not know keeps its Message.
func Problem(lang, code string, args []string, english string) (string, bool) {
	key := "problem." + code
	if code == "" || !Has(key) {
		return english, false
	}
	as := make([]any, len(args))
	for i, a := range args {
		as[i] = a
	}
	text := T(lang, key, as...)
	if base := fmt.Sprintf(index[key][langIndex("en")], as...); strings.HasPrefix(english, base) {
		text += english[len(base):]
	}
	return text, true
}
