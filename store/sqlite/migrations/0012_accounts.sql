-- Accounts of the newsroom: users with a role in some towns, and their API
-- tokens. Times are INTEGER unix nanoseconds in UTC; 0 means never.
CREATE TABLE users (
	name          TEXT PRIMARY KEY,
	role          TEXT NOT NULL CHECK (role IN ('admin', 'editor', 'approver', 'viewer')),
	towns         TEXT NOT NULL DEFAULT '', -- town IDs, comma-separated, groups expanded
	password_hash TEXT NOT NULL,            -- PHC-style Argon2id
	disabled      INTEGER NOT NULL DEFAULT 0,
	created_at    INTEGER NOT NULL
) STRICT;

-- Only the SHA-256 hash of a token's secret is kept: the secret is shown
-- once, when the token is made.
CREATE TABLE api_tokens (
	id           INTEGER PRIMARY KEY,
	hash         BLOB NOT NULL UNIQUE,
	user         TEXT NOT NULL REFERENCES users (name),
	name         TEXT NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL,
	last_used_at INTEGER NOT NULL DEFAULT 0,
	revoked_at   INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX api_tokens_user ON api_tokens (user);
