package email_test

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
	"github.com/crierhq/crier/channels/email"
	"github.com/crierhq/crier/channels/email/smtptest"
	"github.com/google/go-cmp/cmp"
	gomail "github.com/wneessen/go-mail"
)

const ph = crier.UnsubscribePlaceholder

// personalCases are messages whose encoding is easy to get wrong, with
// the unsubscribe links they are sent with.
var personalCases = []struct {
	name       string
	text, html string
	urls       []string // one mail per URL, to one recipient each
}{
	{
		name: "umlauts",
		text: "Grüße aus Möhnesee – äöüß €.\nAbmelden: " + ph + "\n",
		html: "<p>Grüße aus Möhnesee – äöüß €.</p><p><a href=\"" + ph + "\">Abmelden</a></p>\n",
		urls: []string{"https://krisen.soest.example/soest/unsubscribe/abc.def"},
	},
	{
		name: "long lines",
		text: strings.Repeat("Das Bürgerbüro am Vreithof bleibt geschlossen. ", 4) + ph + " " +
			strings.Repeat("x", 200) + ph + strings.Repeat("ü", 80) + "\n" + strings.Repeat("y", 74) + ph + "\n",
		html: "<p>" + strings.Repeat("Das Bürgerbüro bleibt geschlossen. ", 5) + "<a href=\"" + ph + "\">" +
			strings.Repeat("z", 73) + "</a></p>",
		urls: []string{"https://krisen.soest.example/soest/unsubscribe/" + strings.Repeat("A", 120) + ".sig"},
	},
	{
		name: "dots at line starts",
		text: ".\n..\n.hidden\n" + ph + "\n.\n" + ph + ".\n.end",
		html: ".<p>\n.</p>\n" + ph + "\n.",
		// The link is broken into lines so that one starts with "." and
		// one is ".".
		urls: []string{
			"https://x.example/" + strings.Repeat("a", 57) + ".b",
			"https://x.example/" + strings.Repeat("a", 57) + ".",
		},
	},
	{
		name: "trailing whitespace",
		text: "foo   \nbar \t\n" + ph + "  \nvor " + ph + "\t\n \n\t",
		html: "<p>a </p> \n " + ph + " ",
		urls: []string{"https://x.example/u"},
	},
	{
		name: "equals signs",
		text: "a=b ==" + ph + "== =3D =\n=" + ph + "=\n",
		html: "<a href=\"" + ph + "\" title=\"=\">=</a>",
		urls: []string{"https://x.example/u?t=a=b&c=d", "https://x.example/u?t=" + strings.Repeat("=", 80)},
	},
	{
		name: "placeholder at line start, end, middle, twice",
		text: ph + " am Anfang\nam Ende " + ph + "\nin der " + ph + " Mitte\nzweimal " + ph + ph + "\n" + ph + "\n\n" + ph,
		html: ph + "<p>" + ph + ph + "</p>" + ph,
		urls: []string{"https://x.example/u?a=1&b=2", "https://x.example/v"},
	},
	{
		name: "CRLF and CR line breaks",
		text: "eins\r\nzwei " + ph + "\r\n" + ph + "\r\ndrei\rvier\r" + ph + "\n\r\n",
		html: "<p>eins</p>\r\n<p>" + ph + "</p>\r\n",
		urls: []string{"https://x.example/u"},
	},
	{
		name: "placeholder between CR and LF",
		text: "eins\r" + ph + "\nzwei",
		html: "<p>\r" + ph + "\n</p>",
		urls: []string{"https://x.example/u"},
	},
	{
		name: "no HTML",
		text: "Nur Text. " + ph,
		urls: []string{"https://x.example/u", "http://127.0.0.1:8080/u?t=1"},
	},
	{
		name: "URL with characters HTML escapes",
		text: "Abmelden: " + ph,
		html: "<a href=\"" + ph + "\">" + ph + "</a>",
		urls: []string{"https://x.example/u?t=a=b&c='d'&e=f"},
	},
	{
		name: "no placeholder",
		text: "Text ohne Link.\n",
		html: "<p>HTML ohne Link.</p>",
		urls: []string{"https://x.example/u"},
	},
	{
		name: "no unsubscribe URL",
		text: "Abmelden: " + ph + "\n",
		html: "<a href=\"" + ph + "\">x</a>",
		urls: []string{""},
	},
}

// TestSendPersonalizesLikeGoMail checks that every mail arrives decoded
// exactly as the one go-mail sent when the workers replaced the
// placeholder: the same headers and, byte for byte, the same text and
// HTML. The mails of one case share a prepared template.
func TestSendPersonalizesLikeGoMail(t *testing.T) {
	for _, tt := range personalCases {
		t.Run(tt.name, func(t *testing.T) {
			s, o := newRelay(t, email.TLSNone, smtptest.Options{})
			ch := newChannel(t, o)
			var want []*crier.Message
			for i, u := range tt.urls {
				m := testMessage("k"+itoa(i), "buerger"+itoa(i)+"@example.org")
				m.Text, m.HTML, m.UnsubscribeURL = tt.text, tt.html, u
				if _, err := ch.Send(t.Context(), m); err != nil {
					t.Fatalf("Send with %q: %v", u, err)
				}
				want = append(want, m)
			}
			got := s.Messages()
			if len(got) != len(want) {
				t.Fatalf("relay received %d mails, want %d", len(got), len(want))
			}
			for i, m := range want {
				old := goMailReceived(t, goMailMessage(t, o.From, m))
				if diff := cmp.Diff(parseLenient(t, old), parseMail(t, got[i].Data)); diff != "" {
					t.Errorf("mail with %q (-go-mail +got):\n%s", m.UnsubscribeURL, diff)
				}
				if diff := cmp.Diff(rawBodies(t, old), rawBodies(t, got[i].Data)); diff != "" {
					t.Errorf("decoded bodies with %q (-go-mail +got):\n%s", m.UnsubscribeURL, diff)
				}
				checkLines(t, got[i].Data)
			}
		})
	}
}

// goMailMessage is the mail the channel sent for m before it prepared
// templates: the workers replaced the placeholder, and go-mail built it.
func goMailMessage(tb testing.TB, from string, m *crier.Message) *gomail.Msg {
	tb.Helper()
	text, htm := m.Text, m.HTML
	if u := m.UnsubscribeURL; u != "" {
		text = strings.ReplaceAll(text, ph, u)
		htm = strings.ReplaceAll(htm, ph, html.EscapeString(u))
	}
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(from); err != nil {
		tb.Fatal(err)
	}
	if err := msg.To(m.Recipient); err != nil {
		tb.Fatal(err)
	}
	msg.Subject(m.Subject)
	msg.SetDateWithValue(testTime)
	msg.SetMessageIDWithValue(m.Key + "@soest.example")
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	if m.Language != "" {
		msg.SetGenHeader(gomail.HeaderContentLang, m.Language)
	}
	if m.UnsubscribeURL != "" {
		msg.SetListUnsubscribe(m.UnsubscribeURL)
		if strings.HasPrefix(m.UnsubscribeURL, "https:") {
			msg.SetListUnsubscribePost()
		}
	}
	msg.SetBodyString(gomail.TypeTextPlain, text)
	if htm != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, htm)
	}
	return msg
}

// goMailReceived sends msg with go-mail to a relay of its own and returns
// what that relay received.
func goMailReceived(tb testing.TB, msg *gomail.Msg) []byte {
	tb.Helper()
	s := smtptest.NewServer(tb, smtptest.Options{})
	c, err := gomail.NewClient(s.Host(), gomail.WithPort(s.Port()), gomail.WithTLSPolicy(gomail.NoTLS),
		gomail.WithHELO("crier.test"))
	if err != nil {
		tb.Fatal(err)
	}
	if err := c.DialAndSend(msg); err != nil {
		tb.Fatalf("go-mail: %v", err)
	}
	got := s.Messages()
	if len(got) != 1 {
		tb.Fatalf("go-mail's relay received %d mails, want 1", len(got))
	}
	return got[0].Data
}

// rawBodies returns the quoted-printable decoded bodies of a mail's
// parts, line breaks as they are.
func rawBodies(tb testing.TB, data []byte) []string {
	tb.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		tb.Fatalf("parse mail: %v", err)
	}
	mediaType, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		tb.Fatalf("content type: %v", err)
	}
	if !strings.HasPrefix(mediaType, "multipart/") {
		return []string{decodeQP(tb, m.Body)}
	}
	var bodies []string
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			return bodies
		}
		if err != nil {
			tb.Fatalf("next part: %v", err)
		}
		bodies = append(bodies, decodeQP(tb, p))
	}
}

func decodeQP(tb testing.TB, r io.Reader) string {
	tb.Helper()
	b, err := io.ReadAll(quotedprintable.NewReader(r))
	if err != nil {
		tb.Fatalf("decode quoted-printable: %v", err)
	}
	return string(b)
}

// checkLines fails tb for a body line longer than quoted-printable allows
// or one with a bare CR or LF.
func checkLines(tb testing.TB, data []byte) {
	tb.Helper()
	_, body, _ := bytes.Cut(data, []byte("\r\n\r\n"))
	for i, line := range bytes.Split(bytes.TrimSuffix(body, []byte("\r\n")), []byte("\r\n")) {
		if len(line) > 76 {
			tb.Errorf("body line %d has %d characters: %q", i+1, len(line), line)
		}
		if bytes.ContainsAny(line, "\r\n") {
			tb.Errorf("body line %d has a bare CR or LF: %q", i+1, line)
		}
	}
}
