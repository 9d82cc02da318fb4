-- Witnesses' cosignatures of signed tree heads: one per (head, witness key), kept like the log itself.
CREATE TABLE audit_cosignatures (
    tree_size      INTEGER NOT NULL,
    witness_key_id TEXT    NOT NULL,
    public_key     TEXT    NOT NULL,
    signature      BLOB    NOT NULL,
    member_code    TEXT    NOT NULL,
    added_at       INTEGER NOT NULL, -- Unix milliseconds
    PRIMARY KEY (tree_size, witness_key_id)
) WITHOUT ROWID;

CREATE TRIGGER audit_cosignatures_no_update BEFORE UPDATE ON audit_cosignatures
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_cosignatures_no_delete BEFORE DELETE ON audit_cosignatures
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
