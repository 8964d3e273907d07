-- Times are INTEGER unix nanoseconds in UTC; 0 stands for the zero time.

CREATE TABLE announcements (
	id         TEXT    NOT NULL,
	revision   INTEGER NOT NULL,
	title      TEXT    NOT NULL,
	body       TEXT    NOT NULL,
	towns      TEXT    NOT NULL, -- JSON array of town ids, groups or "all"
	channels   TEXT    NOT NULL, -- JSON array of channel ids
	category   TEXT    NOT NULL,
	urgency    TEXT    NOT NULL,
	severity   TEXT    NOT NULL,
	certainty  TEXT    NOT NULL,
	mode       TEXT    NOT NULL,
	expires    INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (id, revision)
) STRICT;

CREATE INDEX announcements_created ON announcements (created_at);

CREATE TABLE messages (
	id           INTEGER PRIMARY KEY,
	announcement TEXT    NOT NULL,
	revision     INTEGER NOT NULL,
	town         TEXT    NOT NULL,
	channel      TEXT    NOT NULL,
	type         TEXT    NOT NULL,
	content      TEXT    NOT NULL, -- JSON of crier.Message without the per-delivery fields
	UNIQUE (announcement, revision, town, channel),
	FOREIGN KEY (announcement, revision) REFERENCES announcements (id, revision)
) STRICT;

CREATE TABLE subscribers (
	id         INTEGER PRIMARY KEY,
	town       TEXT    NOT NULL,
	email      TEXT    NOT NULL,
	name       TEXT    NOT NULL DEFAULT '',
	state      TEXT    NOT NULL,
	source     TEXT    NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	UNIQUE (town, email)
) STRICT;

-- Publishing selects a town's confirmed subscribers.
CREATE INDEX subscribers_town_state ON subscribers (town, state);

-- The deliveries table is the queue. A row is due when it is queued with
-- next_at <= now, or sending with lease_until <= now (its worker was lost).
CREATE TABLE deliveries (
	id            INTEGER PRIMARY KEY,
	key           TEXT    NOT NULL UNIQUE,
	announcement  TEXT    NOT NULL,
	revision      INTEGER NOT NULL,
	town          TEXT    NOT NULL,
	channel       TEXT    NOT NULL,
	type          TEXT    NOT NULL,
	message_id    INTEGER NOT NULL REFERENCES messages (id),
	subscriber_id INTEGER NOT NULL DEFAULT 0, -- 0 when not per recipient
	recipient     TEXT    NOT NULL DEFAULT '',
	state         TEXT    NOT NULL,
	attempts      INTEGER NOT NULL DEFAULT 0,
	next_at       INTEGER NOT NULL DEFAULT 0,
	first_attempt INTEGER NOT NULL DEFAULT 0,
	lease         TEXT,
	lease_until   INTEGER NOT NULL DEFAULT 0,
	error_code    TEXT    NOT NULL DEFAULT '',
	error         TEXT    NOT NULL DEFAULT '',
	remote_id     TEXT    NOT NULL DEFAULT '',
	url           TEXT    NOT NULL DEFAULT '',
	endpoint      TEXT    NOT NULL DEFAULT '',
	capture       INTEGER NOT NULL DEFAULT 0,
	ambiguous     INTEGER NOT NULL DEFAULT 0, -- some attempt ended with an unknown outcome
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
) STRICT;

-- Claims read the queued rows in due order, overall and per channel type,
-- and the sending rows by lease expiry. Partial indexes stay as small as the
-- backlog: rows in a final state leave them.
CREATE INDEX deliveries_queued ON deliveries (next_at) WHERE state = 'queued';
CREATE INDEX deliveries_queued_type ON deliveries (type, next_at) WHERE state = 'queued';
CREATE INDEX deliveries_sending ON deliveries (lease_until) WHERE state = 'sending';

-- Listing an announcement's deliveries in id order, and counting them per
-- town, channel and state from the index alone.
CREATE INDEX deliveries_announcement ON deliveries (announcement);
CREATE INDEX deliveries_counts ON deliveries (announcement, town, channel, state);

CREATE TABLE attempts (
	id         INTEGER PRIMARY KEY,
	delivery   INTEGER NOT NULL REFERENCES deliveries (id),
	started    INTEGER NOT NULL,
	finished   INTEGER NOT NULL,
	endpoint   TEXT    NOT NULL DEFAULT '',
	network    TEXT    NOT NULL DEFAULT '',
	error_code TEXT    NOT NULL DEFAULT '',
	error      TEXT    NOT NULL DEFAULT '',
	remote_id  TEXT    NOT NULL DEFAULT '',
	url        TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX attempts_delivery ON attempts (delivery);

CREATE TABLE captures (
	id           INTEGER PRIMARY KEY,
	key          TEXT    NOT NULL UNIQUE,
	announcement TEXT    NOT NULL,
	revision     INTEGER NOT NULL,
	town         TEXT    NOT NULL,
	channel      TEXT    NOT NULL,
	type         TEXT    NOT NULL,
	recipient    TEXT    NOT NULL DEFAULT '',
	subject      TEXT    NOT NULL DEFAULT '',
	text         TEXT    NOT NULL DEFAULT '',
	html         TEXT    NOT NULL DEFAULT '',
	payload      BLOB,
	at           INTEGER NOT NULL
) STRICT;

CREATE INDEX captures_announcement ON captures (announcement);

-- A request's Idempotency-Key and what it created.
CREATE TABLE idempotency (
	key          TEXT    PRIMARY KEY,
	announcement TEXT    NOT NULL,
	revision     INTEGER NOT NULL,
	deliveries   INTEGER NOT NULL,
	created_at   INTEGER NOT NULL
) STRICT;
