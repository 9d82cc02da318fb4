-- Sponsors: the member code of a SPONSOR member, its name and the regions it pays for (codes joined by commas).
CREATE TABLE rentan_sponsors (
    sponsor_code  text        NOT NULL PRIMARY KEY,
    name          text        NOT NULL,
    region_codes  text        NOT NULL,
    create_time   timestamptz NOT NULL,
    update_time   timestamptz NOT NULL
);

-- One agreement per sponsor and year. committed moves only under the row's lock (SELECT ... FOR UPDATE); the CHECK is
-- the last line of defence: no interleaving of writers can ever commit more than the budget.
CREATE TABLE rentan_agreements (
    agreement_id     text        NOT NULL PRIMARY KEY,
    sponsor_code     text        NOT NULL REFERENCES rentan_sponsors (sponsor_code),
    year             integer     NOT NULL,
    budget           bigint      NOT NULL CHECK (budget > 0),
    programs         text        NOT NULL,
    start_date       date        NOT NULL,
    end_date         date        NOT NULL CHECK (end_date >= start_date),
    declared_income  bigint      NOT NULL CHECK (declared_income >= 0),
    committed        bigint      NOT NULL CHECK (committed >= 0 AND committed <= budget),
    create_time      timestamptz NOT NULL,
    update_time      timestamptz NOT NULL
);

CREATE UNIQUE INDEX ux_rentan_agreements_sponsor_year ON rentan_agreements (sponsor_code, year);

-- DTSEN extracts: one per sponsor and extract date; complete once an upload of it ended normally.
CREATE TABLE rentan_extracts (
    sponsor_code  text        NOT NULL REFERENCES rentan_sponsors (sponsor_code),
    extract_date  date        NOT NULL,
    complete      boolean     NOT NULL,
    row_count     bigint      NOT NULL,
    uploaded_by   text        NOT NULL,
    create_time   timestamptz NOT NULL,
    update_time   timestamptz NOT NULL,
    PRIMARY KEY (sponsor_code, extract_date)
);

-- The extract's people. The NIK is its 16 digits as a bigint (no NIK starts with 0): the sponsor's own data, joined
-- set-based against its workers. The key also serves every lookup (sponsor, extract, NIK).
CREATE TABLE rentan_extract_rows (
    sponsor_code      text     NOT NULL,
    extract_date      date     NOT NULL,
    nik               bigint   NOT NULL,
    household_id      text     NOT NULL,
    decile            smallint NOT NULL CHECK (decile BETWEEN 1 AND 10),
    regency_code      text     NOT NULL,
    poverty_category  text     NOT NULL,
    PRIMARY KEY (sponsor_code, extract_date, nik),
    FOREIGN KEY (sponsor_code, extract_date) REFERENCES rentan_extracts (sponsor_code, extract_date)
);

-- Sponsored workers: one row per agreement and person, its claim on the budget (committed) and its coverage.
-- PENDING rows hold budget while Membership has not confirmed them; the unique (nik, year) makes one sponsor per person
-- and year, whichever of two concurrent uploads comes first.
CREATE TABLE rentan_sponsorships (
    sponsorship_id      text        NOT NULL PRIMARY KEY,
    agreement_id        text        NOT NULL REFERENCES rentan_agreements (agreement_id),
    sponsor_code        text        NOT NULL,
    year                integer     NOT NULL,
    nik                 bigint      NOT NULL,
    full_name           text        NOT NULL,
    birth_date          date        NOT NULL,
    sex                 text        NOT NULL,
    declared_income     bigint      NOT NULL CHECK (declared_income >= 0),
    decile              smallint    NOT NULL,
    regency_code        text        NOT NULL,
    programs            text        NOT NULL,
    start_date          date        NOT NULL,
    end_date            date        NOT NULL,
    committed           bigint      NOT NULL CHECK (committed >= 0),
    state               text        NOT NULL,
    participant_number  text        NULL,
    started_programs    text        NULL,
    end_reason          text        NULL,
    renewed_from        text        NULL,
    create_member_code  text        NOT NULL,
    create_time         timestamptz NOT NULL,
    update_time         timestamptz NOT NULL
);

CREATE UNIQUE INDEX ux_rentan_sponsorships_person_year ON rentan_sponsorships (nik, year);

-- An agreement's workers in NIK order: lists, invoices, the December update.
CREATE INDEX ix_rentan_sponsorships_agreement ON rentan_sponsorships (agreement_id, nik);
