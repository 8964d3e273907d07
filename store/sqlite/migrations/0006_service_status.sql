-- A town's service status list as set through the API ("Bürgerbüro:
-- geschlossen"). A town without rows shows the list of its configuration;
-- setting a list replaces all of the town's rows. Times are INTEGER unix
-- nanoseconds in UTC.
CREATE TABLE service_status (
	town         TEXT    NOT NULL,
	position     INTEGER NOT NULL,            -- display order, from 0
	service      TEXT    NOT NULL,
	availability TEXT    NOT NULL DEFAULT '', -- '', up, limited, down
	text         TEXT    NOT NULL,
	updated_at   INTEGER NOT NULL,
	PRIMARY KEY (town, position),
	UNIQUE (town, service)
) STRICT;
