-- One bank's enrolment record per loan. recorded_at IS NULL marks a claim waiting for Membership (not yet a record).
-- Only the masked NIK is kept; the HMAC columns let a retry be compared with the first request field by field.
CREATE TABLE kur_enrolments (
    bank_code                      text        NOT NULL,
    loan_reference                 text        NOT NULL,
    scheme                         text        NOT NULL,
    loan_amount_rupiah             bigint      NOT NULL,
    disbursement_date              date        NOT NULL,
    masked_nik                     text        NOT NULL,
    nik_hmac                       bytea       NOT NULL,
    full_name_hmac                 bytea       NOT NULL,
    birth_date_hmac                bytea       NOT NULL,
    sex                            text        NOT NULL,
    business_sector                text        NOT NULL,
    region_code                    text        NOT NULL,
    declared_monthly_income_rupiah bigint      NOT NULL,
    outcome                        text        NOT NULL,
    coverage_start_date            date        NULL,
    recorded_at                    timestamptz NULL,
    programs                       text        NOT NULL,
    participant_number             text        NULL,
    monthly_contribution_rupiah    bigint      NULL,
    first_due_date                 date        NULL,
    state                          text        NOT NULL,
    create_member_code             text        NOT NULL,
    create_time                    timestamptz NOT NULL,
    create_month                   integer     NOT NULL,
    cancel_reason                  text        NULL,
    cancel_member_code             text        NULL,
    cancel_time                    timestamptz NULL,
    cancel_end_date                date        NULL,
    ended_programs                 text        NULL,
    PRIMARY KEY (bank_code, loan_reference)
);

-- ListEnrolments: one bank's records by creation instant.
CREATE INDEX ix_kur_enrolments_bank_create_time ON kur_enrolments (bank_code, create_time);

-- GetCoverageReport: one bank's records by Jakarta month and scheme.
CREATE INDEX ix_kur_enrolments_bank_month ON kur_enrolments (bank_code, create_month, scheme);
