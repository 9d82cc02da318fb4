CREATE INDEX ix_received_events_event_id ON received_events (event_id);
