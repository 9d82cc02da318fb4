-- The participant registry on SQLite (monolithic mode); same tables and indexes as postgres/0001_membership.sql, whose
-- comments give the reasons and the sizes at 40 M participants. Dates are TEXT yyyy-MM-dd (EF Core's DateOnly form,
-- ordered correctly as text); instants are Unix milliseconds (UtcUnixMillisecondsConverter).

-- Participant numbers: SQLite has no sequences. One counter row, incremented in the same write transaction as the
-- insert it numbers; SQLite allows one writer at a time per file, so two enrolments can never read the same value.
CREATE TABLE participant_number_counter (
    id            INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    last_sequence INTEGER NOT NULL CHECK (last_sequence BETWEEN 0 AND 9999999999)
);
INSERT INTO participant_number_counter (id, last_sequence) VALUES (1, 0);

CREATE TABLE participants (
    id           INTEGER NOT NULL PRIMARY KEY CHECK (id BETWEEN 1 AND 9999999999),
    nik          INTEGER NOT NULL CHECK (nik BETWEEN 1100000000000000 AND 9999999999999999),
    full_name    TEXT    NOT NULL,
    birth_date   TEXT    NOT NULL,
    sex          INTEGER NOT NULL,
    nik_warnings INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL
);

-- id is the rowid, which every SQLite index entry carries: NIK -> id needs no table read here either.
CREATE UNIQUE INDEX ux_participants_nik ON participants (nik);

CREATE TABLE coverages (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    participant_id    INTEGER NOT NULL REFERENCES participants (id),
    programs          INTEGER NOT NULL CHECK (programs BETWEEN 1 AND 31),
    segment           INTEGER NOT NULL,
    employer_number   TEXT    NULL,
    channel           INTEGER NULL,
    channel_reference TEXT    NULL,
    monthly_income    INTEGER NOT NULL CHECK (monthly_income >= 0),
    start_date        TEXT    NOT NULL,
    end_date          TEXT    NULL,
    end_reason        INTEGER NULL,
    created_at        INTEGER NOT NULL,
    CHECK ((employer_number IS NULL) <> (channel IS NULL)),
    CHECK (end_date IS NULL OR end_date >= start_date)
);

-- SQLite has no INCLUDE: the covered columns go into the key, which gives the same index-only read.
CREATE INDEX ix_coverages_participant ON coverages (participant_id, programs, segment, start_date, end_date);

CREATE TABLE idempotency_records (
    member_code         TEXT    NOT NULL,
    idempotency_key     TEXT    NOT NULL,
    request_fingerprint BLOB    NOT NULL,
    response            BLOB    NOT NULL,
    created_at          INTEGER NOT NULL,
    PRIMARY KEY (member_code, idempotency_key)
);

CREATE INDEX ix_idempotency_records_created_at ON idempotency_records (created_at);
