package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/crierhq/crier"
	"go.yaml.in/yaml/v3"
)

// frontMatter is the YAML header of an announcement file.
type frontMatter struct {
	Title     string      `yaml:"title"`
	Towns     stringOrSeq `yaml:"towns"`
	Channels  stringOrSeq `yaml:"channels"`
	Category  string      `yaml:"category"`
	Urgency   string      `yaml:"urgency"`
	Severity  string      `yaml:"severity"`
	Certainty string      `yaml:"certainty"`
	Expires   string      `yaml:"expires"`
	Mode      string      `yaml:"mode"`
	// SpoilerText is a content warning for social posts; Sensitive marks them.
	SpoilerText string `yaml:"spoiler_text"`
	Sensitive   bool   `yaml:"sensitive"`
	// PublishAt schedules the announcement instead of publishing it now.
	PublishAt string `yaml:"publish_at"`
}

// stringOrSeq accepts `towns: all`, `towns: soest` and `towns: [soest, werl]`.
type stringOrSeq []string

func (s *stringOrSeq) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*s = []string{n.Value}
		return nil
	}
	var list []string
	if err := n.Decode(&list); err != nil {
		return err
	}
	*s = list
	return nil
}

// readNoticeAt reads an announcement file (parseNoticeAt) and returns
// the announcement and its publish_at, zero when it has none.
func readNoticeAt(path string, loc *time.Location, now time.Time) (*crier.Announcement, time.Time, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, time.Time{}, err
	}
	a, at, err := parseNoticeAt(data, loc, now)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%s: %w", path, err)
	}
	return a, at, nil
}

// parseNoticeAt parses an announcement file, Markdown with YAML front
// matter between two "---" lines, and its publish_at. Times are read by
// parseTime: local ones in loc, relative ones from now.
func parseNoticeAt(data []byte, loc *time.Location, now time.Time) (*crier.Announcement, time.Time, error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	rest, ok := bytes.CutPrefix(data, []byte("---\n"))
	if !ok {
		return nil, time.Time{}, errors.New("missing front matter: the file must start with a line \"---\"")
	}
	head, body, ok := bytes.Cut(rest, []byte("\n---\n"))
	if !ok {
		if h, found := bytes.CutSuffix(rest, []byte("\n---")); found {
			head, body, ok = h, nil, true
		}
	}
	if !ok {
		return nil, time.Time{}, errors.New("front matter is not closed by a line \"---\"")
	}
	var fm frontMatter
	dec := yaml.NewDecoder(bytes.NewReader(head))
	dec.KnownFields(true)
	if err := dec.Decode(&fm); err != nil {
		return nil, time.Time{}, fmt.Errorf("front matter: %w", err)
	}
	a := &crier.Announcement{
		Title:     strings.TrimSpace(fm.Title),
		Body:      strings.TrimSpace(string(body)) + "\n",
		Towns:     fm.Towns,
		Channels:  fm.Channels,
		Category:  fm.Category,
		Urgency:   fm.Urgency,
		Severity:  fm.Severity,
		Certainty: fm.Certainty,
		Mode:      crier.Mode(fm.Mode),

		SpoilerText: strings.TrimSpace(fm.SpoilerText),
		Sensitive:   fm.Sensitive,
	}
	if fm.Expires != "" {
		t, err := parseTime(fm.Expires, loc, now)
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("front matter: expires: %w", err)
		}
		a.Expires = t
	}
	if fm.PublishAt == "" {
		return a, time.Time{}, nil
	}
	at, err := parseTime(fm.PublishAt, loc, now)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("front matter: publish_at: %w", err)
	}
	return a, at, nil
}

// parseTime reads a time as people write one in a notice or a flag: RFC
// 3339; a local "2026-11-30 18:00" (or with a T, or a day alone, meaning
// its midnight) in loc; "heute 18:00" or "morgen 07:30" ("today",
// "tomorrow") in loc, from now; or "+" and a duration from now: "+2h",
// "+90m", "+3d" (days of 24 hours), "+1d12h". The relative forms let a
// notice kept as a template say "tomorrow morning" or "in three days"
// whenever it is used.
func parseTime(s string, loc *time.Location, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if d, ok := strings.CutPrefix(s, "+"); ok {
		dur, err := parseDays(d)
		if err != nil || dur <= 0 {
			return time.Time{}, fmt.Errorf("%q is not a time from now like +2h, +90m or +3d", s)
		}
		return now.Add(dur), nil
	}
	if day, clock, ok := strings.Cut(s, " "); ok {
		offset := -1
		switch strings.ToLower(day) {
		case "heute", "today":
			offset = 0
		case "morgen", "tomorrow":
			offset = 1
		}
		if offset >= 0 {
			hm, err := time.Parse("15:04", strings.TrimSpace(clock))
			if err != nil {
				return time.Time{}, fmt.Errorf("%q: %q is not a time of day like 07:30", s, clock)
			}
			n := now.In(loc)
			return time.Date(n.Year(), n.Month(), n.Day()+offset, hm.Hour(), hm.Minute(), 0, 0, loc), nil
		}
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time like 2026-11-30 18:00, 2026-11-30T18:00:00+01:00, morgen 07:30 or +3d", s)
}

// parseDays is time.ParseDuration that also takes days ("3d", "1d12h"),
// each of 24 hours.
func parseDays(s string) (time.Duration, error) {
	var days time.Duration
	if n, rest, ok := strings.Cut(s, "d"); ok {
		v, err := strconv.Atoi(n)
		if err != nil || v < 0 || v > 3660 {
			return 0, fmt.Errorf("%q: bad number of days", s)
		}
		days = time.Duration(v) * 24 * time.Hour
		if rest == "" {
			return days, nil
		}
		s = rest
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	return days + d, nil
}
