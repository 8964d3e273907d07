package site

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/locale"
)

// CAPNamespace is the XML namespace of CAP 1.2 documents.
const CAPNamespace = "urn:oasis:names:tc:emergency:cap:1.2"

// capTime is CAP's time format: always with a numeric offset, never "Z".
const capTime = "2006-01-02T15:04:05-07:00"

// Alert is a CAP 1.2 alert message. It marshals to the XML the OASIS schema
// describes, and to JSON with the same names and nesting ("CAP-shaped
// JSON"). Empty optional elements are left out.
type Alert struct {
	XMLName    xml.Name `xml:"urn:oasis:names:tc:emergency:cap:1.2 alert" json:"-"`
	Identifier string   `xml:"identifier" json:"identifier"`
	Sender     string   `xml:"sender" json:"sender"`
	Sent       string   `xml:"sent" json:"sent"`
	Status     string   `xml:"status" json:"status"`
	MsgType    string   `xml:"msgType" json:"msgType"`
	Scope      string   `xml:"scope" json:"scope"`
	Note       string   `xml:"note,omitempty" json:"note,omitempty"`
	References string   `xml:"references,omitempty" json:"references,omitempty"`
	Info       []Info   `xml:"info" json:"info"`
}

// Info is one CAP info block: the alert in one language.
type Info struct {
	Language    string   `xml:"language" json:"language"`
	Category    []string `xml:"category" json:"category"`
	Event       string   `xml:"event" json:"event"`
	Urgency     string   `xml:"urgency" json:"urgency"`
	Severity    string   `xml:"severity" json:"severity"`
	Certainty   string   `xml:"certainty" json:"certainty"`
	Expires     string   `xml:"expires,omitempty" json:"expires,omitempty"`
	SenderName  string   `xml:"senderName,omitempty" json:"senderName,omitempty"`
	Headline    string   `xml:"headline,omitempty" json:"headline,omitempty"`
	Description string   `xml:"description,omitempty" json:"description,omitempty"`
	Instruction string   `xml:"instruction,omitempty" json:"instruction,omitempty"`
	Web         string   `xml:"web,omitempty" json:"web,omitempty"`
	Contact     string   `xml:"contact,omitempty" json:"contact,omitempty"`
	Area        []Area   `xml:"area" json:"area"`
}

// Area is the area an info block concerns.
type Area struct {
	AreaDesc string  `xml:"areaDesc" json:"areaDesc"`
	Geocode  []Value `xml:"geocode,omitempty" json:"geocode,omitempty"`
}

// Value is a CAP valueName/value pair.
type Value struct {
	ValueName string `xml:"valueName" json:"valueName"`
	Value     string `xml:"value" json:"value"`
}

// Identifier returns the CAP identifier of one revision of an
// announcement for one town: "<sender domain>.<town>.<id>.<revision>",
// e.g. "kreis-soest.example.soest.k3v7qz2m.2". Each town gets its own
// document, since each carries the town's text and area.
func (s *Site) Identifier(town, id string, revision int) string {
	return s.capID + "." + town + "." + id + "." + strconv.Itoa(revision)
}

// capStatus maps a mode to CAP status.
func capStatus(m crier.Mode) string {
	switch m {
	case crier.ModeExercise:
		return "Exercise"
	case crier.ModeTest:
		return "Test"
	}
	return "Actual"
}

// capMsgType maps a revision's event to CAP msgType.
func capMsgType(event string) string {
	switch event {
	case crier.EventUpdated:
		return "Update"
	case crier.EventCanceled:
		return "Cancel"
	}
	return "Alert"
}

var langTag = regexp.MustCompile(`^[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*$`)

// vocabulary returns v when it is one of allowed, else fallback.
func vocabulary(v string, allowed []string, fallback string) string {
	if slices.Contains(allowed, v) {
		return v
	}
	return fallback
}

// alert returns the CAP alert for the latest revision of a notice in a
// town. Earlier revisions are its references.
//
// The mapping: identifier per town and revision (see Identifier); sent is
// the revision's creation time in the town's time zone; status follows the
// mode (the instance's when it is not actual); msgType is Alert, Update or
// Cancel by the revision's event; scope is Public; note carries the
// exercise banner and the reason of an update or a cancel. One info block
// in the town's language: the announcement's category, urgency, severity
// and certainty (outage defaults: Infra, Expected, Minor, Observed), an
// event named after the category, the headline as messages show it, the
// town's text as description, the page's address as web and in the
// instruction, the town's phone, email and website as contact, expires;
// one area named after the town with its official code as geocode
// (valueName AGS for 8 digits, ARS for 12).
func (s *Site) alert(t *crier.Town, n *Notice, p paths) *Alert {
	lang, loc := townLang(t, s.lang), s.zone(t.TimeZone)
	last := n.Latest()
	a := *last.Announcement
	a.SetDefaults(crier.ModeActual)
	mode := s.effectiveMode(&a)
	id := n.ID()
	al := &Alert{
		Identifier: s.Identifier(t.ID, id, a.Revision),
		Sender:     s.sender,
		Sent:       s.capSent(&a, loc),
		Status:     capStatus(mode),
		MsgType:    capMsgType(a.Event),
		Scope:      "Public",
	}
	var notes []string
	if b := modeBanner(lang, mode); b != "" {
		notes = append(notes, b)
	}
	if a.Event != crier.EventPublished && strings.TrimSpace(a.Reason) != "" {
		notes = append(notes, strings.TrimSpace(a.Reason))
	}
	al.Note = strings.Join(notes, "\n")
	if a.Event != crier.EventPublished {
		var refs []string
		for _, r := range n.Revisions[:len(n.Revisions)-1] {
			refs = append(refs, s.sender+","+s.Identifier(t.ID, id, r.Announcement.Revision)+","+s.capSent(r.Announcement, loc))
		}
		al.References = strings.Join(refs, " ")
	}

	infoLang := t.Language
	if !langTag.MatchString(infoLang) {
		infoLang = lang
	}
	category := vocabulary(a.Category, crier.Categories, "Other")
	_, text := last.Body.render()
	if a.Event == crier.EventCanceled && text == "" {
		text = cmp.Or(strings.TrimSpace(a.Reason), locale.T(lang, "revision.canceled.body"))
	}
	info := Info{
		Language:    infoLang,
		Category:    []string{category},
		Event:       locale.T(lang, "site.cap.event."+category),
		Urgency:     vocabulary(a.Urgency, crier.Urgencies, "Unknown"),
		Severity:    vocabulary(a.Severity, crier.Severities, "Unknown"),
		Certainty:   vocabulary(a.Certainty, crier.Certainties, "Unknown"),
		SenderName:  t.Name,
		Headline:    s.headline(lang, &a),
		Description: text,
		Contact:     capContact(lang, t),
		Area:        []Area{{AreaDesc: t.Name, Geocode: geocode(t.AGS)}},
	}
	if !a.Expires.IsZero() {
		info.Expires = a.Expires.In(loc).Format(capTime)
	}
	if s.base != nil {
		info.Web = s.abs("", p.notice(t.ID, id))
		if a.Event != crier.EventCanceled {
			info.Instruction = locale.T(lang, "site.cap.instruction", info.Web)
		}
	}
	al.Info = []Info{info}
	return al
}

// capSent returns a revision's CAP sent time in the town's time zone, in
// the offset form.
func (s *Site) capSent(a *crier.Announcement, loc *time.Location) string {
	t := a.CreatedAt
	if t.IsZero() {
		t = s.clock.Now()
	}
	return t.In(loc).Format(capTime)
}

// capContact returns a town's phone, email and website as CAP contact.
func capContact(lang string, t *crier.Town) string {
	parts := []string{t.Name}
	for _, c := range contacts(lang, t.Vars) {
		switch c.Key {
		case "phone", "email", "website":
			parts = append(parts, c.Label+": "+c.Value)
		}
	}
	return strings.Join(parts, ", ")
}

// geocode returns the official code as a CAP geocode: "AGS" for the
// 8-digit Amtlicher Gemeindeschlüssel, "ARS" for the 12-digit
// Regionalschlüssel; nothing without a code.
func geocode(code string) []Value {
	code = strings.TrimSpace(code)
	switch {
	case code == "":
		return nil
	case len(code) == 12:
		return []Value{{ValueName: "ARS", Value: code}}
	}
	return []Value{{ValueName: "AGS", Value: code}}
}

// capXML renders the CAP document of a notice as XML.
func (s *Site) capXML(ctx context.Context, p paths, town, id string) (*document, error) {
	t, n, err := s.townNotice(ctx, town, id)
	if err != nil {
		return nil, err
	}
	b, err := xml.MarshalIndent(s.alert(t, n, p), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("marshal CAP: %w", err)
	}
	out := append([]byte(xml.Header), b...)
	out = append(out, '\n')
	return &document{body: out, contentType: "application/cap+xml; charset=utf-8", modified: n.modified(s.clock.Now())}, nil
}

// capJSON renders the CAP document of a notice as JSON.
func (s *Site) capJSON(ctx context.Context, p paths, town, id string) (*document, error) {
	t, n, err := s.townNotice(ctx, town, id)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s.alert(t, n, p)); err != nil {
		return nil, fmt.Errorf("marshal CAP JSON: %w", err)
	}
	return &document{body: b.Bytes(), contentType: "application/json; charset=utf-8", modified: n.modified(s.clock.Now())}, nil
}

func (s *Site) townNotice(ctx context.Context, town, id string) (*crier.Town, *Notice, error) {
	t, err := s.town(ctx, town)
	if err != nil {
		return nil, nil, err
	}
	n, err := s.notice(ctx, town, id)
	if err != nil {
		return nil, nil, err
	}
	return t, n, nil
}
