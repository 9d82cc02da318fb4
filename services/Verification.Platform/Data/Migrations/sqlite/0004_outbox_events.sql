-- One row per event, whether its outbox row holds it alone or in a group of one transaction's events (OutboxEventGroup):
-- what operators, the books and the tests read. A published event's payload is empty; a group keeps each event's id and type.
-- Event ids in EF Core's TEXT form (upper case), as outbox_messages.event_id holds them.
CREATE VIEW outbox_events AS
SELECT m.sequence_id, m.event_id, m.message_type, m.payload, m.created_at, m.published_at, m.attempts, m.last_error
FROM outbox_messages m
WHERE m.message_type <> 'Verification.Platform.Outbox.OutboxEventGroup'
UNION ALL
SELECT m.sequence_id, upper(json_extract(e.value, '$.eventId')), json_extract(e.value, '$.messageType'),
       coalesce(json_extract(e.value, '$.payload'), ''), m.created_at, m.published_at, m.attempts, m.last_error
FROM outbox_messages m, json_each(m.payload) AS e
WHERE m.message_type = 'Verification.Platform.Outbox.OutboxEventGroup';
