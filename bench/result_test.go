package bench

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestJudge(t *testing.T) {
	for _, tc := range []struct {
		op    string
		value float64
		met   bool
	}{
		{"<", 99.9, true}, {"<", 100, false},
		{"<=", 100, true}, {"<=", 100.1, false},
		{">=", 100, true}, {">=", 99.9, false},
		{"==", 100, false}, // unknown operators never pass
		{"<", math.NaN(), false},
	} {
		res := &Result{Targets: []Target{{Metric: "x", Op: tc.op, Limit: 100}}}
		res.add("x", tc.value, "ms")
		res.judge()
		if res.Targets[0].Met != tc.met || res.Pass != tc.met {
			t.Errorf("%v %s 100: met %v, pass %v; want %v", tc.value, tc.op, res.Targets[0].Met, res.Pass, tc.met)
		}
	}
}

func TestJudgeMissingMetricOrError(t *testing.T) {
	res := &Result{Targets: []Target{{Metric: "p50", Op: "<", Limit: 100}}}
	res.add("p99", 1, "ms")
	res.judge()
	if res.Pass || res.Targets[0].Met {
		t.Error("a target whose metric is missing passed")
	}
	res = &Result{Targets: []Target{{Metric: "p50", Op: "<", Limit: 100}}, Error: "boom"}
	res.add("p50", 1, "ms")
	res.judge()
	if res.Pass {
		t.Error("a row with an error passed")
	}
}

func TestNum(t *testing.T) {
	for v, want := range map[float64]string{
		0.0412: "0.04", 3.456: "3.46", 27: "27", 42.26: "42.3", 105.4: "105",
		4400: "4 400", 1_000_000: "1 000 000", -12_345: "-12 345", math.Inf(1): "n/a",
	} {
		if got := num(v); got != want {
			t.Errorf("num(%v) = %q, want %q", v, got, want)
		}
	}
}

func testReport() *Report {
	rep := &Report{Machine: Machine{CPUs: 2, CPUModel: "Test CPU", OS: "linux", Arch: "amd64", Go: "go1.26"}}
	a := &Result{Row: "commit", Title: "commit", Size: "70 towns", Summary: "p50 93 ms",
		Targets: []Target{{Metric: "p50", Op: "<", Limit: 100, Unit: "ms", Label: "p50 < 100 ms"}}}
	a.add("p50", 93, "ms")
	b := &Result{Row: "email-cost", Title: "email cost", Size: "20 000 mails", Summary: "120 µs; 80 MB",
		Targets: []Target{
			{Metric: "cpu", Op: "<=", Limit: 100, Label: "≤ 100 µs CPU per mail"},
			{Metric: "peak-rss", Op: "<=", Limit: 115, Label: "peak RSS ≤ 115 MB"},
		}}
	b.add("cpu", 120, "µs/mail")
	b.add("peak-rss", 80, "MB")
	for _, r := range []*Result{a, b} {
		r.judge()
		rep.Results = append(rep.Results, r)
	}
	return rep
}

// TestTable checks that every target has a line with its verdict, and
// that a smoke run judges none.
func TestTable(t *testing.T) {
	rep := testReport()
	var b bytes.Buffer
	if err := rep.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	var verdicts []string
	for _, line := range strings.Split(b.String(), "\n") {
		if f := strings.Fields(line); len(f) > 0 && (f[len(f)-1] == "PASS" || f[len(f)-1] == "FAIL") {
			verdicts = append(verdicts, f[len(f)-1])
		}
	}
	if diff := cmp.Diff([]string{"PASS", "FAIL", "PASS"}, verdicts); diff != "" {
		t.Errorf("verdicts (-want +got):\n%s\n%s", diff, b.String())
	}
	if !strings.Contains(b.String(), "2 CPUs (Test CPU)") {
		t.Errorf("the table does not name the machine:\n%s", b.String())
	}
	if rep.Pass() || !rep.Complete() {
		t.Errorf("Pass %v, Complete %v; want false, true", rep.Pass(), rep.Complete())
	}

	rep.Smoke = true
	b.Reset()
	if err := rep.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "PASS") || strings.Contains(b.String(), "FAIL") {
		t.Errorf("a smoke run judged targets:\n%s", b.String())
	}
}

func TestJSON(t *testing.T) {
	rep := testReport()
	var b bytes.Buffer
	if err := rep.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var got Report
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rep, &got); diff != "" {
		t.Errorf("JSON round trip (-want +got):\n%s", diff)
	}
}

func TestSelectRows(t *testing.T) {
	got, err := selectRows([]string{"startup", "commit"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].name != "commit" || got[1].name != "startup" {
		t.Errorf("selected %v, want commit and startup in table order", got)
	}
	if _, err := selectRows([]string{"comit"}); err == nil || !strings.Contains(err.Error(), "email-rate") {
		t.Errorf("an unknown row: %v; want an error that lists the rows", err)
	}
	for _, r := range rows() {
		if r.title == "" || r.what == "" || len(r.targets) == 0 || r.size(DefaultSizes()) == "" {
			t.Errorf("row %s lacks a title, description, target or size", r.name)
		}
	}
}
