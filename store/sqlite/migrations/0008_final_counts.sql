-- Counting per town, channel and state needs no index entry for queued
-- deliveries: a message knows how many deliveries it made, and the queued
-- ones are those not counted in another state. A claim then leaves
-- deliveries_counts alone, and recording an outcome adds one entry to it.

-- The number of deliveries made from a message when it was published: one,
-- one per confirmed subscriber, or none for a page of the website.
ALTER TABLE messages ADD COLUMN deliveries INTEGER NOT NULL DEFAULT 0;

UPDATE messages SET deliveries = c.n
	FROM (SELECT message_id, COUNT(*) AS n FROM deliveries GROUP BY message_id) AS c
	WHERE messages.id = c.message_id;

DROP INDEX deliveries_counts;
CREATE INDEX deliveries_counts ON deliveries (announcement, town, channel, state)
	WHERE state NOT IN ('queued', 'sending');
