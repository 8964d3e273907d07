package site

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crierhq/crier"
)

// capDoc is a CAP 1.2 alert as a test reads it, independent of the
// package's own types.
type capDoc struct {
	XMLName    xml.Name `xml:"urn:oasis:names:tc:emergency:cap:1.2 alert"`
	Identifier string   `xml:"identifier"`
	Sender     string   `xml:"sender"`
	Sent       string   `xml:"sent"`
	Status     string   `xml:"status"`
	MsgType    string   `xml:"msgType"`
	Scope      string   `xml:"scope"`
	Note       string   `xml:"note"`
	References string   `xml:"references"`
	Info       []struct {
		Language    string   `xml:"language"`
		Category    []string `xml:"category"`
		Event       string   `xml:"event"`
		Urgency     string   `xml:"urgency"`
		Severity    string   `xml:"severity"`
		Certainty   string   `xml:"certainty"`
		Expires     string   `xml:"expires"`
		SenderName  string   `xml:"senderName"`
		Headline    string   `xml:"headline"`
		Description string   `xml:"description"`
		Instruction string   `xml:"instruction"`
		Web         string   `xml:"web"`
		Contact     string   `xml:"contact"`
		Area        []struct {
			AreaDesc string `xml:"areaDesc"`
			Geocode  []struct {
				ValueName string `xml:"valueName"`
				Value     string `xml:"value"`
			} `xml:"geocode"`
		} `xml:"area"`
	} `xml:"info"`
}

func parseCAP(t *testing.T, name string, b []byte) *capDoc {
	t.Helper()
	var d capDoc
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("%s is not a CAP alert: %v\n%s", name, err, b)
	}
	return &d
}

// capTimeRE is CAP's time: seconds and a numeric offset, never Z.
var capTimeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d$`)

// TestCAPMapping publishes, updates and cancels a notice for two towns and
// checks every CAP document against the mapping the package promises:
// identifiers per town and revision, status from the mode, msgType and
// references from the revisions, offset times, the town's area and code.
// Every document validates against the schema.
func TestCAPMapping(t *testing.T) {
	docs := map[string][]byte{}
	for _, mode := range []crier.Mode{crier.ModeActual, crier.ModeExercise, crier.ModeTest} {
		src := newSource(t)
		s := mustSite(t, options(src))
		created := time.Date(2026, 7, 1, 6, 0, 0, 0, time.UTC) // summer time: +02:00
		src.publish(&crier.Announcement{
			ID: "m" + string(mode), Title: "Rathaus geschlossen", Body: "Telefon: {{.Vars.phone}}",
			Towns: []string{"soest", "lippstadt"}, Mode: mode, CreatedAt: created,
			Expires: created.Add(48 * time.Hour),
		})
		fetch := func(town, step string) *capDoc {
			b := mustGet(t, s, capPath(town, "m"+string(mode)))
			docs[fmt.Sprintf("%s-%s-%s", mode, town, step)] = b
			return parseCAP(t, town, b)
		}
		wantStatus := map[crier.Mode]string{crier.ModeActual: "Actual", crier.ModeExercise: "Exercise", crier.ModeTest: "Test"}[mode]

		alert := fetch("soest", "published")
		want := capDoc{Sender: sender, Scope: "Public", Status: wantStatus, MsgType: "Alert"}
		check := func(d *capDoc, msgType, identifier, sent string) {
			t.Helper()
			if d.Identifier != identifier || d.Sent != sent || d.Status != want.Status || d.MsgType != msgType ||
				d.Scope != "Public" || d.Sender != sender {
				t.Errorf("%s %s: identifier %q sent %q status %q msgType %q scope %q sender %q; want %q %q %q %q Public %q",
					mode, msgType, d.Identifier, d.Sent, d.Status, d.MsgType, d.Scope, d.Sender,
					identifier, sent, want.Status, msgType, sender)
			}
			if !capTimeRE.MatchString(d.Sent) {
				t.Errorf("sent %q is not in CAP's offset form", d.Sent)
			}
			if len(d.Info) != 1 {
				t.Fatalf("%d info blocks, want 1", len(d.Info))
			}
			in := d.Info[0]
			if in.Language != "de" || in.SenderName != "Stadt Soest" || len(in.Area) != 1 || in.Area[0].AreaDesc != "Stadt Soest" ||
				len(in.Area[0].Geocode) != 1 || in.Area[0].Geocode[0].ValueName != "AGS" || in.Area[0].Geocode[0].Value != "05974040" {
				t.Errorf("info does not name Soest and its AGS: %+v", in)
			}
			if diff := cmp.Diff([]string{"Infra", "Expected", "Minor", "Observed"}, []string{in.Category[0], in.Urgency, in.Severity, in.Certainty}); diff != "" {
				t.Errorf("outage defaults (-want +got):\n%s", diff)
			}
			if in.Web != baseURL+"/soest/m"+string(mode) {
				t.Errorf("web = %q", in.Web)
			}
			if (mode != crier.ModeActual) != strings.Contains(d.Note, "keine echte Meldung") {
				t.Errorf("note %q for mode %s", d.Note, mode)
			}
		}
		id1 := "kreis-soest.example.soest.m" + string(mode) + ".1"
		sent1 := "2026-07-01T08:00:00+02:00"
		check(alert, "Alert", id1, sent1)
		if alert.References != "" || alert.Info[0].Expires != "2026-07-03T08:00:00+02:00" {
			t.Errorf("first revision: references %q, expires %q", alert.References, alert.Info[0].Expires)
		}
		if !strings.Contains(alert.Info[0].Description, "Telefon: 02921 103-0") {
			t.Errorf("description is not Soest's text: %q", alert.Info[0].Description)
		}
		if other := fetch("lippstadt", "published"); other.Identifier == alert.Identifier ||
			!strings.Contains(other.Info[0].Description, "02941 980-0") || other.Info[0].Area[0].Geocode[0].Value != "05974028" {
			t.Errorf("Lippstadt's document is not Lippstadt's own: %s %+v", other.Identifier, other.Info)
		}

		src.update("m"+string(mode), &crier.Announcement{Title: "Rathaus geschlossen", Body: "Neu: {{.Vars.phone}}", Reason: "Korrektur"}, created.Add(time.Hour))
		upd := fetch("soest", "updated")
		id2 := "kreis-soest.example.soest.m" + string(mode) + ".2"
		check(upd, "Update", id2, "2026-07-01T09:00:00+02:00")
		if upd.References != sender+","+id1+","+sent1 {
			t.Errorf("update references %q", upd.References)
		}
		if !strings.Contains(upd.Note, "Korrektur") || !strings.HasSuffix(upd.Info[0].Headline, "Aktualisierung: Rathaus geschlossen") {
			t.Errorf("update note %q, headline %q", upd.Note, upd.Info[0].Headline)
		}

		src.cancel("m"+string(mode), "Wieder geöffnet.", created.Add(2*time.Hour))
		cnl := fetch("soest", "canceled")
		check(cnl, "Cancel", "kreis-soest.example.soest.m"+string(mode)+".3", "2026-07-01T10:00:00+02:00")
		if want := sender + "," + id1 + "," + sent1 + " " + sender + "," + id2 + ",2026-07-01T09:00:00+02:00"; cnl.References != want {
			t.Errorf("cancel references %q, want %q", cnl.References, want)
		}
		if cnl.Info[0].Description != "Wieder geöffnet." || cnl.Info[0].Expires != "" || cnl.Info[0].Instruction != "" {
			t.Errorf("cancel info: description %q expires %q instruction %q", cnl.Info[0].Description, cnl.Info[0].Expires, cnl.Info[0].Instruction)
		}

		// The JSON beside it carries the same document.
		var j capDoc
		if err := json.Unmarshal(mustGet(t, s, "/soest/m"+string(mode)+".cap.json"), &j); err != nil {
			t.Fatal(err)
		}
		j.XMLName = cnl.XMLName
		if diff := cmp.Diff(*cnl, j); diff != "" {
			t.Errorf("CAP JSON differs from CAP XML (-xml +json):\n%s", diff)
		}
	}
	validateCAP(t, docs)
}

// TestCAPVariants renders alerts in the corners of the mapping: a town in
// English, with a 12-digit ARS, without a code, without a base URL, in
// another time zone and in winter, an instance in exercise mode, CAP
// values outside the vocabulary, and text with characters XML cannot
// carry. Every one validates.
func TestCAPVariants(t *testing.T) {
	docs := map[string][]byte{}
	variants := []struct {
		name  string
		town  func(*crier.Town)
		opts  func(*Options)
		ann   func(*crier.Announcement)
		check func(t *testing.T, d *capDoc)
	}{
		{name: "english", town: func(tw *crier.Town) { tw.Language = "en-GB" }, check: func(t *testing.T, d *capDoc) {
			if d.Info[0].Language != "en-GB" || d.Info[0].Event != "Infrastructure disruption" {
				t.Errorf("language %q event %q", d.Info[0].Language, d.Info[0].Event)
			}
		}},
		{name: "ars", town: func(tw *crier.Town) { tw.AGS = "059740040040" }, check: func(t *testing.T, d *capDoc) {
			if g := d.Info[0].Area[0].Geocode; len(g) != 1 || g[0].ValueName != "ARS" {
				t.Errorf("geocode %+v", g)
			}
		}},
		{name: "no-code", town: func(tw *crier.Town) { tw.AGS = "" }, check: func(t *testing.T, d *capDoc) {
			if g := d.Info[0].Area[0].Geocode; len(g) != 0 {
				t.Errorf("geocode %+v", g)
			}
		}},
		{name: "no-base", opts: func(o *Options) { o.BaseURL = ""; o.Sender = "" }, check: func(t *testing.T, d *capDoc) {
			if d.Info[0].Web != "" || d.Sender != "crier" || !strings.HasPrefix(d.Identifier, "crier.soest.") {
				t.Errorf("web %q sender %q identifier %q", d.Info[0].Web, d.Sender, d.Identifier)
			}
		}},
		{name: "sender-from-base", opts: func(o *Options) { o.Sender = "" }, check: func(t *testing.T, d *capDoc) {
			if d.Sender != "krisen.kreis-soest.example" {
				t.Errorf("sender %q", d.Sender)
			}
		}},
		{name: "time-zone", town: func(tw *crier.Town) { tw.TimeZone = "America/New_York" }, check: func(t *testing.T, d *capDoc) {
			if d.Sent != "2026-01-15T07:00:00-05:00" {
				t.Errorf("sent %q", d.Sent)
			}
		}},
		{name: "utc", town: func(tw *crier.Town) { tw.TimeZone = "UTC" }, check: func(t *testing.T, d *capDoc) {
			if d.Sent != "2026-01-15T12:00:00+00:00" {
				t.Errorf("sent %q, want +00:00 and never Z", d.Sent)
			}
		}},
		{name: "winter", check: func(t *testing.T, d *capDoc) {
			if d.Sent != "2026-01-15T13:00:00+01:00" {
				t.Errorf("sent %q", d.Sent)
			}
		}},
		{name: "instance-exercise", opts: func(o *Options) { o.Mode = crier.ModeExercise }, check: func(t *testing.T, d *capDoc) {
			if d.Status != "Exercise" || !strings.HasPrefix(d.Info[0].Headline, "[ÜBUNG] ") {
				t.Errorf("status %q headline %q", d.Status, d.Info[0].Headline)
			}
		}},
		{name: "vocabulary", ann: func(a *crier.Announcement) {
			a.Category, a.Urgency, a.Severity, a.Certainty = "Outage", "Soon", "Bad", "Sure"
		}, check: func(t *testing.T, d *capDoc) {
			in := d.Info[0]
			if in.Category[0] != "Other" || in.Urgency != "Unknown" || in.Severity != "Unknown" || in.Certainty != "Unknown" {
				t.Errorf("outside the vocabulary: %v %s %s %s", in.Category, in.Urgency, in.Severity, in.Certainty)
			}
		}},
		{name: "control-characters", town: func(tw *crier.Town) {
			tw.Name = "Stadt\x00 Soest\x0b"
			tw.Vars["phone"] = "0\x1b2921"
		}, ann: func(a *crier.Announcement) {
			a.Title = "Titel\x01 mit ]]> und <![CDATA[ & \uFFFE"
			a.Body = "Text\x02 {{.Vars.phone}} ]]>"
		}},
	}
	for _, v := range variants {
		src := newSource(t)
		tw := src.town("soest")
		if v.town != nil {
			v.town(tw)
		}
		o := options(src)
		if v.opts != nil {
			v.opts(&o)
		}
		s := mustSite(t, o)
		a := &crier.Announcement{ID: "v" + strings.ReplaceAll(v.name, "-", ""), Title: "Rathaus geschlossen", Body: "Telefon: {{.Vars.phone}}",
			Towns: []string{"soest"}, CreatedAt: time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)}
		if v.ann != nil {
			v.ann(a)
		}
		src.publish(a)
		b := mustGet(t, s, capPath("soest", a.ID))
		docs[v.name] = b
		d := parseCAP(t, v.name, b)
		if v.check != nil {
			t.Run(v.name, func(t *testing.T) { v.check(t, d) })
		}
	}
	validateCAP(t, docs)
}

// TestSchemaRejects makes sure the validation is not vacuous: a document
// with a "Z" time and an unknown status fails it.
func TestSchemaRejects(t *testing.T) {
	xsd := capSchema(t)
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		unavailable(t, "xmllint not found (Debian: apt-get install libxml2-utils)")
	}
	bad := strings.NewReplacer("+01:00", "Z", "<status>Actual", "<status>Real").Replace(string(mustReadGolden(t, "soest.updated.cap.xml")))
	path := filepath.Join(t.TempDir(), "bad.xml")
	if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(xmllint, "--noout", "--nonet", "--schema", xsd, path).CombinedOutput()
	if err == nil {
		t.Fatalf("xmllint accepts an invalid CAP document:\n%s", out)
	}
	for _, want := range []string{"sent", "status"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("xmllint does not complain about %s:\n%s", want, out)
		}
	}
}

func mustReadGolden(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "golden", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
