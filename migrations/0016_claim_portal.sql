-- The claim portal of the newer dashboard client (contract §2.12): a personnel password, extra
-- social accounts, password-reset requests and "activity not recorded" complaints. New tables
-- in schema cicero only; each row belongs to a person ("user") and goes with it (ON DELETE
-- CASCADE). Creating the foreign keys takes SHARE ROW EXCLUSIVE on "user" until the upgrade
-- commits (writes to "user" wait, reads do not).

-- A person's portal password (POST /api/claim/register; the legacy "user" table has none).
CREATE TABLE IF NOT EXISTS cicero.claim_credentials (
    user_id       varchar     PRIMARY KEY REFERENCES public."user" (user_id) ON DELETE CASCADE,
    password_hash text        NOT NULL,  -- argon2id (PHC string)
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Accounts beyond the primary handle ("user".insta / "user".tiktok): the portal's
-- instagram_accounts[] / tiktok_accounts[] are the primary handle followed by these, in order.
-- Usernames are stored as the claim update stores handles: Instagram lower-case without `@`,
-- TikTok lower-case with `@`.
CREATE TABLE IF NOT EXISTS cicero.claim_social_accounts (
    user_id  varchar  NOT NULL REFERENCES public."user" (user_id) ON DELETE CASCADE,
    platform text     NOT NULL CHECK (platform IN ('instagram', 'tiktok')),
    username text     NOT NULL,
    position smallint NOT NULL,
    PRIMARY KEY (user_id, platform, username)
);

-- Portal password resets: a request mails a one-time code (email_otp job, Redis key
-- otp:claim_reset:<request_id>); a verified code gives a reset token, stored as its SHA-256,
-- which confirm uses once.
CREATE TABLE IF NOT EXISTS cicero.claim_password_resets (
    request_id       uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id          varchar     NOT NULL REFERENCES public."user" (user_id) ON DELETE CASCADE,
    email            text        NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz NOT NULL,
    verified_at      timestamptz,
    token_hash       text        UNIQUE,
    token_expires_at timestamptz,
    used_at          timestamptz
);
CREATE INDEX IF NOT EXISTS claim_password_resets_user
    ON cicero.claim_password_resets (user_id, created_at);

-- "Activity not recorded" complaints: the latest triage of one content for one person.
-- open -> escalated (the person asks an operator) -> resolved (a later triage found the
-- activity recorded); at most one open or escalated complaint per person, platform, content
-- and issue.
CREATE TABLE IF NOT EXISTS cicero.claim_complaints (
    complaint_id uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      varchar     NOT NULL REFERENCES public."user" (user_id) ON DELETE CASCADE,
    platform     text        NOT NULL CHECK (platform IN ('instagram', 'tiktok')),
    content_id   text        NOT NULL,
    issue_type   text        NOT NULL,
    status       text        NOT NULL CHECK (status IN ('open', 'escalated', 'resolved')),
    triage       jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    escalated_at timestamptz,
    resolved_at  timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS claim_complaints_active
    ON cicero.claim_complaints (user_id, platform, content_id, issue_type)
    WHERE status IN ('open', 'escalated');
