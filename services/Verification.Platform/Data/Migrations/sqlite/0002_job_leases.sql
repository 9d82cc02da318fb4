-- Leases on a module's background jobs (see the PostgreSQL script). Instants are Unix milliseconds.
CREATE TABLE job_leases (
    job         TEXT    PRIMARY KEY,
    holder      TEXT    NOT NULL,
    token       INTEGER NOT NULL,
    acquired_at INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
