-- Platform features: pause, cancel, progress, rate limits, uniqueness scoped to states.

-- Cluster-wide queue switches. A missing row means running. Claims check it in the same
-- statement, so a pause takes effect for every process at its next claim.
CREATE TABLE IF NOT EXISTS cicero.queues (
    queue      text PRIMARY KEY,
    paused     boolean     NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text
);

ALTER TABLE cicero.jobs
    -- set by POST /api/jobs/{id}/cancel on a running job; its worker aborts the handler
    ADD COLUMN IF NOT EXISTS cancel_requested_at timestamptz,
    -- {"fraction": 0..1, "message": "...", "at": "..."} reported by the handler
    ADD COLUMN IF NOT EXISTS progress jsonb,
    -- the rate-limit key a pending job is waiting for (snoozed without spending an attempt)
    ADD COLUMN IF NOT EXISTS waiting_for text,
    -- the states in which this row keeps its unique_key; leaving them releases the key
    ADD COLUMN IF NOT EXISTS unique_states text[];

-- Sliding-window rate limits shared by every process: one row per grant, pruned as it ages.
CREATE TABLE IF NOT EXISTS cicero.rate_grants (
    key        text        NOT NULL,
    granted_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS rate_grants_key_idx ON cicero.rate_grants (key, granted_at);

-- A provider's 429 / Retry-After blocks a key until a time.
CREATE TABLE IF NOT EXISTS cicero.rate_blocks (
    key           text PRIMARY KEY,
    blocked_until timestamptz NOT NULL,
    reason        text
);

-- Takes one slot of `key` (at most `max_n` grants per `window_ms`, sliding), or says how many
-- ms to wait. Serialised per key by an advisory lock, so every process sees the same window.
CREATE OR REPLACE FUNCTION cicero.rate_acquire(p_key text, max_n integer, window_ms integer)
RETURNS double precision LANGUAGE plpgsql AS $$
DECLARE
    t       timestamptz;
    blocked timestamptz;
    n       integer;
    oldest  timestamptz;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('cicero.rate:' || p_key, 0));
    t := clock_timestamp();
    SELECT blocked_until INTO blocked FROM cicero.rate_blocks WHERE key = p_key;
    IF blocked IS NOT NULL AND blocked > t THEN
        RETURN EXTRACT(EPOCH FROM blocked - t) * 1000;
    END IF;
    -- Grants are kept a minute beyond the window (for inspection), then dropped.
    DELETE FROM cicero.rate_grants
     WHERE key = p_key AND granted_at < t - make_interval(secs => window_ms / 1000.0 + 60);
    SELECT count(*), min(granted_at) INTO n, oldest FROM cicero.rate_grants
     WHERE key = p_key AND granted_at > t - make_interval(secs => window_ms / 1000.0);
    IF n < max_n THEN
        INSERT INTO cicero.rate_grants (key, granted_at) VALUES (p_key, t);
        RETURN 0;
    END IF;
    -- Full: the oldest grant in the window leaves it first.
    RETURN GREATEST(EXTRACT(EPOCH FROM oldest + make_interval(secs => window_ms / 1000.0) - t) * 1000, 1);
END $$;
