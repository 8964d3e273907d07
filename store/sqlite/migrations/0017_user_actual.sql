-- Who may publish real notices (mode actual). New users rehearse in
-- exercise mode until an admin allows it; the users there were before
-- keep what they could do. Admins always may, whatever the column says.
ALTER TABLE users ADD COLUMN actual INTEGER NOT NULL DEFAULT 0;
UPDATE users SET actual = 1;

-- Drafts of the newsroom's compose form, each its owner's alone: the
-- form's fields as a URL-encoded query string. Times are INTEGER unix
-- nanoseconds in UTC.
CREATE TABLE drafts (
	id         INTEGER PRIMARY KEY,
	user       TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
	title      TEXT NOT NULL DEFAULT '',
	form       TEXT NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX drafts_user ON drafts (user, updated_at);
