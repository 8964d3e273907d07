-- A delivery whose attempt ended with an unknown outcome is pinned to the
-- endpoint of that attempt: a repeat may go only to the endpoints that
-- remember its key. The pin is kept with the delivery so that it outlives
-- a restart.
ALTER TABLE deliveries ADD COLUMN pin TEXT NOT NULL DEFAULT '';

-- Deliveries made ambiguous before pins were kept: their latest attempt's
-- endpoint is the best knowledge there is.
UPDATE deliveries SET pin = endpoint WHERE ambiguous AND endpoint != '' AND state IN ('queued', 'sending', 'waiting');

-- Pinned deliveries still to be sent, per channel and endpoint, for the
-- endpoints' health: few rows, so the index is small.
CREATE INDEX deliveries_pins ON deliveries (channel, pin)
	WHERE pin != '' AND state IN ('queued', 'sending', 'waiting');
