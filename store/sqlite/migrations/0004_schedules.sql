-- Schedules publish an announcement later: once (a one-off, publish_at) or at
-- every time of a cron spec (recurring). Times are INTEGER unix nanoseconds in
-- UTC; 0 stands for none.
CREATE TABLE schedules (
	id            TEXT    PRIMARY KEY,
	spec          TEXT    NOT NULL DEFAULT '', -- cron spec with CRON_TZ=; '' for a one-off
	at            INTEGER NOT NULL DEFAULT 0,  -- when a one-off fires
	until         INTEGER NOT NULL DEFAULT 0,  -- no run fires at or after it
	expires_after INTEGER NOT NULL DEFAULT 0,  -- nanoseconds from a run's time to its announcement's expiry
	announcement  TEXT    NOT NULL,            -- JSON of the template crier.Announcement
	state         TEXT    NOT NULL,            -- active, paused, done, canceled
	next_run      INTEGER NOT NULL DEFAULT 0,  -- the earliest run not handled yet
	last_run      INTEGER NOT NULL DEFAULT 0,  -- the latest run that published
	request_key   TEXT    UNIQUE,              -- Idempotency-Key of the request that created it
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
) STRICT;

-- The scheduler reads the active schedules.
CREATE INDEX schedules_state ON schedules (state, next_run);

-- One row per schedule and time: the row is what keeps a run from firing
-- twice. A claimed row whose lease has passed belongs to a scheduler that
-- died while publishing; another may take it over, and the run's
-- deterministic announcement id and idempotency key make that safe.
CREATE TABLE schedule_runs (
	id           INTEGER PRIMARY KEY,
	schedule     TEXT    NOT NULL REFERENCES schedules (id),
	fire_at      INTEGER NOT NULL,
	announcement TEXT    NOT NULL,
	state        TEXT    NOT NULL,            -- claimed, published, skipped, failed
	owner        TEXT    NOT NULL DEFAULT '', -- the scheduler holding a claim
	lease_until  INTEGER NOT NULL DEFAULT 0,
	deliveries   INTEGER NOT NULL DEFAULT 0,
	error        TEXT    NOT NULL DEFAULT '',
	claimed_at   INTEGER NOT NULL DEFAULT 0,
	finished_at  INTEGER NOT NULL DEFAULT 0,
	UNIQUE (schedule, fire_at)
) STRICT;
