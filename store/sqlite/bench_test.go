package sqlite_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/store/sqlite"
)

// benchPlan returns a plan for towns towns with four channels of one
// delivery each and one email channel per town.
func benchPlan(id string, towns int) *crier.Plan {
	a := &crier.Announcement{ID: id, Revision: 1, Title: "Rathaus wegen IT-Störung geschlossen",
		Body: "Das Rathaus ist bis auf Weiteres geschlossen.", Mode: crier.ModeActual}
	p := &crier.Plan{Announcement: a}
	for i := range towns {
		town := fmt.Sprintf("town-%02d", i)
		a.Towns = append(a.Towns, town)
		for _, c := range []struct {
			channel, typ  string
			perSubscriber bool
		}{
			{"mail-" + town, "email", true},
			{"mastodon-" + town, "mastodon", false},
			{"slack-" + town, "slack", false},
			{"radio", "webhook", false},
			{"leitstelle", "webhook", false},
		} {
			p.Messages = append(p.Messages, &crier.Message{Announcement: id, Revision: 1, Town: town,
				Channel: c.channel, Type: c.typ, PerSubscriber: c.perSubscriber, Mode: crier.ModeActual,
				Subject: "Rathaus geschlossen", Text: "Das Rathaus " + town + " ist bis auf Weiteres geschlossen.",
				HTML: "<p>Das Rathaus ist bis auf Weiteres geschlossen.</p>"})
		}
	}
	return p
}

// MustSubscribe adds n confirmed subscribers to each of the towns.
func MustSubscribe(tb testing.TB, db *sqlite.DB, towns []string, n int) {
	tb.Helper()
	var subs []*crier.Subscriber
	for _, town := range towns {
		for i := range n {
			subs = append(subs, &crier.Subscriber{Town: town, Email: fmt.Sprintf("buerger%06d@%s.example", i, town),
				State: crier.SubscriberConfirmed})
		}
	}
	if _, err := db.AddSubscribers(context.Background(), subs, t0); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkCreateAnnouncement commits an announcement for 70 towns × 5
// channels, one of them an email list of 50 subscribers per town: 3780
// deliveries in one transaction.
func BenchmarkCreateAnnouncement(b *testing.B) {
	const towns, subscribers = 70, 50
	db := MustOpenDB(b)
	MustSubscribe(b, db, benchPlan("x", towns).Announcement.Towns, subscribers)
	ctx := context.Background()
	deliveries := 0
	b.ResetTimer()
	for i := range b.N {
		res, err := db.CreateAnnouncement(ctx, benchPlan(fmt.Sprintf("ann-%d", i), towns), "", t0)
		if err != nil {
			b.Fatal(err)
		}
		deliveries += res.Deliveries
	}
	if want := b.N * towns * (4 + subscribers); deliveries != want {
		b.Fatalf("%d deliveries, want %d", deliveries, want)
	}
	b.ReportMetric(float64(deliveries)/b.Elapsed().Seconds(), "deliveries/s")
}

// BenchmarkClaimComplete drains a backlog in claims of 64 jobs, each batch
// completed as sent with its attempt in one call, by one worker and by
// eight concurrent workers.
func BenchmarkClaimComplete(b *testing.B) {
	for _, workers := range []int{1, 8} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) { benchClaimComplete(b, workers) })
	}
}

func benchClaimComplete(b *testing.B, workers int) {
	const batch = 64
	db := MustOpenDB(b)
	ctx := context.Background()
	MustSubscribe(b, db, []string{"soest"}, b.N*batch)
	p := &crier.Plan{
		Announcement: &crier.Announcement{ID: "ann-1", Revision: 1, Towns: []string{"soest"}, Mode: crier.ModeActual},
		Messages: []*crier.Message{{Town: "soest", Channel: "mail-soest", Type: "email", PerSubscriber: true,
			Subject: "Rathaus geschlossen", Text: "Das Rathaus ist geschlossen."}},
	}
	if _, err := db.CreateAnnouncement(ctx, p, "", t0); err != nil {
		b.Fatal(err)
	}
	var (
		batches atomic.Int64
		done    atomic.Int64
		wg      sync.WaitGroup
	)
	b.ResetTimer()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batches.Add(1) <= int64(b.N) {
				n, err := claimComplete(ctx, db, batch)
				if err != nil {
					b.Error(err)
					return
				}
				done.Add(int64(n))
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	if done.Load() != int64(b.N*batch) {
		b.Fatalf("%d jobs done, want %d", done.Load(), b.N*batch)
	}
	b.ReportMetric(float64(done.Load())/b.Elapsed().Seconds(), "jobs/s")
}

func claimComplete(ctx context.Context, db *sqlite.DB, n int) (int, error) {
	jobs, err := db.Claim(ctx, nil, n, t0, time.Minute)
	if err != nil {
		return 0, err
	}
	outcomes := make([]*crier.Outcome, len(jobs))
	for i, j := range jobs {
		outcomes[i] = &crier.Outcome{Delivery: j.Delivery.ID, Lease: j.Lease, State: crier.StateSent,
			Attempt: &crier.Attempt{Started: t0, Finished: t0, Endpoint: "relay", RemoteID: j.Delivery.Key}}
	}
	if stale, err := db.Complete(ctx, outcomes, t0); err != nil || stale != 0 {
		return 0, fmt.Errorf("complete: %d stale, %v", stale, err)
	}
	return len(jobs), nil
}

// BenchmarkExchange measures the workers' steady state: each transaction
// records the outcomes of the previous batch and claims the next one, at a
// later time and, every other time, one job fewer: the workers' claims vary
// in size. It reports the process's CPU time per job where it can.
func BenchmarkExchange(b *testing.B) {
	for _, batch := range []int{8, 16, 64} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			db := MustOpenDB(b)
			ctx := context.Background()
			MustSubscribe(b, db, []string{"soest"}, (b.N+1)*batch)
			p := &crier.Plan{
				Announcement: &crier.Announcement{ID: "ann-1", Revision: 1, Towns: []string{"soest"}, Mode: crier.ModeActual},
				Messages: []*crier.Message{{Town: "soest", Channel: "mail-soest", Type: "email", PerSubscriber: true,
					Subject: "Rathaus geschlossen", Text: "Das Rathaus ist geschlossen."}},
			}
			if _, err := db.CreateAnnouncement(ctx, p, "", t0); err != nil {
				b.Fatal(err)
			}
			types := []string{"email"}
			jobs, err := db.Claim(ctx, types, batch, t0, time.Minute)
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			cpu, done := cpuTime(), 0
			for i := range b.N {
				done += len(jobs)
				outcomes := make([]*crier.Outcome, len(jobs))
				for i, j := range jobs {
					outcomes[i] = &crier.Outcome{Delivery: j.Delivery.ID, Lease: j.Lease, State: crier.StateSent,
						Attempt: &crier.Attempt{Started: t0, Finished: t0, Endpoint: "relay", RemoteID: j.Delivery.Key}}
				}
				var stale int
				now := t0.Add(time.Duration(i) * time.Millisecond)
				if jobs, stale, err = db.Exchange(ctx, outcomes, types, batch-i%2, now, time.Minute); err != nil || stale != 0 {
					b.Fatalf("exchange: %d stale, %v", stale, err)
				}
			}
			b.ReportMetric(float64(done)/b.Elapsed().Seconds(), "jobs/s")
			if cpu := cpuTime() - cpu; cpu > 0 {
				b.ReportMetric(float64(cpu.Microseconds())/float64(done), "cpu-µs/job")
			}
		})
	}
}
