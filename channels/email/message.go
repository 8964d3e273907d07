package email

import (
	"bytes"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/crierhq/crier"
)

// problems lists what is wrong with the parts of m that are the same for
// every recipient: what Check reports at publish time and Send refuses.
func problems(m *crier.Message) []crier.Problem {
	var ps []crier.Problem
	switch {
	case strings.TrimSpace(m.Subject) == "":
		ps = append(ps, crier.Problemf("subject", "empty", "must not be empty"))
	case strings.ContainsAny(m.Subject, "\r\n"):
		ps = append(ps, crier.Problemf("subject", "single_line", "must be a single line (contains a line break)"))
	}
	if strings.TrimSpace(m.Text) == "" {
		ps = append(ps, crier.Problemf("text", "empty", "must not be empty"))
	}
	if m.Language != "" && !isLanguageTag(m.Language) {
		ps = append(ps, crier.Problemf("language", "email.language", "%q is not a language tag such as \"de\" or \"de-DE\"", m.Language))
	}
	return ps
}

// outgoing is one mail ready for a mail transaction.
type outgoing struct {
	rcpt string // the envelope recipient, in angle brackets
	id   string // the Message-ID, in angle brackets
	// data is the mail, dot-stuffed for SMTP DATA and ended with the "."
	// line; it is from mailBuffers until release.
	data *[]byte
}

// mailBuffers holds the buffers that mails are assembled in.
var mailBuffers = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledBuffer is the largest buffer kept for another mail.
const maxPooledBuffer = 1 << 20

// chunk returns o's mail as a BDAT chunk: without DATA's "." line and
// dot-stuffing, which a line of the mail that starts with "." rarely
// needs.
func (o *outgoing) chunk() []byte {
	data := (*o.data)[:len(*o.data)-len(".\r\n")]
	stuffed := []byte("\n..")
	i := bytes.Index(data, stuffed)
	if i < 0 {
		return data
	}
	out := make([]byte, 0, len(data))
	for ; i >= 0; i = bytes.Index(data, stuffed) {
		out = append(out, data[:i+1]...)
		data = data[i+2:] // the line from its own "."
	}
	return append(out, data...)
}

// release returns o's buffer to mailBuffers.
func (o *outgoing) release() {
	if cap(*o.data) <= maxPooledBuffer {
		*o.data = (*o.data)[:0]
		mailBuffers.Put(o.data)
	}
	o.data = nil
}

// compose builds the mail for m's recipient from m's template. An error
// means no retry can send m.
func (c *Channel) compose(m *crier.Message) (*outgoing, error) {
	t, err := c.template(m)
	if err != nil {
		return nil, err
	}
	rcpt, err := crier.NormalizeEmail(m.Recipient)
	if err != nil {
		return nil, fmt.Errorf("recipient: %w", err)
	}
	if !isDotAtom(m.Key) {
		return nil, fmt.Errorf("key %q cannot be a Message-ID", m.Key)
	}
	var unsub *url.URL
	if m.UnsubscribeURL != "" {
		if unsub, err = unsubscribeURL(m.UnsubscribeURL); err != nil {
			return nil, err
		}
	}
	o := &outgoing{
		// The address as go-mail wrote it, quoted where net/mail quotes it.
		rcpt: (&mail.Address{Address: rcpt}).String(),
		id:   "<" + m.Key + "@" + c.cfg.Domain + ">",
		data: mailBuffers.Get().(*[]byte),
	}
	b := c.appendRecipientHeader((*o.data)[:0], o, unsub)
	link := m.UnsubscribeURL
	if link == "" {
		// Without an unsubscribe link the placeholder stays, as it did
		// when the workers replaced it.
		link = crier.UnsubscribePlaceholder
	}
	b = t.appendLinked(b, link)
	if !bytes.HasSuffix(b, crlf) {
		b = append(b, crlf...)
	}
	*o.data = append(b, ".\r\n"...)
	return o, nil
}

// appendRecipientHeader appends the header lines of o that differ from
// recipient to recipient: Date, Message-ID, To and, with an unsubscribe
// link, List-Unsubscribe.
func (c *Channel) appendRecipientHeader(b []byte, o *outgoing, unsub *url.URL) []byte {
	b = append(b, "Date: "...)
	b = c.cfg.Clock.Now().AppendFormat(b, time.RFC1123Z)
	b = append(b, crlf...)
	b = appendHeader(b, "Message-ID", o.id)
	b = appendHeader(b, "To", o.rcpt)
	if unsub == nil {
		return b
	}
	b = append(b, "List-Unsubscribe: <"...)
	b = append(b, unsub.String()...)
	b = append(b, ">\r\n"...)
	// RFC 8058 one-click needs an HTTPS URI; a plain HTTP link (a test
	// setup) is offered for manual unsubscribing only.
	if unsub.Scheme == "https" {
		b = append(b, "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"...)
	}
	return b
}

// unsubscribeURL checks that s is an absolute HTTP(S) URL that can stand
// between angle brackets in a header without escaping.
func unsubscribeURL(s string) (*url.URL, error) {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b <= ' ' || b >= 0x7f || b == '<' || b == '>' || b == '"' || b == ',' {
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
