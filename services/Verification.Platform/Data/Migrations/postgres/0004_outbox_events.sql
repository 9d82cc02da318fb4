-- One row per event, whether its outbox row holds it alone or in a group of one transaction's events (OutboxEventGroup):
-- what operators, the books and the tests read. A published event's payload is empty; a group keeps each event's id and type.
CREATE VIEW outbox_events AS
SELECT m.sequence_id, m.event_id, m.message_type, m.payload, m.created_at, m.published_at, m.attempts, m.last_error
FROM outbox_messages m
WHERE m.message_type <> 'Verification.Platform.Outbox.OutboxEventGroup'
UNION ALL
SELECT m.sequence_id, (e.item ->> 'eventId')::uuid, e.item ->> 'messageType', coalesce((e.item -> 'payload')::text, ''),
       m.created_at, m.published_at, m.attempts, m.last_error
FROM outbox_messages m
CROSS JOIN LATERAL json_array_elements(m.payload::json) AS e(item)
WHERE m.message_type = 'Verification.Platform.Outbox.OutboxEventGroup';

-- A group row's payload (up to 100 events, tens of kilobytes) is compressed when stored: lz4 costs a fraction of pglz's
-- CPU (pglz_compress was 2.8 % of a Rentan list's samples). A server built without lz4 keeps pglz.
DO $$
BEGIN
    ALTER TABLE outbox_messages ALTER COLUMN payload SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    NULL;
END
$$;
