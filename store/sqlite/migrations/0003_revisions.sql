-- Revisions: an update or a cancel is a later revision of the same
-- announcement, and each of its deliveries follows the previous revision's
-- delivery on the same town × channel (× subscriber).

ALTER TABLE announcements ADD COLUMN event TEXT NOT NULL DEFAULT 'announcement.published';
ALTER TABLE announcements ADD COLUMN reason TEXT NOT NULL DEFAULT '';

-- after is the id of the delivery this one follows, 0 for none. A delivery
-- in state 'waiting' is released when that one becomes final.
ALTER TABLE deliveries ADD COLUMN after INTEGER NOT NULL DEFAULT 0;
CREATE INDEX deliveries_waiting ON deliveries (after) WHERE state = 'waiting';
