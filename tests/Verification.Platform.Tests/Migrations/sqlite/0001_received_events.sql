CREATE TABLE received_events (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id           TEXT    NOT NULL,
    participant_number TEXT    NOT NULL,
    received_at        INTEGER NOT NULL
);
