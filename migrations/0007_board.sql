-- The operator board (web/, served at /board): an audit log of every action taken through the
-- job API (who, what, when), shown on the board.
CREATE TABLE IF NOT EXISTS cicero.audit_log (
    id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at     timestamptz NOT NULL DEFAULT now(),
    -- the credential used, plus the name the operator gave at login (X-Cicero-Actor)
    actor  text        NOT NULL,
    -- e.g. job.retry, jobs.bulk_retry, queue.pause, schedule.disable, schedule.run
    action text        NOT NULL,
    -- job id, queue or schedule name
    target text,
    detail jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS audit_log_at_idx ON cicero.audit_log (at DESC, id DESC);

-- The last run of each schedule: the newest job whose unique key is `cron:<entry>:...` (one
-- index probe per entry, however many jobs there are).
CREATE INDEX IF NOT EXISTS jobs_cron_entry_idx
    ON cicero.jobs (split_part(unique_key, ':', 2), id DESC) WHERE unique_key LIKE 'cron:%';
