-- Non-ASN employments: one row per (employer number, NIK, contract start), the idempotency key of a registration.
-- The NIK is kept in clear: the employer lists and bills its own staff by NIK (ListEmployees, the statement).
-- registered_* hold the registration as sent, so a re-sent upload is compared with it rather than with later updates.
CREATE TABLE nonasn_employments (
    employment_id                text        NOT NULL PRIMARY KEY,
    employer_number              text        NOT NULL,
    nik                          text        NOT NULL,
    full_name                    text        NOT NULL,
    birth_date                   date        NOT NULL,
    sex                          text        NOT NULL,
    position                     text        NOT NULL,
    work_unit                    text        NOT NULL,
    employment_type              text        NOT NULL,
    contract_start_date          date        NOT NULL,
    registered_contract_end_date date        NULL,
    contract_end_date            date        NULL,
    registered_monthly_wage      bigint      NOT NULL CHECK (registered_monthly_wage >= 0),
    monthly_wage                 bigint      NOT NULL CHECK (monthly_wage >= 0),
    programs                     text        NOT NULL,
    jkk_risk_class               integer     NOT NULL CHECK (jkk_risk_class BETWEEN 1 AND 5),
    started_programs             text        NOT NULL,
    participant_number           text        NOT NULL,
    state                        text        NOT NULL,
    end_date                     date        NULL,
    end_reason                   text        NULL,
    ended_programs               text        NULL,
    create_member_code           text        NOT NULL,
    create_time                  timestamptz NOT NULL,
    update_time                  timestamptz NOT NULL
);

-- The registration key; also serves ListEmployees and the statement (one employer's rows in NIK order).
CREATE UNIQUE INDEX ux_nonasn_employments_key ON nonasn_employments (employer_number, nik, contract_start_date);

-- Wage changes from a day on; the registered wage applies before the first.
CREATE TABLE nonasn_wage_changes (
    employment_id  text        NOT NULL REFERENCES nonasn_employments (employment_id),
    effective_date date        NOT NULL,
    monthly_wage   bigint      NOT NULL CHECK (monthly_wage >= 0),
    create_time    timestamptz NOT NULL,
    PRIMARY KEY (employment_id, effective_date)
);
