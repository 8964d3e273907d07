package templates

import (
	"strings"
	"testing"

	"github.com/crierhq/crier"
)

// TestSharedBody: with a shared scratch map the body is rendered once per
// town and reused for its other channels, with the same result as without
// one; a body that names the channel is still rendered per channel, and a
// body's problem is reported for every channel.
func TestSharedBody(t *testing.T) {
	r := mustNew(t, "")
	soest := town(t, "soest")
	render := func(a *crier.Announcement, shared map[string]any, typ, channel string) (*crier.Message, error) {
		req := request(soest, a, typ, channel)
		req.Shared = shared
		return r.Render(req)
	}

	a := kfz(crier.ModeActual)
	shared := map[string]any{}
	for _, c := range [][2]string{{"email", "mail-soest"}, {"webhook", "radio"}, {"mastodon", "mastodon-soest"}} {
		with, err := render(a, shared, c[0], c[1])
		if err != nil {
			t.Fatal(err)
		}
		without := mustRender(t, r, request(soest, a, c[0], c[1]))
		if with.Text != without.Text || with.HTML != without.HTML || string(with.Payload) != string(without.Payload) {
			t.Errorf("%s: a shared body renders differently", c[1])
		}
	}
	if _, ok := shared["templates.body"]; !ok {
		t.Error("the body was not kept in the shared map")
	}

	a = kfz(crier.ModeActual)
	a.Body = "Diese Meldung geht an {{.Channel}}."
	shared = map[string]any{}
	for _, ch := range []string{"radio", "leitstelle"} {
		m, err := render(a, shared, "webhook", ch)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(m.Payload), "Diese Meldung geht an "+ch) {
			t.Errorf("%s: body rendered for another channel: %s", ch, m.Payload)
		}
	}

	a = kfz(crier.ModeActual)
	a.Body = "Fax: {{.Vars.fax}}"
	shared = map[string]any{}
	for _, ch := range []string{"radio", "leitstelle"} {
		_, err := render(a, shared, "webhook", ch)
		ps := crier.ErrorDetails(err)
		if len(ps) != 1 || ps[0].Channel != ch || ps[0].Field != "body" || !strings.Contains(ps[0].Message, "fax") {
			t.Errorf("%s: problems %v; want the body's problem for this channel", ch, ps)
		}
	}
}
