package newsroom

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/locale"
	"github.com/crierhq/crier/netpath"
)

// preview is the live preview of a compose form: every problem, with a
// summary at the top, and the matrix of what every town × channel will
// get.
type preview struct {
	// Done is false until the form was previewed once.
	Done bool
	// Problems lists every problem in order; Fields holds those of a
	// field of the form (no town), by field.
	Problems []*shownProblem
	Fields   map[string][]*shownProblem
	// General are problems of neither a field nor a town × channel.
	General []*shownProblem
	Notes   []string
	// Types are the matrix's columns: channel types, the site last.
	Types []string
	// Labels name the Types for people.
	Labels []string
	Rows   []*matrixRow
}

// shownProblem is one problem as a page shows it, in the reader's
// language, with the id the summary links to.
type shownProblem struct {
	ID    string
	Where string // the field's label or "Soest × mastodon-soest"
	Text  string
	// Target is the anchor the summary links to: the field's input, or
	// the problem in its cell.
	Target string
}

// matrixRow is one town's row of the matrix.
type matrixRow struct {
	Town     string
	Name     string
	Problems []*shownProblem // of the town, not of one channel
	// Cells are by column (Types): the town's channels of that type.
	Cells [][]*matrixCell
}

// matrixCell is one town × channel.
type matrixCell struct {
	ID       string // "cell-soest-mastodon-soest"
	Channel  string
	Type     string
	Subject  string
	Text     string
	Spoiler  string
	Payload  string // a webhook's JSON, indented and cut short
	Counts   []count
	Omitted  string // what a shortened post leaves out, or ""
	Problems []*shownProblem
}

// count is a post's length against one endpoint's limit.
type count struct {
	Endpoint string
	N, Max   int
}

// Over reports whether the post is too long for the endpoint.
func (c count) Over() bool { return c.N > c.Max }

// fieldNames maps the fields of problems to the compose form's inputs.
var fieldNames = map[string]string{
	"title": "title", "body": "body", "spoiler_text": "spoiler_text", "towns": "towns", "channels": "channels",
	"category": "category", "urgency": "urgency", "severity": "severity", "certainty": "certainty",
	"expires": "expires", "publish_at": "publish_at", "mode": "mode",
}

// indexes strips "[2]" and "[soest]" from a problem's field.
var indexes = regexp.MustCompile(`\[[^\]]*\]`)

// formField returns the form's input a problem's field names, or "".
func formField(field string) string {
	f := indexes.ReplaceAllString(strings.TrimPrefix(field, "announcement."), "")
	if i := strings.IndexByte(f, '.'); i >= 0 {
		f = f[:i]
	}
	return fieldNames[f]
}

// newPreview lays out plan (nil when rendering stopped at a limit) and
// problems, in lang.
func (n *Newsroom) newPreview(lang string, plan *crier.Plan, problems []crier.Problem) *preview {
	pv := &preview{Done: true, Fields: map[string][]*shownProblem{}}
	rows := map[string]*matrixRow{}
	cells := map[string]*matrixCell{}
	if plan != nil {
		problems = append(problems, plan.Problems...)
		for _, t := range plan.Towns {
			name := t
			if town := n.engine.Directory.Town(t); town != nil {
				name = town.Name
			}
			row := &matrixRow{Town: t, Name: name}
			rows[t] = row
			pv.Rows = append(pv.Rows, row)
		}
		ms := append(slices.Clone(plan.Messages), plan.Pages...)
		for _, m := range ms {
			if !slices.Contains(pv.Types, m.Type) {
				pv.Types = append(pv.Types, m.Type)
			}
		}
		slices.SortStableFunc(pv.Types, func(a, b string) int { return typeOrder(a) - typeOrder(b) })
		for _, t := range pv.Types {
			pv.Labels = append(pv.Labels, locale.T(lang, "compose.type."+typeKey(t)))
		}
		for _, row := range pv.Rows {
			row.Cells = make([][]*matrixCell, len(pv.Types))
		}
		for _, m := range ms {
			row := rows[m.Town]
			if row == nil {
				continue
			}
			c := n.cell(lang, m)
			cells[m.Town+"\x00"+m.Channel] = c
			i := slices.Index(pv.Types, m.Type)
			row.Cells[i] = append(row.Cells[i], c)
		}
		for _, note := range plan.Notes {
			if note.Code == crier.NoteShortened {
				continue // said in the cell
			}
			text, ok := locale.Note(lang, note.Code, note.Args)
			if !ok {
				text = note.Message
			}
			pv.Notes = append(pv.Notes, note.Channel+": "+text)
		}
	}
	for i, p := range problems {
		text, _ := locale.Problem(lang, p.Code, p.Args, p.Message)
		sp := &shownProblem{ID: fmt.Sprintf("problem-%d", i+1), Text: text}
		sp.Target = "#" + sp.ID
		pv.Problems = append(pv.Problems, sp)
		if c := cells[p.Town+"\x00"+p.Channel]; c != nil && p.Town != "" {
			sp.Where = rows[p.Town].Name + " × " + p.Channel
			c.Problems = append(c.Problems, sp)
			continue
		}
		if row := rows[p.Town]; row != nil {
			sp.Where = row.Name
			if p.Channel != "" {
				sp.Where += " × " + p.Channel
			}
			row.Problems = append(row.Problems, sp)
			continue
		}
		if f := formField(p.Field); f != "" {
			sp.Where = locale.T(lang, "compose.field."+f)
			sp.Target = "#" + f
			if f == "towns" || f == "channels" || f == "mode" {
				sp.Target = "#" + f + "-legend"
			}
			pv.Fields[f] = append(pv.Fields[f], sp)
			continue
		}
		sp.Where = p.Field
		pv.General = append(pv.General, sp)
	}
	return pv
}

// typeOrder orders the matrix's columns: the social networks, email,
// webhooks, other types, and the website last.
func typeOrder(t string) int {
	switch t {
	case "mastodon":
		return 0
	case "slack":
		return 1
	case "email":
		return 2
	case "webhook":
		return 3
	case crier.PageType:
		return 5
	}
	return 4
}

// maxPayload bounds the webhook payload a cell shows.
const maxPayload = 2000

// cell shows the message m.
func (n *Newsroom) cell(lang string, m *crier.Message) *matrixCell {
	c := &matrixCell{
		ID: "cell-" + m.Town + "-" + m.Channel, Channel: m.Channel, Type: m.Type,
		Spoiler: m.SpoilerText,
		Text:    strings.ReplaceAll(m.Text, crier.UnsubscribePlaceholder, locale.T(lang, "compose.unsubscribe_link")),
	}
	if m.Type == "email" {
		c.Subject = m.Subject
	}
	if len(m.Payload) > 0 {
		var b bytes.Buffer
		if json.Indent(&b, m.Payload, "", "  ") != nil {
			b.Reset()
			b.Write(m.Payload)
		}
		c.Payload = clip(b.String(), maxPayload)
		if b.Len() > len(c.Payload) {
			c.Payload += "\n…"
		}
	}
	if m.Omitted != nil {
		if text, ok := locale.Note(lang, crier.NoteShortened, crier.OmissionNote(m).Args); ok {
			c.Omitted = text
		} else {
			c.Omitted = crier.OmissionNote(m).Message
		}
	}
	c.Counts = n.counts(m)
	return c
}

// endpointer is a channel of several endpoints (netpath.Chain).
type endpointer interface{ Endpoints() []netpath.Endpoint }

// counts returns m's length against the limit of every endpoint of its
// channel that has one: a Mastodon channel whose endpoints are on
// instances with different limits gets one count per instance.
func (n *Newsroom) counts(m *crier.Message) []count {
	ch := n.engine.Channels[m.Channel]
	if ch == nil {
		return nil
	}
	var out []count
	add := func(name string, c crier.Channel) {
		l, ok := c.(crier.Limiter)
		if !ok {
			return
		}
		if lim := l.TextLimit(); lim.Max > 0 && lim.Length != nil {
			out = append(out, count{Endpoint: name, N: lim.Length(m), Max: lim.Max})
		}
	}
	if e, ok := ch.Channel.(endpointer); ok {
		for _, ep := range e.Endpoints() {
			add(ep.Name, ep.Channel)
		}
		return out
	}
	add(ch.ID, ch.Channel)
	return out
}
