-- Witnesses' cosignatures of signed tree heads: one per (head, witness key), kept like the log itself.
CREATE TABLE audit_cosignatures (
    tree_size      bigint      NOT NULL,
    witness_key_id text        NOT NULL,
    public_key     text        NOT NULL,
    signature      bytea       NOT NULL,
    member_code    text        NOT NULL,
    added_at       timestamptz NOT NULL,
    PRIMARY KEY (tree_size, witness_key_id)
);

CREATE TRIGGER audit_cosignatures_append_only BEFORE UPDATE OR DELETE ON audit_cosignatures
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
