-- The emergency website reads a town's pages: the messages of type 'site'
-- (one per town and revision, never delivered) of its newest announcements.
CREATE INDEX messages_town_type ON messages (town, type, announcement);
