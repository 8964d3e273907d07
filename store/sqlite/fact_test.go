package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crierhq/crier"
)

// TestFacts: a fact replaces the one of the same kind and key, facts are
// listed per kind in key order, and they survive a reopen.
func TestFacts(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crier.db")
	db := MustOpen(t, path)
	if got, err := db.Facts(ctx, "mastodon.instance"); err != nil || len(got) != 0 {
		t.Fatalf("Facts before any = %v, %v; want none", got, err)
	}
	save := []crier.Fact{
		{Kind: "mastodon.instance", Key: "https://social.example", Value: []byte(`{"max_characters":500}`), Learned: t0},
		{Kind: "mastodon.instance", Key: "https://backup.example", Value: []byte(`{"max_characters":1000}`), Learned: t0},
		{Kind: "other.kind", Key: "https://social.example", Value: []byte(`x`), Learned: t0},
		{Kind: "mastodon.instance", Key: "https://social.example", Value: []byte(`{"max_characters":700}`), Learned: t0.Add(time.Hour)},
	}
	for _, f := range save {
		if err := db.SaveFact(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	want := []crier.Fact{
		{Kind: "mastodon.instance", Key: "https://backup.example", Value: []byte(`{"max_characters":1000}`), Learned: t0},
		{Kind: "mastodon.instance", Key: "https://social.example", Value: []byte(`{"max_characters":700}`), Learned: t0.Add(time.Hour)},
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = MustOpen(t, path)
	got, err := db.Facts(ctx, "mastodon.instance")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("facts after a reopen (-want +got):\n%s", diff)
	}
	if err := db.SaveFact(ctx, crier.Fact{Kind: "mastodon.instance"}); crier.ErrorCode(err) != crier.EINVALID {
		t.Errorf("SaveFact without a key = %v, want invalid", err)
	}
}
