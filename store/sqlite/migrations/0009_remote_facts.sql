-- What crier learned about remote systems that the checks of a publish
-- need without asking them, e.g. a Mastodon instance's character limit,
-- written by the health probes and read at start. kind names the fact
-- ("mastodon.instance"), key the remote system (the instance's URL); value
-- is the fact in the form its kind defines. Never a secret. learned_at is
-- INTEGER unix nanoseconds in UTC.
CREATE TABLE remote_facts (
	kind       TEXT    NOT NULL,
	key        TEXT    NOT NULL,
	value      BLOB    NOT NULL,
	learned_at INTEGER NOT NULL,
	PRIMARY KEY (kind, key)
) STRICT;
