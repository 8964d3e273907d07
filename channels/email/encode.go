package email

import (
	"bytes"
	"mime/quotedprintable"
	"strings"
)

// Limits of the encoded mail.
const (
	// maxHeaderLine is where header values are folded, as go-mail folds
	// them.
	maxHeaderLine = 76
	// maxQPLine is the longest line of quoted-printable text without its
	// soft line break "=" (RFC 2045 6.7: 76 with it).
	maxQPLine = 75
)

var (
	crlf      = []byte("\r\n")
	softBreak = []byte("=\r\n") // a quoted-printable line break that decodes to nothing
)

// appendHeader appends the header line "key: value", folded before a word
// that would make the line longer than maxHeaderLine: value must be
// encoded already (RFC 2047 for anything but printable ASCII), and its
// spaces are where it may be folded. The first word always stays on the
// field's first line, however long: a field whose first line is empty
// reads, to strict parsers, as a value that starts with white space.
func appendHeader(b []byte, key, value string) []byte {
	b = append(b, key...)
	b = append(b, ':')
	room := maxHeaderLine - len(key) - 4 // ": " and CRLF
	first := true
	for word := range strings.SplitSeq(value, " ") {
		if room-len(word) <= 1 && !first {
			b = append(b, "\r\n "...)
			room = maxHeaderLine - 3
		} else {
			b = append(b, ' ')
		}
		b = append(b, word...)
		room -= len(word) + 1
		first = false
	}
	return append(b, crlf...)
}

// encodeQP returns s quoted-printable encoded as go-mail encodes a body:
// as text, every line break (LF, CRLF or CR) a CRLF, whitespace at the
// end of a line encoded, lines of at most 76 characters with their soft
// line breaks. The last line has no line break unless s ends in one, and
// at most maxQPLine characters, so that a soft line break may follow.
func encodeQP(s string) []byte {
	var buf bytes.Buffer
	w := quotedprintable.NewWriter(&buf)
	// A bytes.Buffer does not fail.
	_, _ = w.Write([]byte(s))
	_ = w.Close()
	return buf.Bytes()
}

// appendStuffed appends p, lines of a mail body that start at the start
// of a line, dot-stuffed for SMTP DATA (RFC 5321 4.5.2): a line that
// starts with "." gets another one, which the relay removes.
func appendStuffed(b, p []byte) []byte {
	for len(p) > 0 {
		if p[0] == '.' {
			b = append(b, '.')
		}
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			return append(b, p...)
		}
		b = append(b, p[:i+1]...)
		p = p[i+1:]
	}
	return b
}

// appendQPLine appends s, which has no line breaks, quoted-printable
// encoded from the start of a line and dot-stuffed: every byte but
// printable ASCII and "=" as =XX, with a soft line break before a line
// would exceed maxQPLine. It leaves room for a soft line break after it.
func appendQPLine(b []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	col := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		n := 1
		if c < '!' || c > '~' || c == '=' {
			n = 3
		}
		if col+n > maxQPLine {
			b = append(b, softBreak...)
			col = 0
		}
		if col == 0 && c == '.' {
			b = append(b, '.')
		}
		if n == 3 {
			b = append(b, '=', hex[c>>4], hex[c&0x0f])
		} else {
			b = append(b, c)
		}
		col += n
	}
	return b
}
