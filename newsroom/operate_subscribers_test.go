package newsroom_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/crierhq/crier"
)

// upload posts a CSV file with the form fields to path, as a browser does.
func (b *browser) upload(path string, fields url.Values, csv []byte) (*http.Response, string) {
	b.e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, vs := range fields {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	if csv != nil {
		fw, _ := mw.CreateFormFile("file", "liste.csv")
		fw.Write(csv)
	}
	mw.Close()
	req, err := http.NewRequest(http.MethodPost, b.e.srv.URL+path, &body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := b.client.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res, string(data)
}

func (o *operateEnv) subscriber(town, email string) *crier.Subscriber {
	o.t.Helper()
	s, err := o.db.Subscriber(context.Background(), town, email)
	if crier.ErrorCode(err) == crier.ENOTFOUND {
		return nil
	}
	if err != nil {
		o.t.Fatal(err)
	}
	return s
}

func TestSubscribersAdminOnly(t *testing.T) {
	o := newOperateEnv(t)
	anna := o.browser()
	anna.login("anna")
	csrf := anna.csrf("/admin/tokens")
	for _, path := range []string{"/admin/operate/subscribers", "/admin/operate/subscribers?town=soest",
		"/admin/operate/subscribers/soest/export"} {
		if res, _ := anna.get(path); res.StatusCode != http.StatusForbidden {
			t.Errorf("anna GET %s: %s", path, res.Status)
		}
	}
	for _, path := range []string{"/admin/operate/subscribers/soest/add", "/admin/operate/subscribers/soest/remove"} {
		if res, _ := anna.post(path, url.Values{"csrf": {csrf}, "email": {"x@soest.example"}}); res.StatusCode != http.StatusForbidden {
			t.Errorf("anna POST %s: %s", path, res.Status)
		}
	}
	if res, _ := anna.upload("/admin/operate/subscribers/soest/import", url.Values{"csrf": {csrf}}, []byte("y@soest.example\n")); res.StatusCode != http.StatusForbidden {
		t.Errorf("anna imports: %s", res.Status)
	}
	if subs, _ := o.db.Subscribers(context.Background(), "soest", ""); len(subs) != 0 {
		t.Fatalf("anna's posts changed the list: %v", subs)
	}
}

func TestSubscribers(t *testing.T) {
	o := newOperateEnv(t)
	ctx := context.Background()
	var subs []*crier.Subscriber
	for i := range 120 {
		subs = append(subs, &crier.Subscriber{Town: "soest", Email: fmt.Sprintf("person%03d@soest.example", i),
			State: crier.SubscriberConfirmed, Source: "test"})
	}
	subs = append(subs, &crier.Subscriber{Town: "werl", Email: "nur@werl.example", State: crier.SubscriberPending})
	if _, err := o.db.AddSubscribers(ctx, subs, testNow); err != nil {
		t.Fatal(err)
	}
	b := o.browser()
	b.login("root")

	_, body := b.get("/admin/operate/subscribers")
	mustContain(t, "every town", body, `id="subscribers-soest"`, "<td>120</td>", `id="subscribers-werl"`)

	// One page at a time, never the whole list.
	res, body := b.get("/admin/operate/subscribers?town=soest")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("soest: %s", res.Status)
	}
	if got := strings.Count(body, `<tr class="subscriber">`); got != 50 {
		t.Errorf("first page has %d rows, want 50", got)
	}
	mustContain(t, "first page", body, "person000@soest.example", `rel="next"`, "Seite 1")
	mustNotContain(t, "first page", body, "person050@soest.example", "nur@werl.example")
	_, body = b.get("/admin/operate/subscribers?town=soest&page=3")
	if got := strings.Count(body, `<tr class="subscriber">`); got != 20 {
		t.Errorf("last page has %d rows, want 20", got)
	}
	mustNotContain(t, "last page", body, `rel="next"`)

	// Search, bounded and escaped.
	_, body = b.get("/admin/operate/subscribers?town=soest&q=PERSON11")
	if got := strings.Count(body, `<tr class="subscriber">`); got != 10 {
		t.Errorf("search has %d rows, want 10", got)
	}
	_, body = b.get("/admin/operate/subscribers?town=soest&q=" + url.QueryEscape(`"><script>x</script>`+strings.Repeat("a", 5000)))
	mustNotContain(t, "hostile search", body, "<script>x")
	if res, _ := b.get("/admin/operate/subscribers?town=nowhere"); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown town: %s", res.Status)
	}

	// Add: problems next to their fields, then a pending address.
	csrf := b.csrf("/admin/operate/subscribers?town=soest")
	res, body = b.post("/admin/operate/subscribers/soest/add", url.Values{"csrf": {csrf}, "email": {"x@[127.0.0.1]"},
		"confirmed": {"1"}})
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad address: %s", res.Status)
	}
	mustContain(t, "bad address", body, `id="add-email-problem"`, `id="add-source-problem"`)
	res, _ = b.post("/admin/operate/subscribers/soest/add", url.Values{"csrf": {csrf}, "email": {"Neu@Soest.Example"}, "name": {"Neu"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("add: %s", res.Status)
	}
	if s := o.subscriber("soest", "Neu@soest.example"); s == nil || s.State != crier.SubscriberPending {
		t.Fatalf("added: %+v", s)
	}
	_, body = b.get(res.Header.Get("Location"))
	mustContain(t, "after adding", body, "Adresse eingetragen.", "Neu@soest.example")

	// Remove.
	res, _ = b.post("/admin/operate/subscribers/soest/remove", url.Values{"csrf": {csrf}, "email": {"person001@soest.example"}})
	if s := o.subscriber("soest", "person001@soest.example"); res.StatusCode != http.StatusSeeOther || s.State != crier.SubscriberUnsubscribed {
		t.Fatalf("remove: %s, %+v", res.Status, s)
	}
	if res, _ := b.post("/admin/operate/subscribers/werl/remove", url.Values{"csrf": {csrf}, "email": {"person002@soest.example"}}); res.StatusCode != http.StatusNotFound {
		t.Fatalf("remove from the wrong town: %s", res.Status)
	}
}

func TestSubscribersImportExport(t *testing.T) {
	o := newOperateEnv(t)
	b := o.browser()
	b.login("root")
	csrf := b.csrf("/admin/operate/subscribers?town=werl")

	// Every bad row is listed, and nothing is written.
	bad := "email,name\nok@werl.example,Ok\nnot an address\nok@werl.example,Again\n\"unterminated\n"
	res, body := b.upload("/admin/operate/subscribers/werl/import", url.Values{"csrf": {csrf}}, []byte(bad))
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad file: %s\n%s", res.Status, body)
	}
	mustContain(t, "bad file", body, `id="import-problems"`, "line 3", "line 4", "wiederholt Zeile 2")
	if s := o.subscriber("werl", "ok@werl.example"); s != nil {
		t.Fatalf("a bad file was partly imported: %+v", s)
	}
	res, body = b.upload("/admin/operate/subscribers/werl/import", url.Values{"csrf": {csrf}, "confirmed": {"1"}}, []byte("a@werl.example\n"))
	mustContain(t, "confirmed without source", body, `id="add-source-problem"`)
	res, body = b.upload("/admin/operate/subscribers/werl/import", url.Values{"csrf": {csrf}}, nil)
	mustContain(t, "no file", body, `id="import-file-problem"`)

	// A good file, confirmed with its source.
	good := "\uFEFFemail,name\nanna@werl.example,Anna\n=cmd@werl.example,\"=HYPERLINK(\"\"http://evil\"\")\"\n"
	res, _ = b.upload("/admin/operate/subscribers/werl/import", url.Values{"csrf": {csrf}, "confirmed": {"1"},
		"source": {"Papierliste Rathaus Werl"}}, []byte(good))
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("good file: %s", res.Status)
	}
	if s := o.subscriber("werl", "anna@werl.example"); s == nil || s.State != crier.SubscriberConfirmed || s.Source != "Papierliste Rathaus Werl" {
		t.Fatalf("imported: %+v", s)
	}
	_, body = b.get(res.Header.Get("Location"))
	mustContain(t, "after import", body, "Import fertig (neu/geändert): 2/0.")

	// Too large: refused before it is read.
	big := bytes.Repeat([]byte("someone@werl.example\n"), 60000)
	if res, _ := b.upload("/admin/operate/subscribers/werl/import", url.Values{"csrf": {csrf}}, big); res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("large file: %s", res.Status)
	}

	// Export: a CSV download, formulas defused.
	res, body = b.get("/admin/operate/subscribers/werl/export?state=confirmed")
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		!strings.Contains(res.Header.Get("Content-Disposition"), `attachment; filename="werl-subscribers-confirmed.csv"`) {
		t.Fatalf("export: %s %v", res.Status, res.Header)
	}
	mustContain(t, "export", body, "email,name,state,source,created_at\n", "anna@werl.example,Anna,confirmed,Papierliste Rathaus Werl,",
		`"'=HYPERLINK(""http://evil"")"`)
	if res, _ := b.get("/admin/operate/subscribers/werl/export?state=bogus"); res.StatusCode != http.StatusNotFound {
		t.Errorf("export of an unknown state: %s", res.Status)
	}
}
