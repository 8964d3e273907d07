-- Sessions of the newsroom: a browser holds a random secret in a cookie,
-- the table only its SHA-256 hash. Times are INTEGER unix nanoseconds in
-- UTC. A user's sessions go with the user.
CREATE TABLE sessions (
	hash         BLOB PRIMARY KEY,
	user         TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
	created_at   INTEGER NOT NULL,
	last_seen_at INTEGER NOT NULL,
	address      TEXT NOT NULL DEFAULT ''
) STRICT, WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions (user);
