package smtptest

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"unicode/utf8"
)

// Message is one message the server accepted, with the parts a test looks
// at decoded.
type Message struct {
	From string   // envelope sender (MAIL FROM)
	To   []string // envelope recipients (RCPT TO), in order
	User string   // the authenticated user; empty without AUTH
	TLS  bool     // whether the message came over TLS
	// RemoteIP is the address the session came from: it shows which
	// network carried the message.
	RemoteIP string
	Data     []byte // the message as transmitted, CRLF line endings

	Header    mail.Header // the parsed header, values still encoded
	MessageID string      // the Message-ID without angle brackets
	// Key is the crier delivery key: the Message-ID's left-hand side, or
	// empty when the Message-ID has no "@".
	Key     string
	Subject string // the Subject, RFC 2047 words decoded
	// Text and HTML are the bodies of the first text/plain and text/html
	// parts that are not attachments, transfer encoding and charset
	// decoded to UTF-8, with "\n" line breaks.
	Text, HTML string

	// Err says why Data could not be fully parsed; the fields after Data
	// then hold what was parsed before the error.
	Err error
}

// parse fills in the decoded fields from Data, and Err.
func (m *Message) parse() {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		m.Err = fmt.Errorf("read header: %w", err)
		return
	}
	m.Header = msg.Header
	m.MessageID = strings.TrimSpace(msg.Header.Get("Message-Id"))
	m.MessageID = strings.TrimSuffix(strings.TrimPrefix(m.MessageID, "<"), ">")
	if local, _, ok := strings.Cut(m.MessageID, "@"); ok {
		m.Key = local
	}
	m.Subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		m.Err = fmt.Errorf("decode subject: %w", err)
		return
	}
	if err := m.readPart(textproto.MIMEHeader(msg.Header), msg.Body); err != nil {
		m.Err = err
	}
}

// readPart decodes one MIME entity: it descends into multiparts and keeps
// the first plain text and HTML bodies.
func (m *Message) readPart(h textproto.MIMEHeader, body io.Reader) error {
	mediaType, params := "text/plain", map[string]string{}
	if ct := h.Get("Content-Type"); ct != "" {
		var err error
		mediaType, params, err = mime.ParseMediaType(ct)
		if err != nil {
			return fmt.Errorf("content type %q: %w", ct, err)
		}
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s: %w", mediaType, err)
			}
			if err := m.readPart(p.Header, p); err != nil {
				return err
			}
		}
	}
	dst := &m.Text
	switch {
	case mediaType == "text/html":
		dst = &m.HTML
	case mediaType != "text/plain":
		return nil
	}
	if *dst != "" || isAttachment(h) {
		return nil
	}
	s, err := decodeBody(h.Get("Content-Transfer-Encoding"), params["charset"], body)
	if err != nil {
		return fmt.Errorf("%s part: %w", mediaType, err)
	}
	*dst = s
	return nil
}

func isAttachment(h textproto.MIMEHeader) bool {
	d, _, err := mime.ParseMediaType(h.Get("Content-Disposition"))
	return err == nil && d == "attachment"
}

// decodeBody undoes a transfer encoding and converts charset to UTF-8.
func decodeBody(cte, charset string, r io.Reader) (string, error) {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "", "7bit", "8bit", "binary":
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r) // skips line breaks
	default:
		return "", fmt.Errorf("unknown Content-Transfer-Encoding %q", cte)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return "", fmt.Errorf("decode %s: %w", cte, err)
	}
	var s string
	switch strings.ToLower(charset) {
	case "", "utf-8", "us-ascii":
		if !utf8.Valid(b) {
			return "", fmt.Errorf("body is not valid %s", charset)
		}
		s = string(b)
	case "iso-8859-1", "latin1":
		rs := make([]rune, len(b))
		for i, c := range b {
			rs[i] = rune(c)
		}
		s = string(rs)
	default:
		return "", fmt.Errorf("charset %q is not supported", charset)
	}
	return strings.ReplaceAll(s, "\r\n", "\n"), nil
}
