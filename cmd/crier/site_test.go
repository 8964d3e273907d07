package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
)

// TestSite publishes, updates and cancels through the API of a real
// server with the example configuration, and reads the emergency website
// it serves outside the API, then exports it with crier site export next
// to the running server.
func TestSite(t *testing.T) {
	srv := mustServe(t, "../../config.example.yaml", nil)
	ctx := context.Background()
	get := func(path string, wantStatus int) (http.Header, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != wantStatus {
			t.Fatalf("GET %s: %d, want %d\n%s", path, resp.StatusCode, wantStatus, b)
		}
		return resp.Header, string(b)
	}
	contains := func(what, body string, wants ...string) {
		t.Helper()
		for _, w := range wants {
			if !strings.Contains(body, w) {
				t.Errorf("%s lacks %q:\n%s", what, w, body)
			}
		}
	}

	res, err := srv.Client.Publish(ctx, e2eNotice(), "")
	if err != nil {
		t.Fatal(err)
	}
	id := res.Announcement.ID
	waitDone(t, srv.Client, id, time.Minute)

	_, index := get("/", http.StatusOK)
	contains("overview", index, "Notfall-Informationen Kreis Soest", "Bürgerbüro geschlossen – IT-Störung")
	h, town := get("/soest/", http.StatusOK)
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("/soest/: Content-Type %q", ct)
	}
	// The body as rendered for Soest at publish time, from its variables.
	contains("Soest's page", town, "Notfall-Informationen Kreis Soest", "Bürgerbüro geschlossen – IT-Störung",
		"Stadt Soest", "Telefonisch erreichen Sie uns unter 02921 103-0", "Bürgerbüro, Am Vreithof 8",
		"erreichbar unter 02921 103-0", "ÜBUNG")
	// Every town of the example has an email channel: its page links to
	// the form beside it.
	contains("Soest's page", town, `<a href="subscribe">E-Mail-Benachrichtigung abonnieren</a>`)
	get("/soest/subscribe", http.StatusOK)
	_, werl := get("/werl/", http.StatusOK)
	contains("Werl's page", werl, "Telefonisch erreichen Sie uns unter 02922 800-0")
	_, notice := get("/soest/"+id, http.StatusOK)
	contains("the notice page", notice, "Bürgerbüro geschlossen – IT-Störung", "02921 103-0")
	// Ense was not targeted.
	get("/ense/"+id, http.StatusNotFound)
	get("/nirgendwo/", http.StatusNotFound)
	_, feed := get("/soest/feed.atom", http.StatusOK)
	contains("Soest's Atom feed", feed, "http://www.w3.org/2005/Atom", "Bürgerbüro geschlossen – IT-Störung", "/soest/"+id)
	h, capXML := get("/soest/"+id+".cap.xml", http.StatusOK)
	if ct := h.Get("Content-Type"); !strings.Contains(ct, "xml") {
		t.Errorf("CAP Content-Type %q", ct)
	}
	contains("CAP", capXML, "urn:oasis:names:tc:emergency:cap:1.2", "<sender>presse@kreis-soest.example</sender>",
		"<status>Exercise</status>", "<msgType>Alert</msgType>", "05974040", "02921 103-0")
	// The API keeps its own answers.
	if _, body := get("/api/v1/nope", http.StatusUnauthorized); !strings.Contains(body, "unauthorized") {
		t.Errorf("/api/v1/nope: %s", body)
	}

	upd := e2eNotice()
	upd.Body = "Das Bürgerbüro der {{.Town.Name}} öffnet am Montag wieder. Bis dahin: {{.Vars.phone}}."
	upd.Reason = "Neuer Termin für die Öffnung"
	if _, err := srv.Client.Update(ctx, id, upd, ""); err != nil {
		t.Fatal(err)
	}
	waitDone(t, srv.Client, id, time.Minute)
	_, town = get("/soest/", http.StatusOK)
	contains("Soest's page after the update", town, "öffnet am Montag wieder. Bis dahin: 02921 103-0")
	_, notice = get("/soest/"+id, http.StatusOK)
	contains("the notice page after the update", notice, "Neuer Termin für die Öffnung",
		"öffnet am Montag wieder. Bis dahin: 02921 103-0", "Telefonisch erreichen Sie uns unter 02921 103-0")
	_, capUpdate := get("/soest/"+id+".cap.xml", http.StatusOK)
	contains("CAP of the update", capUpdate, "<msgType>Update</msgType>", "<references>")

	if _, err := srv.Client.Cancel(ctx, id, "Das Bürgerbüro ist wieder geöffnet.", ""); err != nil {
		t.Fatal(err)
	}
	waitDone(t, srv.Client, id, time.Minute)
	_, notice = get("/soest/"+id, http.StatusOK)
	contains("the notice page after the cancel", notice, "Das Bürgerbüro ist wieder geöffnet.",
		"öffnet am Montag wieder", "Telefonisch erreichen Sie uns unter 02921 103-0")
	_, capCancel := get("/soest/"+id+".cap.xml", http.StatusOK)
	contains("CAP of the cancel", capCancel, "<msgType>Cancel</msgType>")
	validateCAP(t, map[string]string{"alert": capXML, "update": capUpdate, "cancel": capCancel})

	// Export next to the running server, in German and in English.
	dir := t.TempDir()
	for _, lang := range []string{"de", "en"} {
		code, out, errOut := run(t, map[string]string{"CRIER_LANG": lang}, "site", "export", dir,
			"--config", "../../config.example.yaml", "--data-dir", srv.DataDir, "--base-url", "https://krisen.kreis-soest.example/")
		if code != exitOK {
			t.Fatalf("site export (%s): exit %d\n%s%s", lang, code, out, errOut)
		}
		want := map[string]string{"de": "Dateien der Notfall-Website nach " + dir + " geschrieben.",
			"en": "files of the emergency website to " + dir}[lang]
		if !strings.Contains(out, want) {
			t.Errorf("site export (%s) output %q, want %q", lang, out, want)
		}
	}
	read := func(name string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	contains("exported index.html", read("index.html"), "Notfall-Informationen Kreis Soest", "Bürgerbüro geschlossen – IT-Störung")
	// Withdrawn, the notice is listed among the earlier ones, with its page.
	contains("exported soest/index.html", read("soest/index.html"), "Bürgerbüro geschlossen – IT-Störung",
		"Aufgehoben", id+".html")
	contains("exported notice", read("soest/"+id+".html"), "Das Bürgerbüro ist wieder geöffnet.",
		"öffnet am Montag wieder. Bis dahin: 02921 103-0")
	contains("exported CAP", read("soest/"+id+".cap.xml"), "https://krisen.kreis-soest.example/soest/"+id)
	// The example's public_url is the default http://127.0.0.1:8080, which
	// nobody outside reaches: the export leaves the form's link out.
	if page := read("soest/index.html"); strings.Contains(page, "abonnieren</a>") || strings.Contains(page, "/subscribe") {
		t.Errorf("exported soest/index.html links to a form only this machine reaches:\n%s", page)
	}

	// Without a database there is nothing to export, and that is said.
	code, out, errOut := run(t, nil, "site", "export", t.TempDir(), "--config", "../../config.example.yaml", "--data-dir", t.TempDir())
	if code == exitOK || !strings.Contains(errOut, "no database at") {
		t.Errorf("site export without a database: exit %d\n%s%s", code, out, errOut)
	}
}

// TestSubscribeForms: the town page's link to the subscribe form is the
// form under public_url for a town with an email channel, for crier serve
// and for an export; an export leaves it out when public_url is a loopback
// address, and so does every page of a town without an email channel.
func TestSubscribeForms(t *testing.T) {
	cfg := &Config{
		PublicURL: "https://krisen.kreis-soest.example/",
		Channels:  []ChannelConfig{{ID: "mail-soest", Type: "email"}, {ID: "radio", Type: "webhook"}},
		Towns: []TownConfig{
			{ID: "soest", Name: "Stadt Soest", Channels: []string{"radio", "mail-soest"}},
			{ID: "ense", Name: "Gemeinde Ense", Channels: []string{"radio"}},
		},
	}
	dir := func() *crier.Directory {
		var towns []*crier.Town
		for _, tc := range cfg.Towns {
			towns = append(towns, tc.Town())
		}
		return crier.NewDirectory(towns, nil)
	}
	for _, export := range []bool{false, true} {
		forms := subscribeForms(cfg, dir(), export)
		if forms == nil {
			t.Fatalf("export=%v: no forms", export)
		}
		if got, want := forms("soest"), "https://krisen.kreis-soest.example/soest/subscribe"; got != want {
			t.Errorf("export=%v: soest %q, want %q", export, got, want)
		}
		for _, town := range []string{"ense", "nirgendwo"} {
			if got := forms(town); got != "" {
				t.Errorf("export=%v: %s %q, want none", export, town, got)
			}
		}
	}
	for _, public := range []string{"http://127.0.0.1:8080", "http://localhost:8080/", "http://[::1]:8080", "http://0.0.0.0:8080"} {
		cfg.PublicURL = public
		if subscribeForms(cfg, dir(), true) != nil {
			t.Errorf("public_url %s: an export links to the form", public)
		}
		if forms := subscribeForms(cfg, dir(), false); forms == nil || !strings.HasPrefix(forms("soest"), public) {
			t.Errorf("public_url %s: crier serve's pages do not link to the form", public)
		}
	}
}

// TestSiteCommandUsage: only "site export DIR" exists.
func TestSiteCommandUsage(t *testing.T) {
	for _, args := range [][]string{{"site"}, {"site", "import", "x"}, {"site", "export"}} {
		if code, _, errOut := run(t, nil, args...); code != exitInvalid || !strings.Contains(errOut, "crier site export DIR") {
			t.Errorf("%v: exit %d, %s", args, code, errOut)
		}
	}
}

// validateCAP checks CAP documents against the OASIS CAP 1.2 schema in
// site/testdata/cap with xmllint. A missing xmllint skips the check, and
// fails it on CI (CI=true), as in the site package's tests.
func validateCAP(t *testing.T, docs map[string]string) {
	t.Helper()
	t.Run("xmllint", func(t *testing.T) {
		unavailable := func(format string, args ...any) {
			t.Helper()
			if os.Getenv("CI") == "true" {
				t.Fatalf("CI=true: "+format, args...)
			}
			t.Skipf(format+" (CI=true makes this a failure)", args...)
		}
		xsd, err := filepath.Abs("../../site/testdata/cap/CAP-v1.2.xsd")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(xsd); err != nil {
			t.Fatalf("the CAP 1.2 schema: %v", err)
		}
		xmllint, err := exec.LookPath("xmllint")
		if err != nil {
			unavailable("xmllint not found (Debian: apt-get install libxml2-utils); CAP not validated")
		}
		args := []string{"--noout", "--nonet", "--schema", xsd}
		dir := t.TempDir()
		for name, doc := range docs {
			path := filepath.Join(dir, name+".xml")
			if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			args = append(args, path)
		}
		out, err := exec.Command(xmllint, args...).CombinedOutput()
		var exit *exec.ExitError
		switch {
		case errors.As(err, &exit):
			t.Errorf("CAP documents not valid:\n%s", out)
		case err != nil:
			t.Fatalf("run xmllint: %v", err)
		}
	})
}
