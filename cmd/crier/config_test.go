package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/crierhq/crier"
)

// kreisSoest lists the 14 municipalities of Kreis Soest with their official
// AGS, as in the project's shared example data.
var kreisSoest = []struct{ id, ags string }{
	{"anroechte", "05974004"},
	{"bad-sassendorf", "05974008"},
	{"ense", "05974012"},
	{"erwitte", "05974016"},
	{"geseke", "05974020"},
	{"lippetal", "05974024"},
	{"lippstadt", "05974028"},
	{"moehnesee", "05974032"},
	{"ruethen", "05974036"},
	{"soest", "05974040"},
	{"warstein", "05974044"},
	{"welver", "05974048"},
	{"werl", "05974052"},
	{"wickede", "05974056"},
}

const exampleConfig = "../../config.example.yaml"

// A valid Standard Webhooks secret: whsec_ + base64 of 24 bytes.
const validWebhookSecret = "whsec_MDEyMzQ1Njc4OWFiY2RlZmdoaWprbG1u"

// noEnv is an environment in which no variable is set.
func noEnv(string) string { return "" }

// smtpVar returns the example's password variable of a town's relay account.
func smtpVar(town string) string {
	return strings.ToUpper(strings.ReplaceAll(town, "-", "_")) + "_SMTP_PASSWORD"
}

// writeConfig writes a config file into a fresh directory and returns its path.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "crier.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// problemStrings returns the problems of an EINVALID error as
// "field: message" lines, failing the test for any other error.
func problemStrings(t *testing.T, err error) []string {
	t.Helper()
	var e *crier.Error
	if !errors.As(err, &e) || e.Code != crier.EINVALID {
		t.Fatalf("got error %v, want an EINVALID *crier.Error", err)
	}
	var out []string
	for _, p := range e.Details {
		out = append(out, p.String())
	}
	return out
}

// problemFields returns the field paths of an EINVALID error's problems.
func problemFields(t *testing.T, err error) []string {
	t.Helper()
	var e *crier.Error
	if !errors.As(err, &e) || e.Code != crier.EINVALID {
		t.Fatalf("got error %v, want an EINVALID *crier.Error", err)
	}
	var out []string
	for _, p := range e.Details {
		out = append(out, p.Field)
	}
	return out
}

func TestConfigExample(t *testing.T) {
	c, err := LoadConfig(exampleConfig, noEnv)
	if err != nil {
		t.Fatalf("the example must load with no environment variables set:\n%v", err)
	}
	if c.Mode != crier.ModeExercise {
		t.Errorf("mode = %q, want exercise", c.Mode)
	}
	type town struct{ id, ags string }
	var got, want []town
	for _, tc := range c.Towns {
		got = append(got, town{tc.ID, tc.AGS})
	}
	for _, k := range kreisSoest {
		want = append(want, town{k.id, k.ags})
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(town{})); diff != "" {
		t.Errorf("towns (-want +got):\n%s", diff)
	}

	var ids []string
	for _, k := range kreisSoest {
		ids = append(ids, k.id)
	}
	if diff := cmp.Diff(ids, c.Groups["kreis-soest"]); diff != "" {
		t.Errorf("group kreis-soest (-want +got):\n%s", diff)
	}
	for _, tc := range c.Towns {
		want := []string{"mail-" + tc.ID, "radio"}
		if tc.ID == "soest" {
			want = append(want, "mastodon-soest", "krisenstab") // the county seat also posts to Mastodon and the crisis staff
		}
		if diff := cmp.Diff(want, tc.Channels); diff != "" {
			t.Errorf("towns[%s].channels (-want +got):\n%s", tc.ID, diff)
		}
		for _, v := range []string{"phone", "office", "hours", "website", "hashtag"} {
			if tc.Vars[v] == "" {
				t.Errorf("towns[%s].vars.%s is not set", tc.ID, v)
			}
		}
		if tc.Language != "de" || tc.TimeZone != "Europe/Berlin" {
			t.Errorf("towns[%s]: language %q, time zone %q", tc.ID, tc.Language, tc.TimeZone)
		}
	}
	soest := c.Towns[slices.IndexFunc(c.Towns, func(t TownConfig) bool { return t.ID == "soest" })]
	if want := "Bürgerbüro, Am Vreithof 8, 59494 Soest"; soest.Vars["office"] != want {
		t.Errorf("soest office = %q, want %q", soest.Vars["office"], want)
	}

	var types []string
	for _, ch := range c.Channels {
		if !slices.Contains(types, ch.Type) {
			types = append(types, ch.Type)
		}
	}
	if diff := cmp.Diff([]string{"webhook", "email", "mastodon", "slack"}, types); diff != "" {
		t.Errorf("channel types (-want +got):\n%s", diff)
	}

	if c.PublicURL != "http://127.0.0.1:8080" {
		t.Errorf("public_url = %q", c.PublicURL)
	}
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "data"); c.DataDir != want {
		t.Errorf("data_dir = %q, want %q", c.DataDir, want)
	}

	// Every secret that is not set is named once, in one line.
	vars := []string{"RADIO_WEBHOOK_SECRET", "ANROECHTE_SMTP_PASSWORD", "BACKUP_SMTP_PASSWORD"}
	for _, k := range kreisSoest[1:] {
		vars = append(vars, smtpVar(k.id))
	}
	vars = append(vars, "SOEST_MASTODON_TOKEN", "SOEST_MASTODON_BACKUP_TOKEN", "SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL")
	wantWarnings := []string{fmt.Sprintf("%d environment variable(s) not set: %s: fine in exercise mode, required in actual mode",
		len(vars), strings.Join(vars, ", ")),
		// The example is the tour on this machine: it leaves public_url to its default, and says so.
		"public_url is not set: links in messages, feeds and CAP documents start with http://127.0.0.1:8080, " +
			"which only this machine reaches: fine in exercise mode, required in actual mode"}
	if diff := cmp.Diff(wantWarnings, c.Warnings()); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

// exampleInMode returns the example file's text with another mode.
func exampleInMode(t *testing.T, mode string) string {
	t.Helper()
	b, err := os.ReadFile(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(b), "\nmode: exercise\n", "\nmode: "+mode+"\n", 1)
	if text == string(b) {
		t.Fatal("the example has no line \"mode: exercise\"")
	}
	return text
}

// exampleActual returns the example file's text in actual mode with its
// public_url, which actual mode requires, set.
func exampleActual(t *testing.T) string {
	t.Helper()
	text := exampleInMode(t, "actual")
	set := strings.Replace(text, "\n# public_url: https://krisen.kreis-soest.example\n", "\npublic_url: https://krisen.kreis-soest.example\n", 1)
	if set == text {
		t.Fatal("the example has no line \"# public_url: https://krisen.kreis-soest.example\"")
	}
	return set
}

func TestConfigExampleActualWithoutSecrets(t *testing.T) {
	path := writeConfig(t, exampleInMode(t, "actual"))
	_, err := LoadConfig(path, noEnv)

	want := []string{
		"public_url: is required in actual mode: the https address under which people reach this instance, " +
			"e.g. https://krisen.kreis-soest.example; links in mails, feeds and CAP documents start with it",
		"channels[radio].endpoints[0].secret: environment variable RADIO_WEBHOOK_SECRET is not set",
		"channels[radio].endpoints[1].secret: environment variable RADIO_WEBHOOK_SECRET is not set",
	}
	for _, k := range kreisSoest {
		want = append(want,
			"channels[mail-"+k.id+"].endpoints[0].password: environment variable "+smtpVar(k.id)+" is not set",
			"channels[mail-"+k.id+"].endpoints[1].password: environment variable BACKUP_SMTP_PASSWORD is not set")
	}
	want = append(want,
		"channels[mastodon-soest].endpoints[0].token: environment variable SOEST_MASTODON_TOKEN is not set",
		"channels[mastodon-soest].endpoints[1].token: environment variable SOEST_MASTODON_BACKUP_TOKEN is not set",
		"channels[krisenstab].endpoints[0].token: environment variable SLACK_BOT_TOKEN is not set",
		"channels[krisenstab].endpoints[1].webhook_url: environment variable SLACK_WEBHOOK_URL is not set")
	if diff := cmp.Diff(want, problemStrings(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(err.Error(), "config "+path+": invalid configuration\n") {
		t.Errorf("error text starts %q", strings.SplitN(err.Error(), "\n", 2)[0])
	}
}

// TestConfigClientWithoutSecrets: commands that never send (preview, and
// those that talk to a running server) read an actual configuration
// without its secrets; other problems are still reported.
func TestConfigClientWithoutSecrets(t *testing.T) {
	path := writeConfig(t, exampleActual(t))
	c, err := LoadClientConfig(path, noEnv)
	if err != nil {
		t.Fatalf("LoadClientConfig without secrets: %v", err)
	}
	if c.Mode != crier.ModeActual || len(c.Towns) != 14 {
		t.Errorf("mode %s, %d towns", c.Mode, len(c.Towns))
	}
	broken := writeConfig(t, strings.Replace(exampleActual(t), "listen: 127.0.0.1:8080", "listen: [1, 2]", 1))
	if _, err := LoadClientConfig(broken, noEnv); err == nil {
		t.Error("LoadClientConfig accepted a malformed listen address")
	}
}

func TestConfigExampleActualWithSecrets(t *testing.T) {
	path := writeConfig(t, exampleActual(t))
	t.Setenv("RADIO_WEBHOOK_SECRET", validWebhookSecret)
	t.Setenv("BACKUP_SMTP_PASSWORD", "backup-pw")
	t.Setenv("SOEST_MASTODON_TOKEN", "masto-token")
	t.Setenv("SOEST_MASTODON_BACKUP_TOKEN", "masto-backup-token")
	t.Setenv("SLACK_BOT_TOKEN", "xoxb-bot-token")
	t.Setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.example/services/T0/B0/secret")
	for _, k := range kreisSoest {
		t.Setenv(smtpVar(k.id), "pw-"+k.id)
	}
	c, err := LoadConfig(path, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	if w := c.Warnings(); len(w) > 0 {
		t.Errorf("warnings: %q", w)
	}
	for _, ch := range c.Channels {
		switch ch.Type {
		case "webhook":
			for _, ep := range ch.Endpoints {
				if ep.Secret != validWebhookSecret {
					t.Errorf("%s: secret not expanded: %q", ch.ID, ep.Secret)
				}
			}
		case "email":
			town := strings.TrimPrefix(ch.ID, "mail-")
			got := []string{ch.Endpoints[0].Password, ch.Endpoints[1].Password}
			if diff := cmp.Diff([]string{"pw-" + town, "backup-pw"}, got); diff != "" {
				t.Errorf("%s passwords (-want +got):\n%s", ch.ID, diff)
			}
		}
	}
}

func TestConfigAllTypes(t *testing.T) {
	env := map[string]string{
		"CRIER_SECRET":          "a-secret-of-at-least-32-characters!",
		"RADIO_WEBHOOK_SECRET":  validWebhookSecret,
		"SMTP_PASSWORD":         "smtp-pw",
		"SMTP2_PASSWORD":        "smtp2-pw",
		"SOEST_MASTODON_TOKEN":  "mastodon-token",
		"SOEST_BACKUP_TOKEN":    "backup-token",
		"SLACK_BOT_TOKEN":       "xoxb-bot-token",
		"SLACK_WEBHOOK_URL":     "https://hooks.slack.example/services/T0/B0/xyz",
		"UNUSED_BY_THIS_CONFIG": "x",
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	c, err := LoadConfig("testdata/config/all-types.yaml", os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Listen:    "0.0.0.0:9000",
		PublicURL: "https://krisen.kreis-soest.example/",
		DataDir:   "/srv/crier",
		Mode:      crier.ModeActual,
		Sender:    "presse@kreis-soest.example",
		Secret:    env["CRIER_SECRET"],
		Log:       LogConfig{Format: "json", Level: "debug"},
		Delivery: DeliveryConfig{
			Concurrency:     map[string]int{"email": 8, "mastodon": 4, "slack": 4, "webhook": 2},
			Lease:           Duration{5 * time.Minute},
			SendTimeout:     Duration{30 * time.Second},
			MaxAttempts:     12,
			Backoff:         BackoffConfig{Base: Duration{5 * time.Second}, Max: Duration{time.Hour}},
			Poll:            Duration{time.Second},
			ShutdownTimeout: Duration{20 * time.Second},
			Breaker:         BreakerConfig{Failures: 3, CoolDown: Duration{30 * time.Second}},
			ProbeInterval:   Duration{30 * time.Second},
		},
		Schedule: ScheduleConfig{Grace: Duration{10 * time.Minute}},
		Newsroom: NewsroomConfig{SessionIdle: Duration{time.Hour}, SessionLifetime: Duration{12 * time.Hour}},
		Privacy:  PrivacyConfig{Retention: Retention{Duration: 90 * 24 * time.Hour}},
		Networks: map[string]NetworkConfig{
			"default": {},
			"lte":     {Source: "192.168.8.10", DNS: []string{"192.168.8.1:53", "[2001:db8::1]:53"}},
			"usb":     {Interface: "wwan0"},
			"tunnel":  {Proxy: "socks5://127.0.0.1:1080"},
		},
		Channels: []ChannelConfig{
			{ID: "radio", Type: "webhook", Endpoints: []EndpointConfig{
				{Name: "radio.example", Network: "default", URL: "https://radio.example/hooks/crier", Secret: validWebhookSecret},
			}},
			{ID: "mail-soest", Type: "email", From: "Stadt Soest <presse@soest.example>", Endpoints: []EndpointConfig{
				{Name: "relay.kommunal-it.example", Network: "default", Host: "relay.kommunal-it.example", Port: 587, TLS: "starttls", Username: "presse", Password: "smtp-pw"},
				{Name: "smtp.outside.example via lte", Network: "lte", Host: "smtp.outside.example", Port: 465, TLS: "implicit", Username: "krisen", Password: "smtp2-pw"},
				{Name: "local postfix", Network: "usb", Host: "localhost", Port: 25, TLS: "none", Chunking: new(false)},
			}},
			{ID: "mastodon-soest", Type: "mastodon", Visibility: "public", Endpoints: []EndpointConfig{
				{Name: "social.example", Network: "default", Server: "https://social.example", Token: "mastodon-token"},
				{Name: "backup.example via lte", Network: "lte", Server: "https://backup.example", Token: "backup-token"},
			}},
			{ID: "krisenstab", Type: "slack", Endpoints: []EndpointConfig{
				{Name: "slack.com", Network: "default", Token: "xoxb-bot-token", Channel: "#krisenstab"},
				{Name: "hooks.slack.example via tunnel", Network: "tunnel", WebhookURL: env["SLACK_WEBHOOK_URL"]},
			}},
		},
		Towns: []TownConfig{
			{ID: "soest", Name: "Stadt Soest", AGS: "05974040", Language: "de", TimeZone: "Europe/Berlin",
				Vars:     map[string]string{"phone": "02921 103-0", "office": "Bürgerbüro, Am Vreithof 8, 59494 Soest", "hashtag": "Soest"},
				Channels: []string{"mastodon-soest", "mail-soest", "radio", "krisenstab"}},
			{ID: "werl", Name: "Stadt Werl", AGS: "059740520000", Language: "de-DE", TimeZone: "Europe/Berlin"},
			{ID: "kreis", Name: "Kreis Soest", Language: "de", TimeZone: "Europe/Berlin", Channels: []string{"radio"}},
		},
		Groups: map[string][]string{"hellweg": {"soest", "werl"}},
	}
	if diff := cmp.Diff(want, c, cmpopts.IgnoreUnexported(Config{})); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
}

func TestConfigDefaults(t *testing.T) {
	path := writeConfig(t, `
listen: "[::]:9000"
log: {}
delivery:
`)
	c, err := LoadConfig(path, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Listen:    "[::]:9000",
		PublicURL: "http://127.0.0.1:8080", // never derived from listen
		DataDir:   filepath.Join(filepath.Dir(path), "data"),
		Mode:      crier.ModeExercise,
		Log:       LogConfig{Format: "text", Level: "info"},
		Delivery: DeliveryConfig{
			Concurrency:     map[string]int{"email": 8, "mastodon": 4, "slack": 4, "webhook": 4},
			Lease:           Duration{2 * time.Minute},
			SendTimeout:     Duration{30 * time.Second},
			MaxAttempts:     12,
			Backoff:         BackoffConfig{Base: Duration{5 * time.Second}, Max: Duration{10 * time.Minute}},
			Poll:            Duration{time.Second},
			ShutdownTimeout: Duration{20 * time.Second},
			Breaker:         BreakerConfig{Failures: 3, CoolDown: Duration{30 * time.Second}},
			ProbeInterval:   Duration{30 * time.Second},
		},
		Schedule: ScheduleConfig{Grace: Duration{15 * time.Minute}},
		Newsroom: NewsroomConfig{SessionIdle: Duration{time.Hour}, SessionLifetime: Duration{12 * time.Hour}},
		Privacy:  PrivacyConfig{Retention: Retention{Duration: 90 * 24 * time.Hour}},
	}
	if diff := cmp.Diff(want, c, cmpopts.IgnoreUnexported(Config{})); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
}

// goodChannel makes a small valid configuration with a town that uses
// it; the cases below break it one way at a time.
const goodChannel = `
channels:
  - id: radio
    type: webhook
    endpoints: [{url: "https://radio.example/hook", secret: "` + validWebhookSecret + `"}]
`

// TestConfigPublicURL: public_url is where people reach this instance, and
// the start of every link it sends out. Actual mode has no default and
// takes https, or http on a loopback address; exercise and test mode fall
// back to the default listen address for a tour on this machine. Neither
// follows listen.
func TestConfigPublicURL(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       string   // public_url after loading
		problems   []string // or these problems
	}{
		{"actual without", "mode: actual\nlisten: 0.0.0.0:8443\n", "", []string{
			"public_url: is required in actual mode: the https address under which people reach this instance, " +
				"e.g. https://krisen.kreis-soest.example; links in mails, feeds and CAP documents start with it",
		}},
		{"actual http", "mode: actual\npublic_url: http://krisen.kreis-soest.example\n", "", []string{
			"public_url: must be an https URL in actual mode: people open its links from outside (http only for a loopback address)",
		}},
		{"actual http on a LAN address", "mode: actual\npublic_url: http://192.168.8.10:8080\n", "", []string{
			"public_url: must be an https URL in actual mode: people open its links from outside (http only for a loopback address)",
		}},
		{"actual https", "mode: actual\npublic_url: https://krisen.kreis-soest.example\n", "https://krisen.kreis-soest.example", nil},
		{"actual http loopback", "mode: actual\npublic_url: http://127.0.0.1:9000\n", "http://127.0.0.1:9000", nil},
		{"actual http loopback v6", "mode: actual\npublic_url: http://[::1]:9000/krisen\n", "http://[::1]:9000/krisen", nil},
		{"actual http localhost", "mode: actual\npublic_url: http://localhost:9000\n", "http://localhost:9000", nil},
		{"exercise without", "mode: exercise\nlisten: 0.0.0.0:9000\n", "http://127.0.0.1:8080", nil},
		{"test without", "mode: test\nlisten: 127.0.0.1:9000\n", "http://127.0.0.1:8080", nil},
		{"exercise http", "mode: exercise\npublic_url: http://192.168.8.10:8080\n", "http://192.168.8.10:8080", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := LoadConfig(writeConfig(t, tc.text), noEnv)
			if tc.problems != nil {
				if diff := cmp.Diff(tc.problems, problemStrings(t, err)); diff != "" {
					t.Errorf("problems (-want +got):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.PublicURL != tc.want {
				t.Errorf("public_url = %q, want %q", c.PublicURL, tc.want)
			}
		})
	}
	// The client commands (preview renders links too) need it as well.
	if _, err := LoadClientConfig(writeConfig(t, "mode: actual\n"), noEnv); !slices.Contains(problemFields(t, err), "public_url") {
		t.Errorf("LoadClientConfig in actual mode without public_url: %v", err)
	}
}

// TestConfigPublicURLDefaultWarned: the default public_url is named in the
// warnings serve logs at start, and only when it is used.
func TestConfigPublicURLDefaultWarned(t *testing.T) {
	c, err := LoadConfig(writeConfig(t, "listen: 0.0.0.0:9000\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"public_url is not set: links in messages, feeds and CAP documents start with http://127.0.0.1:8080, " +
		"which only this machine reaches: fine in exercise mode, required in actual mode"}
	if diff := cmp.Diff(want, c.Warnings()); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	c, err = LoadConfig(writeConfig(t, "public_url: https://krisen.kreis-soest.example\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if w := c.Warnings(); len(w) > 0 {
		t.Errorf("warnings with public_url set: %q", w)
	}
}

func TestConfigProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // field paths, in order
	}{
		{"slugs and duplicate ids", `
channels:
  - {id: Radio, type: webhook, endpoints: [{url: "https://r.example", secret: ` + validWebhookSecret + `}]}
  - {id: radio, type: webhook, endpoints: [{url: "https://r.example", secret: ` + validWebhookSecret + `}]}
  - {id: radio, type: webhook, endpoints: [{url: "https://r.example", secret: ` + validWebhookSecret + `}]}
  - {type: webhook, endpoints: [{url: "https://r.example", secret: ` + validWebhookSecret + `}]}
towns:
  - {id: soest, name: Soest}
  - {id: soest, name: Soest}
  - {id: all, name: Alle}
  - {id: "12", name: Zwölf}
groups:
  all: [all]
  "12": ["12"]
  Hellweg: ["12"]
`, []string{
			"channels[0].id", "channels[2].id", "channels[3].id",
			"towns[1].id", "towns[all].id",
			"groups.12", "groups.Hellweg", "groups.all",
		}},
		{"chunking is for email endpoints", `
channels:
  - {id: radio, type: webhook, endpoints: [{url: "https://r.example", secret: ` + validWebhookSecret + `, chunking: true}]}
  - {id: mail, type: email, from: "a@b.example", endpoints: [{host: m.example, chunking: false}]}
`, []string{"channels[radio].endpoints[0].chunking"}},
		{"mastodon visibility", `
channels:
  - {id: masto, type: mastodon, visibility: everyone, endpoints: [{server: "https://social.example", token: t}]}
  - {id: mail, type: email, from: "a@b.example", visibility: public, endpoints: [{host: m.example}]}
`, []string{"channels[masto].visibility", "channels[mail].visibility"}},
		{"revisions", `
channels:
  - {id: masto, type: mastodon, revisions: undo, endpoints: [{server: "https://social.example", token: t}]}
  - {id: slack, type: slack, revisions: reply, endpoints: [{token: xoxb-1, channel: "#krisenstab"}]}
  - {id: mail, type: email, from: "a@b.example", revisions: edit, endpoints: [{host: m.example}]}
`, []string{"channels[masto].revisions", "channels[mail].revisions"}},
		{"unknown type and foreign fields", `
channels:
  - {id: tg, type: telegram, endpoints: [{url: "https://t.example"}]}
  - {id: mail, type: email, from: "a@b.example", endpoints: [{host: m.example, url: "https://m.example", token: t, webhook_url: "https://x.example"}]}
  - {id: hook, type: webhook, from: "a@b.example", endpoints: [{url: "https://h.example", secret: ` + validWebhookSecret + `, port: 25, tls: none, password: p}]}
`, []string{
			"channels[tg].type",
			"channels[mail].endpoints[0].url", "channels[mail].endpoints[0].token", "channels[mail].endpoints[0].webhook_url",
			"channels[hook].from",
			"channels[hook].endpoints[0].port", "channels[hook].endpoints[0].tls", "channels[hook].endpoints[0].password",
		}},
		{"required fields per type", `
channels:
  - {id: hook, type: webhook, endpoints: [{}]}
  - {id: mail, type: email, endpoints: [{}]}
  - {id: toot, type: mastodon, endpoints: [{}]}
  - {id: slack, type: slack, endpoints: [{}, {token: t}, {channel: "#c"}, {token: t, channel: "#c", webhook_url: "https://h.example"}]}
  - {id: none, type: webhook}
`, []string{
			"channels[hook].endpoints[0].url", "channels[hook].endpoints[0].secret",
			"channels[mail].from", "channels[mail].endpoints[0].host",
			"channels[toot].endpoints[0].server", "channels[toot].endpoints[0].token",
			"channels[slack].endpoints[0]", "channels[slack].endpoints[1].channel", "channels[slack].endpoints[2].token", "channels[slack].endpoints[3]",
			"channels[none].endpoints",
		}},
		{"urls", `
public_url: "ftp://krisen.example"
channels:
  - {id: hook, type: webhook, endpoints: [{url: "radio.example/hook", secret: ` + validWebhookSecret + `}, {url: "https://", secret: ` + validWebhookSecret + `}]}
  - {id: toot, type: mastodon, endpoints: [{server: "social.example", token: t}]}
  - {id: slack, type: slack, endpoints: [{webhook_url: "http://%zz"}]}
`, []string{
			"public_url",
			"channels[hook].endpoints[0].url", "channels[hook].endpoints[1].url",
			"channels[toot].endpoints[0].server",
			"channels[slack].endpoints[0].webhook_url",
		}},
		{"webhook secrets", `
channels:
  - id: hook
    type: webhook
    endpoints:
      - {url: "https://h.example", secret: "MDEyMzQ1Njc4OWFiY2RlZmdoaWprbG1u"}
      - {url: "https://h.example", secret: "whsec_not base64!"}
      - {url: "https://h.example", secret: "whsec_MDEyMzQ1Njc4OWFiY2RlZg=="}
      - {url: "https://h.example", secret: "whsec_MDEyMzQ1Njc4OWFiY2RlZmdoaWprbG1u", name: twin}
      - {url: "https://h.example", secret: "whsec_MDEyMzQ1Njc4OWFiY2RlZmdoaWprbG1u", name: twin}
`, []string{
			"channels[hook].endpoints[0].secret", "channels[hook].endpoints[1].secret", "channels[hook].endpoints[2].secret",
			"channels[hook].endpoints[4].name",
		}},
		{"email endpoints", `
channels:
  - id: mail
    type: email
    from: "not a mailbox"
    endpoints:
      - {host: "m.example", port: 70000, tls: startls}
      - {host: "m.example", username: presse}
      - {host: "m.example", password: pw}
      - {host: "m.example", tls: none, username: presse, password: pw}
      - {host: "127.0.0.1", tls: none, username: presse, password: pw}
      - {host: "m.example:587"}
      - {host: "smtp://m.example"}
      - {host: "m example"}
      - {host: "m.example", port: -1}
`, []string{
			"channels[mail].from",
			"channels[mail].endpoints[0].port", "channels[mail].endpoints[0].tls",
			"channels[mail].endpoints[1].password",
			"channels[mail].endpoints[2].username",
			"channels[mail].endpoints[3].tls",
			"channels[mail].endpoints[5].host", "channels[mail].endpoints[6].host", "channels[mail].endpoints[7].host",
			"channels[mail].endpoints[8].port",
		}},
		{"networks", `
networks:
  default: {dns: ["192.168.8.1:53"]}
  lte: {source: "192.168.8.300", interface: wwan0, dns: ["192.168.8.1", "dns.example:53", "192.168.8.1:0"], proxy: "ftp://p.example"}
  Bad_Name: {proxy: "socks5://"}
  ok: {proxy: "http://user:pw@proxy.example:3128"}
channels:
  - {id: hook, type: webhook, endpoints: [{url: "https://h.example", secret: ` + validWebhookSecret + `, network: lte}, {url: "https://h.example", secret: ` + validWebhookSecret + `, network: lte2}]}
`, []string{
			"networks.Bad_Name", "networks.Bad_Name.proxy",
			"networks.default",
			"networks.lte.source", "networks.lte",
			"networks.lte.dns[0]", "networks.lte.dns[1]", "networks.lte.dns[2]",
			"networks.lte.proxy",
			"channels[hook].endpoints[1].network",
		}},
		{"towns", goodChannel + `
towns:
  - {id: soest, name: Stadt Soest, ags: "05974040", channels: [radio, tv, radio]}
  - {id: werl, name: "", ags: "05974040"}
  - {id: lippstadt, name: "Stadt\nLippstadt", ags: "0597402", language: de_DE, time_zone: Europe/Lippstadt}
  - {id: geseke, name: Geseke, ags: "05974020a", time_zone: Local, vars: {office-hours: x, 2fa: y, ok_1: z}}
  - {id: ense, name: Ense}
`, []string{
			"towns[soest].channels[1]", "towns[soest].channels[2]",
			"towns[werl].name", "towns[werl].ags",
			"towns[lippstadt].name", "towns[lippstadt].ags", "towns[lippstadt].language", "towns[lippstadt].time_zone",
			"towns[geseke].ags", "towns[geseke].time_zone", "towns[geseke].vars.2fa", "towns[geseke].vars.office-hours",
		}},
		{"groups", goodChannel + `
towns:
  - {id: soest, name: Stadt Soest}
  - {id: werl, name: Stadt Werl}
groups:
  soest: [soest]
  kreis: [soest, werl, werl, hamm, nord]
  nord: []
`, []string{
			"groups.kreis[2]", "groups.kreis[3]", "groups.kreis[4]",
			"groups.nord",
			"groups.soest",
		}},
		{"top level", `
listen: "localhost"
public_url: "https://krisen.example/?a=b"
mode: real
sender: "Presse <presse@kreis-soest.example>"
secret: too-short
templates: does-not-exist
log: {format: xml, level: verbose}
`, []string{
			"listen", "public_url", "mode", "sender", "secret", "templates", "log.format", "log.level",
		}},
		{"delivery", `
delivery:
  concurrency: {telegram: 2, email: 0}
  lease: 10s
  send_timeout: 30s
  max_attempts: -1
  backoff: {base: 1h, max: 10m}
  poll: -1s
  shutdown_timeout: -5m
`, []string{
			"delivery.concurrency.email", "delivery.concurrency.telegram",
			"delivery.poll", "delivery.shutdown_timeout",
			"delivery.send_timeout", "delivery.backoff.base", "delivery.max_attempts",
		}},
		{"site and status", goodChannel + `
site:
  title: "Notfall\nSoest"
  imprint_url: "ftp://kreis-soest.example/impressum"
  privacy_url: "/datenschutz"
  max_age: -1m
towns:
  - id: soest
    name: Stadt Soest
    status:
      - {service: Bürgerbüro, availability: down, text: geschlossen}
      - {service: Telefon, availability: offline}
      - {availability: up, text: "ohne Dienst"}
  - {id: werl, name: Stadt Werl, status: [{service: "Kfz\nZulassung", availability: limited}]}
`, []string{
			"site.title", "site.imprint_url", "site.privacy_url", "site.max_age",
			"towns[soest].status[1].availability", "towns[soest].status[1].text", "towns[soest].status[2].service",
			"towns[werl].status[0].service", "towns[werl].status[0].text",
		}},
		{"http", goodChannel + `
http:
  trusted_proxies: [10.0.0.0/8, "192.0.2.1", "fe80::1%eth0", proxy.example, 10.0.0.0/33]
  proxy_header: x-real-ip
  read_timeout: -1s
  write_timeout: -1s
  idle_timeout: -1s
  max_conns_per_client: -1
`, []string{
			"http.trusted_proxies[2]", "http.trusted_proxies[3]", "http.trusted_proxies[4]", "http.proxy_header",
			"http.read_timeout", "http.write_timeout", "http.idle_timeout", "http.max_conns_per_client",
		}},
		{"reserved channel id", `
channels:
  - {id: site, type: webhook, endpoints: [{url: "https://r.example", secret: ` + validWebhookSecret + `}]}
`, []string{"channels[site].id"}},
		{"malformed variables", `
secret: "${CRIER SECRET}"
sender: "${SENDER"
`, []string{"secret", "sender"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadConfig(writeConfig(t, tt.yaml), noEnv)
			if diff := cmp.Diff(tt.want, problemFields(t, err)); diff != "" {
				t.Errorf("problem fields (-want +got):\n%s\nerror:\n%v", diff, err)
			}
		})
	}
}

// TestConfigProblemsAtOnce checks the complete text of every problem of a
// file with many, so that the messages people read are reviewed too.
func TestConfigProblemsAtOnce(t *testing.T) {
	_, err := LoadConfig("testdata/config/bad.yaml", noEnv)
	want := []string{
		`listen: "localhost" is not host:port, e.g. 127.0.0.1:8080`,
		`public_url: must be an absolute http or https URL`,
		`mode: "real" is not one of exercise, actual, test`,
		`sender: "Presse <presse@kreis-soest.example>" is not a plain email address such as presse@kreis-soest.example`,
		`secret: must be at least 32 characters long`,
		`log.format: "xml" is not one of text, json`,
		`log.level: "verbose" is not one of debug, info, warn, error`,
		`networks.LTE: "LTE" is not a slug: lower-case letters, digits and hyphens, starting with a letter or digit`,
		`networks.LTE.source: "192.168.8.300" is not an IP address`,
		`networks.LTE: source and interface exclude each other: set one`,
		`networks.LTE.dns[0]: "192.168.8.1" is not IP:port, e.g. 192.168.8.1:53`,
		`networks.LTE.proxy: must be a socks5://, socks5h://, http:// or https:// URL`,
		`networks.default: the default network is the system route and cannot be redefined`,
		`channels[0].id: "Radio" is not a slug: lower-case letters, digits and hyphens, starting with a letter or digit`,
		`channels[0].endpoints[0].host: is not a field of webhook endpoints (they take url, secret, probe_url)`,
		`channels[0].endpoints[0].url: must be an absolute http or https URL`,
		`channels[0].endpoints[0].secret: must encode a key of at least 24 bytes after whsec_`,
		`channels[1].from: is required for email channels, e.g. "Stadt Soest <presse@soest.example>"`,
		`channels[1].endpoints[0].network: unknown network "lte" (known: default, LTE)`,
		`channels[1].endpoints[0].host: must not include a port; set port`,
		`channels[1].endpoints[0].port: 70000 is not between 1 and 65535`,
		`channels[1].endpoints[0].tls: "startls" is not one of starttls, implicit, none`,
		`channels[1].endpoints[0].password: is required with username`,
		`channels[1].endpoints[1].tls: none would send the password unencrypted to another machine: use starttls or implicit`,
		`channels[2].id: duplicate id "mail-soest" (also channels[1])`,
		`channels[2].type: unknown channel type "telegram" (known: email, mastodon, slack, webhook)`,
		`channels[2].endpoints: needs at least one endpoint`,
		`channels[mastodon].from: is not a field of mastodon channels (only email channels take it)`,
		`channels[mastodon].endpoints[0].server: must be an absolute http or https URL`,
		`channels[mastodon].endpoints[0].token: is required for mastodon endpoints`,
		`channels[slack].endpoints[0]: set either token and channel (a bot) or webhook_url (an incoming webhook), not both`,
		`channels[slack].endpoints[1].token: is required with channel`,
		`channels[slack].endpoints[2]: needs token and channel (a bot) or webhook_url (an incoming webhook)`,
		`towns[0].channels[1]: unknown channel "radio"`,
		`towns[0].channels[2]: channel "mail-soest" is listed twice`,
		`towns[werl].name: is required`,
		`towns[werl].ags: "05974040" is also the code of towns[0]`,
		`towns[werl].language: "de_DE" is not a language tag such as de or de-DE`,
		`towns[werl].time_zone: "Europe/Soest" is not an IANA time zone such as Europe/Berlin`,
		`towns[werl].vars.office-hours: is not usable in templates: use letters, digits and underscores, not starting with a digit`,
		`towns[2].id: duplicate id "soest" (also towns[0])`,
		`towns[2].ags: "0597404" must be 8 digits (AGS) or 12 digits (ARS)`,
		`towns[all].id: "all" is reserved: it targets every town`,
		`groups.kreis-soest[2]: town "werl" is listed twice`,
		`groups.kreis-soest[3]: unknown town "hamm"`,
		`groups.kreis-soest[4]: "nord" is a group; members must be towns`,
		`groups.nord: has no members`,
		`groups.werl: a town has the id "werl"; a group needs another name`,
		`delivery.concurrency.email: must be at least 1`,
		`delivery.concurrency.telegram: unknown channel type "telegram" (known: email, mastodon, slack, webhook)`,
		`delivery.poll: must be positive`,
		`delivery.send_timeout: must be shorter than lease (10s): a send that outlives its lease may be repeated`,
		`delivery.backoff.base: must not exceed backoff.max (10m0s)`,
		`delivery.max_attempts: must be at least 1`,
	}
	if diff := cmp.Diff(want, problemStrings(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestConfigStrictDecoding(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // problem messages
	}{
		{"unknown keys", `
listen: 127.0.0.1:8080
listn: 127.0.0.1:8080
channels:
  - id: radio
    type: webhook
    endpoints:
      - {url: "https://r.example", secret: x, urll: y}
towns:
  - {id: soest, name: Soest, timezone: Europe/Berlin}
`, []string{
			`line 3: unknown key "listn" at the top level (known: listen, public_url, data_dir, mode, sender, secret, templates, http, limits, log, delivery, schedule, newsroom, site, privacy, networks, channels, towns, groups, oidc, approval)`,
			`line 8: unknown key "urll" in an endpoint (known: name, network, url, secret, host, port, tls, username, password, chunking, ca_file, tls_pin_sha256, server, token, channel, webhook_url, probe_url, api_url, receiver)`,
			`line 10: unknown key "timezone" in a town (known: id, name, ags, language, time_zone, vars, channels, status, approval)`,
		}},
		{"type mismatches", `
channels:
  - id: mail
    type: email
    endpoints: [{host: m.example, port: abc}]
towns: {soest: {}}
delivery:
  lease: 30
  poll: 1 second
  prefetch: 9
`, []string{
			"line 5: cannot unmarshal !!str `abc` into int",
			"line 6: cannot unmarshal !!map into []main.TownConfig",
			"line 8: cannot read `30` as a duration such as 30s or 2m",
			"line 9: cannot read `1 second` as a duration such as 30s or 2m",
			"line 10: cannot read `9` as a prefetch: a number of rounds from 0 to 8, or true or false",
		}},
		{"unknown key and type mismatch together", `
delivery: {lease: 2, leese: 2m}
`, []string{
			`line 2: unknown key "leese" in delivery (known: concurrency, lease, send_timeout, max_attempts, backoff, poll, shutdown_timeout, breaker, probe_interval, prefetch)`,
			"line 2: cannot read `2` as a duration such as 30s or 2m",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadConfig(writeConfig(t, tt.yaml), noEnv)
			if diff := cmp.Diff(tt.want, problemStrings(t, err)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConfigUnreadableFiles(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"empty", "", "the file is empty"},
		{"only comments", "# nothing here\n\n", "the file is empty"},
		{"null", "~\n", "the file is empty"},
		{"two documents", "listen: 127.0.0.1:8080\n---\nlisten: 127.0.0.1:9090\n", "line 2: a second YAML document; the file must hold one"},
		{"syntax", "listen: [\n", "not valid YAML: yaml: line 1: did not find expected node content"},
		{"not a mapping", "- a\n- b\n", "cannot read configuration\n  line 1: cannot unmarshal !!seq into main.Config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.yaml)
			_, err := LoadConfig(path, noEnv)
			if crier.ErrorCode(err) != crier.EINVALID {
				t.Fatalf("got %v, want an EINVALID error", err)
			}
			if want := "config " + path + ": " + tt.want; err.Error() != want {
				t.Errorf("error:\n%s\nwant:\n%s", err, want)
			}
		})
	}
	_, err := LoadConfig(filepath.Join(t.TempDir(), "missing.yaml"), noEnv)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v, want an error wrapping os.ErrNotExist", err)
	}
}

func TestConfigExpansion(t *testing.T) {
	t.Setenv("SMTP_USER", "presse")
	t.Setenv("SMTP_PORT", "2525")
	t.Setenv("SMTP_PASSWORD", "pa$$word")
	t.Setenv("OFFICE", "Am Vreithof 8")
	path := writeConfig(t, `
channels:
  - id: mail
    type: email
    from: "Stadt Soest <presse@soest.example>"
    endpoints:
      - host: m.example
        port: ${SMTP_PORT}
        username: ${SMTP_USER}
        password: "${SMTP_PASSWORD}"
      - {host: m.example, port: "${SMTP_PORT}", username: "a$$b", password: "$HOME-$-${SMTP_USER}$${SMTP_USER}$"}
towns:
  - id: soest
    name: Stadt Soest
    vars: {office: "Bürgerbüro, ${OFFICE}", cost: "5 $", "${OFFICE}": literal-key}
    channels: [mail]
`)
	_, err := LoadConfig(path, os.Getenv)
	// Keys are never expanded: the literal key is reported as written.
	if diff := cmp.Diff([]string{"towns[soest].vars.${OFFICE}"}, problemFields(t, err)); diff != "" {
		t.Fatalf("problems (-want +got):\n%s\n%v", diff, err)
	}

	b, _ := os.ReadFile(path)
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), `, "${OFFICE}": literal-key`, "", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(path, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	got := c.Channels[0].Endpoints
	want := []EndpointConfig{
		// A variable's value is not expanded again: its $$ stays.
		{Host: "m.example", Port: 2525, Username: "presse", Password: "pa$$word"},
		{Host: "m.example", Port: 2525, Username: "a$b", Password: "$HOME-$-presse${SMTP_USER}$"},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(EndpointConfig{}, "Name", "Network", "TLS")); diff != "" {
		t.Errorf("endpoints (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"office": "Bürgerbüro, Am Vreithof 8", "cost": "5 $"}, c.Towns[0].Vars); diff != "" {
		t.Errorf("vars (-want +got):\n%s", diff)
	}
}

func TestConfigMissingVariables(t *testing.T) {
	const text = `
mode: MODE
public_url: https://krisen.kreis-soest.example
channels:
  - id: hook
    type: webhook
    endpoints: [{url: "https://${HOOK_HOST}/hook", secret: "${HOOK_SECRET}"}]
  - id: mail
    type: email
    from: "Stadt Soest <presse@soest.example>"
    endpoints:
      - host: ${SMTP_HOST}
        port: ${SMTP_PORT}
        username: presse
        password: &pw "${SMTP_PASSWORD}"
      - {host: m2.example, username: presse, password: *pw}
towns:
  - {id: soest, name: Stadt Soest, channels: [hook, mail]}
`
	t.Run("test mode", func(t *testing.T) {
		c, err := LoadConfig(writeConfig(t, strings.Replace(text, "MODE", "test", 1)), noEnv)
		if err != nil {
			t.Fatalf("missing variables must be fine in test mode: %v", err)
		}
		want := []string{
			"5 environment variable(s) not set: HOOK_HOST, HOOK_SECRET, SMTP_HOST, SMTP_PORT, SMTP_PASSWORD: fine in test mode, required in actual mode",
		}
		if diff := cmp.Diff(want, c.Warnings()); diff != "" {
			t.Errorf("warnings (-want +got):\n%s", diff)
		}
		ep := c.Channels[1].Endpoints[0]
		if ep.Host != "" || ep.Password != "" || ep.Port != 587 {
			t.Errorf("unset variables: host %q, password %q, port %d; want empty, empty, the default 587", ep.Host, ep.Password, ep.Port)
		}
	})
	t.Run("actual mode", func(t *testing.T) {
		_, err := LoadConfig(writeConfig(t, strings.Replace(text, "MODE", "actual", 1)), noEnv)
		want := []string{
			"channels[hook].endpoints[0].url: environment variable HOOK_HOST is not set",
			"channels[hook].endpoints[0].secret: environment variable HOOK_SECRET is not set",
			"channels[mail].endpoints[0].host: environment variable SMTP_HOST is not set",
			"channels[mail].endpoints[0].port: environment variable SMTP_PORT is not set",
			"channels[mail].endpoints[0].password: environment variable SMTP_PASSWORD is not set",
			"channels[mail].endpoints[1].password: environment variable SMTP_PASSWORD is not set",
		}
		if diff := cmp.Diff(want, problemStrings(t, err)); diff != "" {
			t.Errorf("problems (-want +got):\n%s", diff)
		}
	})
}

func TestConfigRelativePaths(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "etc", "crier")
	if err := os.MkdirAll(filepath.Join(sub, "templates"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sub, "crier.yaml"), []byte("data_dir: ../../var/crier\ntemplates: templates\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Loading through a relative path from another working directory.
	t.Chdir(dir)
	c, err := LoadConfig(filepath.Join("etc", "crier", "crier.yaml"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{c.DataDir, c.Templates}
	want := []string{filepath.Join(dir, "var", "crier"), filepath.Join(sub, "templates")}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("paths (-want +got):\n%s", diff)
	}

	abs := filepath.Join(dir, "elsewhere")
	if err := os.WriteFile(filepath.Join(sub, "crier.yaml"), []byte("data_dir: "+abs+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = LoadConfig(filepath.Join(sub, "crier.yaml"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != abs {
		t.Errorf("absolute data_dir = %q, want %q", c.DataDir, abs)
	}
}

func TestConfigSecretsNotInErrors(t *testing.T) {
	secrets := map[string]string{
		"SMTP_PASSWORD": "hunter2-smtp-password",
		"HOOK_SECRET":   "hunter3-not-a-webhook-secret",
		"HOOK_URL":      "hunter4://radio.example/hook",
		"SMTP_TLS":      "hunter5",
		"CRIER_SECRET":  "hunter6",
		"PROXY":         "hunter7://user:pw@proxy.example",
		"MAIL_FROM":     "hunter8 not a mailbox",
	}
	for k, v := range secrets {
		t.Setenv(k, v)
	}
	check := func(t *testing.T, text string) {
		t.Helper()
		for k, v := range secrets {
			for _, leak := range []string{v, v[:7]} {
				if strings.Contains(text, leak) {
					t.Errorf("the value of %s shows in:\n%s", k, text)
				}
			}
		}
	}

	t.Run("decoding", func(t *testing.T) {
		_, err := LoadConfig(writeConfig(t, `
channels:
  - {id: mail, type: email, from: a@b.example, endpoints: [{host: m.example, port: "${SMTP_PASSWORD}"}]}
delivery: {lease: "${HOOK_SECRET}"}
`), os.Getenv)
		if err == nil {
			t.Fatal("no error")
		}
		check(t, err.Error())
		want := []string{
			"line 3: cannot unmarshal !!str `${SMTP_PASSWORD}` into int",
			"line 4: cannot read `${HOOK_SECRET}` as a duration such as 30s or 2m",
		}
		if diff := cmp.Diff(want, problemStrings(t, err)); diff != "" {
			t.Errorf("problems (-want +got):\n%s", diff)
		}
	})
	t.Run("validation", func(t *testing.T) {
		_, err := LoadConfig(writeConfig(t, `
secret: ${CRIER_SECRET}
networks:
  lte: {proxy: "${PROXY}"}
channels:
  - {id: hook, type: webhook, endpoints: [{url: "${HOOK_URL}", secret: "${HOOK_SECRET}"}]}
  - {id: mail, type: email, from: "${MAIL_FROM}", endpoints: [{host: m.example, tls: "${SMTP_TLS}", username: u, password: "${SMTP_PASSWORD}"}]}
  - {id: slack, type: slack, endpoints: [{webhook_url: "https//hooks.slack.example/services/T0/B0/hunter9"}]}
  - {id: mail2, type: email, from: "a@b.example", endpoints: [{host: "hunter10 host", password: "hunter11"}]}
`), os.Getenv)
		if err == nil {
			t.Fatal("no error")
		}
		check(t, err.Error())
		for _, leak := range []string{"hunter9", "hunter11"} {
			if strings.Contains(err.Error(), leak) {
				t.Errorf("%s shows in:\n%s", leak, err)
			}
		}
		want := []string{
			"secret",
			"networks.lte.proxy",
			"channels[hook].endpoints[0].url", "channels[hook].endpoints[0].secret",
			"channels[mail].from", "channels[mail].endpoints[0].tls",
			"channels[slack].endpoints[0].webhook_url",
			"channels[mail2].endpoints[0].host", "channels[mail2].endpoints[0].username",
		}
		if diff := cmp.Diff(want, problemFields(t, err)); diff != "" {
			t.Errorf("problem fields (-want +got):\n%s\n%v", diff, err)
		}
		if !strings.Contains(err.Error(), `channels[mail].endpoints[0].tls: the value of ${SMTP_TLS} is not one of starttls, implicit, none`) {
			t.Errorf("the tls problem does not name its variable:\n%s", err)
		}
	})
}

func TestConfigTown(t *testing.T) {
	tc := TownConfig{
		ID: "soest", Name: "Stadt Soest", AGS: "05974040", Language: "de", TimeZone: "Europe/Berlin",
		Vars: map[string]string{"phone": "02921 103-0"}, Channels: []string{"mail-soest", "radio"},
	}
	got := tc.Town()
	want := &crier.Town{
		ID: "soest", Name: "Stadt Soest", AGS: "05974040", Language: "de", TimeZone: "Europe/Berlin",
		Vars: map[string]string{"phone": "02921 103-0"}, Channels: []string{"mail-soest", "radio"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("town (-want +got):\n%s", diff)
	}
	got.Vars["phone"] = "changed"
	got.Channels[0] = "changed"
	if tc.Vars["phone"] != "02921 103-0" || tc.Channels[0] != "mail-soest" {
		t.Error("Town shares its maps or slices with the configuration")
	}
}

func TestConfigValidateWithoutLoad(t *testing.T) {
	// Validate works on a Config built in code, without defaults: every
	// empty required setting is named.
	err := (&Config{}).Validate()
	want := []string{
		"listen", "public_url", "data_dir", "mode", "log.format", "log.level",
		"delivery.lease", "delivery.send_timeout", "delivery.backoff.base", "delivery.backoff.max",
		"delivery.poll", "delivery.shutdown_timeout", "delivery.breaker.cool_down", "delivery.probe_interval",
		"delivery.breaker.failures", "delivery.max_attempts", "schedule.grace", "newsroom.session_idle",
	}
	if diff := cmp.Diff(want, problemFields(t, err)); diff != "" {
		t.Errorf("problem fields (-want +got):\n%s", diff)
	}
}

func TestConfigWarningsUnusedChannel(t *testing.T) {
	c, err := LoadConfig(writeConfig(t, "public_url: https://krisen.kreis-soest.example\n"+goodChannel+`
  - {id: spare, type: webhook, endpoints: [{url: "https://spare.example", secret: `+validWebhookSecret+`}]}
towns:
  - {id: soest, name: Stadt Soest, channels: [radio]}
  - {id: werl, name: Stadt Werl}
`), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"channel spare is not used by any town"}, c.Warnings()); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

// TestConfigPrefetch: delivery.prefetch is a number of rounds; true and
// false, as earlier configurations wrote it, mean the default and none.
func TestConfigPrefetch(t *testing.T) {
	for _, tt := range []struct {
		yaml string
		want int
	}{
		{"delivery: {poll: 1s}", crier.DefaultPrefetch},
		{"delivery: {prefetch: true}", crier.DefaultPrefetch},
		{"delivery: {prefetch: false}", 0},
		{"delivery: {prefetch: 0}", 0},
		{"delivery: {prefetch: 5}", 5},
	} {
		cfg, err := LoadConfig(writeConfig(t, tt.yaml), noEnv)
		if err != nil {
			t.Fatalf("%q: %v", tt.yaml, err)
		}
		if got := cfg.Delivery.prefetch(); got != tt.want {
			t.Errorf("%q: prefetch %d, want %d", tt.yaml, got, tt.want)
		}
	}
	for _, bad := range []string{"delivery: {prefetch: -1}", "delivery: {prefetch: yes please}", "delivery: {prefetch: 2.5}"} {
		if _, err := LoadConfig(writeConfig(t, bad), noEnv); err == nil || !strings.Contains(err.Error(), "as a prefetch") {
			t.Errorf("%q: %v, want a prefetch error", bad, err)
		}
	}
}

// TestConfigWarningsProxy: an https public_url needs a reverse proxy in
// front of crier, which should be named in http.trusted_proxies, and
// trusting every address lets any client pick its address.
func TestConfigWarningsProxy(t *testing.T) {
	const want = "public_url is https, so a reverse proxy serves crier, but http.trusted_proxies is empty: " +
		"the subscribe rate limit and the connection cap count every visitor as the proxy"
	for _, tc := range []struct {
		yaml string
		want []string
	}{
		{"mode: actual\npublic_url: https://krisen.kreis-soest.example\n", []string{want}},
		{"mode: actual\npublic_url: https://krisen.kreis-soest.example\nhttp: {trusted_proxies: [127.0.0.1]}\n", nil},
		// An exercise is not served to the public: its budgets do not matter.
		{"public_url: https://krisen.kreis-soest.example\n", nil},
		{"public_url: http://krisen.kreis-soest.example\n", nil},
		{"mode: actual\npublic_url: https://krisen.kreis-soest.example\nhttp: {trusted_proxies: [\"0.0.0.0/0\", 10.0.0.0/8]}\n", []string{
			"http.trusted_proxies has 0.0.0.0/0: every peer may name any client address, " +
				"and so escape the subscribe rate limit and the connection cap"}},
	} {
		c, err := LoadConfig(writeConfig(t, tc.yaml+goodChannel+"towns: [{id: soest, name: Soest, channels: [radio]}]\n"), noEnv)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, c.Warnings()); diff != "" {
			t.Errorf("%s: warnings (-want +got):\n%s", tc.yaml, diff)
		}
	}
}

// TestConfigRetention: privacy.retention takes days, a duration or off,
// defaults to 90 days, and is at least a day.
func TestConfigRetention(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  time.Duration
	}{
		{"", 90 * 24 * time.Hour},
		{"retention: 30d", 30 * 24 * time.Hour},
		{"retention: 36h", 36 * time.Hour},
		{"retention: off", 0},
		{"retention: 0", 0},
		{"retention: 0d", 0},
	} {
		c, err := LoadConfig(writeConfig(t, "privacy: {"+tc.value+"}\n"), noEnv)
		if err != nil {
			t.Errorf("%q: %v", tc.value, err)
			continue
		}
		if got := c.Privacy.Retention.Period(); got != tc.want {
			t.Errorf("%q: period %v, want %v", tc.value, got, tc.want)
		}
	}
	_, err := LoadConfig(writeConfig(t, "privacy: {retention: 12h}\n"), noEnv)
	if ps := crier.ErrorDetails(err); len(ps) != 1 || ps[0].Field != "privacy.retention" {
		t.Errorf("12h: %v; want a problem with privacy.retention", err)
	}
	for _, bad := range []string{"soon", "-3d", "1.5d", "[90d]"} {
		if _, err := LoadConfig(writeConfig(t, "privacy: {retention: "+bad+"}\n"), noEnv); err == nil ||
			!strings.Contains(err.Error(), "retention period") {
			t.Errorf("%q: %v; want an error that names a retention period", bad, err)
		}
	}
}

// TestConfigNewsroom: the session limits have defaults, are read, and are
// refused where a session would end before it could be used.
func TestConfigNewsroom(t *testing.T) {
	c, err := LoadConfig(writeConfig(t, "public_url: https://krisen.kreis-soest.example\n"+goodChannel+newsroomTown), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Newsroom.limits(); got.Idle != time.Hour || got.Absolute != 12*time.Hour {
		t.Errorf("default limits %+v", got)
	}
	c, err = LoadConfig(writeConfig(t, "public_url: https://krisen.kreis-soest.example\n"+goodChannel+newsroomTown+
		"newsroom: {session_idle: 20m, session_lifetime: 8h}\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Newsroom.limits(); got.Idle != 20*time.Minute || got.Absolute != 8*time.Hour {
		t.Errorf("limits %+v", got)
	}
	for yaml, field := range map[string]string{
		"newsroom: {session_idle: 30s}":                      "newsroom.session_idle",
		"newsroom: {session_idle: 2h, session_lifetime: 1h}": "newsroom.session_lifetime",
	} {
		_, err := LoadConfig(writeConfig(t, "public_url: https://krisen.kreis-soest.example\n"+goodChannel+newsroomTown+yaml+"\n"), noEnv)
		if got := problemFields(t, err); !slices.Contains(got, field) {
			t.Errorf("%s: problems %v, want one for %s", yaml, got, field)
		}
	}
}

const newsroomTown = `towns:
  - {id: soest, name: Stadt Soest, channels: [radio]}
`
