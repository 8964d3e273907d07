// Package mastodon posts crier messages as statuses of one account on a
// Mastodon instance, through github.com/mattn/go-mastodon.
//
// Every status post carries the message's key as its Idempotency-Key
// header. Mastodon keeps a key for an hour and answers a repeated one with
// the status it created the first time, so a post whose request was written
// but never answered is an unknown outcome that may be retried, as long as
// the retry still falls within that hour: such an outcome is retryable
// only while less than 55 minutes have passed since the delivery's first
// attempt.
//
// Rate limits are handled here, not by go-mastodon, which sleeps and
// repeats a request answered 429 for hours. The channel's
// transport turns every 429 into an error before go-mastodon sees it, and
// the channel keeps its own account of the instance's limits: the
// X-RateLimit headers of every answer, and sliding windows of Mastodon's
// default limits for one account (300 statuses, edits included, per 3
// hours; 300 requests per 5 minutes; 30 deletions per 30 minutes). A call
// over a limit fails as transient with RetryAfter set, without a request.
//
// Check counts a message as Mastodon does (see Length) against the
// instance's own limit, without a request: a hung instance must not hold
// up a publish. Probe learns the limit from GET /api/v2/instance and keeps
// it in Instances, shared by the channels on that instance and stored,
// when there is a store, as a crier.Fact; until it is known, Check counts
// against Mastodon's defaults (500 characters, 23 per link) and Notes says
// so.
//
// Probe proves the instance reachable and the token valid with GET
// /api/v1/accounts/verify_credentials, which posts nothing; it counts as
// one request of the account's budget.
package mastodon
