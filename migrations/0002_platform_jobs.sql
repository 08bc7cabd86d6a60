-- The durable job platform's own tables, in schema `cicero` (kept apart from the legacy
-- domain tables in `public`). See docs/architecture.md for the life of a row.
CREATE SCHEMA IF NOT EXISTS cicero;

-- One row per job. Hot path: claim (pending → running) and complete (running → done /
-- pending-with-backoff / failed) are each one statement for a whole batch of rows.
CREATE TABLE IF NOT EXISTS cicero.jobs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    queue        text        NOT NULL,
    kind         text        NOT NULL,
    payload      jsonb       NOT NULL DEFAULT '{}',
    -- pending | running | done | failed (attempts exhausted or permanent error) | cancelled
    state        text        NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'running', 'done', 'failed', 'cancelled')),
    priority     smallint    NOT NULL DEFAULT 0,
    attempt      integer     NOT NULL DEFAULT 0,
    max_attempts integer     NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
    -- earliest start; a retry's backoff is written here, so it survives restarts
    run_at       timestamptz NOT NULL DEFAULT now(),
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz,
    -- worker instance holding the lease while running
    locked_by    text,
    last_error   text,
    result       jsonb,
    -- deduplication key (the scheduler uses `cron:<entry>:<tick>`): one live row per key
    unique_key   text
) WITH (fillfactor = 90);

-- The claim index: only pending rows, ordered as they are taken.
CREATE INDEX IF NOT EXISTS jobs_claim_idx
    ON cicero.jobs (queue, priority DESC, run_at, id) WHERE state = 'pending';
-- Rescue: running rows by lease holder.
CREATE INDEX IF NOT EXISTS jobs_running_idx
    ON cicero.jobs (locked_by) WHERE state = 'running';
CREATE UNIQUE INDEX IF NOT EXISTS jobs_unique_key_idx
    ON cicero.jobs (unique_key) WHERE unique_key IS NOT NULL;
-- Listing / stats by queue and state, newest first.
CREATE INDEX IF NOT EXISTS jobs_queue_state_idx ON cicero.jobs (queue, state, id);

-- Append-only history: one row per attempt, with who ran it, when, and how it ended.
CREATE TABLE IF NOT EXISTS cicero.job_attempts (
    job_id      bigint      NOT NULL,
    attempt     integer     NOT NULL,
    worker      text        NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL DEFAULT now(),
    -- done | retry | failed | lost (worker died) | interrupted (shutdown grace ran out)
    outcome     text        NOT NULL,
    error       text
);
CREATE INDEX IF NOT EXISTS job_attempts_job_idx ON cicero.job_attempts (job_id, attempt);
CREATE INDEX IF NOT EXISTS job_attempts_finished_idx ON cicero.job_attempts (finished_at);

-- Live worker processes; a row whose heartbeat is older than the rescue window is dead and
-- its running jobs are handed back.
CREATE TABLE IF NOT EXISTS cicero.workers (
    name       text        PRIMARY KEY,
    host       text        NOT NULL,
    pid        integer     NOT NULL,
    queues     text[]      NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    last_seen  timestamptz NOT NULL DEFAULT now()
);

-- One NOTIFY per INSERT statement and queue (not per row): wakes the queue's fetchers.
CREATE OR REPLACE FUNCTION cicero.notify_jobs() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE q text;
BEGIN
    FOR q IN SELECT DISTINCT queue FROM new_jobs WHERE state = 'pending' AND run_at <= now() LOOP
        PERFORM pg_notify('cicero_jobs', q);
    END LOOP;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS jobs_notify ON cicero.jobs;
CREATE TRIGGER jobs_notify AFTER INSERT ON cicero.jobs
    REFERENCING NEW TABLE AS new_jobs FOR EACH STATEMENT EXECUTE FUNCTION cicero.notify_jobs();
