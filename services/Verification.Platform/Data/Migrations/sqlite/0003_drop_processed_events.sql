-- No consumer used processed_events: Audit, the only one, dedupes by event id in its own log (IdempotentConsumer is gone).
DROP TABLE IF EXISTS processed_events;
