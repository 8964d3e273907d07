-- Four-eyes approval: who wrote each revision of an announcement, who
-- approved it, and how it passed approval ('approved', 'emergency' for an
-- admin's publish without the approval its towns require, or '').
ALTER TABLE announcements ADD COLUMN author TEXT NOT NULL DEFAULT '';
ALTER TABLE announcements ADD COLUMN approver TEXT NOT NULL DEFAULT '';
ALTER TABLE announcements ADD COLUMN approval TEXT NOT NULL DEFAULT '';

-- Announcements (and corrections) waiting for an approver live in a table
-- of their own, not as a state of a row in announcements: the queue, the
-- website, the feeds, the revision chain and every count read announcements,
-- messages and deliveries, and none of them must see a notice before it
-- is approved. A submission keeps the checked announcement as JSON; its
-- messages are rendered again when it is approved, from the configuration
-- and subscriber lists of that moment, and only then written with their
-- deliveries, in the same transaction that marks it approved. Decided
-- submissions stay, so that an author can read why theirs was rejected.
CREATE TABLE submissions (
	seq             INTEGER PRIMARY KEY,
	announcement    TEXT    NOT NULL, -- the id it has, and keeps once published
	revision        INTEGER NOT NULL, -- the revision it was written to become
	content         TEXT    NOT NULL, -- JSON of crier.Announcement as submitted
	publish_at      INTEGER NOT NULL DEFAULT 0,
	state           TEXT    NOT NULL CHECK (state IN ('pending_approval', 'approved', 'rejected', 'withdrawn')),
	author          TEXT    NOT NULL,
	decided_by      TEXT    NOT NULL DEFAULT '',
	reason          TEXT    NOT NULL DEFAULT '',
	idempotency_key TEXT    UNIQUE, -- NULL without one
	created_at      INTEGER NOT NULL,
	decided_at      INTEGER NOT NULL DEFAULT 0
) STRICT;

-- At most one submission of an announcement waits at a time.
CREATE UNIQUE INDEX submissions_pending ON submissions (announcement) WHERE state = 'pending_approval';
CREATE INDEX submissions_announcement ON submissions (announcement, seq);
CREATE INDEX submissions_state ON submissions (state, seq);
