-- Not unique on purpose: the tests count duplicates here, the idempotent consumer must prevent them.
CREATE INDEX ix_received_events_event_id ON received_events (event_id);
