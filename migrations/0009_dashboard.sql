-- Dashboard registration accepts an e-mail contact as well as WhatsApp (the newer dashboard
-- client sends `email`); legacy had only `whatsapp`.
ALTER TABLE public.dashboard_user ADD COLUMN IF NOT EXISTS email text;
