package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the outcome of a bench run: the machine it ran on and one
// result per row, in the order of the table.
type Report struct {
	Machine Machine   `json:"machine"`
	Smoke   bool      `json:"smoke"`
	Started time.Time `json:"started"`
	Results []*Result `json:"results"`
}

// Result is what one row measured.
type Result struct {
	Row   string `json:"row"`   // the row's name, e.g. "email-e2e"
	Title string `json:"title"` // its name in the table, e.g. "email end to end"
	What  string `json:"what"`  // what is measured, in a sentence
	Size  string `json:"size"`  // the sizes and worker counts it ran with
	// Metrics are every number measured, the ones the targets name first.
	Metrics []Metric `json:"metrics"`
	Targets []Target `json:"targets"`
	// Summary is the result column of the table: the metrics the targets
	// name, in words.
	Summary string `json:"summary"`
	// Pass is true when the row produced its metrics and met every target.
	Pass bool `json:"pass"`
	// Error says why the row produced no result; Metrics may then be
	// incomplete.
	Error   string  `json:"error,omitempty"`
	Seconds float64 `json:"seconds"` // how long the row took, set-up included
}

// Metric is one measured number.
type Metric struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
}

// Target is a limit for one metric.
type Target struct {
	Metric string  `json:"metric"`
	Op     string  `json:"op"` // "<", "<=" or ">="
	Limit  float64 `json:"limit"`
	Unit   string  `json:"unit"`
	Label  string  `json:"label"` // how the table states it, e.g. "p50 < 100 ms"
	Met    bool    `json:"met"`
}

// metric returns the value of the named metric and whether there is one.
func (r *Result) metric(name string) (float64, bool) {
	for _, m := range r.Metrics {
		if m.Name == name {
			return m.Value, true
		}
	}
	return 0, false
}

// add records a metric.
func (r *Result) add(name string, value float64, unit string) {
	r.Metrics = append(r.Metrics, Metric{Name: name, Value: value, Unit: unit})
}

// judge compares every target with its metric and sets Pass.
func (r *Result) judge() {
	r.Pass = r.Error == "" && len(r.Metrics) > 0
	for i := range r.Targets {
		t := &r.Targets[i]
		v, ok := r.metric(t.Metric)
		switch {
		case !ok || math.IsNaN(v):
			t.Met = false
		case t.Op == "<":
			t.Met = v < t.Limit
		case t.Op == "<=":
			t.Met = v <= t.Limit
		case t.Op == ">=":
			t.Met = v >= t.Limit
		default:
			t.Met = false
		}
		r.Pass = r.Pass && t.Met
	}
}

// Pass reports whether every row met every target.
func (r *Report) Pass() bool {
	for _, res := range r.Results {
		if !res.Pass {
			return false
		}
	}
	return true
}

// Complete reports whether every row produced its metrics, whatever the
// targets say: what a smoke run checks.
func (r *Report) Complete() bool {
	for _, res := range r.Results {
		if res.Error != "" || len(res.Metrics) == 0 {
			return false
		}
	}
	return true
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes the machine, one line per row and target (the row,
// its size, what it measured, the target and PASS or FAIL; a smoke run
// prints "(smoke)" instead of judging), what each row measures, and the
// errors of rows that failed.
func (r *Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "crier bench on %s\n\n", r.Machine)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ROW\tSIZE\tRESULT\tTARGET\t")
	for _, res := range r.Results {
		result := res.summary()
		if len(res.Targets) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t%s\t\t%s\n", res.Title, res.Size, result, r.verdict(res.Pass))
		}
		for i, t := range res.Targets {
			row, size := res.Title, res.Size
			if i > 0 {
				row, size, result = "", "", ""
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", row, size, result, t.Label, r.verdict(t.Met && res.Error == ""))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	for _, res := range r.Results {
		fmt.Fprintf(w, "%s: %s.\n", res.Title, res.What)
	}
	for _, res := range r.Results {
		if res.Error != "" {
			fmt.Fprintf(w, "\nerror in %s: %s\n", res.Title, res.Error)
		}
	}
	return nil
}

func (r *Report) verdict(ok bool) string {
	switch {
	case r.Smoke:
		return "(smoke)"
	case ok:
		return "PASS"
	}
	return "FAIL"
}

// summary is the result column: the row's own wording, or its error.
func (res *Result) summary() string {
	if res.Error != "" {
		return "error (below)"
	}
	if res.Summary != "" {
		return res.Summary
	}
	var parts []string
	for _, m := range res.Metrics {
		parts = append(parts, m.Name+" "+num(m.Value)+" "+m.Unit)
	}
	return strings.Join(parts, ", ")
}

// num formats v for people: whole numbers from 100 on and for counts,
// in groups of three digits from 1 000 on; two or three significant
// digits below.
func num(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "n/a"
	case math.Abs(v) >= 100 || v == math.Trunc(v):
		return group(strconv.FormatFloat(math.Round(v), 'f', 0, 64))
	case math.Abs(v) >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// group puts a space between groups of three digits.
func group(digits string) string {
	sign := ""
	if strings.HasPrefix(digits, "-") {
		sign, digits = "-", digits[1:]
	}
	var b strings.Builder
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	return sign + b.String()
}
