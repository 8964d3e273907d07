package netpath

import (
	"slices"

	"github.com/crierhq/crier"
)

var _ crier.Noter = (*Chain)(nil)

// Notes returns the notes of every endpoint whose channel implements
// crier.Noter, in endpoint order, each once: two endpoints on the same
// instance say the same thing.
func (c *Chain) Notes() []crier.Note {
	var out []crier.Note
	for _, ep := range c.eps {
		n, ok := ep.Channel.(crier.Noter)
		if !ok {
			continue
		}
		for _, note := range n.Notes() {
			if !slices.ContainsFunc(out, func(o crier.Note) bool {
				return o.Code == note.Code && slices.Equal(o.Args, note.Args)
			}) {
				out = append(out, note)
			}
		}
	}
	return out
}

var _ crier.Limiter = (*Chain)(nil)

// TextLimit returns the tightest of the limits of every endpoint whose
// channel implements crier.Limiter (see crier.Tightest): a post must fit
// wherever failover may send it, as Check demands. No such endpoint gives
// the zero Limit, no limit.
func (c *Chain) TextLimit() crier.Limit {
	var ls []crier.Limit
	for _, ep := range c.eps {
		if l, ok := ep.Channel.(crier.Limiter); ok {
			ls = append(ls, l.TextLimit())
		}
	}
	return crier.Tightest(ls...)
}
