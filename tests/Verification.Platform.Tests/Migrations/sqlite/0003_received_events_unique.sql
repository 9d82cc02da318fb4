-- The recorder dedupes on the event id itself now, as Audit's consumer does: the key makes a second handling fail.
DROP INDEX ix_received_events_event_id;
CREATE UNIQUE INDEX ux_received_events_event_id ON received_events (event_id);
