-- The bank's listing and coverage report read records only (recorded_at IS NOT NULL), so their indexes leave claims out.
-- Partial, they cannot serve a lookup by key: KUR's statements by key run with generic plans on connections where only
-- the primary key can answer them (PostgresRequestConnections.ForKeyedStatements), whatever the table's statistics.
-- Before, a generic plan made while the table held a page tied between the primary key and these indexes, and the
-- index created last won: a lookup then read every row of the bank (KeyedStatementPlanTests).
DROP INDEX ix_kur_enrolments_bank_create_time;
CREATE INDEX ix_kur_enrolments_bank_create_time ON kur_enrolments (bank_code, create_time) WHERE recorded_at IS NOT NULL;
DROP INDEX ix_kur_enrolments_bank_month;
CREATE INDEX ix_kur_enrolments_bank_month ON kur_enrolments (bank_code, create_month, scheme) WHERE recorded_at IS NOT NULL;
