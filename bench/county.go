package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/crierhq/crier"
)

// town is one of the towns of Kreis Soest with the variables its notices
// use.
type town struct {
	id, name, ags, phone, office, hours, website, hashtag string
}

// kreisSoest returns the 14 towns of Kreis Soest.
func kreisSoest() []town {
	return []town{
		{"anroechte", "Gemeinde Anröchte", "05974004", "02947 888-0", "Rathaus, Hauptstraße 74, 59609 Anröchte", "Mo–Fr 8–12 Uhr, Do 14–17 Uhr", "https://www.anroechte.de", "Anröchte"},
		{"bad-sassendorf", "Gemeinde Bad Sassendorf", "05974008", "02921 505-0", "Rathaus, Eichendorffstraße 1, 59505 Bad Sassendorf", "Mo–Fr 8–12 Uhr, Di 14–16 Uhr", "https://www.bad-sassendorf.de", "BadSassendorf"},
		{"ense", "Gemeinde Ense", "05974012", "02938 980-0", "Rathaus, Am Spring 4, 59469 Ense", "Mo–Fr 8–12 Uhr, Do 14–18 Uhr", "https://www.ense.de", "Ense"},
		{"erwitte", "Stadt Erwitte", "05974016", "02943 896-0", "Rathaus, Am Markt 13, 59597 Erwitte", "Mo–Fr 8–12:30 Uhr, Do 14–17 Uhr", "https://www.erwitte.de", "Erwitte"},
		{"geseke", "Stadt Geseke", "05974020", "02942 500-0", "Bürgerbüro, Bachstraße 2, 59590 Geseke", "Mo–Fr 8–12 Uhr, Mo und Do 14–17 Uhr", "https://www.geseke.de", "Geseke"},
		{"lippetal", "Gemeinde Lippetal", "05974024", "02923 610-0", "Rathaus, Bahnhofstraße 6, 59510 Lippetal", "Mo–Fr 8–12 Uhr, Do 14–18 Uhr", "https://www.lippetal.de", "Lippetal"},
		{"lippstadt", "Stadt Lippstadt", "05974028", "02941 980-0", "Bürgerbüro, Ostwall 1, 59555 Lippstadt", "Mo–Fr 8–13 Uhr, Do 14–18 Uhr", "https://www.lippstadt.de", "Lippstadt"},
		{"moehnesee", "Gemeinde Möhnesee", "05974032", "02924 981-0", "Rathaus, Hauptstraße 19, 59519 Möhnesee", "Mo–Fr 8–12 Uhr, Do 14–17 Uhr", "https://www.moehnesee.de", "Möhnesee"},
		{"ruethen", "Stadt Rüthen", "05974036", "02952 818-0", "Rathaus, Hochstraße 14, 59602 Rüthen", "Mo–Fr 8–12 Uhr, Do 14–17:30 Uhr", "https://www.ruethen.de", "Rüthen"},
		{"soest", "Stadt Soest", "05974040", "02921 103-0", "Bürgerbüro, Am Vreithof 8, 59494 Soest", "Mo–Fr 8–12 Uhr", "https://www.soest.de", "Soest"},
		{"warstein", "Stadt Warstein", "05974044", "02902 81-0", "Rathaus, Dieplohstraße 1, 59581 Warstein", "Mo–Fr 8–12 Uhr, Do 14–17 Uhr", "https://www.warstein.de", "Warstein"},
		{"welver", "Gemeinde Welver", "05974048", "02384 51-0", "Rathaus, Am Markt 4, 59514 Welver", "Mo–Fr 8–12 Uhr, Di 14–16 Uhr", "https://www.welver.de", "Welver"},
		{"werl", "Stadt Werl", "05974052", "02922 800-0", "Bürgerbüro, Hedwig-Dransfeld-Straße 23, 59457 Werl", "Mo–Fr 8–12 Uhr, Do 14–18 Uhr", "https://www.werl.de", "Werl"},
		{"wickede", "Gemeinde Wickede (Ruhr)", "05974056", "02377 915-0", "Rathaus, Hauptstraße 81, 58739 Wickede (Ruhr)", "Mo–Fr 8–12 Uhr, Do 14–17 Uhr", "https://www.wickede.de", "WickedeRuhr"},
	}
}

// towns returns n towns: the 14 of Kreis Soest over and over, 70 being the
// size of the region one shared IT provider served in 2023. Copies get a
// number on id, name, hashtag and web address, and AGS codes of their own.
func towns(n int) []town {
	base := kreisSoest()
	out := make([]town, 0, n)
	for i := range n {
		t := base[i%len(base)]
		if k := i / len(base); k > 0 {
			s := strconv.Itoa(k + 1)
			t.id += "-" + s
			t.name += " " + s
			t.ags = fmt.Sprintf("06%06d", i) // outside Kreis Soest's 05974…
			t.website = strings.Replace(t.website, ".de", s+".de", 1)
			t.hashtag += s
		}
		out = append(out, t)
	}
	return out
}

// soest is the town of the email rows.
func soest() town { return kreisSoest()[9] }

// yaml writes t's entry of a configuration's towns list.
func (t town) yaml(b *strings.Builder, channels ...string) {
	fmt.Fprintf(b, "  - id: %s\n    name: %q\n    ags: %q\n", t.id, t.name, t.ags)
	fmt.Fprintf(b, "    vars: {phone: %q, office: %q, hours: %q, website: %q, hashtag: %q}\n", t.phone, t.office, t.hours, t.website, t.hashtag)
	fmt.Fprintf(b, "    channels: [%s]\n", strings.Join(channels, ", "))
}

// Addresses of the configurations.
const (
	publicURL  = "https://krisen.kreis-soest.example"
	mailFrom   = "Stadt Soest <presse@soest.example>"
	mailDomain = "soest.example" // of mailFrom, which Message-IDs end in
)

// countyNotice is the outage notice of examples/buergerbuero-geschlossen.md
// for every town.
func countyNotice() *crier.Announcement {
	return &crier.Announcement{
		Title: "Bürgerbüro geschlossen wegen IT-Ausfall",
		Body: "Wegen eines Angriffs auf die gemeinsame IT unseres Dienstleisters sind die\n" +
			"Systeme der **{{.Town.Name}}** seit heute Morgen nicht erreichbar. Das\n" +
			"Bürgerbüro bleibt bis auf Weiteres geschlossen; E-Mails an die Verwaltung\n" +
			"kommen derzeit nicht an.\n\n" +
			"In dringenden Fällen erreichen Sie uns telefonisch unter {{.Vars.phone}}\n" +
			"({{.Vars.hours}}), persönlich im {{.Vars.office}}.\n\n" +
			"- Personalausweise und Reisepässe können nicht beantragt werden.\n" +
			"- Bereits bestellte Dokumente können nicht ausgegeben werden.\n" +
			"- Geburten und Sterbefälle beurkundet das Standesamt weiterhin; bitte rufen Sie vorher an.\n\n" +
			"Wir informieren auf dieser Seite, sobald es Neuigkeiten gibt.\n",
		Towns:     []string{"all"},
		Category:  "Infra",
		Urgency:   "Expected",
		Severity:  "Minor",
		Certainty: "Observed",
	}
}

// mailNotice is the short notice of the email rows: with mailTemplates,
// each personalised mail is about 1.7 KB.
func mailNotice() *crier.Announcement {
	a := countyNotice()
	a.Title = "Bürgerbüro geschlossen"
	a.Body = "Das Bürgerbüro der **{{.Town.Name}}** ist heute zu. Telefon: {{.Vars.phone}}\n"
	return a
}

// mailTemplates are the email rows' overrides of the built-in email
// templates: the body and the links without the layout tables, inline
// styles, heading and contact block (the subject has the title), so that
// a mail has the size the email targets are stated for, about 1.7 KB with
// its headers.
var mailTemplates = map[string]string{
	"email.text.tmpl": `{{.BodyText}}

{{t "notice.more_info"}}: {{.Link}}
{{t "mail.unsubscribe"}}: {{.UnsubscribeURL}}
`,
	"email.html.tmpl": `{{.Body}}
<p><a href="{{.Link}}">{{t "notice.more_info"}}</a> · <a href="{{.UnsubscribeURL}}">{{t "mail.unsubscribe"}}</a></p>
`,
}

// mailConfig is crier for Soest alone, whose list goes to the relay at
// 127.0.0.1:port over conns SMTP sessions, with the compact HTML template
// in templates.
func mailConfig(port, conns int, templates string, prefetch *int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "mode: actual\npublic_url: %s\ntemplates: %q\ndelivery: {concurrency: {email: %d}", publicURL, templates, conns)
	if prefetch != nil {
		fmt.Fprintf(&b, ", prefetch: %d", *prefetch)
	}
	b.WriteString("}\n")
	fmt.Fprintf(&b, "channels:\n  - id: mail-soest\n    type: email\n    from: %q\n", mailFrom)
	fmt.Fprintf(&b, "    endpoints: [{host: 127.0.0.1, port: %d, tls: none}]\ntowns:\n", port)
	soest().yaml(&b, "mail-soest")
	return b.String()
}

// writeMailTemplates writes the email rows' template overrides into dir.
func writeMailTemplates(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for name, text := range mailTemplates {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// subscribe adds n confirmed subscribers to town, in batches so that the
// list never sits in memory whole.
func subscribe(ctx context.Context, s crier.SubscriberStore, town string, n int) error {
	const batch = 10_000
	now := time.Now()
	for from := 0; from < n; from += batch {
		subs := make([]*crier.Subscriber, min(batch, n-from))
		for i := range subs {
			k := from + i
			subs[i] = &crier.Subscriber{
				Town: town, Email: recipient(k),
				State: crier.SubscriberConfirmed, Source: "Papierliste Bürgerbüro",
			}
		}
		if _, err := s.AddSubscribers(ctx, subs, now); err != nil {
			return err
		}
	}
	return nil
}

// recipient returns the address subscribe gives subscriber k.
func recipient(k int) string {
	domains := []string{"example.org", "example.com", "example.net", "mail.example", "post.example"}
	return fmt.Sprintf("buerger%07d@%s", k, domains[k%len(domains)])
}
