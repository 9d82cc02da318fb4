-- Staff NIKs at rest (issue 19): the registration key's index now holds the NIK's keyed hash (nik_hash), and the NIK
-- itself is kept only sealed with the module key (nik_sealed). Rows written before this migration hold the clear NIK in
-- nik_hash and no nik_sealed until the module converts them at its next start (StaffNikConversion), before it serves.
ALTER TABLE nonasn_employments RENAME COLUMN nik TO nik_hash;
ALTER TABLE nonasn_employments ADD COLUMN nik_sealed text NULL;
