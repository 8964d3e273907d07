package server

import (
	"net/http"
	"slices"
	"unicode/utf8"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/locale"
)

// GroupMin is how many towns must share a problem before
// SummarizeProblems reports it once for all of them. Fewer are listed one
// by one, which says more where it costs little.
const GroupMin = 3

// maxProblemText bounds the message of one problem in an answer, in
// bytes; a message can quote the input it refuses.
const maxProblemText = 1000

// SummarizeProblems makes a list of problems short enough to answer and
// to read, keeping the order in which they first appear:
//
//   - problems that differ only in their town (same field, same channel
//     type, same message) become one, once GroupMin towns share it: its
//     message starts with the number of towns ("56 Orte: …", "56 towns:
//     …" in English), Towns lists them and Channels the channels, unless
//     they share one, which is then Channel;
//   - a message longer than 1000 bytes is cut;
//   - after max problems, one more says how many were left out.
//
// typeOf gives a channel's type; a channel it does not know (the
// website's pages) is its own type. lang is the language of the words
// added. max < 1 means no cap.
func SummarizeProblems(ps []crier.Problem, typeOf func(channel string) string, lang string, max int) []crier.Problem {
	if len(ps) == 0 {
		return ps
	}
	// A problem that names no town is its own group: only towns' problems
	// are grouped.
	type key struct {
		field, kind, message string
		alone                int
	}
	groups := make(map[key][]int) // indices into ps
	keys := make([]key, len(ps))
	grouped := make(map[key]bool) // groups already reported
	for i, p := range ps {
		k := key{field: p.Field, message: p.Message, kind: p.Channel, alone: -1}
		if t := typeOf(p.Channel); t != "" {
			k.kind = "type " + t
		}
		if p.Town == "" {
			k.alone = i
		}
		keys[i] = k
		groups[k] = append(groups[k], i)
	}
	var out []crier.Problem
	for i, p := range ps {
		idx := groups[keys[i]]
		if len(idx) < GroupMin { // fewer problems than towns to group
			p.Message = cut(p.Message)
			out = append(out, p)
			continue
		}
		if grouped[keys[i]] {
			continue // reported with its group
		}
		towns, channels := where(ps, idx)
		switch {
		case len(towns) < GroupMin:
			p.Message = cut(p.Message)
			out = append(out, p)
		default: // the group, where it first appears
			grouped[keys[i]] = true
			g := crier.Problem{Field: p.Field, Towns: towns,
				Message: locale.T(lang, "problems.towns", len(towns), cut(p.Message))}
			if len(channels) == 1 {
				g.Channel = channels[0]
			} else {
				g.Channels = channels
			}
			out = append(out, g)
		}
	}
	if max > 0 && len(out) > max {
		more := len(out) - (max - 1)
		out = append(out[:max-1], crier.Problem{Message: locale.T(lang, "problems.more", more)})
	}
	return out
}

// where lists the towns and channels of the problems idx, each once.
func where(ps []crier.Problem, idx []int) (towns, channels []string) {
	for _, i := range idx {
		if !slices.Contains(towns, ps[i].Town) {
			towns = append(towns, ps[i].Town)
		}
		if !slices.Contains(channels, ps[i].Channel) {
			channels = append(channels, ps[i].Channel)
		}
	}
	return towns, channels
}

// cut shortens s to maxProblemText bytes at a character boundary.
func cut(s string) string {
	if len(s) <= maxProblemText {
		return s
	}
	i := maxProblemText
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// summarize is SummarizeProblems for an answer to r, in the language r
// asks for.
func (s *Server) summarize(r *http.Request, ps []crier.Problem) []crier.Problem {
	typeOf := func(id string) string {
		if ch := s.channels[id]; ch != nil {
			return ch.Type
		}
		return ""
	}
	return SummarizeProblems(ps, typeOf, locale.Accept(r.Header.Get("Accept-Language")), s.maxProblems)
}
