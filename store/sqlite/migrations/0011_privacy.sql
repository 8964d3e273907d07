-- Data protection: when a subscription was confirmed and when it ended, for
-- the export of what is stored about a person. INTEGER unix nanoseconds in
-- UTC; 0 where it is not known. A row unsubscribed before this version was
-- last changed when it left the list.
ALTER TABLE subscribers ADD COLUMN confirmed_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE subscribers ADD COLUMN unsubscribed_at INTEGER NOT NULL DEFAULT 0;
UPDATE subscribers SET unsubscribed_at = updated_at WHERE state = 'unsubscribed';
