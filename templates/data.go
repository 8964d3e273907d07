package templates

import (
	"cmp"
	htmltemplate "html/template"
	"maps"
	"net/mail"
	"strings"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/locale"
)

// Data is what every template sees, the announcement's body included. Times
// are in the town's time zone.
type Data struct {
	Town Town
	// Vars are the town's variables. {{.Vars.phone}} fails when the town has
	// no phone; {{with index .Vars "phone"}}…{{end}} makes it optional.
	Vars map[string]string

	ID        string // announcement id
	Revision  int
	Title     string
	Category  string // CAP category, e.g. "Infra"
	Urgency   string
	Severity  string
	Certainty string
	Mode      crier.Mode
	// Banner says in the town's language that the message is not real
	// ("ÜBUNG – keine echte Meldung"); ModeTag is its short form ("ÜBUNG").
	// Both are empty in actual mode.
	Banner  string
	ModeTag string
	// Expires is zero when the announcement does not expire.
	Expires time.Time
	// Timestamp is when the announcement was created, or now.
	Timestamp time.Time

	Channel string // channel id
	Type    string // channel type: email, webhook, mastodon, slack
	// Event is what happened, e.g. crier.EventPublished
	// ("announcement.published"); webhooks send it as their "type".
	Event string
	// Reason explains an update or a cancel; a cancel's body is made of it.
	Reason string
	// Link is the public page of the announcement for this town.
	Link string
	// UnsubscribeURL is crier.UnsubscribePlaceholder; the delivery worker
	// puts each recipient's own URL in its place.
	UnsubscribeURL string
	// Contacts are the town's contact details from its variables, labelled
	// in its language, in a fixed order; empty ones are left out.
	Contacts []Contact

	// Limit is the most a social post (mastodon, slack) may count, in the
	// channel's own counting: Mastodon's characters per status on the
	// channel's instance (graphemes, every link as 23 or what the instance
	// says, the content warning included), Slack's characters per section
	// (without the banner and title its header shows). 0 means no limit:
	// every other type, or a channel that reports none.
	Limit int
	// Short is true when the social template runs a second time because
	// the post it made first, with Short false, is longer than Limit; the
	// template then makes the shortened post (a summary and the link).
	Short bool
	// Room is, when Short is true, how many characters the template may
	// spend on the part it shortens (the default template's lead of the
	// body). The renderer runs the template with a Room of 0 to learn what
	// the rest of the post takes, then with what that leaves of Limit, and
	// lowers it by what the post is still over, running the template again,
	// until the post fits or Room is 0. It is 0 when Short is false.
	Room int

	// Body is the announcement's body rendered to HTML, safe to insert into
	// HTML parts; BodyText is the same as plain text. Both are empty while
	// the body itself is executed.
	Body     htmltemplate.HTML
	BodyText string
}

// Town is the town a message is rendered for.
type Town struct {
	ID   string
	Name string
	AGS  string
	// Language is the language of the message's texts: "de" or "en".
	Language string
	TimeZone string
}

// Contact is one labelled contact detail of a town.
type Contact struct {
	Key   string // the variable: address, phone, email, hours, website
	Label string // e.g. "Telefon"
	Value string
	// URL is a mailto: or web address for Value, or "".
	URL string
}

// newData returns the template data for req in the town's language and time
// zone, without the body.
func newData(req *crier.RenderRequest, lang string, loc *time.Location, now time.Time) *Data {
	a, t := req.Announcement, req.Town
	d := &Data{
		Town: Town{ID: t.ID, Name: t.Name, AGS: t.AGS, Language: lang, TimeZone: loc.String()},
		Vars: make(map[string]string, len(t.Vars)),

		ID: a.ID, Revision: a.Revision, Title: a.Title,
		Category: a.Category, Urgency: a.Urgency, Severity: a.Severity, Certainty: a.Certainty,
		Mode:      a.Mode,
		Timestamp: now.In(loc),

		Channel: req.Channel, Type: req.Type, Event: cmp.Or(a.Event, crier.EventPublished), Reason: a.Reason,
		Link:           req.Link,
		UnsubscribeURL: crier.UnsubscribePlaceholder,
	}
	maps.Copy(d.Vars, t.Vars)
	switch d.Event {
	case crier.EventUpdated:
		d.Title = locale.T(lang, "revision.updated.prefix") + d.Title
	case crier.EventCanceled:
		d.Title = locale.T(lang, "revision.canceled.prefix") + d.Title
	}
	if !a.CreatedAt.IsZero() {
		d.Timestamp = a.CreatedAt.In(loc)
	}
	if !a.Expires.IsZero() {
		d.Expires = a.Expires.In(loc)
	}
	switch a.Mode {
	case crier.ModeExercise:
		d.Banner, d.ModeTag = locale.T(lang, "mode.exercise.banner"), locale.T(lang, "mode.exercise.tag")
	case crier.ModeTest:
		d.Banner, d.ModeTag = locale.T(lang, "mode.test.banner"), locale.T(lang, "mode.test.tag")
	}
	d.Contacts = contacts(lang, d.Vars)
	return d
}

// contacts picks the contact details out of a town's variables. "office"
// (e.g. "Bürgerbüro, Am Vreithof 8") and "address" both count as the
// address and are joined when both are set.
func contacts(lang string, vars map[string]string) []Contact {
	var cs []Contact
	add := func(key, value, url string) {
		if value = strings.TrimSpace(value); value != "" {
			cs = append(cs, Contact{Key: key, Label: locale.T(lang, "contact."+key), Value: value, URL: url})
		}
	}
	var addr []string
	for _, k := range []string{"office", "address"} {
		if v := strings.TrimSpace(vars[k]); v != "" {
			addr = append(addr, v)
		}
	}
	add("address", strings.Join(addr, ", "), "")
	add("phone", vars["phone"], "")
	email := strings.TrimSpace(vars["email"])
	if a, err := mail.ParseAddress(email); err == nil && a.Address == email {
		add("email", email, "mailto:"+email)
	} else {
		add("email", email, "")
	}
	add("hours", vars["hours"], "")
	add("website", vars["website"], webURL(vars["website"]))
	return cs
}

// webURL returns an http(s) address for a website variable, adding https://
// to "www.example.de"; anything else gives "".
func webURL(s string) string {
	s = strings.TrimSpace(s)
	l := strings.ToLower(s)
	switch {
	case strings.ContainsAny(s, " \t\r\n"):
		return ""
	case strings.HasPrefix(l, "https://"), strings.HasPrefix(l, "http://"):
		return s
	case strings.HasPrefix(l, "www."):
		return "https://" + s
	}
	return ""
}

// markdownSafe returns a copy of d whose values from configuration are
// escaped for Markdown source, for executing the announcement's body.
func (d *Data) markdownSafe() *Data {
	c := *d
	c.Town.Name = mdEscape(d.Town.Name)
	c.Title = mdEscape(d.Title)
	c.Vars = make(map[string]string, len(d.Vars))
	for k, v := range d.Vars {
		c.Vars[k] = mdEscape(v)
	}
	c.Contacts = make([]Contact, len(d.Contacts))
	for i, ct := range d.Contacts {
		ct.Value = mdEscape(ct.Value)
		c.Contacts[i] = ct
	}
	return &c
}

// funcs returns the template functions for one town; the package doc
// describes them.
func funcs(lang string, loc *time.Location) map[string]any {
	return map[string]any{
		"t":        func(key string, args ...any) string { return locale.T(lang, key, args...) },
		"date":     func(t time.Time) string { return locale.Date(lang, t.In(loc)) },
		"datetime": func(t time.Time) string { return locale.DateTime(lang, t.In(loc)) },
		"oneline":  oneLine,
		"excerpt":  excerpt,
		"lead":     lead,
		"hashtag":  hashtag,
		"runes":    runes,
		"sub":      sub,
		"json":     jsonValue,
	}
}
