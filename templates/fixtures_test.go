package templates

import (
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/mastodon"
	"github.com/crierhq/crier/channels/slack"
)

// The fixtures are the 14 municipalities of Kreis Soest with their official
// codes and two notices from the IT outage of autumn 2023, reworded.
// Soest's and Lippstadt's contact details are realistic; the other towns'
// are placeholders of realistic length, for the length tests only.

var created = time.Date(2026, 11, 26, 7, 30, 0, 0, time.UTC)

// fixedClock always says the same time.
type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

func kreisSoest() []*crier.Town {
	towns := []*crier.Town{
		{ID: "anroechte", Name: "Gemeinde Anröchte", AGS: "05974004"},
		{ID: "bad-sassendorf", Name: "Gemeinde Bad Sassendorf", AGS: "05974008"},
		{ID: "ense", Name: "Gemeinde Ense", AGS: "05974012"},
		{ID: "erwitte", Name: "Stadt Erwitte", AGS: "05974016"},
		{ID: "geseke", Name: "Stadt Geseke", AGS: "05974020"},
		{ID: "lippetal", Name: "Gemeinde Lippetal", AGS: "05974024"},
		{ID: "lippstadt", Name: "Stadt Lippstadt", AGS: "05974028", Vars: map[string]string{
			"phone": "02941 980-0", "office": "Rathaus, Ostwall 1", "hours": "Mo–Fr 8–12:30 Uhr, Do 14–17 Uhr",
			"website": "https://www.lippstadt.de", "hashtag": "Lippstadt",
		}},
		{ID: "moehnesee", Name: "Gemeinde Möhnesee", AGS: "05974032"},
		{ID: "ruethen", Name: "Stadt Rüthen", AGS: "05974036"},
		{ID: "soest", Name: "Stadt Soest", AGS: "05974040", Vars: map[string]string{
			"phone": "02921 103-0", "office": "Bürgerbüro, Am Vreithof 8", "hours": "Mo–Fr 8–12 Uhr",
			"website": "https://www.soest.de", "hashtag": "Soest",
		}},
		{ID: "warstein", Name: "Stadt Warstein", AGS: "05974044"},
		{ID: "welver", Name: "Gemeinde Welver", AGS: "05974048"},
		{ID: "werl", Name: "Stadt Werl", AGS: "05974052"},
		{ID: "wickede", Name: "Gemeinde Wickede (Ruhr)", AGS: "05974056"},
	}
	for _, t := range towns {
		t.Language = "de"
		if t.Vars == nil {
			name := strings.TrimPrefix(strings.TrimPrefix(t.Name, "Stadt "), "Gemeinde ")
			t.Vars = map[string]string{
				"phone": "02900 000-000", "office": "Bürgerbüro im Rathaus, Hauptstraße 100",
				"hours": "Mo–Fr 8–12:30 Uhr, Do 14–18 Uhr", "hashtag": name,
			}
		}
		t.Channels = []string{"mail-" + t.ID, "radio", "mastodon-" + t.ID, "krisenstab"}
	}
	return towns
}

func town(tb testing.TB, id string) *crier.Town {
	tb.Helper()
	for _, t := range kreisSoest() {
		if t.ID == id {
			return t
		}
	}
	tb.Fatalf("no town %q", id)
	return nil
}

// buergerbuero is an outage notice for every town of the Kreis.
func buergerbuero(mode crier.Mode) *crier.Announcement {
	a := &crier.Announcement{
		ID:    "k3v7qz2m",
		Title: "Bürgerbüro geschlossen wegen IT-Ausfall",
		Body: `Wegen eines Angriffs auf die gemeinsame IT unseres Dienstleisters sind die
Systeme der **{{.Town.Name}}** seit heute Morgen nicht erreichbar. Das
Bürgerbüro bleibt bis auf Weiteres geschlossen; E-Mails an die Verwaltung
kommen derzeit nicht an.

In dringenden Fällen erreichen Sie uns telefonisch unter {{.Vars.phone}}
({{.Vars.hours}}), persönlich im {{.Vars.office}}.

- Personalausweise und Reisepässe können nicht beantragt werden.
- Bereits bestellte Dokumente können nicht ausgegeben werden.
- Geburten und Sterbefälle beurkundet das Standesamt weiterhin; bitte rufen Sie vorher an.

Wir informieren auf dieser Seite, sobald es Neuigkeiten gibt.
`,
		Towns:     []string{"kreis-soest"},
		Mode:      mode,
		CreatedAt: created,
	}
	a.SetDefaults(mode)
	return a
}

// kfz is a notice of the vehicle registration office with an expiry.
func kfz(mode crier.Mode) *crier.Announcement {
	a := &crier.Announcement{
		ID:    "p8d4wx6n",
		Title: "Kfz-Zulassungsstelle: Termine entfallen",
		Body: `Die Kfz-Zulassungsstelle kann wegen des IT-Ausfalls derzeit **keine
Fahrzeuge zulassen, ummelden oder abmelden**. Alle gebuchten Termine bis
einschließlich Freitag entfallen; Sie müssen nichts absagen.

Neue Termine vergeben wir, sobald die Systeme wieder laufen. Für
Bürgerinnen und Bürger aus {{.Town.Name}} gilt: Bei dringenden gewerblichen
Zulassungen rufen Sie bitte {{.Vars.phone}} an.

Den aktuellen Stand finden Sie auch unter [Kreis Soest: IT-Ausfall](https://www.kreis-soest.de/it-ausfall).
`,
		Towns:     []string{"soest", "lippstadt"},
		Mode:      mode,
		Expires:   time.Date(2026, 12, 31, 17, 0, 0, 0, time.UTC), // 18:00 in Soest
		CreatedAt: created,
	}
	a.SetDefaults(mode)
	return a
}

// channels maps each rendered channel type to the channel id used in tests.
var channels = []struct{ typ, id string }{
	{"email", "mail"},
	{"webhook", "radio"},
	{"mastodon", "mastodon"},
	{"slack", "krisenstab"},
	{"site", "site"},
}

func link(t *crier.Town, a *crier.Announcement) string {
	return "https://krisen.kreis-soest.example/" + t.ID + "/" + a.ID
}

// request returns the request the engine makes for a town and channel:
// with the channel's limit for mastodon (Mastodon's default, an instance
// whose own is not known) and slack.
func request(t *crier.Town, a *crier.Announcement, typ, channel string) *crier.RenderRequest {
	req := &crier.RenderRequest{Announcement: a, Town: t, Channel: channel, Type: typ, Link: link(t, a)}
	switch typ {
	case "mastodon":
		c, err := mastodon.NewChecker("https://social.example", nil)
		if err != nil {
			panic(err)
		}
		lim := c.TextLimit()
		req.Limit = &lim
	case "slack":
		lim := slack.TextLimit()
		req.Limit = &lim
	}
	return req
}

// mustNew returns a Renderer for the override directory dir ("" for none).
func mustNew(tb testing.TB, dir string) *Renderer {
	tb.Helper()
	r, err := New(Options{Dir: dir, Clock: fixedClock(created.Add(time.Hour))})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return r
}

func mustRender(tb testing.TB, r *Renderer, req *crier.RenderRequest) *crier.Message {
	tb.Helper()
	m, err := r.Render(req)
	if err != nil {
		tb.Fatalf("Render %s/%s: %v", req.Town.ID, req.Channel, err)
	}
	return m
}
