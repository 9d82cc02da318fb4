-- Cross-check batches. batch_key is internal (8 bytes on every recipient row); batch_id is what the PMO sees.
-- state UPLOADING is a batch whose upload has not half-closed yet: invisible to the PMO, swept when abandoned.
-- Instants are Unix milliseconds (UtcUnixMillisecondsConverter).
CREATE TABLE prakerja_batches (
    batch_key          INTEGER PRIMARY KEY AUTOINCREMENT,
    batch_id           TEXT    NOT NULL,
    label              TEXT    NOT NULL,
    header_cohort      TEXT    NOT NULL,
    idempotency_key    TEXT    NULL,
    submit_member_code TEXT    NOT NULL,
    correlation_id     TEXT    NOT NULL,
    state              TEXT    NOT NULL,
    input_sha256       BLOB    NULL,
    recipient_count    INTEGER NOT NULL,
    processed_count    INTEGER NOT NULL,
    input_truncated    INTEGER NOT NULL,
    duplicates_marked  INTEGER NOT NULL,
    failed_attempts    INTEGER NOT NULL,
    submit_time        INTEGER NOT NULL,
    upload_touch_time  INTEGER NOT NULL,
    complete_time      INTEGER NULL,
    expire_time        INTEGER NULL,
    lease_owner        TEXT    NULL,
    lease_until        INTEGER NULL
);

CREATE UNIQUE INDEX ux_prakerja_batches_batch_id ON prakerja_batches (batch_id);

CREATE UNIQUE INDEX ux_prakerja_batches_idempotency ON prakerja_batches (submit_member_code, idempotency_key) WHERE idempotency_key IS NOT NULL;

CREATE INDEX ix_prakerja_batches_state ON prakerja_batches (state);

CREATE TABLE prakerja_batch_cohorts (
    batch_key              INTEGER NOT NULL,
    cohort_id              INTEGER NOT NULL,
    cohort                 TEXT    NOT NULL,
    recipients             INTEGER NOT NULL,
    not_registered         INTEGER NOT NULL,
    active_wage_earner     INTEGER NOT NULL,
    active_non_wage_earner INTEGER NOT NULL,
    inactive               INTEGER NOT NULL,
    invalid_nik            INTEGER NOT NULL,
    duplicate_in_batch     INTEGER NOT NULL,
    PRIMARY KEY (batch_key, cohort_id)
);

-- nik is kept only until the row is checked (NULL afterwards); see the PostgreSQL script.
CREATE TABLE prakerja_recipients (
    batch_key      INTEGER NOT NULL,
    row_offset     INTEGER NOT NULL,
    row_id         TEXT    NOT NULL,
    cohort_id      INTEGER NOT NULL,
    nik            INTEGER NULL,
    status         INTEGER NOT NULL,
    invalid_reason INTEGER NOT NULL,
    PRIMARY KEY (batch_key, row_offset)
) WITHOUT ROWID;

-- One row per recorded chunk (by its first offset): chunks are recorded concurrently, so this makes each chunk's counts
-- count once; the batch's processed_count is the prefix below which every chunk is recorded. Deleted with the rows.
CREATE TABLE prakerja_batch_chunks (
    batch_key   INTEGER NOT NULL,
    chunk_start INTEGER NOT NULL,
    PRIMARY KEY (batch_key, chunk_start)
);
