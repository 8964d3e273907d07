package crier_test

import (
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
)

// FuzzVerify: whatever a link's path holds, Verify never panics, and only
// a token crier made verifies: an accepted string names exactly the town
// and address of the token signed here, for the purpose it was signed for.
func FuzzVerify(f *testing.F) {
	tokens := crier.Tokens{Secret: []byte("a link secret of at least thirty-two bytes")}
	now := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	good := tokens.Sign(crier.PurposeUnsubscribe, "soest", "anna@buerger.example", now.Add(time.Hour))
	for _, s := range []string{good, "", ".", "not-a-token", good[:len(good)-1], good + "A", strings.ToUpper(good),
		strings.Repeat("A", 2000), "c29lc3QKYW5uYUBidWVyZ2VyLmV4YW1wbGU.AAAA", "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		town, email, err := tokens.Verify(s, crier.PurposeUnsubscribe, now)
		if err == nil && (town != "soest" || email != "anna@buerger.example") {
			t.Fatalf("%q verified as %q, %q", s, town, email)
		}
		if _, _, err := tokens.Verify(s, crier.PurposeConfirm, now); err == nil {
			t.Fatalf("%q verified as a confirm link; only an unsubscribe token was made", s)
		}
	})
}
