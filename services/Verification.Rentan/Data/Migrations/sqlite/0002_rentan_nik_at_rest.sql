-- Workers' NIKs at rest on SQLite; see postgres/0002_rentan_nik_at_rest.sql for the reasons. SQLite cannot change a
-- column's type, so both tables are rebuilt (nothing references them); the NIK's digits go into nik_hash as TEXT until
-- WorkerNikConversion seals them and vacuums the file, so no free page keeps them.
CREATE TABLE rentan_extract_rows_v2 (
    sponsor_code      TEXT    NOT NULL,
    extract_date      TEXT    NOT NULL,
    nik_hash          TEXT    NOT NULL,
    household_id      TEXT    NOT NULL,
    decile            INTEGER NOT NULL CHECK (decile BETWEEN 1 AND 10),
    regency_code      TEXT    NOT NULL,
    poverty_category  TEXT    NOT NULL,
    nik_sealed        TEXT    NULL,
    PRIMARY KEY (sponsor_code, extract_date, nik_hash),
    FOREIGN KEY (sponsor_code, extract_date) REFERENCES rentan_extracts (sponsor_code, extract_date)
);

INSERT INTO rentan_extract_rows_v2 (sponsor_code, extract_date, nik_hash, household_id, decile, regency_code, poverty_category)
SELECT sponsor_code, extract_date, CAST(nik AS TEXT), household_id, decile, regency_code, poverty_category FROM rentan_extract_rows;

DROP TABLE rentan_extract_rows;
ALTER TABLE rentan_extract_rows_v2 RENAME TO rentan_extract_rows;

CREATE TABLE rentan_sponsorships_v2 (
    sponsorship_id      TEXT    NOT NULL PRIMARY KEY,
    agreement_id        TEXT    NOT NULL REFERENCES rentan_agreements (agreement_id),
    sponsor_code        TEXT    NOT NULL,
    year                INTEGER NOT NULL,
    nik_hash            TEXT    NOT NULL,
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
    update_time         INTEGER NOT NULL,
    nik_sealed          TEXT    NULL
);

INSERT INTO rentan_sponsorships_v2 (sponsorship_id, agreement_id, sponsor_code, year, nik_hash, full_name, birth_date, sex, declared_income, decile,
    regency_code, programs, start_date, end_date, committed, state, participant_number, started_programs, end_reason, renewed_from,
    create_member_code, create_time, update_time)
SELECT sponsorship_id, agreement_id, sponsor_code, year, CAST(nik AS TEXT), full_name, birth_date, sex, declared_income, decile,
    regency_code, programs, start_date, end_date, committed, state, participant_number, started_programs, end_reason, renewed_from,
    create_member_code, create_time, update_time FROM rentan_sponsorships;

DROP TABLE rentan_sponsorships;
ALTER TABLE rentan_sponsorships_v2 RENAME TO rentan_sponsorships;

CREATE UNIQUE INDEX ux_rentan_sponsorships_person_year ON rentan_sponsorships (nik_hash, year);
CREATE INDEX ix_rentan_sponsorships_agreement ON rentan_sponsorships (agreement_id, nik_hash);
