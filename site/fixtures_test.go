package site

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/templates"
)

// The fixtures are the 14 municipalities of Kreis Soest with their official
// codes and notices from the IT
// outage of autumn 2023, reworded. Soest's and Lippstadt's contact details
// are realistic; the other towns' are placeholders.

const (
	baseURL    = "https://krisen.kreis-soest.example"
	sender     = "presse@kreis-soest.example"
	imprintURL = "https://www.kreis-soest.de/impressum"
	privacyURL = "https://www.kreis-soest.de/datenschutz"
	// formURL is Soest's subscribe form on crier serve, for exports.
	formURL = baseURL + "/soest/subscribe"
)

// now is the fixed time of every test: Thursday, 26 November 2026, 11:00
// in Soest.
var now = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

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
			"website": "https://www.soest.de", "email": "buergerbuero@soest.example", "hashtag": "Soest",
		}},
		{ID: "warstein", Name: "Stadt Warstein", AGS: "05974044"},
		{ID: "welver", Name: "Gemeinde Welver", AGS: "05974048"},
		{ID: "werl", Name: "Stadt Werl", AGS: "05974052"},
		{ID: "wickede", Name: "Gemeinde Wickede (Ruhr)", AGS: "05974056"},
	}
	for _, t := range towns {
		t.Language = "de"
		t.TimeZone = "Europe/Berlin"
		if t.Vars == nil {
			name := strings.TrimPrefix(strings.TrimPrefix(t.Name, "Stadt "), "Gemeinde ")
			t.Vars = map[string]string{
				"phone": "02900 000-000", "office": "Bürgerbüro im Rathaus, Hauptstraße 100",
				"hours": "Mo–Fr 8–12:30 Uhr, Do 14–18 Uhr", "hashtag": name,
			}
		}
		t.Channels = []string{"radio"}
	}
	return towns
}

// memSource is a Source in memory that publishes, updates and cancels as
// the engine does and takes each town's body from the message the real
// renderer produces for a webhook channel, through BodyFromMessages: the
// path the store adapter is meant to take.
type memSource struct {
	t        testing.TB
	renderer *templates.Renderer
	dir      *crier.Directory

	mu       sync.Mutex
	towns    []*crier.Town
	revs     map[string][]*crier.Announcement // by id, oldest first
	messages map[string][]*crier.Message      // by id
	status   map[string][]ServiceStatus
	fail     error // returned by every method when set
}

func newSource(tb testing.TB) *memSource {
	tb.Helper()
	r, err := templates.New(templates.Options{Clock: fixedClock(now)})
	if err != nil {
		tb.Fatal(err)
	}
	towns := kreisSoest()
	ids := make([]string, len(towns))
	for i, t := range towns {
		ids[i] = t.ID
	}
	return &memSource{
		t: tb, renderer: r, towns: towns,
		dir:      crier.NewDirectory(towns, map[string][]string{"kreis-soest": ids}),
		revs:     map[string][]*crier.Announcement{},
		messages: map[string][]*crier.Message{},
		status:   map[string][]ServiceStatus{},
	}
}

func (m *memSource) town(id string) *crier.Town {
	for _, t := range m.towns {
		if t.ID == id {
			return t
		}
	}
	m.t.Fatalf("no town %q", id)
	return nil
}

// add renders a revision for every town it targets and keeps it.
func (m *memSource) add(a *crier.Announcement) {
	m.t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	a.SetDefaults(crier.ModeActual)
	ids, problems := m.dir.Resolve(a.Towns)
	if len(problems) > 0 {
		m.t.Fatalf("resolve %v: %v", a.Towns, problems)
	}
	for _, id := range ids {
		t := m.dir.Town(id)
		msg, err := m.renderer.Render(&crier.RenderRequest{
			Announcement: a, Town: t, Channel: "radio", Type: "webhook", Link: baseURL + "/" + t.ID + "/" + a.ID,
		})
		if err != nil {
			m.t.Fatalf("render %s for %s: %v", a.ID, id, err)
		}
		m.messages[a.ID] = append(m.messages[a.ID], msg)
	}
	m.revs[a.ID] = append(m.revs[a.ID], a)
}

func (m *memSource) publish(a *crier.Announcement) { m.add(a) }

// update publishes a as the next revision of id, as crier.Engine.Update.
func (m *memSource) update(id string, a *crier.Announcement, at time.Time) {
	prev := m.latest(id)
	a.ID, a.Revision, a.Event, a.CreatedAt = id, prev.Revision+1, crier.EventUpdated, at
	if a.Mode == "" {
		a.Mode = prev.Mode
	}
	if a.Towns == nil {
		a.Towns = prev.Towns
	}
	m.add(a)
}

// cancel withdraws id, as crier.Engine.Cancel.
func (m *memSource) cancel(id, reason string, at time.Time) {
	a := *m.latest(id)
	a.Revision, a.Event, a.Reason = a.Revision+1, crier.EventCanceled, reason
	a.Expires, a.CreatedAt = time.Time{}, at
	m.add(&a)
}

func (m *memSource) latest(id string) *crier.Announcement {
	m.mu.Lock()
	defer m.mu.Unlock()
	rs := m.revs[id]
	if len(rs) == 0 {
		m.t.Fatalf("no announcement %s", id)
	}
	return rs[len(rs)-1]
}

func (m *memSource) Towns(context.Context) ([]*crier.Town, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, m.fail
	}
	return slices.Clone(m.towns), nil
}

func (m *memSource) Notices(ctx context.Context, town string, limit int) ([]*Notice, error) {
	m.mu.Lock()
	ids := make([]string, 0, len(m.revs))
	for id := range m.revs {
		ids = append(ids, id)
	}
	m.mu.Unlock()
	var out []*Notice
	for _, id := range ids {
		n, err := m.Notice(ctx, town, id)
		if crier.ErrorCode(err) == crier.ENOTFOUND {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

func (m *memSource) Notice(_ context.Context, town, id string) (*Notice, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, m.fail
	}
	n := &Notice{Town: town}
	for _, a := range m.revs[id] {
		b, ok := BodyFromMessages(m.messages[id], town, a.Revision)
		if !ok {
			return nil, crier.Errorf(crier.ENOTFOUND, "announcement %s not found for %s", id, town)
		}
		n.Revisions = append(n.Revisions, &Revision{Announcement: a, Body: b})
	}
	if len(n.Revisions) == 0 {
		return nil, crier.Errorf(crier.ENOTFOUND, "announcement %s not found", id)
	}
	return n, nil
}

func (m *memSource) Status(_ context.Context, town string) ([]ServiceStatus, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, m.fail
	}
	return m.status[town], nil
}

// The notices of the fixture, by id.
const (
	idBuergerbuero = "k3v7qz2m"
	idKfz          = "p8d4wx6n"
	idWasser       = "w2nq5hxr"
	idSprechstunde = "s6tb3mjc"
	idAbfall       = "a7rk4pzd"
)

// kreisSoestSource returns the fixture: in Soest on 26 November 2026 at
// 11:00, one notice for the whole Kreis (updated once), one for Soest and
// Lippstadt that expires at the end of the year, an exercise for Soest,
// a canceled and an expired notice of Soest, and Soest's status list.
func kreisSoestSource(tb testing.TB) *memSource {
	m := newSource(tb)
	at := func(day, hour, minute int) time.Time { return time.Date(2026, 11, day, hour, minute, 0, 0, time.UTC) }

	m.publish(&crier.Announcement{
		ID: idAbfall, Title: "Wertstoffhof am Samstag geschlossen", Towns: []string{"soest"},
		Body:    "Der Wertstoffhof bleibt am Samstag geschlossen. Die Abfuhr nach Kalender findet statt.",
		Expires: at(21, 17, 0), CreatedAt: at(20, 9, 0),
	})
	m.publish(&crier.Announcement{
		ID: idSprechstunde, Title: "Bürgersprechstunde des Bürgermeisters entfällt", Towns: []string{"soest"},
		Body:      "Die Bürgersprechstunde am Donnerstag entfällt. Anliegen nehmen wir unter {{.Vars.phone}} entgegen.",
		CreatedAt: at(25, 14, 0),
	})
	m.cancel(idSprechstunde, "Die Sprechstunde findet doch statt: Donnerstag, 16 Uhr, im Rathaus.", at(26, 7, 15))
	m.publish(&crier.Announcement{
		ID: idBuergerbuero, Title: "Bürgerbüro geschlossen wegen IT-Ausfall", Towns: []string{"kreis-soest"},
		Body: `Wegen eines Angriffs auf die gemeinsame IT unseres Dienstleisters sind die
Systeme der **{{.Town.Name}}** seit heute Morgen nicht erreichbar. Das
Bürgerbüro bleibt bis auf Weiteres geschlossen.

In dringenden Fällen erreichen Sie uns telefonisch unter {{.Vars.phone}}
({{.Vars.hours}}).
`,
		CreatedAt: at(26, 6, 30),
	})
	m.update(idBuergerbuero, &crier.Announcement{
		Title:  "Bürgerbüro geschlossen wegen IT-Ausfall",
		Reason: "Die Notfallsprechstunde ist hinzugekommen.",
		Body: `Wegen eines Angriffs auf die gemeinsame IT unseres Dienstleisters sind die
Systeme der **{{.Town.Name}}** seit heute Morgen nicht erreichbar. Das
Bürgerbüro bleibt bis auf Weiteres geschlossen.

In dringenden Fällen erreichen Sie uns telefonisch unter {{.Vars.phone}}
({{.Vars.hours}}), persönlich im {{.Vars.office}}.

- Personalausweise und Reisepässe können nicht beantragt werden.
- Geburten und Sterbefälle beurkundet das Standesamt weiterhin; bitte rufen Sie vorher an.
`,
	}, at(26, 8, 0))
	m.publish(&crier.Announcement{
		ID: idKfz, Title: "Kfz-Zulassungsstelle: Termine entfallen", Towns: []string{"soest", "lippstadt"},
		Body: `Die Kfz-Zulassungsstelle kann derzeit **keine Fahrzeuge zulassen**. Alle
gebuchten Termine bis einschließlich Freitag entfallen.

Den aktuellen Stand finden Sie auch unter [Kreis Soest: IT-Ausfall](https://www.kreis-soest.de/it-ausfall).
`,
		Expires: time.Date(2026, 12, 31, 17, 0, 0, 0, time.UTC), CreatedAt: at(26, 7, 45),
	})
	m.publish(&crier.Announcement{
		ID: idWasser, Title: "Trinkwasser abkochen im Ortsteil Ostönnen", Towns: []string{"soest"},
		Mode: crier.ModeExercise, Category: "Health", Urgency: "Immediate", Severity: "Moderate", Certainty: "Likely",
		Body:      "Bitte kochen Sie Leitungswasser vor dem Trinken ab. Rückfragen: {{.Vars.phone}}.",
		CreatedAt: at(26, 9, 30),
	})
	m.status["soest"] = []ServiceStatus{
		{Service: "Bürgerbüro", Availability: Unavailable, Text: "geschlossen"},
		{Service: "Telefon", Availability: Available, Text: "erreichbar unter 02921 103-0"},
		{Service: "E-Mail", Availability: Unavailable, Text: "E-Mails an die Verwaltung kommen derzeit nicht an"},
		{Service: "Kfz-Zulassung", Availability: Limited, Text: "nur dringende gewerbliche Zulassungen nach Anruf", Updated: at(26, 8, 10)},
	}
	return m
}

// options returns the fixture's site options for src.
func options(src Source) Options {
	return Options{
		Source: src, BaseURL: baseURL, Sender: sender, ImprintURL: imprintURL, PrivacyURL: privacyURL,
		Clock: fixedClock(now), Title: "Notfall-Informationen Kreis Soest",
		Subscribe: func(town string) string {
			if town != "soest" { // Lippstadt has no email channel
				return ""
			}
			return formURL
		},
	}
}

func mustSite(tb testing.TB, o Options) *Site {
	tb.Helper()
	s, err := New(o)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return s
}

// get requests path from h and returns the response with its body read.
func get(tb testing.TB, h http.Handler, method, path string, header ...string) (*http.Response, []byte) {
	tb.Helper()
	req := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	res := w.Result()
	return res, w.Body.Bytes()
}

// mustGet requests path and fails unless the answer is 200.
func mustGet(tb testing.TB, h http.Handler, path string) []byte {
	tb.Helper()
	res, body := get(tb, h, http.MethodGet, path)
	if res.StatusCode != http.StatusOK {
		tb.Fatalf("GET %s: %s\n%s", path, res.Status, body)
	}
	return body
}

func capPath(town, id string) string { return fmt.Sprintf("/%s/%s.cap.xml", town, id) }
