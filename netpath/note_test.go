package netpath_test

import (
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
