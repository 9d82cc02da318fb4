-- A loan cancelled on or before the first day of the coverage it brought voids that coverage: it ends the day before
-- it began, so no query of the form start_date <= day <= end_date ever finds it in force. SQLite cannot change a
-- CHECK in place: the table is rebuilt with the one-day allowance, rows and ids kept.
CREATE TABLE coverages_new (
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
    CHECK (end_date IS NULL OR end_date >= date(start_date, '-1 day'))
);

INSERT INTO coverages_new (id, participant_id, programs, segment, employer_number, channel, channel_reference, monthly_income, start_date, end_date, end_reason, created_at)
SELECT id, participant_id, programs, segment, employer_number, channel, channel_reference, monthly_income, start_date, end_date, end_reason, created_at
FROM coverages;

DROP TABLE coverages;
ALTER TABLE coverages_new RENAME TO coverages;
CREATE INDEX ix_coverages_participant ON coverages (participant_id, programs, segment, start_date, end_date);
