// Package queuetest is the conformance suite for crier's durable delivery
// queue. Every database backend runs it (SQLite today), so that the queue
// behaves the same on each:
//
//	func TestQueue(t *testing.T) {
//		queuetest.Run(t, func(t *testing.T) queuetest.Backend {
//			return MustOpenDB(t)
//		})
//	}
package queuetest

import (
	"testing"

	"github.com/crierhq/crier"
)

// Backend is what the suite exercises: the queue and the stores that fill
// and inspect it.
type Backend interface {
	crier.Queue
	crier.AnnouncementStore
	crier.SubscriberStore
}

// Run runs the suite as subtests of t. Each call of open must return a new,
// empty backend that stays usable until its test ends; open should close it
// with t.Cleanup. The suite passes every time explicitly, never sleeps, and
// uses whole milliseconds, so a backend that stores microseconds passes too.
func Run(t *testing.T, open func(t *testing.T) Backend) {
	for _, test := range []struct {
		name string
		fn   func(t *testing.T, b Backend)
	}{
		{"CreateAnnouncement/Deliveries", testCreateDeliveries},
		{"CreateAnnouncement/Idempotent", testCreateIdempotent},
		{"CreateAnnouncement/Snapshot", testCreateSnapshot},
		{"CreateAnnouncement/SameRevision", testCreateSameRevision},
		{"Announcements", testAnnouncements},
		{"Deliveries/Filter", testDeliveriesFilter},
		{"Subscribers", testSubscribers},
		{"Claim/Due", testClaimDue},
		{"Claim/Order", testClaimOrder},
		{"Claim/Types", testClaimTypes},
		{"Claim/Job", testClaimJob},
		{"Claim/Lease", testClaimLease},
		{"Complete/States", testCompleteStates},
		{"Complete/Batch", testCompleteBatch},
		{"Complete/Invalid", testCompleteInvalid},
		{"Exchange", testExchange},
		{"Ambiguous", testAmbiguous},
		{"Pins", testPins},
		{"Hurry", testHurry},
		{"Release", testRelease},
		{"Recover", testRecover},
		{"Retry", testRetry},
		{"Attempts/History", testAttemptHistory},
		{"Attempts/WithoutTimes", testAttemptWithoutTimes},
		{"Depth", testDepth},
		{"Concurrency", testConcurrency},
		{"Revision/Queued", testRevisionQueued},
		{"Revision/Order", testRevisionOrder},
		{"Revision/Conflicts", testRevisionConflicts},
		{"Revision/Retry", testRetryLatestRevision},
	} {
		t.Run(test.name, func(t *testing.T) { test.fn(t, open(t)) })
	}
}
