-- Per-client pause (the board's tenant page): while a client_id is listed here, no worker
-- claims a job whose payload has that `client_id`, in any queue; jobs enqueued during the
-- pause wait as well. The claim statement reads this table once per statement (a hashed
-- set), and not at all per row while it is empty.
CREATE TABLE IF NOT EXISTS cicero.paused_clients (
    client_id text        PRIMARY KEY,
    paused_at timestamptz NOT NULL DEFAULT now(),
    -- the actor who paused it (as in the audit log)
    paused_by text        NOT NULL
);
