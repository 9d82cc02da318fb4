-- Non-ASN employments on SQLite (monolithic mode); same tables and indexes as postgres/0001_nonasn_employments.sql,
-- whose comments give the reasons. Dates are TEXT yyyy-MM-dd; instants are Unix milliseconds.
CREATE TABLE nonasn_employments (
    employment_id                TEXT    NOT NULL PRIMARY KEY,
    employer_number              TEXT    NOT NULL,
    nik                          TEXT    NOT NULL,
    full_name                    TEXT    NOT NULL,
    birth_date                   TEXT    NOT NULL,
    sex                          TEXT    NOT NULL,
    position                     TEXT    NOT NULL,
    work_unit                    TEXT    NOT NULL,
    employment_type              TEXT    NOT NULL,
    contract_start_date          TEXT    NOT NULL,
    registered_contract_end_date TEXT    NULL,
    contract_end_date            TEXT    NULL,
    registered_monthly_wage      INTEGER NOT NULL CHECK (registered_monthly_wage >= 0),
    monthly_wage                 INTEGER NOT NULL CHECK (monthly_wage >= 0),
    programs                     TEXT    NOT NULL,
    jkk_risk_class               INTEGER NOT NULL CHECK (jkk_risk_class BETWEEN 1 AND 5),
    started_programs             TEXT    NOT NULL,
    participant_number           TEXT    NOT NULL,
    state                        TEXT    NOT NULL,
    end_date                     TEXT    NULL,
    end_reason                   TEXT    NULL,
    ended_programs               TEXT    NULL,
    create_member_code           TEXT    NOT NULL,
    create_time                  INTEGER NOT NULL,
    update_time                  INTEGER NOT NULL
);

CREATE UNIQUE INDEX ux_nonasn_employments_key ON nonasn_employments (employer_number, nik, contract_start_date);

CREATE TABLE nonasn_wage_changes (
    employment_id  TEXT    NOT NULL REFERENCES nonasn_employments (employment_id),
    effective_date TEXT    NOT NULL,
    monthly_wage   INTEGER NOT NULL CHECK (monthly_wage >= 0),
    create_time    INTEGER NOT NULL,
    PRIMARY KEY (employment_id, effective_date)
);
