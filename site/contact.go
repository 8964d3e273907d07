package site

import (
	"html/template"
	"net/mail"
	"strings"

	"github.com/crierhq/crier/locale"
)

// contact is one labelled contact detail of a town.
type contact struct {
	Key   string // address, phone, email, hours, website
	Label string // "Telefon"
	Value string
	// URL is a tel:, mailto: or web address for Value, or "". Each is
	// built from a value that was checked (telURL, mail.ParseAddress,
	// webURL), so html/template may take it as it is; it would replace a
	// tel: link by "#ZgotmplZ" otherwise.
	URL template.URL
	// External marks a web address on another host.
	External bool
}

// contacts picks a town's contact details out of its variables, labelled
// in lang, in the order the templates package uses for messages: address
// ("office" and "address" joined), phone, email, hours, website. Empty
// ones are left out; values are shown as written.
func contacts(lang string, vars map[string]string) []contact {
	var cs []contact
	add := func(key, value, url string) {
		if value = strings.TrimSpace(value); value != "" {
			cs = append(cs, contact{Key: key, Label: locale.T(lang, "contact."+key), Value: value, URL: template.URL(url), External: isWeb(url)})
		}
	}
	var addr []string
	for _, k := range []string{"office", "address"} {
		if v := strings.TrimSpace(vars[k]); v != "" {
			addr = append(addr, v)
		}
	}
	add("address", strings.Join(addr, ", "), "")
	add("phone", vars["phone"], telURL(vars["phone"]))
	email := strings.TrimSpace(vars["email"])
	if a, err := mail.ParseAddress(email); err == nil && a.Address == email && !strings.ContainsAny(email, "?#/\\") {
		add("email", email, "mailto:"+email)
	} else {
		add("email", email, "")
	}
	add("hours", vars["hours"], "")
	add("website", vars["website"], webURL(vars["website"]))
	return cs
}

// telURL returns a tel: link for a phone number written with digits,
// spaces, dashes, slashes, dots and brackets, and an optional leading
// "+": "02921 103-0" gives "tel:029211030". Anything else gives "".
func telURL(s string) string {
	s = strings.TrimSpace(s)
	var digits strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits.WriteRune(r)
		case r == '+' && i == 0:
			digits.WriteRune(r)
		case strings.ContainsRune(" -/.()", r):
		default:
			return ""
		}
	}
	if n := len(strings.TrimPrefix(digits.String(), "+")); n < 3 || n > 20 {
		return ""
	}
	return "tel:" + digits.String()
}

// webURL returns an http(s) address for a website variable, adding
// https:// to "www.example.de"; anything else gives "".
func webURL(s string) string {
	s = strings.TrimSpace(s)
	l := strings.ToLower(s)
	switch {
	case strings.ContainsAny(s, " \t\r\n\"'<>"):
		return ""
	case strings.HasPrefix(l, "https://"), strings.HasPrefix(l, "http://"):
		if allowedURL(s) {
			return s
		}
	case strings.HasPrefix(l, "www."):
		if allowedURL("https://" + s) {
			return "https://" + s
		}
	}
	return ""
}
