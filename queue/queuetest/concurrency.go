package queuetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/crierhq/crier"
)

// testConcurrency drains a queue of 2000 jobs with 8 workers claiming and
// completing at the same time: every job must be claimed exactly once.
func testConcurrency(t *testing.T, b Backend) {
	const (
		towns   = 5
		perTown = 400
		workers = 8
	)
	for _, town := range fiveTowns[:towns] {
		mustSubscribe(t, b, town, crier.SubscriberConfirmed, addresses(town, perTown)...)
	}
	res := mustCreate(t, b, newPlan("ann-1", fiveTowns[:towns], mail), "", t0)
	if res.Deliveries != towns*perTown {
		t.Fatalf("%d deliveries, want %d", res.Deliveries, towns*perTown)
	}

	var (
		mu      sync.Mutex
		claims  = make(map[int64]int)
		wg      sync.WaitGroup
		ctx     = context.Background()
		leaseOf = time.Hour // no lease expires during the test
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				jobs, err := b.Claim(ctx, nil, 16, t0, leaseOf)
				if err != nil {
					t.Errorf("Claim: %v", err)
					return
				}
				if len(jobs) == 0 {
					return
				}
				outcomes := make([]*crier.Outcome, len(jobs))
				mu.Lock()
				for i, j := range jobs {
					claims[j.Delivery.ID]++
					outcomes[i] = sent(j, t0)
				}
				mu.Unlock()
				stale, err := b.Complete(ctx, outcomes, t0)
				if err != nil || stale != 0 {
					t.Errorf("Complete = %d stale, %v", stale, err)
					return
				}
			}
		}()
	}
	wg.Wait()

	if len(claims) != towns*perTown {
		t.Errorf("%d distinct jobs claimed, want %d", len(claims), towns*perTown)
	}
	for id, n := range claims {
		if n != 1 {
			t.Errorf("delivery %d claimed %d times", id, n)
		}
	}
	var want []crier.Count
	for _, town := range fiveTowns[:towns] {
		want = append(want, crier.Count{Town: town, Channel: "mail-" + town, State: crier.StateSent, N: perTown})
	}
	sortCounts(want)
	diff(t, "counts", want, mustCounts(t, b, "ann-1"))
	diff(t, "depth", map[string]int{}, mustDepth(t, b))
}
