package main

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier/bench"
)

// TestBenchSmoke runs "crier bench --smoke" in-process, so that the
// harness never rots: every row must produce its numbers, whatever they
// are. The rows that need a process of their own run this test binary,
// which the environment turns into crier (TestMain).
func TestBenchSmoke(t *testing.T) {
	t.Setenv("CRIER_TEST_EXEC", "1") // read by the children only
	path := filepath.Join(t.TempDir(), "bench.json")
	m, stdout, stderr := testMain(nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	if code := m.Run(ctx, []string{"bench", "--smoke", "--json", path}); code != exitOK {
		t.Fatalf("crier bench --smoke exited with %d:\n%s\n%s", code, stdout, stderr)
	}
	t.Logf("smoke run: %v", time.Since(start))

	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep bench.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.Smoke {
		t.Error("the report is not marked as a smoke run")
	}
	var names []string
	for _, res := range rep.Results {
		names = append(names, res.Row)
		t.Logf("%-10s %5.1f s  %s", res.Row, res.Seconds, res.Summary)
		if res.Error != "" {
			t.Errorf("%s: %s", res.Row, res.Error)
		}
		if len(res.Metrics) == 0 || len(res.Targets) == 0 {
			t.Errorf("%s: %d metrics, %d targets", res.Row, len(res.Metrics), len(res.Targets))
		}
		for _, mt := range res.Metrics {
			if math.IsNaN(mt.Value) || math.IsInf(mt.Value, 0) || mt.Value < 0 {
				t.Errorf("%s: %s is %v", res.Row, mt.Name, mt.Value)
			}
		}
		for _, tg := range res.Targets {
			if !slices.ContainsFunc(res.Metrics, func(mt bench.Metric) bool { return mt.Name == tg.Metric }) {
				t.Errorf("%s: no metric %q for the target %q", res.Row, tg.Metric, tg.Label)
			}
		}
		if !strings.Contains(stdout.String(), res.Title) {
			t.Errorf("the table has no row %q:\n%s", res.Title, stdout)
		}
	}
	if !slices.Equal(names, bench.RowNames()) {
		t.Errorf("rows %v, want %v", names, bench.RowNames())
	}
}
