-- One bank's enrolment record per loan. recorded_at IS NULL marks a claim waiting for Membership (not yet a record).
-- Only the masked NIK is kept; the HMAC columns let a retry be compared with the first request field by field.
-- Instants are Unix milliseconds (UtcUnixMillisecondsConverter); dates are yyyy-MM-dd text.
CREATE TABLE kur_enrolments (
    bank_code                      TEXT    NOT NULL,
    loan_reference                 TEXT    NOT NULL,
    scheme                         TEXT    NOT NULL,
    loan_amount_rupiah             INTEGER NOT NULL,
    disbursement_date              TEXT    NOT NULL,
    masked_nik                     TEXT    NOT NULL,
    nik_hmac                       BLOB    NOT NULL,
    full_name_hmac                 BLOB    NOT NULL,
    birth_date_hmac                BLOB    NOT NULL,
    sex                            TEXT    NOT NULL,
    business_sector                TEXT    NOT NULL,
    region_code                    TEXT    NOT NULL,
    declared_monthly_income_rupiah INTEGER NOT NULL,
    outcome                        TEXT    NOT NULL,
    coverage_start_date            TEXT    NULL,
    recorded_at                    INTEGER NULL,
    programs                       TEXT    NOT NULL,
    participant_number             TEXT    NULL,
    monthly_contribution_rupiah    INTEGER NULL,
    first_due_date                 TEXT    NULL,
    state                          TEXT    NOT NULL,
    create_member_code             TEXT    NOT NULL,
    create_time                    INTEGER NOT NULL,
    create_month                   INTEGER NOT NULL,
    cancel_reason                  TEXT    NULL,
    cancel_member_code             TEXT    NULL,
    cancel_time                    INTEGER NULL,
    cancel_end_date                TEXT    NULL,
    ended_programs                 TEXT    NULL,
    PRIMARY KEY (bank_code, loan_reference)
);

CREATE INDEX ix_kur_enrolments_bank_create_time ON kur_enrolments (bank_code, create_time);

CREATE INDEX ix_kur_enrolments_bank_month ON kur_enrolments (bank_code, create_month, scheme);
