-- The audit log (RFC 6962 Merkle tree over canonical entry bytes); see the PostgreSQL script for the design.
-- Instants are Unix milliseconds (UtcUnixMillisecondsConverter); Guids are EF Core's TEXT form.

CREATE TABLE audit_pending_events (
    pending_id         INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id           TEXT    NOT NULL,
    event_type         TEXT    NOT NULL,
    occurred_at        INTEGER NOT NULL,
    acting_member      TEXT    NOT NULL,
    correlation_id     TEXT    NOT NULL,
    trace_id           TEXT    NOT NULL,
    nik_hmac           BLOB    NULL,
    masked_nik         TEXT    NULL,
    participant_number TEXT    NULL,
    member_code        TEXT    NULL,
    loan_reference     TEXT    NULL,
    batch_id           TEXT    NULL,
    payload            BLOB    NOT NULL,
    received_at        INTEGER NOT NULL
);

CREATE UNIQUE INDEX ux_audit_pending_events_event_id ON audit_pending_events (event_id);

CREATE TABLE audit_entries (
    entry_index        INTEGER PRIMARY KEY,
    event_id           TEXT    NOT NULL,
    event_type         TEXT    NOT NULL,
    occurred_at        INTEGER NOT NULL,
    appended_at        INTEGER NOT NULL,
    acting_member      TEXT    NOT NULL,
    correlation_id     TEXT    NOT NULL,
    trace_id           TEXT    NOT NULL,
    nik_hmac           BLOB    NULL,
    masked_nik         TEXT    NULL,
    participant_number TEXT    NULL,
    member_code        TEXT    NULL,
    loan_reference     TEXT    NULL,
    batch_id           TEXT    NULL,
    canonical_bytes    BLOB    NOT NULL,
    leaf_hash          BLOB    NOT NULL
);

CREATE UNIQUE INDEX ux_audit_entries_event_id ON audit_entries (event_id);
CREATE INDEX ix_audit_entries_event_type ON audit_entries (event_type, entry_index);
CREATE INDEX ix_audit_entries_acting_member ON audit_entries (acting_member, entry_index);
CREATE INDEX ix_audit_entries_correlation_id ON audit_entries (correlation_id, entry_index);
CREATE INDEX ix_audit_entries_occurred_at ON audit_entries (occurred_at);
CREATE INDEX ix_audit_entries_nik_hmac ON audit_entries (nik_hmac, entry_index) WHERE nik_hmac IS NOT NULL;
CREATE INDEX ix_audit_entries_participant_number ON audit_entries (participant_number, entry_index) WHERE participant_number IS NOT NULL;
CREATE INDEX ix_audit_entries_member_code ON audit_entries (member_code, entry_index) WHERE member_code IS NOT NULL;
CREATE INDEX ix_audit_entries_loan_reference ON audit_entries (loan_reference, entry_index) WHERE loan_reference IS NOT NULL;
CREATE INDEX ix_audit_entries_batch_id ON audit_entries (batch_id, entry_index) WHERE batch_id IS NOT NULL;

CREATE TABLE audit_subtree_hashes (
    level      INTEGER NOT NULL,
    node_index INTEGER NOT NULL,
    hash       BLOB    NOT NULL,
    PRIMARY KEY (level, node_index)
) WITHOUT ROWID;

CREATE TABLE audit_tree_heads (
    tree_size    INTEGER PRIMARY KEY,
    root_hash    BLOB    NOT NULL,
    timestamp_ms INTEGER NOT NULL,
    signature    BLOB    NOT NULL,
    key_id       TEXT    NOT NULL
);

CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_subtree_hashes_no_update BEFORE UPDATE ON audit_subtree_hashes
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_subtree_hashes_no_delete BEFORE DELETE ON audit_subtree_hashes
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_tree_heads_no_update BEFORE UPDATE ON audit_tree_heads
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_tree_heads_no_delete BEFORE DELETE ON audit_tree_heads
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
