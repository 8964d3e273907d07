package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
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

// readNotice parses an announcement file: Markdown with YAML front matter
// between two "---" lines. Local times in expires are read in loc.
func readNotice(path string, loc *time.Location) (*crier.Announcement, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	a, err := parseNotice(data, loc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// readNoticeAt reads an announcement file as readNotice does, and also
// returns its publish_at, zero when it has none.
func readNoticeAt(path string, loc *time.Location) (*crier.Announcement, time.Time, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, time.Time{}, err
	}
	a, at, err := parseNoticeAt(data, loc)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%s: %w", path, err)
	}
	return a, at, nil
}

func parseNotice(data []byte, loc *time.Location) (*crier.Announcement, error) {
	a, _, err := parseNoticeAt(data, loc)
	return a, err
}

// parseNoticeAt parses an announcement file and its publish_at. Local
// times are read in loc.
func parseNoticeAt(data []byte, loc *time.Location) (*crier.Announcement, time.Time, error) {
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
		t, err := parseTime(fm.Expires, loc)
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("front matter: expires: %w", err)
		}
		a.Expires = t
	}
	if fm.PublishAt == "" {
		return a, time.Time{}, nil
	}
	at, err := parseTime(fm.PublishAt, loc)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("front matter: publish_at: %w", err)
	}
	return a, at, nil
}

// parseTime accepts RFC 3339 or a local "2006-01-02 15:04" in loc.
func parseTime(s string, loc *time.Location) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time like 2026-11-30 18:00 or 2026-11-30T18:00:00+01:00", s)
}
