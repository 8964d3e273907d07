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
