-- Rentan on SQLite (monolithic mode); same tables and indexes as postgres/0001_rentan.sql, whose comments give the
-- reasons. Dates are TEXT yyyy-MM-dd; instants are Unix milliseconds.
CREATE TABLE rentan_sponsors (
    sponsor_code  TEXT    NOT NULL PRIMARY KEY,
    name          TEXT    NOT NULL,
    region_codes  TEXT    NOT NULL,
    create_time   INTEGER NOT NULL,
    update_time   INTEGER NOT NULL
);

CREATE TABLE rentan_agreements (
    agreement_id     TEXT    NOT NULL PRIMARY KEY,
    sponsor_code     TEXT    NOT NULL REFERENCES rentan_sponsors (sponsor_code),
    year             INTEGER NOT NULL,
    budget           INTEGER NOT NULL CHECK (budget > 0),
    programs         TEXT    NOT NULL,
    start_date       TEXT    NOT NULL,
    end_date         TEXT    NOT NULL CHECK (end_date >= start_date),
    declared_income  INTEGER NOT NULL CHECK (declared_income >= 0),
    committed        INTEGER NOT NULL CHECK (committed >= 0 AND committed <= budget),
    create_time      INTEGER NOT NULL,
    update_time      INTEGER NOT NULL
);

CREATE UNIQUE INDEX ux_rentan_agreements_sponsor_year ON rentan_agreements (sponsor_code, year);

CREATE TABLE rentan_extracts (
    sponsor_code  TEXT    NOT NULL REFERENCES rentan_sponsors (sponsor_code),
    extract_date  TEXT    NOT NULL,
    complete      INTEGER NOT NULL,
    row_count     INTEGER NOT NULL,
    uploaded_by   TEXT    NOT NULL,
    create_time   INTEGER NOT NULL,
    update_time   INTEGER NOT NULL,
    PRIMARY KEY (sponsor_code, extract_date)
);

CREATE TABLE rentan_extract_rows (
    sponsor_code      TEXT    NOT NULL,
    extract_date      TEXT    NOT NULL,
    nik               INTEGER NOT NULL,
    household_id      TEXT    NOT NULL,
    decile            INTEGER NOT NULL CHECK (decile BETWEEN 1 AND 10),
    regency_code      TEXT    NOT NULL,
    poverty_category  TEXT    NOT NULL,
    PRIMARY KEY (sponsor_code, extract_date, nik),
    FOREIGN KEY (sponsor_code, extract_date) REFERENCES rentan_extracts (sponsor_code, extract_date)
);

CREATE TABLE rentan_sponsorships (
    sponsorship_id      TEXT    NOT NULL PRIMARY KEY,
    agreement_id        TEXT    NOT NULL REFERENCES rentan_agreements (agreement_id),
    sponsor_code        TEXT    NOT NULL,
    year                INTEGER NOT NULL,
    nik                 INTEGER NOT NULL,
    full_name           TEXT    NOT NULL,
    birth_date          TEXT    NOT NULL,
    sex                 TEXT    NOT NULL,
    declared_income     INTEGER NOT NULL CHECK (declared_income >= 0),
    decile              INTEGER NOT NULL,
    regency_code        TEXT    NOT NULL,
    programs            TEXT    NOT NULL,
    start_date          TEXT    NOT NULL,
    end_date            TEXT    NOT NULL,
    committed           INTEGER NOT NULL CHECK (committed >= 0),
    state               TEXT    NOT NULL,
    participant_number  TEXT    NULL,
    started_programs    TEXT    NULL,
    end_reason          TEXT    NULL,
    renewed_from        TEXT    NULL,
    create_member_code  TEXT    NOT NULL,
    create_time         INTEGER NOT NULL,
    update_time         INTEGER NOT NULL
);

CREATE UNIQUE INDEX ux_rentan_sponsorships_person_year ON rentan_sponsorships (nik, year);

CREATE INDEX ix_rentan_sponsorships_agreement ON rentan_sponsorships (agreement_id, nik);
