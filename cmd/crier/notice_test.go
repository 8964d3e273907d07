package main

import (
	"strings"
	"testing"
	"time"
)

// TestParseTime reads the forms a notice or a flag may give a time in,
// the relative ones from an injected now: a notice kept as a template
// ("morgen 07:30", "+3d") works whatever day it is used.
func TestParseTime(t *testing.T) {
	loc := mustLoadLocation("Europe/Berlin")
	// Thursday, 26 November 2026, 23:30 in Berlin: "morgen" is Friday
	// there, although it is still Thursday in UTC.
	now := time.Date(2026, 11, 26, 22, 30, 0, 0, time.UTC)
	for _, tt := range []struct{ in, want string }{
		{"2026-11-30 18:00", "2026-11-30T18:00:00+01:00"},
		{"2026-11-30T18:00:00Z", "2026-11-30T18:00:00Z"},
		{"2026-11-30", "2026-11-30T00:00:00+01:00"},
		{"morgen 07:30", "2026-11-27T07:30:00+01:00"},
		{"Tomorrow 07:30", "2026-11-27T07:30:00+01:00"},
		{"heute 23:45", "2026-11-26T23:45:00+01:00"},
		{"+2h", "2026-11-27T01:30:00+01:00"},
		{"+3d", "2026-11-29T23:30:00+01:00"},
		{"+1d12h", "2026-11-28T11:30:00+01:00"},
		{" +90m ", "2026-11-27T01:00:00+01:00"},
	} {
		got, err := parseTime(tt.in, loc, now)
		if err != nil || !got.Equal(mustTime(t, tt.want)) {
			t.Errorf("parseTime(%q) = %s, %v; want %s", tt.in, got.In(loc).Format(time.RFC3339), err, tt.want)
		}
	}
	for _, bad := range []string{"+", "+0s", "+-2h", "+3x", "+d", "morgen", "morgen 25:00", "übermorgen 07:30", "31.12.2026"} {
		if got, err := parseTime(bad, loc, now); err == nil || !strings.Contains(err.Error(), "is not a time") {
			t.Errorf("parseTime(%q) = %s, %v; want an error that says what a time looks like", bad, got, err)
		}
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}
