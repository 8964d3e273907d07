package crier_test

import (
	"context"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/crierhq/crier"
)

// runeLimit counts the characters of a message's text, plus extra.
func runeLimit(max, extra int) crier.Limit {
	return crier.Limit{Max: max, Length: func(m *crier.Message) int { return utf8.RuneCountInString(m.Text) + extra }}
}

// TestTightest: a message fits the tightest limit exactly when it fits
// every one, also when the smallest Max is not the one it overruns.
func TestTightest(t *testing.T) {
	a := runeLimit(500, 0)
	b := runeLimit(600, 150) // counts 150 more: tighter than a for any text
	l := crier.Tightest(a, crier.Limit{}, b)
	if l.Max != 500 {
		t.Errorf("Max %d, want 500", l.Max)
	}
	for _, n := range []int{0, 449, 450, 451, 500, 501} {
		m := &crier.Message{Text: string(make([]rune, n))}
		if got, want := l.Fits(m), a.Fits(m) && b.Fits(m); got != want {
			t.Errorf("%d characters: Fits %v, want %v", n, got, want)
		}
	}
	if l := crier.Tightest(crier.Limit{}, crier.Limit{Max: 3}); l.Max != 0 || !l.Fits(&crier.Message{Text: "long enough"}) {
		t.Errorf("Tightest of no real limit = %+v, want no limit", l)
	}
	if l := crier.Tightest(a); l.Max != 500 || l.Length(&crier.Message{Text: "abc"}) != 3 {
		t.Errorf("Tightest of one limit is not that limit")
	}
}

// limited is a channel with a limit.
type limited struct{ limit crier.Limit }

func (limited) Send(context.Context, *crier.Message) (*crier.Receipt, error) { return nil, nil }
func (l limited) TextLimit() crier.Limit                                     { return l.limit }

// recordingRenderer renders one line per request and records the limit
// each request carried; town "long" leaves part of its body out.
type recordingRenderer struct {
	mu     sync.Mutex
	limits map[string]int // channel → Max, 0 without a limit
}

func (r *recordingRenderer) Render(req *crier.RenderRequest) (*crier.Message, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if req.Type != crier.PageType {
		r.limits[req.Channel] = 0
		if req.Limit != nil {
			r.limits[req.Channel] = req.Limit.Max
		}
	}
	m := &crier.Message{Announcement: req.Announcement.ID, Town: req.Town.ID, Channel: req.Channel, Type: req.Type, Text: "x"}
	if req.Town.ID == "long" && req.Channel == "social" {
		m.Omitted = &crier.Omission{Paragraphs: 2, Total: 4, Characters: 300, From: "Telefon 02921 …"}
	}
	return m, nil
}

type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

// TestPreviewLimitsAndOmissions: the engine hands a channel's limit to the
// renderer, none to a channel without one, and notes every message that
// leaves part of the body out, naming its town.
func TestPreviewLimitsAndOmissions(t *testing.T) {
	r := &recordingRenderer{limits: map[string]int{}}
	e := &crier.Engine{
		Directory: crier.NewDirectory([]*crier.Town{
			{ID: "short", Name: "Kurz", Channels: []string{"social", "plain"}},
			{ID: "long", Name: "Lang", Channels: []string{"social", "plain"}},
		}, nil),
		Channels: map[string]*crier.ChannelInfo{
			"social": {ID: "social", Type: "mastodon", Channel: limited{runeLimit(500, 0)}},
			"plain":  {ID: "plain", Type: "webhook", Channel: limited{}},
		},
		Renderer: r, Clock: fixedClock(time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)), Mode: crier.ModeExercise,
		PublicURL: "https://krisen.example", NewID: func() string { return "a1" },
	}
	p, err := e.Preview(t.Context(), &crier.Announcement{Title: "T", Body: "B", Towns: []string{"short", "long"}})
	if err != nil || len(p.Problems) != 0 {
		t.Fatalf("Preview: %v, %v", err, p.Problems)
	}
	if diff := cmp.Diff(map[string]int{"social": 500, "plain": 0}, r.limits); diff != "" {
		t.Errorf("limits (-want +got):\n%s", diff)
	}
	want := []crier.Note{{Channel: "social", Town: "long", Code: crier.NoteShortened, Args: []string{"2", "4", "300", "Telefon 02921 …"},
		Message: `shortened by 300 characters (paragraphs affected: 2 of 4), from "Telefon 02921 …"`}}
	if diff := cmp.Diff(want, p.Notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
}
