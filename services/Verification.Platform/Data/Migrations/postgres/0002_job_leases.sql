-- Leases on a module's background jobs: one replica runs each job at a time. The token grows on every change of
-- holder and is checked in the job's own transaction (fencing), so a replica that lost its lease commits nothing.
CREATE TABLE job_leases (
    job         text        PRIMARY KEY,
    holder      text        NOT NULL,
    token       bigint      NOT NULL,
    acquired_at timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);
