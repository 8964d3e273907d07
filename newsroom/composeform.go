package newsroom

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // the form's times are Europe/Berlin's on every machine

	"github.com/crierhq/crier"
)

// berlin is the time zone of the compose form's times: the people writing
// are in German town halls, whatever zone the server runs in.
var berlin = func() *time.Location {
	l, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err) // time/tzdata is embedded
	}
	return l
}()

// localTime is the layout of an <input type="datetime-local">.
const localTime = "2006-01-02T15:04"

// Bounds of what one compose form may carry, so that a preview's work
// stays bounded whatever is posted: the text fields in characters, and
// the number of towns and channels chosen.
const (
	maxBodyChars = 50_000
	maxLineChars = 1_000
	maxChoices   = 500
	mineTowns    = "mine" // the "all my towns" choice
	whenNow      = "now"
	whenLater    = "later"
)

// composeForm is the compose form as posted, kept as typed so that a
// refused form comes back as it was.
type composeForm struct {
	Title, Body, SpoilerText string
	// Towns are the boxes ticked: town IDs, group names, or mineTowns.
	Towns []string
	// Channels are the channel IDs ticked; AllChannels is set when the
	// form did not list them yet (a fresh form: every channel).
	Channels    []string
	AllChannels bool

	Category, Urgency, Severity, Certainty string
	// Expires and PublishAt are datetime-local values in Europe/Berlin.
	Expires   string
	When      string
	PublishAt string
	Mode      string
	// Key is the form's idempotency key: a double click or a form sent
	// again publishes once.
	Key string
	// Update is the ID of the announcement the form corrects, if any.
	Update string
	// Draft is the ID of the draft the form was opened from, if any.
	Draft int64
	// Submit asks for approval where it is optional; Emergency is an
	// admin's publish without the approval its towns require.
	Submit, Emergency bool
}

// newForm returns a fresh form: an exercise for every channel, with a new
// idempotency key.
func newForm() *composeForm {
	return &composeForm{AllChannels: true, When: whenNow, Mode: string(crier.ModeExercise), Key: crier.NewID()}
}

// formFields reads a compose form from values (a posted form, or a draft).
func formFields(vs url.Values) *composeForm {
	line := func(k string) string { return clip(strings.TrimSpace(vs.Get(k)), maxLineChars) }
	f := &composeForm{
		Title: line("title"), Body: strings.ReplaceAll(vs.Get("body"), "\r\n", "\n"), // within maxForm; too long is a problem
		SpoilerText: line("spoiler_text"),
		Towns:       choices(vs["towns"]), Channels: choices(vs["channels"]), AllChannels: vs.Get("channels_listed") == "",
		Category: line("category"), Urgency: line("urgency"), Severity: line("severity"), Certainty: line("certainty"),
		Expires: line("expires"), When: line("when"), PublishAt: line("publish_at"), Mode: line("mode"),
		Key: line("key"), Update: line("update"),
	}
	f.Draft, _ = strconv.ParseInt(vs.Get("draft"), 10, 64)
	f.Submit, f.Emergency = vs.Get("submit") != "", vs.Get("emergency") != ""
	if f.When != whenLater {
		f.When = whenNow
	}
	if f.Key == "" {
		f.Key = crier.NewID()
	}
	return f
}

// values is the form as URL values, for a draft.
func (f *composeForm) values() url.Values {
	vs := url.Values{}
	set := func(k, v string) {
		if v != "" {
			vs.Set(k, v)
		}
	}
	set("title", f.Title)
	set("body", f.Body)
	set("spoiler_text", f.SpoilerText)
	vs["towns"] = f.Towns
	vs["channels"] = f.Channels
	if !f.AllChannels {
		vs.Set("channels_listed", "1")
	}
	for k, v := range map[string]string{"category": f.Category, "urgency": f.Urgency, "severity": f.Severity,
		"certainty": f.Certainty, "expires": f.Expires, "when": f.When, "publish_at": f.PublishAt, "mode": f.Mode,
		"update": f.Update} {
		set(k, v)
	}
	return vs
}

// clip cuts s to at most n characters.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}

// choices returns the distinct non-empty values of a group of
// checkboxes, at most maxChoices of them.
func choices(vs []string) []string {
	var out []string
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" && len(v) <= 100 && !slices.Contains(out, v) {
			out = append(out, v)
		}
		if len(out) == maxChoices {
			break
		}
	}
	return out
}

// Checked reports whether the box v of the group towns or channels is
// ticked.
func (f *composeForm) Checked(group, v string) bool {
	switch group {
	case "towns":
		return slices.Contains(f.Towns, v)
	case "channels":
		return f.AllChannels || slices.Contains(f.Channels, v)
	}
	return false
}

// announcement returns the announcement the form describes for the
// principal p, the time to publish it at (zero: now), and the problems
// of the form itself, which the engine does not see: times that do not
// parse, a body too long to render.
func (f *composeForm) announcement(n *Newsroom, p *crier.Principal) (*crier.Announcement, time.Time, []crier.Problem) {
	var ps []crier.Problem
	a := &crier.Announcement{
		Title: f.Title, Body: f.Body, SpoilerText: f.SpoilerText,
		Category: f.Category, Urgency: f.Urgency, Severity: f.Severity, Certainty: f.Certainty,
		Mode: crier.Mode(f.Mode),
	}
	for _, t := range f.Towns {
		if t != mineTowns {
			a.Towns = append(a.Towns, t)
			continue
		}
		if p.Role == crier.RoleAdmin {
			a.Towns = append(a.Towns, "all")
		} else {
			a.Towns = append(a.Towns, p.Towns...)
		}
	}
	if !f.AllChannels {
		// Only the channels of the chosen towns: the boxes of the others
		// stay ticked for when those towns are chosen again.
		towns, _ := n.engine.Directory.Resolve(a.Towns)
		all := true
		for _, id := range n.offeredChannels(p) {
			if !slices.Contains(f.Channels, id) {
				all = false
			}
		}
		if !all {
			for _, id := range f.Channels {
				if slices.ContainsFunc(towns, func(t string) bool { return slices.Contains(n.engine.Directory.Town(t).Channels, id) }) {
					a.Channels = append(a.Channels, id)
				}
			}
			if len(a.Channels) == 0 {
				ps = append(ps, crier.Problemf("channels", "compose.no_channel", "choose at least one channel of the chosen towns"))
			}
		}
	}
	if n := len([]rune(f.Body)); n > maxBodyChars {
		ps = append(ps, crier.Problemf("body", "too_long", "is %v characters long, at most %v are allowed", n, maxBodyChars))
	}
	if f.Expires != "" {
		t, err := time.ParseInLocation(localTime, f.Expires, berlin)
		if err != nil {
			ps = append(ps, crier.Problemf("expires", "compose.time", "%q is no date and time", f.Expires))
		}
		a.Expires = t
	}
	var at time.Time
	if f.When == whenLater {
		t, err := time.ParseInLocation(localTime, f.PublishAt, berlin)
		switch {
		case f.PublishAt == "":
			ps = append(ps, crier.Problemf("publish_at", "missing", "must be given"))
		case err != nil:
			ps = append(ps, crier.Problemf("publish_at", "compose.time", "%q is no date and time", f.PublishAt))
		case !t.After(n.clock.Now()):
			ps = append(ps, crier.Problemf("publish_at", "in_past", "%v is in the past", t.Format(time.RFC3339)))
		}
		at = t
	}
	return a, at, ps
}

// mayActual reports whether p may choose mode actual on the form.
func mayActual(p *crier.Principal) bool { return crier.AuthorizeMode(p, crier.ModeActual) == nil }

// parseCompose reads the posted compose form of r.
func parseCompose(r *http.Request) *composeForm {
	_ = r.ParseForm() // signedIn parsed it already, within maxForm
	return formFields(r.PostForm)
}
