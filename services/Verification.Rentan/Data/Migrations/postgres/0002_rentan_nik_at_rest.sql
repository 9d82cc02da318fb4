-- Workers' NIKs at rest (issue 19's rule): extract rows and sponsorships keep the NIK's keyed hash (nik_hash: the keys,
-- unique index and joins) and the NIK sealed with the module key (nik_sealed). Rows written before this migration hold
-- the clear NIK's digits in nik_hash and no nik_sealed until the module converts them at its next start
-- (WorkerNikConversion), before it serves.
ALTER TABLE rentan_extract_rows ALTER COLUMN nik TYPE text USING nik::text;
ALTER TABLE rentan_extract_rows RENAME COLUMN nik TO nik_hash;
ALTER TABLE rentan_extract_rows ADD COLUMN nik_sealed text NULL;

ALTER TABLE rentan_sponsorships ALTER COLUMN nik TYPE text USING nik::text;
ALTER TABLE rentan_sponsorships RENAME COLUMN nik TO nik_hash;
ALTER TABLE rentan_sponsorships ADD COLUMN nik_sealed text NULL;
