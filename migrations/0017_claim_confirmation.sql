-- Claim portal registrations are confirmed by the person (POST /api/claim/register stores the
-- password as pending and sends a link to the person's stored WhatsApp number and/or e-mail;
-- GET /api/claim/register/confirm?token= activates it). Only a confirmed password logs in.
-- Touches cicero.claim_credentials only (ACCESS EXCLUSIVE on that table until the commit; no
-- legacy table is locked).
ALTER TABLE cicero.claim_credentials
    -- NULL: pending (registered, link not opened yet); not usable for login.
    ADD COLUMN IF NOT EXISTS confirmed_at timestamptz,
    -- SHA-256 (hex) of the pending registration's link token; NULL once confirmed.
    ADD COLUMN IF NOT EXISTS confirm_token_hash text UNIQUE,
    ADD COLUMN IF NOT EXISTS confirm_expires_at timestamptz;

-- Passwords stored before this migration stay pending (confirmed_at NULL, no link): none was
-- ever accepted by the login, and none is known to be the person's own (a registration checked
-- nothing, and a reset could attach an e-mail the requester gave). The person registers again
-- or uses the password reset.
