package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestCountsPlan checks that Counts finds the deliveries through indexes
// and never scans the deliveries table: the final states come from the
// covering deliveries_counts, the few sending ones through
// deliveries_sending. A status poll during a large send stays cheap.
func TestCountsPlan(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "crier.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.read.QueryContext(ctx, `EXPLAIN QUERY PLAN `+countsSQL, "ann-1")
	if err != nil {
		t.Fatal(err)
	}
	lines, err := collect(rows, func(s scanner) (string, error) {
		var (
			id, parent, unused int
			detail             string
		)
		err := s.Scan(&id, &parent, &unused, &detail)
		return detail, err
	})
	if err != nil {
		t.Fatal(err)
	}
	plan := strings.Join(lines, "\n")
	for _, want := range []string{
		"deliveries USING COVERING INDEX deliveries_counts",
		"deliveries USING INDEX deliveries_sending",
		"messages USING",
	} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan lacks %q:\n%s", want, plan)
		}
	}
	for _, line := range lines {
		if strings.Contains(line, "SCAN deliveries") && !strings.Contains(line, "INDEX") {
			t.Errorf("plan scans the deliveries table:\n%s", plan)
		}
	}
}
