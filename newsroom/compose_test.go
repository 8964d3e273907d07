package newsroom_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/access"
	"github.com/crierhq/crier/channels/mastodon"
	"github.com/crierhq/crier/netpath"
	"github.com/crierhq/crier/newsroom"
	"github.com/crierhq/crier/schedule"
	"github.com/crierhq/crier/store/sqlite"
	"github.com/crierhq/crier/templates"
)

// idle is a channel's transport that is never reached: the compose page
// previews and publishes, and publishing only queues.
type idle struct{}

func (idle) Send(context.Context, *crier.Message) (*crier.Receipt, error) {
	return nil, crier.Errorf(crier.EINTERNAL, "no sends in this test")
}

// composeEnv is the newsroom over a real SQLite database with channels:
// Soest posts to a Mastodon account on social.example (limit 500) that
// fails over to one on backup.example (limit 300), as the instances'
// facts stored by a probe say, and has email, a webhook and the site; Werl
// has a Mastodon account of its own. Publishing later goes to a real
// scheduler.
type composeEnv struct {
	*env
	engine *crier.Engine
	// stop ends the server and closes the database, as a restart would.
	stop func()
}

func newComposeEnv(t *testing.T) *composeEnv {
	t.Helper()
	return newComposeEnvAt(t, filepath.Join(t.TempDir(), "crier.db"))
}

// newComposeEnvAt is newComposeEnv on the database at path, which may
// have been used before: anna is added when she is not there yet.
func newComposeEnvAt(t *testing.T, path string) *composeEnv {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	closeDB := func() { once.Do(func() { db.Close() }) }
	t.Cleanup(closeDB)
	c := &clock{t: testNow}
	r, err := templates.New(templates.Options{Clock: c})
	if err != nil {
		t.Fatal(err)
	}
	for server, limit := range map[string]int{"https://social.example": 500, "https://backup.example": 300} {
		if err := db.SaveFact(ctx, crier.Fact{Kind: mastodon.FactKind, Key: server, Learned: testNow,
			Value: fmt.Appendf(nil, `{"max_characters":%d,"characters_reserved_per_url":23}`, limit)}); err != nil {
			t.Fatal(err)
		}
	}
	instances := mastodon.NewInstances(nil)
	if err := instances.Load(ctx, db); err != nil {
		t.Fatal(err)
	}
	account := func(server, name string) netpath.Endpoint {
		ch, err := mastodon.New(mastodon.Options{Server: server, Token: "token-of-" + name, Name: name, Instances: instances, Clock: c})
		if err != nil {
			t.Fatal(err)
		}
		return netpath.Endpoint{Name: name, Channel: ch}
	}
	chain := func(id string, eps ...netpath.Endpoint) *netpath.Chain {
		ch, err := netpath.NewChain(netpath.ChainOptions{Channel: id, Endpoints: eps, Clock: c})
		if err != nil {
			t.Fatal(err)
		}
		return ch
	}
	channels := map[string]*crier.ChannelInfo{
		"mastodon-soest": {ID: "mastodon-soest", Type: "mastodon", Deduplicates: true,
			Channel: chain("mastodon-soest", account("https://social.example", "social.example"), account("https://backup.example", "backup.example"))},
		"mastodon-werl": {ID: "mastodon-werl", Type: "mastodon", Deduplicates: true,
			Channel: chain("mastodon-werl", account("https://social.example", "werl@social.example"))},
		"mail-soest": {ID: "mail-soest", Type: "email", PerSubscriber: true, Channel: idle{}},
		"radio":      {ID: "radio", Type: "webhook", Deduplicates: true, Channel: idle{}},
	}
	towns := []*crier.Town{
		{ID: "soest", Name: "Stadt Soest", AGS: "05974040", Language: "de", TimeZone: "Europe/Berlin",
			Vars: map[string]string{"phone": "02921 103-0", "hashtag": "Soest"}, Channels: []string{"mastodon-soest", "mail-soest", "radio"}},
		{ID: "werl", Name: "Stadt Werl", AGS: "05974052", Language: "de", TimeZone: "Europe/Berlin",
			Vars: map[string]string{"phone": "02922 800-0"}, Channels: []string{"mastodon-werl", "radio"}},
	}
	engine := &crier.Engine{
		Directory: crier.NewDirectory(towns, map[string][]string{"kreis-soest": {"soest", "werl"}}),
		Channels:  channels, Renderer: r, Store: db, Clock: c, Mode: crier.ModeExercise,
		PublicURL: "https://krisen.example",
	}
	sched := &schedule.Scheduler{Store: db, Engine: engine, Clock: c}
	nr, err := newsroom.New(newsroom.Options{Engine: engine, Accounts: db, Sessions: db, Drafts: db, Schedules: sched,
		Login: access.NewAccounts(db, nil, c, nil), Clock: c})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(nr)
	t.Cleanup(srv.Close)
	e := &env{t: t, db: db, clock: c, nr: nr, srv: srv}
	if _, err := db.User(ctx, "anna"); crier.ErrorCode(err) == crier.ENOTFOUND {
		e.addUser("anna", crier.RoleEditor, "soest")
	}
	return &composeEnv{env: e, engine: engine, stop: func() { srv.Close(); closeDB() }}
}

// announcements returns what is stored, newest first.
func (e *composeEnv) announcements() []*crier.Announcement {
	e.t.Helper()
	as, err := e.db.Announcements(context.Background(), 100)
	if err != nil {
		e.t.Fatal(err)
	}
	return as
}

var formKey = regexp.MustCompile(`name="key" value="([^"]+)"`)

// composeForm returns the fields of a fresh compose form for b: its CSRF
// token and idempotency key, with fields set.
func (b *browser) composeForm(fields url.Values) url.Values {
	b.e.t.Helper()
	_, body := b.get("/admin/compose")
	csrf, key := csrfInput.FindStringSubmatch(body), formKey.FindStringSubmatch(body)
	if csrf == nil || key == nil {
		b.e.t.Fatalf("no compose form:\n%s", body)
	}
	form := url.Values{"csrf": {csrf[1]}, "key": {key[1]}, "channels_listed": {"1"}, "when": {"now"}, "mode": {"exercise"}}
	for k, v := range fields {
		form[k] = v
	}
	return form
}

// fragment posts form to the preview as the page's script does.
func (b *browser) fragment(form url.Values) (*http.Response, string) {
	return b.do(http.MethodPost, "/admin/compose/preview", form,
		http.Header{"X-CSRF-Token": {form.Get("csrf")}})
}

// cell returns the HTML of the matrix cell id in page, or fails.
func cell(t *testing.T, page, id string) string {
	t.Helper()
	i := strings.Index(page, `id="`+id+`"`)
	if i < 0 {
		t.Fatalf("no cell %s in:\n%s", id, page)
	}
	rest := page[i:]
	if j := strings.Index(rest, "</div>"); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// TestComposeTooLongForOneInstance is the editor for Soest writing a
// notice whose Mastodon post is too long for one of the two instances her
// town's account may go out on: the matrix says so in that town's
// Mastodon cell, against that instance's limit, nothing can be published,
// and once she shortens the content warning, it is published, once, even
// when the form is sent twice.
func TestComposeTooLongForOneInstance(t *testing.T) {
	e := newComposeEnv(t)
	b := e.browser()
	b.login("anna")

	title := "Abkochgebot für Trinkwasser in der Soester Innenstadt, am Ardey und in Ostönnen nach einem Rohrbruch an der Hauptleitung der Stadtwerke"
	warning := "Gesundheit: Betrifft Haushalte, Kitas, Schulen, Arztpraxen und Pflegeheime in den genannten Straßen und Ortsteilen"
	fields := url.Values{"title": {title}, "spoiler_text": {warning}, "towns": {"soest"},
		"body":     {"Bitte Leitungswasser vor dem Trinken abkochen. Fragen: {{.Vars.phone}}"},
		"channels": {"mastodon-soest", "mail-soest", "radio"}}
	form := b.composeForm(fields)

	res, frag := b.fragment(form)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("preview: %s\n%s", res.Status, frag)
	}
	mast := cell(t, frag, "cell-soest-mastodon-soest")
	if !strings.Contains(frag, `<div class="cell has-problem" id="cell-soest-mastodon-soest">`) || !strings.Contains(mast, "/ 300 Zeichen (backup.example) – <strong>zu lang") ||
		!strings.Contains(mast, "/ 500 Zeichen (social.example)</p>") || !strings.Contains(mast, "backup.example erlaubt 300") {
		t.Errorf("the Mastodon cell does not show the post too long for backup.example alone:\n%s", mast)
	}
	if !strings.Contains(frag, `data-problems="1"`) || !strings.Contains(frag, "1 Problem verhindert das Veröffentlichen") {
		t.Errorf("the summary does not count one problem:\n%s", frag)
	}
	id := regexp.MustCompile(`<li class="problem" id="(problem-\d+)"`).FindStringSubmatch(mast)
	if id == nil || !strings.Contains(frag, `<a href="#`+id[1]+`">Stadt Soest × mastodon-soest: `) {
		t.Errorf("the summary does not link to the problem in its cell:\n%s", frag)
	}
	for _, c := range []string{"cell-soest-mail-soest", "cell-soest-radio", "cell-soest-site"} {
		if cell(t, frag, c); !strings.Contains(frag, `<div class="cell" id="`+c+`">`) {
			t.Errorf("%s has a problem:\n%s", c, frag)
		}
	}

	// Without JavaScript: the preview button shows the page with the
	// matrix, and the publish button is disabled.
	_, page := b.post("/admin/compose", form)
	if !strings.Contains(page, `id="cell-soest-mastodon-soest"`) || !regexp.MustCompile(`id="publish"[^>]* disabled`).MatchString(page) {
		t.Errorf("the preview page lacks the matrix or lets her publish:\n%s", page)
	}

	// The server refuses it all the same, and keeps the text.
	res, page = b.post("/admin/compose/publish", form)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `value="`+title+`"`) ||
		!strings.Contains(page, "backup.example erlaubt 300") {
		t.Fatalf("publishing the post too long: %s\n%s", res.Status, page)
	}
	if as := e.announcements(); len(as) != 0 {
		t.Fatalf("stored although refused: %v", as)
	}

	// Shortened, it fits both instances.
	form.Set("spoiler_text", "")
	_, frag = b.fragment(form)
	if mast := cell(t, frag, "cell-soest-mastodon-soest"); strings.Contains(frag, "has-problem") || strings.Contains(mast, "zu lang") ||
		!strings.Contains(frag, `data-problems="0"`) {
		t.Fatalf("still a problem after shortening:\n%s", frag)
	}
	res, _ = b.post("/admin/compose/publish", form)
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/admin/announcements/") {
		t.Fatalf("publish: %s, Location %q", res.Status, loc)
	}
	res, _ = b.post("/admin/compose/publish", form) // a double click
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != loc {
		t.Fatalf("the same form again: %s, Location %q, want %q", res.Status, res.Header.Get("Location"), loc)
	}
	as := e.announcements()
	if len(as) != 1 || "/admin/announcements/"+as[0].ID != loc || as[0].Title != title || as[0].Mode != crier.ModeExercise {
		t.Fatalf("stored: %+v", as)
	}
}

// TestComposeOffersOwnTowns: a person is offered their own towns only, a
// group only with rights in each of its towns, and "all my towns" when
// they have several.
func TestComposeOffersOwnTowns(t *testing.T) {
	e := newComposeEnv(t)
	e.addUser("kreis", crier.RoleEditor, "soest", "werl")
	anna := e.browser()
	anna.login("anna")
	_, page := anna.get("/admin/compose")
	for _, want := range []string{`id="town-soest"`, `id="channel-mastodon-soest"`, `{{.Vars.phone}}`, `id="mode-exercise"`} {
		if !strings.Contains(page, want) {
			t.Errorf("anna's form lacks %s", want)
		}
	}
	for _, unwanted := range []string{`id="town-werl"`, `id="group-kreis-soest"`, `id="town-mine"`, `id="channel-mastodon-werl"`, `id="mode-actual"`} {
		if strings.Contains(page, unwanted) {
			t.Errorf("anna's form offers %s", unwanted)
		}
	}
	kreis := e.browser()
	kreis.login("kreis")
	_, page = kreis.get("/admin/compose")
	for _, want := range []string{`id="town-werl"`, `id="group-kreis-soest"`, `id="town-mine"`, `id="channel-mastodon-werl"`,
		`{{with index .Vars &#34;hashtag&#34;}}{{.}}{{end}}`} {
		if !strings.Contains(page, want) {
			t.Errorf("the form of the editor of both towns lacks %s", want)
		}
	}
	// All my towns: both towns' cells.
	_, frag := kreis.fragment(kreis.composeForm(url.Values{"title": {"Wasser"}, "body": {"Abkochen."}, "towns": {"mine"},
		"channels": {"mastodon-soest", "mastodon-werl", "radio", "mail-soest"}}))
	for _, c := range []string{"cell-soest-mastodon-soest", "cell-werl-mastodon-werl", "cell-werl-radio", "cell-werl-site"} {
		cell(t, frag, c)
	}
	if strings.Contains(frag, "cell-werl-mail-soest") {
		t.Error("Werl shows Soest's mail channel")
	}
	// One channel unticked: it is left out, where the town has it.
	_, frag = kreis.fragment(kreis.composeForm(url.Values{"title": {"Wasser"}, "body": {"Abkochen."}, "towns": {"kreis-soest"},
		"channels": {"mastodon-soest", "mastodon-werl", "mail-soest"}}))
	if strings.Contains(frag, "cell-soest-radio") || !strings.Contains(frag, "cell-werl-mastodon-werl") {
		t.Errorf("the channels ticked are not what is previewed:\n%s", frag)
	}
}

// TestComposeForged: the editor of Soest cannot preview, publish,
// schedule or keep a draft for Werl or the county by forging the form:
// 403, and nothing is stored.
func TestComposeForged(t *testing.T) {
	e := newComposeEnv(t)
	b := e.browser()
	b.login("anna")
	for _, towns := range [][]string{{"werl"}, {"kreis-soest"}, {"soest", "werl"}, {"all"}} {
		fields := url.Values{"title": {"Wasser"}, "body": {"Abkochen."}, "towns": towns}
		for _, path := range []string{"/admin/compose/publish", "/admin/compose/draft", "/admin/compose"} {
			if res, _ := b.post(path, b.composeForm(fields)); res.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s for %v: %s, want 403", path, towns, res.Status)
			}
		}
		later := b.composeForm(fields)
		later.Set("when", "later")
		later.Set("publish_at", "2026-11-27T10:00")
		if res, _ := b.post("/admin/compose/publish", later); res.StatusCode != http.StatusForbidden {
			t.Errorf("scheduling for %v: %s, want 403", towns, res.Status)
		}
		if res, _ := b.fragment(b.composeForm(fields)); res.StatusCode != http.StatusForbidden {
			t.Errorf("preview for %v: %s, want 403", towns, res.Status)
		}
	}
	// A real notice, forged by someone who may publish exercises only.
	actual := b.composeForm(url.Values{"title": {"Wasser"}, "body": {"Abkochen."}, "towns": {"soest"}, "mode": {"actual"}})
	if res, _ := b.post("/admin/compose/publish", actual); res.StatusCode != http.StatusForbidden {
		t.Errorf("a forged real notice: %s, want 403", res.Status)
	}
	if _, frag := b.fragment(actual); !strings.Contains(frag, "Sie dürfen nur Übungen veröffentlichen") {
		t.Errorf("the preview of a real notice does not say she may not:\n%s", frag)
	}
	if as := e.announcements(); len(as) != 0 {
		t.Fatalf("stored: %v", as)
	}
	if ds, _ := e.db.Drafts(context.Background(), "anna"); len(ds) != 0 {
		t.Fatalf("drafts stored: %v", ds)
	}
	if ss, _ := e.db.Schedules(context.Background()); len(ss) != 0 {
		t.Fatalf("schedules stored: %v", ss)
	}
	// A viewer may not compose at all.
	e.addUser("vera", crier.RoleViewer, "soest")
	v := e.browser()
	v.login("vera")
	if res, _ := v.get("/admin/compose"); res.StatusCode != http.StatusForbidden {
		t.Errorf("a viewer's compose page: %s", res.Status)
	}
}

// TestComposeActualOffered: a person allowed real notices is offered
// mode actual, and publishes one.
func TestComposeActualOffered(t *testing.T) {
	e := newComposeEnv(t)
	if err := e.db.CreateUser(context.Background(), &crier.User{Name: "bert", Role: crier.RoleEditor, Towns: []string{"soest"},
		Actual: true, PasswordHash: hash(), CreatedAt: testNow}); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.login("bert")
	_, page := b.get("/admin/compose")
	if !strings.Contains(page, `id="mode-actual"`) || !regexp.MustCompile(`id="mode-exercise"[^>]* checked`).MatchString(page) {
		t.Fatalf("bert's form does not offer actual, or does not default to exercise:\n%s", page)
	}
	res, _ := b.post("/admin/compose/publish", b.composeForm(url.Values{"title": {"Wasser"}, "body": {"Abkochen."},
		"towns": {"soest"}, "mode": {"actual"}, "channels": {"mastodon-soest", "mail-soest", "radio"}}))
	if as := e.announcements(); res.StatusCode != http.StatusSeeOther || len(as) != 1 || as[0].Mode != crier.ModeActual {
		t.Fatalf("bert publishing a real notice: %s, %v", res.Status, as)
	}
}

// TestComposeHostile: markup typed in comes back escaped in the form and
// the matrix; a body too long to render is a problem, not a failure, and
// so is a form larger than the newsroom takes.
func TestComposeHostile(t *testing.T) {
	e := newComposeEnv(t)
	b := e.browser()
	b.login("anna")
	script := `<script>alert(1)</script><img src=x onerror=alert(2)>`
	form := b.composeForm(url.Values{"title": {"Wasser " + script}, "body": {"Abkochen " + script}, "spoiler_text": {script},
		"towns": {"soest"}, "channels": {"mastodon-soest", "mail-soest", "radio"}})
	for _, path := range []string{"/admin/compose", "/admin/compose/preview"} {
		res, page := b.do(http.MethodPost, path, form, http.Header{"X-CSRF-Token": {form.Get("csrf")}})
		if res.StatusCode != http.StatusOK || strings.Contains(page, "<script>alert") || strings.Contains(page, "<img src=x") ||
			!strings.Contains(page, "&lt;script&gt;alert(1)") || !strings.Contains(page, `id="cell-soest-mastodon-soest"`) {
			t.Errorf("POST %s: %s, markup not escaped:\n%s", path, res.Status, page)
		}
	}

	form.Set("body", strings.Repeat("Bitte Wasser abkochen. ", 3000))
	res, page := b.post("/admin/compose", form)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "ist 69000 Zeichen lang, erlaubt sind höchstens 50000") ||
		!strings.Contains(page, `aria-describedby="body-help problem-1"`) {
		t.Errorf("a body too long: %s\n%s", res.Status, page)
	}
	res, _ = b.post("/admin/compose/publish", form)
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("publishing a body too long: %s", res.Status)
	}

	form.Set("body", strings.Repeat("x", 2<<20))
	res, page = b.post("/admin/compose/publish", form)
	if res.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(page, "Das Formular ist zu groß (mehr als 1 MiB)") {
		t.Errorf("a form of 2 MiB: %s\n%s", res.Status, page)
	}
	if as := e.announcements(); len(as) != 0 {
		t.Fatalf("stored: %v", as)
	}
}

// TestComposeFieldProblems: a problem of a field is next to its input,
// which names it, and the summary links to the input.
func TestComposeFieldProblems(t *testing.T) {
	e := newComposeEnv(t)
	b := e.browser()
	b.login("anna")
	_, page := b.post("/admin/compose", b.composeForm(url.Values{"title": {""}, "body": {"Abkochen."}, "towns": {"soest"},
		"expires": {"morgen"}, "channels": {"radio"}}))
	for _, want := range []string{
		`<input type="text" id="title" name="title" value="" maxlength="200" aria-describedby="problem-2">`,
		`<p class="problem" id="problem-2"><span aria-hidden="true">⚠ </span>darf nicht leer sein</p>`,
		`aria-describedby="expires-help problem-1">`,
		`<a href="#title">Titel: darf nicht leer sein</a>`,
		`<a href="#expires">Gültig bis: &#34;morgen&#34; ist kein Datum mit Uhrzeit</a>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if t.Failed() {
		t.Log(page)
	}
}

// TestComposeLater: a notice for a time ahead is stored as a schedule,
// not published.
func TestComposeLater(t *testing.T) {
	e := newComposeEnv(t)
	b := e.browser()
	b.login("anna")
	form := b.composeForm(url.Values{"title": {"Bürgerbüro geschlossen"}, "body": {"Morgen geschlossen."}, "towns": {"soest"},
		"when": {"later"}, "publish_at": {"2026-11-27T08:00"}, "channels": {"mastodon-soest", "mail-soest", "radio"}})
	res, _ := b.post("/admin/compose/publish", form)
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/admin/compose?scheduled=") {
		t.Fatalf("schedule: %s %q", res.Status, loc)
	}
	if res, _ := b.post("/admin/compose/publish", form); res.Header.Get("Location") != loc {
		t.Errorf("the form again: Location %q, want %q", res.Header.Get("Location"), loc)
	}
	ss, err := e.db.Schedules(context.Background())
	if err != nil || len(ss) != 1 || !ss[0].At.Equal(testNow.Add(22*time.Hour)) || len(e.announcements()) != 0 {
		t.Fatalf("schedules %+v, %v; announcements %d", ss, err, len(e.announcements()))
	}
	if _, page := b.get(loc); !strings.Contains(page, "Die Meldung ist geplant für Freitag, 27. November 2026, 08:00 Uhr (Zeitplan "+ss[0].ID+")") {
		t.Errorf("no word of the schedule:\n%s", page)
	}
	if _, page := b.get("/admin/compose?scheduled=Alles+gut"); strings.Contains(page, "geplant") {
		t.Errorf("a schedule there is not is said to be:\n%s", page)
	}
	form.Set("publish_at", "2026-11-26T08:00") // two hours ago
	form.Set("key", "another")
	if res, page := b.post("/admin/compose/publish", form); res.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(page, "liegt in der Vergangenheit") {
		t.Errorf("a time past: %s\n%s", res.Status, page)
	}
}

// TestComposeUpdate: the current revision opens in the form, and
// publishing it makes the next revision; a notice of another town does
// not open.
func TestComposeUpdate(t *testing.T) {
	e := newComposeEnv(t)
	ctx := crier.NewContext(context.Background(), crier.AdminPrincipal)
	res, err := e.engine.Publish(ctx, &crier.Announcement{Title: "Wasser abkochen", Body: "Bitte abkochen.", Towns: []string{"soest"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	werl, err := e.engine.Publish(ctx, &crier.Announcement{Title: "Werl", Body: "Werl.", Towns: []string{"werl"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.login("anna")
	if res, _ := b.get("/admin/compose?update=" + werl.Announcement.ID); res.StatusCode != http.StatusForbidden {
		t.Errorf("anna opens Werl's notice: %s", res.Status)
	}
	id := res.Announcement.ID
	_, page := b.get("/admin/compose?update=" + id)
	if !strings.Contains(page, `value="Wasser abkochen"`) || !strings.Contains(page, `name="update" value="`+id+`"`) ||
		!strings.Contains(page, "Korrektur veröffentlichen") {
		t.Fatalf("the form for an update:\n%s", page)
	}
	form := url.Values{"csrf": {csrfInput.FindStringSubmatch(page)[1]}, "key": {formKey.FindStringSubmatch(page)[1]},
		"update": {id}, "title": {"Wasser abkochen – Nachtrag"}, "body": {"Bitte weiter abkochen."}, "towns": {"soest"},
		"when": {"now"}, "mode": {"exercise"}}
	forged := url.Values{}
	for k, v := range form {
		forged[k] = v
	}
	forged.Set("update", werl.Announcement.ID)
	forged.Set("towns", "soest")
	if res, _ := b.post("/admin/compose/publish", forged); res.StatusCode != http.StatusForbidden {
		t.Errorf("an update of Werl's notice forged as Soest's: %s", res.Status)
	}
	r, _ := b.post("/admin/compose/publish", form)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin/announcements/"+id {
		t.Fatalf("update: %s %q", r.Status, r.Header.Get("Location"))
	}
	a, err := e.db.Announcement(context.Background(), id)
	if err != nil || a.Revision != 2 || a.Title != "Wasser abkochen – Nachtrag" {
		t.Fatalf("after the update: %+v, %v", a, err)
	}
}

// TestComposeDrafts: a draft keeps the form for its owner alone, opens
// again as it was, and is deleted by its owner, or when published.
func TestComposeDrafts(t *testing.T) {
	e := newComposeEnv(t)
	e.addUser("bert", crier.RoleEditor, "soest")
	b := e.browser()
	b.login("anna")
	form := b.composeForm(url.Values{"title": {"Wasser <b>abkochen</b>"}, "body": {"Bitte abkochen."}, "towns": {"soest"},
		"channels": {"mastodon-soest", "radio"}, "expires": {"2026-11-28T18:00"}})
	res, _ := b.post("/admin/compose/draft", form)
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/admin/compose?draft=") {
		t.Fatalf("save draft: %s %q", res.Status, loc)
	}
	_, page := b.get(loc)
	for _, want := range []string{"Entwurf gespeichert.", `value="Wasser &lt;b&gt;abkochen&lt;/b&gt;"`, `value="2026-11-28T18:00"`,
		"Entwurf „Wasser &lt;b&gt;abkochen&lt;/b&gt;“ öffnen", `id="channel-radio" name="channels" value="radio" checked`} {
		if !strings.Contains(page, want) {
			t.Errorf("the draft's page lacks %s", want)
		}
	}
	if strings.Contains(page, `id="channel-mail-soest" name="channels" value="mail-soest" checked`) {
		t.Error("a channel unticked in the draft is ticked again")
	}
	id := strings.TrimPrefix(strings.TrimSuffix(loc, "&saved"), "/admin/compose?draft=")

	other := e.browser()
	other.login("bert")
	if res, _ := other.get("/admin/compose?draft=" + id); res.StatusCode != http.StatusNotFound {
		t.Errorf("bert opens anna's draft: %s", res.Status)
	}
	if _, page := other.get("/admin/compose"); strings.Contains(page, "abkochen") {
		t.Error("bert's list shows anna's draft")
	}
	if res, _ := other.post("/admin/compose/drafts/"+id+"/delete", url.Values{"csrf": {other.csrf("/admin/compose")}}); res.StatusCode != http.StatusNotFound {
		t.Errorf("bert deletes anna's draft: %s", res.Status)
	}
	// Saving again replaces it; publishing it deletes it.
	form.Set("draft", id)
	form.Set("title", "Wasser abkochen")
	if res, _ := b.post("/admin/compose/draft", form); res.Header.Get("Location") != "/admin/compose?draft="+id+"&saved" {
		t.Errorf("saving again: %q", res.Header.Get("Location"))
	}
	if res, _ := b.post("/admin/compose/publish", form); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("publish the draft: %s", res.Status)
	}
	if ds, _ := e.db.Drafts(context.Background(), "anna"); len(ds) != 0 {
		t.Errorf("the published draft is kept: %v", ds)
	}
	// Deleting.
	res, _ = b.post("/admin/compose/draft", b.composeForm(url.Values{"title": {"Zweiter"}}))
	id = strings.TrimSuffix(strings.TrimPrefix(res.Header.Get("Location"), "/admin/compose?draft="), "&saved")
	if res, _ := b.post("/admin/compose/drafts/"+id+"/delete", url.Values{"csrf": {b.csrf("/admin/compose")}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %s", res.Status)
	}
	if ds, _ := e.db.Drafts(context.Background(), "anna"); len(ds) != 0 {
		t.Errorf("deleted draft kept: %v", ds)
	}
}

// TestComposeAssets: the page's script and stylesheet are served, and the
// page carries no inline script or style.
func TestComposeAssets(t *testing.T) {
	e := newComposeEnv(t)
	b := e.browser()
	b.login("anna")
	_, page := b.get("/admin/compose")
	if regexp.MustCompile(`<script>|<style|style="|javascript:|\son[a-z]+=`).MatchString(page) {
		t.Errorf("inline script or style:\n%s", page)
	}
	for _, name := range []string{"compose.js", "compose.css"} {
		if res, body := b.get("/admin/assets/" + name); res.StatusCode != http.StatusOK || len(body) < 100 {
			t.Errorf("%s: %s", name, res.Status)
		}
	}
}

// TestComposeAfterRestart: a form sent again after crier restarted, its
// answer lost, still publishes once.
func TestComposeAfterRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crier.db")
	e := newComposeEnvAt(t, path)
	b := e.browser()
	b.login("anna")
	form := b.composeForm(url.Values{"title": {"Wasser abkochen"}, "body": {"Bitte abkochen."}, "towns": {"soest"},
		"channels": {"mastodon-soest", "mail-soest", "radio"}})
	res, _ := b.post("/admin/compose/publish", form)
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("publish: %s", res.Status)
	}
	old, _ := url.Parse(e.srv.URL + "/admin/")
	cookies := b.client.Jar.Cookies(old)
	e.stop()

	e = newComposeEnvAt(t, path)
	b.e = e.env
	now, _ := url.Parse(e.srv.URL + "/admin/")
	for _, c := range cookies {
		c.Path = "/admin/"
	}
	b.client.Jar.SetCookies(now, cookies)
	res, _ = b.post("/admin/compose/publish", form)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != loc {
		t.Fatalf("the form again after a restart: %s %q, want %q", res.Status, res.Header.Get("Location"), loc)
	}
	if as := e.announcements(); len(as) != 1 {
		t.Fatalf("%d announcements, want 1", len(as))
	}
}
