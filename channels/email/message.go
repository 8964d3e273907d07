package email

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/crierhq/crier"
	"github.com/wneessen/go-mail"
)

// Headers go-mail has no constant for.
const (
	headerAutoSubmitted mail.Header = "Auto-Submitted" // RFC 3834
)

// problems lists what is wrong with the parts of m that are the same for
// every recipient: what Check reports at publish time and Send refuses.
func problems(m *crier.Message) []crier.Problem {
	var ps []crier.Problem
	add := func(field, msg string) { ps = append(ps, crier.Problem{Field: field, Message: msg}) }
	switch {
	case strings.TrimSpace(m.Subject) == "":
		add("subject", "must not be empty")
	case strings.ContainsAny(m.Subject, "\r\n"):
		add("subject", "must be a single line (contains a line break)")
	}
	if strings.TrimSpace(m.Text) == "" {
		add("text", "must not be empty")
	}
	if m.Language != "" && !isLanguageTag(m.Language) {
		add("language", fmt.Sprintf("%q is not a language tag such as \"de\" or \"de-DE\"", m.Language))
	}
	return ps
}

// compose builds the mail for m's recipient and returns it with its
// Message-ID. An error means no retry can send m.
func (c *Channel) compose(m *crier.Message) (*mail.Msg, string, error) {
	if ps := problems(m); len(ps) > 0 {
		return nil, "", fmt.Errorf("message: %s", ps[0])
	}
	rcpt, err := crier.NormalizeEmail(m.Recipient)
	if err != nil {
		return nil, "", fmt.Errorf("recipient: %w", err)
	}
	if !isDotAtom(m.Key) {
		return nil, "", fmt.Errorf("key %q cannot be a Message-ID", m.Key)
	}
	id := m.Key + "@" + c.cfg.Domain

	msg := mail.NewMsg(mail.WithNoDefaultUserAgent())
	msg.FromMailAddress(c.cfg.from)
	if err := msg.To(rcpt); err != nil {
		return nil, "", fmt.Errorf("recipient: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetDateWithValue(c.cfg.Clock.Now())
	msg.SetMessageIDWithValue(id)
	msg.SetGenHeader(headerAutoSubmitted, "auto-generated")
	if m.Language != "" {
		msg.SetGenHeader(mail.HeaderContentLang, m.Language)
	}
	if m.UnsubscribeURL != "" {
		u, err := unsubscribeURL(m.UnsubscribeURL)
		if err != nil {
			return nil, "", err
		}
		msg.SetListUnsubscribe(u.String())
		// RFC 8058 one-click needs an HTTPS URI; a plain HTTP link (a test
		// setup) is offered for manual unsubscribing only.
		if u.Scheme == "https" {
			msg.SetListUnsubscribePost()
		}
	}
	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	}
	return msg, "<" + id + ">", nil
}

// unsubscribeURL checks that s is an absolute HTTP(S) URL that can stand
// between angle brackets in a header without escaping.
func unsubscribeURL(s string) (*url.URL, error) {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b <= ' ' || b >= 0x7f || strings.IndexByte(`<>",`, b) >= 0 {
			return nil, fmt.Errorf("unsubscribe url %q contains %q", s, b)
		}
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("unsubscribe url: %w", err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("unsubscribe url must be an absolute https url")
	}
	return u, nil
}

// isDotAtom reports whether s is an RFC 5322 dot-atom-text, the form of a
// Message-ID's left-hand side.
func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !isAlnum(b) && strings.IndexByte(".!#$%&'*+-/=?^_`{|}~", b) < 0 {
			return false
		}
	}
	return true
}

// isLanguageTag reports whether s has the shape of a BCP 47 tag.
func isLanguageTag(s string) bool {
	for i, sub := range strings.Split(s, "-") {
		if sub == "" || len(sub) > 8 {
			return false
		}
		for j := 0; j < len(sub); j++ {
			if b := sub[j]; !isAlnum(b) || i == 0 && b <= '9' {
				return false
			}
		}
	}
	return true
}

func isAlnum(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}
