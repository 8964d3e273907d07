package locale

// Note returns the text of a note with the given code (a crier.Note's
// Code, e.g. "mastodon.limit_unknown", kept under "note."+code) in lang,
// made of args, and whether the catalogue has it. A note the catalogue
// does not know keeps the text its channel wrote.
func Note(lang, code string, args []string) (string, bool) {
	key := "note." + code
	if !Has(key) {
		return "", false
	}
	as := make([]any, len(args))
	for i, a := range args {
		as[i] = a
	}
	return T(lang, key, as...), true
}
