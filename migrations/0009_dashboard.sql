-- Dashboard registration accepts an e-mail contact as well as WhatsApp (the newer dashboard
-- client sends `email`); legacy had only `whatsapp`.
ALTER TABLE public.dashboard_user ADD COLUMN IF NOT EXISTS email text;

-- Files produced by jobs (dashboard exports): one per job, removed with the job (retention).
CREATE TABLE IF NOT EXISTS cicero.job_files (
    job_id       bigint      PRIMARY KEY REFERENCES cicero.jobs (id) ON DELETE CASCADE,
    file_name    text        NOT NULL,
    content_type text        NOT NULL,
    content      bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
