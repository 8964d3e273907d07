package main

import (
	"context"
	"github.com/google/go-cmp/cmp"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/email/smtptest"
	"github.com/crierhq/crier/channels/webhook/webhooktest"
)

// TestPreview renders the example notice locally, without a server.
func TestPreview(t *testing.T) {
	code, out, errOut := run(t, nil, "preview", "../../examples/buergerbuero-geschlossen.md",
		"--config", "../../config.example.yaml", "--town", "soest")
	if code != exitOK {
		t.Fatalf("preview: exit %d\n%s", code, errOut)
	}
	for _, want := range []string{"=== soest × radio (webhook)", "=== soest × mail-soest (email)",
		"Subject: [ÜBUNG] Bürgerbüro geschlossen wegen IT-Ausfall", "02921 103-0", "Abmelden: <persönlicher Abmeldelink>"} {
		if !strings.Contains(out, want) {
			t.Errorf("preview output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "=== werl") {
		t.Errorf("--town soest printed another town")
	}
	if !strings.Contains(errOut, "30 Nachrichten für 14 Orte, keine Probleme.") {
		t.Errorf("preview summary: %s", errOut)
	}

	bad := filepath.Join(t.TempDir(), "bad.md")
	os.WriteFile(bad, []byte("---\ntitle: Test\ntowns: [soest, dortmund]\n---\nFax: {{.Vars.fax}}\n"), 0o600)
	code, _, errOut = run(t, map[string]string{"CRIER_LANG": "en"}, "preview", bad, "--config", "../../config.example.yaml")
	if code != exitInvalid || !strings.Contains(errOut, "problem(s), nothing was published") ||
		!strings.Contains(errOut, `unknown town or group "dortmund"`) || !strings.Contains(errOut, `town soest, channel mail-soest: body: line 1`) {
		t.Errorf("preview of a bad notice: exit %d\n%s", code, errOut)
	}

	// A schedule's template: its tokens need a time, and --at gives one.
	tpl := filepath.Join(t.TempDir(), "stand.md")
	os.WriteFile(tpl, []byte("---\ntitle: \"IT-Ausfall: Stand {{date}}\"\ntowns: [soest]\nchannels: [radio]\n---\n"+
		"Stand {{weekday}}, {{time}} Uhr.\n"), 0o600)
	code, _, errOut = run(t, map[string]string{"CRIER_LANG": "en"}, "preview", tpl, "--config", "../../config.example.yaml")
	if code != exitInvalid || !strings.Contains(errOut, "preview it with --at") {
		t.Errorf("preview of a schedule template without --at: exit %d\n%s", code, errOut)
	}
	code, out, errOut = run(t, nil, "preview", tpl, "--config", "../../config.example.yaml", "--at", "2026-11-27 08:00")
	if code != exitOK || !strings.Contains(out, "IT-Ausfall: Stand 27.11.2026") || !strings.Contains(out, "Stand Freitag, 08:00 Uhr.") {
		t.Errorf("preview --at: exit %d\n%s%s", code, out, errOut)
	}

	code, _, errOut = run(t, nil, "preview", "--config", "../../config.example.yaml")
	if code != exitInvalid || !strings.Contains(errOut, "one announcement file") {
		t.Errorf("preview without a file: exit %d\n%s", code, errOut)
	}
}

// TestSubscribersCLI imports, exports and removes subscribers through the
// API, and refuses a CSV with bad rows as a whole.
func TestSubscribersCLI(t *testing.T) {
	srv := mustServe(t, "../../config.example.yaml", nil)
	env := map[string]string{"CRIER_SERVER": srv.URL, "CRIER_LANG": "en"}
	cli := func(args ...string) (int, string, string) {
		return run(t, env, append(args, "--config", "../../config.example.yaml", "--data-dir", srv.DataDir)...)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.csv")
	os.WriteFile(good, []byte("email,name\nanna@example.org,Anna Schmidt\nJoerg@Example.ORG,Jörg Müller\n"), 0o600)
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("anna@example.org\nkeine-adresse\nanna@example.org\nx@y\r\nBcc: z@y\n"), 0o600)

	if code, _, errOut := cli("subscribers", "import", good, "--town", "soest", "--confirmed"); code != exitInvalid ||
		!strings.Contains(errOut, "--confirmed requires --source") {
		t.Errorf("--confirmed without --source: exit %d\n%s", code, errOut)
	}
	code, _, errOut := cli("subscribers", "import", bad, "--town", "soest")
	if code != exitInvalid || !strings.Contains(errOut, "line 2:") || !strings.Contains(errOut, "line 3: anna@example.org repeats line 1") {
		t.Errorf("import of bad rows: exit %d\n%s", code, errOut)
	}
	if subs, _ := srv.Client.Subscribers(context.Background(), "soest", ""); len(subs) != 0 {
		t.Errorf("a refused import wrote %d subscribers", len(subs))
	}
	code, out, errOut := cli("subscribers", "import", good, "--town", "soest", "--confirmed", "--source", "Papierliste Bürgerbüro")
	if code != exitOK || !strings.Contains(out, "2 new, 0 updated (list soest).") {
		t.Fatalf("import: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = cli("subscribers", "export", "--town", "soest")
	if code != exitOK || !strings.Contains(out, "anna@example.org,Anna Schmidt,confirmed,Papierliste Bürgerbüro,") ||
		!strings.Contains(out, "Joerg@example.org,Jörg Müller,confirmed") {
		t.Errorf("export: exit %d\n%s", code, out)
	}
	if code, out, errOut := cli("subscribers", "remove", "--town", "soest", "anna@example.org"); code != exitOK {
		t.Errorf("remove: exit %d\n%s%s", code, out, errOut)
	}
	subs, err := srv.Client.Subscribers(context.Background(), "soest", crier.SubscriberConfirmed)
	if err != nil || len(subs) != 1 || subs[0].Email != "Joerg@example.org" {
		t.Errorf("confirmed after remove: %v, %v", subs, err)
	}
	if code, _, errOut := cli("subscribers", "remove", "--town", "soest", "nobody@example.org"); code != exitFailure ||
		!strings.Contains(errOut, "not") {
		t.Errorf("remove of an unknown address: exit %d\n%s", code, errOut)
	}
}

func TestUsage(t *testing.T) {
	if code, out, _ := run(t, nil, "help"); code != exitOK || !strings.Contains(out, "publish") {
		t.Errorf("help: exit %d\n%s", code, out)
	}
	if code, _, errOut := run(t, nil, "frobnicate"); code != exitInvalid || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: exit %d\n%s", code, errOut)
	}
	if code, _, errOut := run(t, nil, "publish", "-h"); code != exitOK || !strings.Contains(errOut, "-wait") {
		t.Errorf("publish -h: exit %d\n%s", code, errOut)
	}
	if code, out, _ := run(t, nil, "version"); code != exitOK || !strings.HasPrefix(out, "crier ") {
		t.Errorf("version: exit %d\n%s", code, out)
	}
}

// TestPublishWaitFailureAndRetry: a receiver that answers 410 Gone marks
// its endpoint gone, not the channel: the deliveries wait instead of
// failing, publish --wait says so and how to clear it instead of waiting
// for ever, crier endpoints shows the state, and once a person has fixed
// the receiver, crier endpoints reset lets every delivery go. A retry
// before the reset sends nothing.
func TestPublishWaitFailureAndRetry(t *testing.T) {
	smtp := smtptest.NewServer(t, smtptest.Options{})
	secret := webhooktest.NewSecret(t)
	hooks := webhooktest.NewReceiver(t, secret, crier.SystemClock{})
	config := actualConfig(t, hooks.URL(), smtp.Port(), "")
	srv := mustServe(t, config, map[string]string{"RADIO_SECRET": secret})
	env := map[string]string{"CRIER_SERVER": srv.URL, "CRIER_LANG": "en"}
	cli := func(args ...string) (int, string, string) {
		return run(t, env, append(args, "--config", config, "--data-dir", srv.DataDir)...)
	}
	notice := filepath.Join(t.TempDir(), "notice.md")
	os.WriteFile(notice, []byte("---\ntitle: Bürgerbüro geschlossen\ntowns: [soest, werl]\nchannels: [radio]\n---\nDie {{.Town.Name}} ist telefonisch erreichbar: {{.Vars.phone}}\n"), 0o600)

	hooks.Respond(http.StatusGone, nil)
	code, out, errOut := cli("publish", notice, "--wait")
	if code != exitFailure || !strings.Contains(out, "2 deliveries on radio wait: endpoint 127.0.0.1 is gone (HTTP 410 or an untrusted certificate") ||
		!strings.Contains(out, "crier endpoints reset radio") {
		t.Fatalf("publish --wait with a gone receiver: exit %d\n%s%s", code, out, errOut)
	}
	id := strings.Fields(strings.TrimPrefix(out, "Published: "))[0]
	// The first 410 marks the endpoint gone; a send under way at the same
	// time may have got one too. No more reach the receiver.
	before := len(hooks.Requests())
	if before < 1 || before > 2 {
		t.Errorf("%d requests, want 1 or 2", before)
	}

	code, out, _ = cli("deliveries", id, "--state", "queued", "--town", "werl")
	if code != exitOK || strings.Count(out, "\n") != 2 || !strings.Contains(out, "werl") || strings.Contains(out, "soest") {
		t.Errorf("deliveries --state queued --town werl: exit %d\n%s", code, out)
	}
	if code, _, errOut := cli("deliveries", id, "--state", "lost"); code != exitInvalid || !strings.Contains(errOut, `unknown state "lost"`) {
		t.Errorf("deliveries with a bad state: exit %d\n%s", code, errOut)
	}
	if code, out, _ := cli("endpoints"); code != exitOK || !strings.Contains(out, "gone – please check") || !strings.Contains(out, "radio") {
		t.Errorf("endpoints: exit %d\n%s", code, out)
	}

	hooks.Accept()
	if code, out, _ := cli("retry", id, "--failed"); code != exitOK || !strings.Contains(out, "0 deliveries queued again.") {
		t.Errorf("retry --failed: exit %d\n%s", code, out)
	}
	if n := len(hooks.Requests()); n != before {
		t.Errorf("%d requests before the reset, want %d: a gone endpoint gets none", n, before)
	}
	if code, out, _ := cli("endpoints", "reset", "radio", "127.0.0.1"); code != exitOK || !strings.Contains(out, "cleared") {
		t.Fatalf("endpoints reset: exit %d\n%s", code, out)
	}
	code, out, _ = cli("status", id, "--watch")
	if code != exitOK || !strings.Contains(out, "2") {
		t.Errorf("after the reset: exit %d\n%s", code, out)
	}
	if n := len(hooks.Requests()); n != before+2 {
		t.Errorf("%d requests after the reset, want %d", n, before+2)
	}
	if code, _, errOut := cli("endpoints", "reset", "radio", "nope"); code != exitFailure || !strings.Contains(errOut, "nope") {
		t.Errorf("reset of an unknown endpoint: exit %d\n%s", code, errOut)
	}
}

// TestPreviewKeepsTownOrder: towns render side by side, and the preview
// still lists them, and every town's channels, in the configured order,
// the same way every time.
func TestPreviewKeepsTownOrder(t *testing.T) {
	cfg, err := LoadConfig("../../config.example.yaml", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	var first []string
	for range 3 {
		code, out, errOut := run(t, nil, "preview", "../../examples/buergerbuero-geschlossen.md",
			"--config", "../../config.example.yaml")
		if code != exitOK {
			t.Fatalf("preview: exit %d\n%s", code, errOut)
		}
		var headings, towns []string
		for line := range strings.Lines(out) {
			town, _, ok := strings.Cut(strings.TrimPrefix(line, "=== "), " × ")
			if !strings.HasPrefix(line, "=== ") || !ok {
				continue
			}
			headings = append(headings, strings.TrimSpace(line))
			if len(towns) == 0 || towns[len(towns)-1] != town {
				towns = append(towns, town)
			}
		}
		var want []string
		for _, tc := range cfg.Towns {
			want = append(want, tc.ID)
		}
		if diff := cmp.Diff(want, towns); diff != "" {
			t.Fatalf("towns in the preview (-configured +printed):\n%s", diff)
		}
		if first == nil {
			first = headings
		} else if diff := cmp.Diff(first, headings); diff != "" {
			t.Fatalf("a second preview printed another order (-first +again):\n%s", diff)
		}
	}
}
