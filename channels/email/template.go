package email

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html"
	"mime"
	"strings"
	"sync"

	"github.com/crierhq/crier"
)

// maxTemplates bounds the templates a Channel keeps; when there would be
// more, it forgets them all. A broadcast renders one message per event,
// language and town, so a handful are in use at a time.
const maxTemplates = 64

// templateKey is what the part of a mail that is the same for every
// recipient is made of, besides the channel's sender.
type templateKey struct {
	subject, text, html, language string
}

// template is a mail prepared for every recipient of one rendered
// message: the header lines that are the same for all of them and the
// body, quoted-printable encoded, dot-stuffed for SMTP DATA, with CRLF
// line ends. In each slot goes the recipient's unsubscribe link, where the
// message has crier.UnsubscribePlaceholder.
type template struct {
	data  []byte
	slots []slot
}

// slot is a place in a template's data for the unsubscribe link. The data
// around it has been broken into lines so that the link starts a line and
// ends one, by a line break of the message or a soft one.
type slot struct {
	at   int  // offset in data
	html bool // in the HTML part, so HTML-escaped
}

// templates caches the templates of a Channel. It is safe for concurrent
// use.
type templates struct {
	mu sync.Mutex
	m  map[templateKey]*template
}

func (ts *templates) get(k templateKey) *template {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.m[k]
}

func (ts *templates) put(k templateKey, t *template) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.m == nil || len(ts.m) >= maxTemplates {
		ts.m = make(map[templateKey]*template)
	}
	ts.m[k] = t
}

// template returns the template for m, preparing it if need be. An error
// means that no retry can send m.
func (c *Channel) template(m *crier.Message) (*template, error) {
	k := templateKey{subject: m.Subject, text: m.Text, html: m.HTML, language: m.Language}
	if t := c.templates.get(k); t != nil {
		return t, nil
	}
	if ps := problems(m); len(ps) > 0 {
		return nil, fmt.Errorf("message: %s", ps[0])
	}
	t := c.newTemplate(k)
	c.templates.put(k, t)
	return t, nil
}

// Fixed parts of every mail.
const (
	commonHeader = "MIME-Version: 1.0\r\n" +
		"Auto-Submitted: auto-generated\r\n" // RFC 3834
	textPartHeader = "Content-Transfer-Encoding: quoted-printable\r\n" +
		"Content-Type: text/plain; charset=UTF-8\r\n\r\n"
	htmlPartHeader = "Content-Transfer-Encoding: quoted-printable\r\n" +
		"Content-Type: text/html; charset=UTF-8\r\n\r\n"
)

// newTemplate prepares the mail k describes: a text/plain part, or a
// multipart/alternative of text and HTML when k has HTML.
func (c *Channel) newTemplate(k templateKey) *template {
	t := &template{}
	b := appendHeader(nil, "From", c.cfg.from.String())
	b = appendHeader(b, "Subject", mime.QEncoding.Encode("UTF-8", k.subject))
	b = append(b, commonHeader...)
	if k.language != "" {
		b = appendHeader(b, "Content-Language", k.language)
	}
	if k.html == "" {
		b = append(b, textPartHeader...)
		t.data = t.appendBody(b, k.text, false)
		return t
	}
	boundary := newBoundary()
	b = append(b, "Content-Type: multipart/alternative;\r\n boundary="+boundary+"\r\n\r\n"...)
	b = append(b, "--"+boundary+"\r\n"+textPartHeader...)
	b = t.appendBody(b, k.text, false)
	b = append(b, "\r\n--"+boundary+"\r\n"+htmlPartHeader...)
	b = t.appendBody(b, k.html, true)
	t.data = append(b, "\r\n--"+boundary+"--\r\n"...)
	return t
}

// appendBody appends s quoted-printable encoded and dot-stuffed, with a
// slot in place of every crier.UnsubscribePlaceholder. Each piece between
// placeholders is encoded on its own; a soft line break joins it to a
// link, unless a line break of s does.
func (t *template) appendBody(b []byte, s string, isHTML bool) []byte {
	pieces := strings.Split(s, crier.UnsubscribePlaceholder)
	for i, p := range pieces {
		enc := encodeQP(p)
		last := i == len(pieces)-1
		if i > 0 && !bytes.HasPrefix(enc, crlf) && (len(enc) > 0 || !last) {
			b = append(b, softBreak...) // the link before ends its line
		}
		b = appendStuffed(b, enc)
		if last {
			break
		}
		if len(enc) > 0 && !bytes.HasSuffix(enc, crlf) {
			b = append(b, softBreak...) // the link starts a line
		}
		t.slots = append(t.slots, slot{at: len(b), html: isHTML})
	}
	return b
}

// newBoundary returns a random multipart boundary like the ones of
// mime/multipart.
func newBoundary() string {
	var r [30]byte
	_, _ = rand.Read(r[:]) // never fails
	return hex.EncodeToString(r[:])
}

// appendLinked appends t's data with link in every slot, HTML-escaped in
// the HTML part.
func (t *template) appendLinked(b []byte, link string) []byte {
	htmlLink, escaped := "", false
	prev := 0
	for _, s := range t.slots {
		b = append(b, t.data[prev:s.at]...)
		prev = s.at
		l := link
		if s.html {
			if !escaped {
				htmlLink, escaped = html.EscapeString(link), true
			}
			l = htmlLink
		}
		b = appendQPLine(b, l)
	}
	return append(b, t.data[prev:]...)
}
