-- Every index on deliveries is written when a delivery changes state, twice
-- per attempt (queued → sending → final). Two of them paid more than they
-- served.

-- Workers always claim by channel type, through deliveries_queued_type. A
-- claim across all types (tests and tools) reads that index whole instead.
DROP INDEX deliveries_queued;

-- Counting leaves out the sending rows, which are few and counted through
-- deliveries_sending: an attempt then writes this index once, not twice.
DROP INDEX deliveries_counts;
CREATE INDEX deliveries_counts ON deliveries (announcement, town, channel, state) WHERE state != 'sending';
