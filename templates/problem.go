package templates

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/crierhq/crier"
)

// templateErr matches the position text/template and html/template put in
// front of their messages: "template: NAME:LINE:COL: " for parse and
// execution errors, "html/template:NAME:LINE:COL: " for escaping errors.
// html/template leaves the line out when it cannot tell it.
var templateErr = regexp.MustCompile(`^(?:html/)?template: ?([^:]+)(?::(\d+))?(?::\d+)?: (.*)$`)

// execAt matches the part of an execution error that says what was being
// evaluated: `executing "NAME" at <.Vars.fax>: `.
var execAt = regexp.MustCompile(`^executing "[^"]*" at <([^>]*)>: (.*)$`)

// missingKey matches text/template's error for a missing map key under
// missingkey=error.
var missingKey = regexp.MustCompile(`^map has no entry for key "([^"]*)"$`)

// describeProblem is describe as a problem at field. A missing town
// variable, the mistake an author makes most, is shown in the reader's
// language; other template errors keep Go's English text, introduced in
// the reader's language.
func describeProblem(field, name string, err error) crier.Problem {
	line, key, expr, ok := missingVar(name, err)
	switch {
	case !ok:
		if other, line, what := describeParts(name, err); other == "" && line != "" {
			return crier.Problemf(field, "template.error_line", "template error in line %v: %v", line, what)
		}
		return crier.Problemf(field, "template.error", "template error: %v", describe(name, err))
	case line == "":
		return crier.Problemf(field, "template.missing_var",
			"the town has no variable %q (%v); set it in the town's vars, or write {{with index .Vars %q}}…{{end}} where it is optional",
			key, expr, key)
	}
	return crier.Problemf(field, "template.missing_var_line",
		"line %v: the town has no variable %q (%v); set it in the town's vars, or write {{with index .Vars %q}}…{{end}} where it is optional",
		line, key, expr, key)
}

// missingVar reports whether err says that the template name asked for a
// town variable the town does not have, and which, where and how.
func missingVar(name string, err error) (line, key, expr string, ok bool) {
	m := templateErr.FindStringSubmatch(strings.TrimSpace(err.Error()))
	if m == nil || m[1] != name {
		return "", "", "", false
	}
	e := execAt.FindStringSubmatch(m[3])
	if e == nil || !strings.HasPrefix(e[1], ".Vars.") {
		return "", "", "", false
	}
	k := missingKey.FindStringSubmatch(e[2])
	if k == nil {
		return "", "", "", false
	}
	return m[2], k[1], "{{" + e[1] + "}}", true
}

// describe turns a template error into "line N: what went wrong", naming a
// missing town variable plainly. name is the template's name; the error may
// point into another template it defines, which is then named too.
func describe(name string, err error) string {
	other, line, what := describeParts(name, err)
	var where []string
	if other != "" {
		where = append(where, other)
	}
	if line != "" {
		where = append(where, "line "+line)
	}
	if len(where) == 0 {
		return what
	}
	return strings.Join(where, ", ") + ": " + what
}

// describeParts splits a template error into the other template it points
// into (empty for name itself), its line (empty when unknown) and what
// went wrong.
func describeParts(name string, err error) (other, line, what string) {
	msg := strings.TrimSpace(err.Error())
	m := templateErr.FindStringSubmatch(msg)
	if m == nil {
		return "", "", msg
	}
	if m[1] != name {
		other = m[1]
	}
	// "unclosed action started at NAME:3"
	what = strings.ReplaceAll(m[3], name+":", "line ")
	if strings.Contains(what, "ends in a non-text context") {
		what = "an HTML tag, attribute or comment is left open: " + what
	}
	for _, token := range []string{"date", "time", "weekday"} {
		if strings.Contains(what, `function "`+token+`" not defined`) {
			what += fmt.Sprintf("; {{%s}} is filled in when a schedule publishes the notice (publish_at, crier schedule add): "+
				"preview it with --at", token)
		}
	}
	if e := execAt.FindStringSubmatch(what); e != nil {
		expr, reason := e[1], e[2]
		if k := missingKey.FindStringSubmatch(reason); k != nil && strings.HasPrefix(expr, ".Vars.") {
			what = fmt.Sprintf("the town has no variable %q (%s); set it in the town's vars, "+
				"or write {{with index .Vars %q}}…{{end}} where it is optional", k[1], "{{"+expr+"}}", k[1])
		} else {
			what = fmt.Sprintf("%s: %s", "{{"+expr+"}}", reason)
		}
	}
	return other, m[2], what
}
