-- Staff NIKs at rest on SQLite; see postgres/0002_nonasn_nik_at_rest.sql for the reasons.
ALTER TABLE nonasn_employments RENAME COLUMN nik TO nik_hash;
ALTER TABLE nonasn_employments ADD COLUMN nik_sealed TEXT NULL;
