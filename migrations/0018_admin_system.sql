-- The admin console's funds module (docs/admin-system.md): management fund transactions,
-- fund requests with an approval decision, and an audit of both; plus the audit of admin
-- configuration changes. Names follow the legacy design (system_management_*), in our schema.
CREATE TABLE IF NOT EXISTS cicero.system_management_fund_request (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title           text          NOT NULL,
    requested_amount numeric(18,2) NOT NULL CHECK (requested_amount > 0),
    note            text,
    status          text          NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'approved', 'rejected')),
    requested_by    text          NOT NULL,
    decided_by      text,
    decision_note   text,
    decided_at      timestamptz,
    created_at      timestamptz   NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS system_management_fund_request_created_idx
    ON cicero.system_management_fund_request (created_at DESC, id DESC);

CREATE TABLE IF NOT EXISTS cicero.system_management_fund_transaction (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    category    text          NOT NULL,
    amount      numeric(18,2) NOT NULL CHECK (amount > 0),
    direction   text          NOT NULL CHECK (direction IN ('inflow', 'outflow')),
    description text,
    -- the approved request this outflow pays, if any
    request_id  bigint REFERENCES cicero.system_management_fund_request (id),
    created_by  text          NOT NULL,
    created_at  timestamptz   NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS system_management_fund_transaction_created_idx
    ON cicero.system_management_fund_transaction (created_at DESC, id DESC);

CREATE TABLE IF NOT EXISTS cicero.system_management_fund_audit (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- transaction.create, request.create, request.approve, request.reject
    action_type text        NOT NULL,
    entity_type text        NOT NULL,
    entity_id   bigint      NOT NULL,
    actor       text        NOT NULL,
    admin_role  text        NOT NULL,
    detail      jsonb       NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS system_management_fund_audit_created_idx
    ON cicero.system_management_fund_audit (created_at DESC, id DESC);

CREATE TABLE IF NOT EXISTS cicero.system_management_config_audit (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    config_key  text        NOT NULL,
    old_value   text,
    new_value   text,
    actor       text        NOT NULL,
    admin_role  text        NOT NULL,
    notes       text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS system_management_config_audit_created_idx
    ON cicero.system_management_config_audit (created_at DESC, id DESC);
