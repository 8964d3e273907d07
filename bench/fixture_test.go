package bench

import (
	"context"
	"errors"
	"testing"

	"github.com/crierhq/crier"
)

func TestFixtureCleanupOrder(t *testing.T) {
	f := &fixture{}
	var order []int
	f.Cleanup(func() { order = append(order, 1) })
	f.Cleanup(func() { order = append(order, 2) })
	f.close()
	f.close() // a second close runs nothing
	if len(order) != 2 || order[0] != 2 || order[1] != 1 {
		t.Errorf("cleanups ran in order %v, want [2 1]", order)
	}
}

func TestFixtureFatalIsAnError(t *testing.T) {
	run := func() (err error) {
		defer recoverFatal(&err)
		(&fixture{}).Fatalf("listen: %v", errors.New("address in use"))
		return nil
	}
	if err := run(); err == nil || err.Error() != "listen: address in use" {
		t.Errorf("got %v, want the fatal error", err)
	}
}

// TestRawSend sends through the raw go-mail loop to the sink, which
// counts every mail once.
func TestRawSend(t *testing.T) {
	f := &fixture{}
	defer f.close()
	sink := startSink(f)
	m := &crier.Message{Town: "soest", Channel: "mail-soest", Subject: "Bürgerbüro heute geschlossen", Language: "de",
		Text: "Abmelden: " + crier.UnsubscribePlaceholder, HTML: "<a href=\"" + crier.UnsubscribePlaceholder + "\">Abmelden</a>"}
	count, err := rawSend(context.Background(), sink, m, 50, 3)
	if err != nil {
		t.Fatal(err)
	}
	if count.n.Load() != 50 || count.span() <= 0 || count.bytes.Load() < 50*500 {
		t.Errorf("the sink counted %d mails, %d bytes, over %v", count.n.Load(), count.bytes.Load(), count.span())
	}
}
