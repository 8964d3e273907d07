-- A delivery's row holds its latest attempt, and the attempts table only the
-- earlier ones: most deliveries succeed at their first attempt, and recording
-- it then writes no row and no index entry besides the delivery's own.
--
-- The row's endpoint, error_code, error, remote_id and url were already those
-- of the latest attempt; started, finished and network complete it. A row
-- with started = 0 holds no attempt: nothing was tried since it was queued
-- or retried, or a later change (a cancel) wrote its own error text.
ALTER TABLE deliveries ADD COLUMN started INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN finished INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN network TEXT NOT NULL DEFAULT '';

-- When a row's latest attempt is replaced (a new attempt counts, or a retry
-- or cancel clears it), it moves into the history first.
CREATE TRIGGER deliveries_attempt_history AFTER UPDATE OF attempts, started ON deliveries
WHEN old.started != 0 AND (new.attempts != old.attempts OR new.started = 0)
BEGIN
	INSERT INTO attempts (delivery, started, finished, endpoint, network, error_code, error, remote_id, url)
	VALUES (old.id, old.started, old.finished, old.endpoint, old.network, old.error_code, old.error,
		old.remote_id, old.url);
END;

-- Move each delivery's latest attempt onto its row where the row still
-- shows that attempt's outcome.
CREATE TEMP TABLE latest_attempts AS
	SELECT a.* FROM attempts a JOIN deliveries d ON d.id = a.delivery
	WHERE a.id = (SELECT MAX(id) FROM attempts WHERE delivery = a.delivery)
		AND d.attempts > 0 AND d.endpoint = a.endpoint AND d.error_code = a.error_code AND d.error = a.error
		AND d.remote_id = a.remote_id AND d.url = a.url;

UPDATE deliveries SET started = l.started, finished = l.finished, network = l.network
	FROM latest_attempts l WHERE deliveries.id = l.delivery;

DELETE FROM attempts WHERE id IN (SELECT id FROM latest_attempts);

DROP TABLE latest_attempts;
