package templates

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	texttemplate "text/template"
	"text/template/parse"

	"github.com/crierhq/crier"
)

// Bounds on the work of one Render call.
//
// text/template cannot be interrupted while it executes. Three things
// together keep the untrusted part, the announcement's body, from doing
// unbounded work all the same:
//
//   - every template writes through a limitWriter, which fails once the
//     output passes the size limit or the render context is done;
//     text/template stops at the first failed write;
//   - the string functions a body may call (print, printf, html, …) are
//     replaced by ones that check the context and count what they
//     produce, so that a body cannot build a huge value without writing it;
//   - loops without output are refused before the body runs: a body may
//     range only over the data's own lists (.Contacts, .Vars), not over a
//     number, a variable or a function's result, and not inside another
//     range; nor may it call templates ({{template}}, {{block}}), which
//     could recurse; and it holds at most maxBodyActions actions, so that
//     the builtins no function wraps (eq, slice, index, …) run a bounded
//     number of times on values bounded in size.
//
// Template override files are the operator's configuration and trusted;
// they too write through a limitWriter.

// MaxMarkdown bounds the Markdown of one town's body, its template
// executed, in bytes. goldmark takes quadratic time on some inputs
// (thousands of unclosed links, deeply nested quotes): at this size the
// worst of them converts in about half a second, so that a body cannot
// keep the processors busy for long, while a real notice, a few KiB,
// stays far below it.
const MaxMarkdown = 32 << 10

// maxBodyActions bounds the actions ({{…}}) in a body; a real notice has a
// handful.
const maxBodyActions = 500

// workFactor bounds what the string functions of one body may produce in
// all: workFactor times the size limit of a message.
const workFactor = 8

// sizeError says that a rendered part passed the size limit.
type sizeError struct{ max int }

func (e *sizeError) Error() string { return sizeProblem("", e.max).Message }

// sizeProblem is the problem that the part field passed the size limit max.
func sizeProblem(field string, max int) crier.Problem {
	return crier.Problemf(field, "limit.message_size", "the rendered text is larger than the limit of %v per message",
		crier.SizeText(int64(max)))
}

// stopError says that the render context ended the rendering.
type stopError struct{ cause error }

func (e *stopError) Error() string { return "rendering stopped: " + e.cause.Error() }
func (e *stopError) Unwrap() error { return e.cause }

// meter holds the bounds of one Render call.
type meter struct {
	ctx  context.Context
	max  int // bytes per rendered part
	work int // bytes the body's string functions produced so far
}

func newMeter(req *crier.RenderRequest) *meter {
	m := &meter{ctx: req.Context, max: req.MaxSize}
	if m.ctx == nil {
		m.ctx = context.Background()
	}
	if m.max <= 0 {
		m.max = crier.DefaultMaxMessage
	}
	return m
}

// err returns a stopError when the context is done.
func (m *meter) err() error {
	if m.ctx.Err() != nil {
		return &stopError{cause: context.Cause(m.ctx)}
	}
	return nil
}

// writer returns a limitWriter for one rendered part.
func (m *meter) writer() *limitWriter { return &limitWriter{m: m} }

// limitWriter collects a rendered part. Its writes fail once the part
// passes the size limit or the render context is done.
type limitWriter struct {
	b strings.Builder
	m *meter
}

func (w *limitWriter) Write(p []byte) (int, error) {
	if err := w.m.err(); err != nil {
		return 0, err
	}
	if w.b.Len()+len(p) > w.m.max {
		return 0, &sizeError{max: w.m.max}
	}
	return w.b.Write(p)
}

func (w *limitWriter) String() string { return w.b.String() }

// produce counts a string a body's function made; it fails when the
// context is done, when s alone passes the size limit or when all of them
// pass workFactor times that.
func (m *meter) produce(s string) (string, error) {
	if err := m.err(); err != nil {
		return "", err
	}
	m.work += len(s)
	if len(s) > m.max || m.work > workFactor*m.max {
		return "", &sizeError{max: m.max}
	}
	return s, nil
}

// bodyFuncs returns fm with text/template's string builtins replaced by
// bounded ones (see meter.produce), for the body's execution. fmt bounds
// widths and precisions to a million, so no single call allocates more
// than that beyond its arguments.
func (m *meter) bodyFuncs(fm map[string]any) map[string]any {
	out := make(map[string]any, len(fm)+6)
	for k, v := range fm {
		out[k] = v
	}
	out["print"] = func(args ...any) (string, error) { return m.produce(fmt.Sprint(args...)) }
	out["println"] = func(args ...any) (string, error) { return m.produce(fmt.Sprintln(args...)) }
	out["printf"] = func(format string, args ...any) (string, error) {
		return m.produce(fmt.Sprintf(format, args...))
	}
	out["html"] = func(args ...any) (string, error) { return m.produce(texttemplate.HTMLEscaper(args...)) }
	out["js"] = func(args ...any) (string, error) { return m.produce(texttemplate.JSEscaper(args...)) }
	out["urlquery"] = func(args ...any) (string, error) { return m.produce(texttemplate.URLQueryEscaper(args...)) }
	return out
}

// boundedBody reports the constructs of a parsed body that could work
// without bound: each problem's text starts "line N: ".
func boundedBody(t *texttemplate.Template) []crier.Problem {
	c := &bodyCheck{t: t}
	if t.Tree != nil {
		c.walk(t.Tree.Root, false)
	}
	if c.actions > maxBodyActions {
		c.problems = append(c.problems, crier.Problemf("body", "template.too_many_actions",
			"the body holds %v template actions ({{…}}); a notice may hold at most %v", c.actions, maxBodyActions))
	}
	return c.problems
}

type bodyCheck struct {
	t        *texttemplate.Template
	problems []crier.Problem
	actions  int
}

func (c *bodyCheck) add(p crier.Problem) { c.problems = append(c.problems, p) }

// line returns the line of n in the body.
func (c *bodyCheck) line(n parse.Node) int {
	loc, _ := c.t.Tree.ErrorContext(n) // "body:LINE:COL"
	parts := strings.Split(loc, ":")
	if len(parts) < 2 {
		return 0
	}
	l, _ := strconv.Atoi(parts[len(parts)-2])
	return l
}

func (c *bodyCheck) walk(n parse.Node, inRange bool) {
	switch n.(type) {
	case *parse.ActionNode, *parse.IfNode, *parse.WithNode, *parse.RangeNode, *parse.TemplateNode,
		*parse.BreakNode, *parse.ContinueNode:
		c.actions++
	}
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, x := range n.Nodes {
			c.walk(x, inRange)
		}
	case *parse.IfNode:
		c.walk(n.List, inRange)
		c.walk(n.ElseList, inRange)
	case *parse.WithNode:
		c.walk(n.List, inRange)
		c.walk(n.ElseList, inRange)
	case *parse.RangeNode:
		switch {
		case inRange:
			c.add(crier.Problemf("body", "template.nested_range",
				"line %v: {{range}} inside another {{range}}: a notice may loop once, over one list of the town's data", c.line(n)))
		case !dataList(n.Pipe):
			c.add(crier.Problemf("body", "template.range_data",
				"line %v: {{range %v}}: a notice may loop only over a list of the town's data, such as .Contacts or .Vars, not over a number, a variable or a function's result",
				c.line(n), strings.TrimSpace(pipeText(n.Pipe))))
		}
		c.walk(n.List, true)
		c.walk(n.ElseList, inRange)
	case *parse.TemplateNode:
		c.add(crier.Problemf("body", "template.call",
			"line %v: {{template %q}}: a notice's body cannot call templates; write the text where it is needed", c.line(n), n.Name))
	}
}

// dataList reports whether a range pipeline names a field of the data:
// .Contacts, $.Vars, never a number, a plain variable, dot itself or a call.
func dataList(p *parse.PipeNode) bool {
	if p == nil || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return false
	}
	switch a := p.Cmds[0].Args[0].(type) {
	case *parse.FieldNode:
		return true
	case *parse.VariableNode:
		return len(a.Ident) > 1 && a.Ident[0] == "$"
	}
	return false
}

// pipeText is a range pipeline as written, without the declarations.
func pipeText(p *parse.PipeNode) string {
	if p == nil {
		return ""
	}
	var cmds []string
	for _, c := range p.Cmds {
		cmds = append(cmds, c.String())
	}
	return strings.Join(cmds, " | ")
}

// stopped returns the stopError in err's chain, if any.
func stopped(err error) (*stopError, bool) {
	return errors.AsType[*stopError](err)
}

// markdown converts src to HTML and plain text (renderMarkdown) under the
// render context. goldmark cannot be interrupted, and some inputs take it
// quadratic time (thousands of unclosed links or nested quotes in 256 KiB
// take tens of seconds), so the conversion runs on a goroutine of its
// own, and a done context returns at once while the conversion finishes
// in the background. The Renderer's slots bound how many run at once,
// those left behind included, to the number of processors, so that
// abandoned conversions cannot pile up; a conversion waiting for a slot
// also stops with the context.
func (x *run) markdown(src []byte) (htmlOut, textOut string, err error) {
	select {
	case x.r.mdSlots <- struct{}{}:
	case <-x.m.ctx.Done():
		return "", "", x.m.err()
	}
	type result struct {
		html, text string
		err        error
	}
	done := make(chan result, 1)
	go func() {
		defer func() { <-x.r.mdSlots }()
		defer func() {
			if v := recover(); v != nil {
				done <- result{err: fmt.Errorf("the Markdown could not be converted: %v", v)}
			}
		}()
		h, t, err := renderMarkdown(x.r.md, src)
		done <- result{h, t, err}
	}()
	select {
	case r := <-done:
		return r.html, r.text, r.err
	case <-x.m.ctx.Done():
		return "", "", x.m.err()
	}
}
