package email

import (
	"bytes"
	"html"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"

	"github.com/crierhq/crier"
)

// FuzzCompose checks mails for any text, HTML and unsubscribe path: the
// data ends only at its "." line, its body lines fit quoted-printable, and
// its parts decode to what the text and HTML with the link in place of
// the placeholder encode to.
func FuzzCompose(f *testing.F) {
	const ph = crier.UnsubscribePlaceholder
	f.Add("Hallo "+ph+"\n", `<a href="`+ph+`">x</a>`, "u?a=b&c='d'", true)
	f.Add(ph+ph+"\r\n.\n"+ph, ph, strings.Repeat("a", 57)+".", true)
	f.Add("a \t"+ph+" \r"+ph+"\n=", "", "u?t="+strings.Repeat("=", 30), true)
	f.Add(strings.Repeat("ü", 40)+ph+strings.Repeat(".", 100), ".\n"+ph+"\n.", "", false)
	c, err := New(Options{Host: "relay.example", From: "Stadt Soest <presse@soest.example>"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text, htm, path string, withLink bool) {
		link := ""
		if withLink {
			link = "https://x.example/" + path
		}
		m := &crier.Message{Subject: "Betreff", Text: text, HTML: htm, Key: "k1",
			Recipient: "anna@example.org", UnsubscribeURL: link}
		o, err := c.compose(m)
		if err != nil {
			t.Skip(err)
		}
		defer o.release()
		data := unstuff(t, *o.data)
		if link == "" {
			link = ph
		}
		want := []string{qpRoundTrip(strings.ReplaceAll(text, ph, link))}
		if htm != "" {
			want = append(want, qpRoundTrip(strings.ReplaceAll(htm, ph, html.EscapeString(link))))
		} else if !strings.HasSuffix(want[0], "\r\n") {
			// The line break that a body needs before the "." line is
			// part of it, as it was with go-mail.
			want[0] += "\r\n"
		}
		got := decodedParts(t, data)
		if len(got) != len(want) {
			t.Fatalf("%d parts, want %d", len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("part %d decodes to\n%q\nwant\n%q", i, got[i], want[i])
			}
		}
	})
}

// unstuff undoes the dot-stuffing of SMTP DATA as a relay does, and fails
// t if the data ends anywhere but at its last line, or a body line is
// longer than quoted-printable allows.
func unstuff(t *testing.T, data []byte) []byte {
	t.Helper()
	body, ok := bytes.CutSuffix(data, []byte("\r\n.\r\n"))
	if !ok {
		t.Fatalf("data does not end with the end-of-data line: %q", data)
	}
	inBody := false
	var out []byte
	for line := range bytes.SplitSeq(body, []byte("\r\n")) {
		if bytes.Equal(line, []byte(".")) {
			t.Fatalf("data ends early, at a line \".\": %q", data)
		}
		line, _ = bytes.CutPrefix(line, []byte("."))
		if inBody && len(line) > 76 {
			t.Errorf("body line has %d characters: %q", len(line), line)
		}
		inBody = inBody || len(line) == 0
		out = append(append(out, line...), "\r\n"...)
	}
	return out
}

// qpRoundTrip returns what a reader decodes from s encoded as go-mail
// encodes a body.
func qpRoundTrip(s string) string {
	b, _ := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(encodeQP(s))))
	return string(b)
}

// decodedParts returns the quoted-printable decoded bodies of a mail.
func decodedParts(t *testing.T, data []byte) []string {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parse mail: %v", err)
	}
	mediaType, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("content type: %v", err)
	}
	readQP := func(r io.Reader) string {
		b, err := io.ReadAll(quotedprintable.NewReader(r))
		if err != nil {
			t.Fatalf("decode quoted-printable: %v", err)
		}
		return string(b)
	}
	if !strings.HasPrefix(mediaType, "multipart/") {
		return []string{readQP(m.Body)}
	}
	var parts []string
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			return parts
		}
		if err != nil {
			t.Fatalf("next part: %v", err)
		}
		parts = append(parts, readQP(p))
	}
}

// BenchmarkCompose measures what a mail costs before it goes on the wire,
// from a prepared template.
func BenchmarkCompose(b *testing.B) {
	c, err := New(Options{Host: "relay.example", From: "Stadt Soest <presse@soest.example>"})
	if err != nil {
		b.Fatal(err)
	}
	const ph = crier.UnsubscribePlaceholder
	line := strings.Repeat("Das Bürgerbüro am Vreithof bleibt wegen einer Störung der IT geschlossen. ", 2)
	m := &crier.Message{
		Subject: "Bürgerbüro geschlossen – Stadt Soest", Language: "de",
		Text:      line + "\n\nTelefon: 02921 103-0, Mo–Fr 8–12 Uhr.\n\nAbmelden: " + ph + "\n",
		HTML:      "<p>" + line + "</p>\n<p>Telefon: 02921 103-0, Mo–Fr 8–12 Uhr.</p>\n<p><a href=\"" + ph + "\">Abmelden</a></p>\n",
		Key:       "a1.1.soest.mail-soest.17",
		Recipient: "buerger000017@example.org",
		UnsubscribeURL: "https://krisen.soest.example/unsubscribe/" +
			"Y3JpZXIudW5zdWJzY3JpYmUKc29lc3QKYnVlcmdlcjAwMDAxN0BleGFtcGxlLm9yZwoxNzk5OTk5OTk5." + strings.Repeat("s", 43),
	}
	b.ReportAllocs()
	for b.Loop() {
		o, err := c.compose(m)
		if err != nil {
			b.Fatal(err)
		}
		o.release()
	}
}
