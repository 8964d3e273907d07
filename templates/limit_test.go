package templates

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
)

// renderBody renders an announcement with body for Soest as an email with
// the given size limit, and returns the problems or the message.
func renderWith(t *testing.T, body string, max int, ctx context.Context) (*crier.Message, []crier.Problem, error) {
	t.Helper()
	r := mustNew(t, "")
	a := buergerbuero(crier.ModeExercise)
	a.Body = body
	req := request(town(t, "soest"), a, "email", "mail")
	req.MaxSize, req.Context = max, ctx
	m, err := r.Render(req)
	if err != nil && crier.ErrorCode(err) == crier.EINVALID {
		return nil, crier.ErrorDetails(err), err
	}
	return m, nil, err
}

// TestUnboundedLoopsRefused: a body that would loop without writing, or
// loop inside a loop, is refused before it runs, with the line.
func TestUnboundedLoopsRefused(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"range over a number", "Hallo\n{{range 1000000}}…{{end}}", "line 2: {{range 1000000}}"},
		{"range over a declared number", "{{range $i := 1000000000}}{{end}}", "line 1: {{range 1000000000}}"},
		{"range over a variable", "{{$n := 1000000}}\n\n{{range $n}}x{{end}}", "line 3: {{range $n}}"},
		{"range over dot", "{{with 1000000}}{{range .}}{{end}}{{end}}", "line 1: {{range .}}"},
		{"range over a call", `{{range (sub 1000000 0)}}{{end}}`, "line 1: {{range (sub 1000000 0)}}"},
		{"nested range", "{{range .Contacts}}\n{{range $.Contacts}}{{end}}{{end}}", "line 2: {{range}} inside another {{range}}"},
		{"template call", `{{define "x"}}{{template "x" .}}{{template "x" .}}{{end}}{{template "x" .}}`, `{{template "x"}}`},
		{"block", `{{block "y" .}}{{end}}`, `{{template "y"}}`},
		{"too many actions", strings.Repeat(`{{if eq .Title .Title}}{{end}}`, 501), "the body holds 501 template actions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, problems, err := renderWith(t, tc.body, 0, nil)
			if len(problems) == 0 {
				t.Fatalf("rendered without a problem (err %v)", err)
			}
			if !strings.Contains(problems[0].Message, tc.want) || problems[0].Field != "body" {
				t.Errorf("problem %s, want one on the body with %q", problems[0], tc.want)
			}
		})
	}
}

// TestBoundedLoopsRender: a single loop over the data's lists is fine.
func TestBoundedLoopsRender(t *testing.T) {
	for _, body := range []string{
		"{{range .Contacts}}- {{.Label}}: {{.Value}}\n{{end}}",
		"{{range $k, $v := .Vars}}{{$k}} {{end}}",
		"{{range $.Contacts}}{{.Label}} {{else}}keine{{end}}{{range .Contacts}}{{.Key}}{{end}}",
		"{{with .Contacts}}{{range $.Contacts}}{{.Key}}{{end}}{{end}}",
	} {
		if _, problems, err := renderWith(t, body, 0, nil); err != nil {
			t.Errorf("%q: %v %v", body, err, problems)
		}
	}
}

// TestHugeOutputStopsAtLimit: a body whose output grows without bound
// stops at the size limit per message, and says so.
func TestHugeOutputStopsAtLimit(t *testing.T) {
	double := `{{$x := "0123456789abcdef"}}` + strings.Repeat(`{{$x = printf "%s%s" $x $x}}`, 60) + "{{len $x}}"
	for _, tc := range []struct{ name, body string }{
		{"wide printf in a loop", `{{range .Contacts}}{{printf "%0999999d" 0}}{{end}}`},
		{"many writes", strings.Repeat(`{{printf "%099999d" 0}}`, 200)},
		{"doubling without output", double},
		{"escaping", `{{$x := printf "%0200000d" 0}}{{html $x | html | html | html}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, problems, err := renderWith(t, tc.body, 64<<10, nil)
			if len(problems) != 1 {
				t.Fatalf("problems %v (err %v), want one", problems, err)
			}
			if !strings.Contains(problems[0].Message, "larger than the limit of 64 KiB per message") {
				t.Errorf("problem %s, want the size limit", problems[0])
			}
		})
	}
}

// TestBodyFunctionsCounted: the string functions a body calls are the
// bounded ones, not text/template's builtins.
func TestBodyFunctionsCounted(t *testing.T) {
	// The escapers grow 500 characters past 1 KiB.
	for _, f := range []string{"html", "js", "urlquery"} {
		body := fmt.Sprintf(`{{%s "%s"}}`, f, strings.Repeat("<", 500))
		_, problems, err := renderWith(t, body, 1<<10, nil)
		if len(problems) != 1 || !strings.Contains(problems[0].Message, "error calling "+f) {
			t.Errorf("%s of 500 characters under a 1 KiB limit: %v %v", f, problems, err)
		}
	}
	// Values over the limit that are never written.
	for _, f := range []string{"print", "println", "printf"} {
		body := fmt.Sprintf(`{{$x := %s "%s"}}ok`, f, strings.Repeat("x", 2<<10))
		if _, problems, _ := renderWith(t, body, 1<<10, nil); len(problems) != 1 || !strings.Contains(problems[0].Message, "error calling "+f) {
			t.Errorf("%s of 2 KiB without output under a 1 KiB limit: %v", f, problems)
		}
	}
}

// TestMessageSizeLimit: a plain body over the limit of a message is a
// problem of that message, and the same body renders under a larger one.
func TestMessageSizeLimit(t *testing.T) {
	body := strings.Repeat("Das Bürgerbüro bleibt geschlossen. ", 100) // 3.6 KB
	if _, problems, _ := renderWith(t, body, 2<<10, nil); len(problems) == 0 || !strings.Contains(problems[0].Message, "2 KiB") {
		t.Errorf("body of 3.6 KB under a 2 KiB limit: problems %v", problems)
	}
	if _, problems, err := renderWith(t, body, 0, nil); err != nil {
		t.Errorf("under the default limit: %v %v", err, problems)
	}
}

// TestMarkdownSizeLimit: Markdown past MaxMarkdown, on which goldmark
// could spend seconds, is refused before it is converted, with its size.
func TestMarkdownSizeLimit(t *testing.T) {
	for _, unit := range []string{"[a](", "> ", "Das Bürgerbüro bleibt geschlossen. "} {
		body := strings.Repeat(unit, MaxMarkdown/len(unit)+1)
		start := time.Now()
		_, problems, _ := renderWith(t, body, 0, nil)
		if len(problems) != 1 || problems[0].Code != "body.markdown_size" || !strings.Contains(problems[0].Message, "32 KiB") {
			t.Errorf("%q × %d: problems %v, want the Markdown limit", unit, MaxMarkdown/len(unit)+1, problems)
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("%q: refused after %v, want before converting", unit, took)
		}
	}
	if _, problems, err := renderWith(t, strings.Repeat("Das Bürgerbüro bleibt geschlossen. ", 800), 0, nil); err != nil {
		t.Errorf("28 KB of text: %v %v", err, problems)
	}
}

// TestRenderStopsWhenContextDone: a canceled rendering returns the
// context's cause, not a problem of the announcement.
func TestRenderStopsWhenContextDone(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	gone := errors.New("client gone")
	cancel(gone)
	_, problems, err := renderWith(t, "{{range .Contacts}}{{.Value}}{{end}}", 0, ctx)
	if !errors.Is(err, gone) || crier.ErrorCode(err) == crier.EINVALID || problems != nil {
		t.Errorf("canceled render: err %v, problems %v; want the cause", err, problems)
	}
}

// TestRenderStopsAtNextWrite: the context ends while a template runs (a
// town variable's writing cancels it): the template stops at its next
// write, and no later part is rendered.
func TestRenderStopsAtNextWrite(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	m := &meter{ctx: ctx, max: 1 << 20}
	w := m.writer()
	if _, err := w.Write([]byte("ok")); err != nil {
		t.Fatal(err)
	}
	cancel(errors.New("gone"))
	if _, err := w.Write([]byte("more")); err == nil {
		t.Fatal("write after cancel succeeded")
	}
	if _, err := m.produce("x"); err == nil {
		t.Fatal("function after cancel succeeded")
	}
}

// TestMarkdownStopsWithContext: goldmark takes quadratic time on some
// inputs and cannot be interrupted; the rendering returns when its
// context ends all the same, and a conversion waiting for a slot stops
// too.
func TestMarkdownStopsWithContext(t *testing.T) {
	slow := strings.Repeat("[a](", MaxMarkdown/4) // a large part of a second of goldmark
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, problems, err := renderWith(t, slow, 0, ctx)
	if !errors.Is(err, context.DeadlineExceeded) || problems != nil {
		t.Errorf("slow Markdown past the deadline: err %v, problems %v; want the deadline", err, problems)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("returned after %v, want soon after the deadline", took)
	}

	r := mustNew(t, "")
	for range cap(r.mdSlots) {
		r.mdSlots <- struct{}{} // every slot taken
	}
	a := buergerbuero(crier.ModeExercise)
	req := request(town(t, "soest"), a, "site", "site")
	done := make(chan error, 1)
	wait, stop := context.WithCancel(context.Background())
	req.Context = wait
	go func() { _, err := r.Render(req); done <- err }()
	stop()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("waiting for a slot: %v, want canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a conversion waiting for a slot did not stop with its context")
	}
}
