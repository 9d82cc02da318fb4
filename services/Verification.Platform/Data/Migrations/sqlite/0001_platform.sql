-- Platform tables every module database carries: the transactional outbox and the consumer's processed events.
-- Instants are Unix milliseconds (UtcUnixMillisecondsConverter); Guids are EF Core's TEXT form.
CREATE TABLE outbox_messages (
    sequence_id  INTEGER PRIMARY KEY AUTOINCREMENT, -- AUTOINCREMENT: ids never reused after a purge
    event_id     TEXT    NOT NULL,
    message_type TEXT    NOT NULL,
    payload      TEXT    NOT NULL,
    headers      TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    published_at INTEGER NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT    NULL
);

CREATE UNIQUE INDEX ix_outbox_messages_event_id ON outbox_messages (event_id);

CREATE INDEX ix_outbox_messages_pending ON outbox_messages (sequence_id) WHERE published_at IS NULL;

CREATE INDEX ix_outbox_messages_published_at ON outbox_messages (published_at) WHERE published_at IS NOT NULL;

CREATE TABLE processed_events (
    consumer     TEXT    NOT NULL,
    event_id     TEXT    NOT NULL,
    processed_at INTEGER NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
