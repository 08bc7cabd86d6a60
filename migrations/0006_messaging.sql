-- Messaging (issue 5): the WhatsApp outbox (one row per idempotency key: the "never send twice"
-- record), WhatsApp sessions as the gateway reports them, and WAHA webhook deliveries (stored
-- once per event id).

CREATE TABLE IF NOT EXISTS cicero.wa_outbox (
    id bigserial PRIMARY KEY,
    idempotency_key text NOT NULL UNIQUE,
    chat_id text NOT NULL,
    -- 'text' or 'document'
    kind text NOT NULL,
    text text,
    file_name text,
    -- 'sending' (an attempt started; a crash leaves it so), 'sent', 'failed' (permanent error)
    status text NOT NULL,
    -- 'waha' or 'outbox'
    transport text NOT NULL,
    session text NOT NULL,
    job_id bigint,
    -- the gateway's message id, when it returned one
    provider_message_id text,
    -- how many times the transport was asked to send this key (above 1 only after a crash)
    sends integer NOT NULL DEFAULT 0,
    error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz
);

CREATE INDEX IF NOT EXISTS wa_outbox_created_idx ON cicero.wa_outbox (id DESC);

CREATE TABLE IF NOT EXISTS cicero.wa_sessions (
    name text PRIMARY KEY,
    -- WAHA's status: STARTING, SCAN_QR_CODE, WORKING, FAILED, STOPPED (or UNREACHABLE from our probe)
    state text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS cicero.wa_webhook_events (
    event_id text PRIMARY KEY,
    event text NOT NULL,
    session text,
    payload jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
