-- The audit trail: one entry per change, hash-chained (crier.AuditEntry
-- documents the encoding). Times are INTEGER unix nanoseconds in UTC.
CREATE TABLE audit (
	seq       INTEGER PRIMARY KEY,
	at        INTEGER NOT NULL,
	actor     TEXT NOT NULL,
	role      TEXT NOT NULL DEFAULT '',
	token     INTEGER NOT NULL DEFAULT 0,
	client    TEXT NOT NULL DEFAULT '',
	action    TEXT NOT NULL,
	subject   TEXT NOT NULL DEFAULT '',
	towns     TEXT NOT NULL DEFAULT '', -- town IDs, comma-separated
	detail    TEXT NOT NULL DEFAULT '{}', -- JSON object of strings
	prev_hash TEXT NOT NULL,
	hash      TEXT NOT NULL
) STRICT;
CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_actor ON audit (actor, seq);
CREATE INDEX audit_action ON audit (action, seq);

-- The head: the newest entry's seq and hash, one row, so that deleting the
-- newest entries is found out too.
CREATE TABLE audit_head (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	seq  INTEGER NOT NULL,
	hash TEXT NOT NULL
) STRICT;
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
