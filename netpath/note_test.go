package netpath_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crierhq/crier"
)

// noting is a channel whose checks rest on what it knows of its remote
// system, and says so.
type noting struct {
	sendOnly
	notes []crier.Note
}

func (n noting) Notes() []crier.Note { return n.notes }

func TestNotes(t *testing.T) {
	unknown := func(host string) crier.Note {
		return crier.Note{Code: "mastodon.limit_unknown", Args: []string{host, "500"}, Message: host + " unknown"}
	}
	a := noting{sendOnly{newRemote("a")}, []crier.Note{unknown("social.example")}}
	b := noting{sendOnly{newRemote("b")}, []crier.Note{unknown("social.example")}}
	c := noting{sendOnly{newRemote("c")}, []crier.Note{unknown("backup.example")}}
	w := newWorld(t, ep("a", "default", a), ep("b via lte", "lte", b), ep("plain", "relay", sendOnly{newRemote("p")}), ep("c", "lte", c))
	// Two endpoints on one instance say the same once; one that cannot
	// say anything is left out.
	want := []crier.Note{unknown("social.example"), unknown("backup.example")}
	if diff := cmp.Diff(want, w.chain.Notes()); diff != "" {
		t.Errorf("Notes (-want +got):\n%s", diff)
	}
	if got := newWorld(t, ep("plain", "default", sendOnly{newRemote("p")})).chain.Notes(); len(got) != 0 {
		t.Errorf("Notes of a chain without notes = %v, want none", got)
	}
}

// limiting is a channel whose posts must fit a limit.
type limiting struct {
	sendOnly
	limit crier.Limit
}

func (l limiting) TextLimit() crier.Limit { return l.limit }

// TestTextLimit: a chain's limit is the tightest of its endpoints', so
// that a post fits wherever failover may send it; a chain of endpoints
// without limits has none.
func TestTextLimit(t *testing.T) {
	count := func(extra int) func(*crier.Message) int {
		return func(m *crier.Message) int { return len(m.Text) + extra }
	}
	a := limiting{sendOnly{newRemote("a")}, crier.Limit{Max: 1000, Length: count(0)}}
	b := limiting{sendOnly{newRemote("b")}, crier.Limit{Max: 500, Length: count(0)}}
	w := newWorld(t, ep("a", "default", a), ep("plain", "relay", sendOnly{newRemote("p")}), ep("b", "lte", b))
	lim := w.chain.TextLimit()
	if lim.Max != 500 {
		t.Errorf("Max %d, want 500, the backup's", lim.Max)
	}
	long := &crier.Message{Text: strings.Repeat("x", 501)}
	if lim.Fits(long) {
		t.Error("a text of 501 fits the chain, but not its backup endpoint")
	}
	if got := newWorld(t, ep("plain", "default", sendOnly{newRemote("p")})).chain.TextLimit(); got.Max != 0 || !got.Fits(long) {
		t.Errorf("TextLimit of a chain without limits = %+v, want none", got)
	}
}
