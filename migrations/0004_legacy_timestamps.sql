-- Legacy naive timestamps become timestamptz, each read in the zone the legacy code wrote it in,
-- so every row keeps its instant (docs/upgrading.md lists every column).
--
-- The legacy system ran with server and database in Asia/Jakarta: `now()` defaults and
-- `to_timestamp` wrote naive Jakarta wall time. The one exception is tiktok_post.created_at,
-- which the TikTok model writes as `$ts::timestamptz AT TIME ZONE 'UTC'` (naive UTC).
--
-- Each column is converted only while it is still `timestamp without time zone`, so the
-- migration is safe on a database where some were converted by hand. ALTER ... TYPE rewrites
-- the table under an ACCESS EXCLUSIVE lock; the whole migration is one transaction.
DO $do$
DECLARE
    col record;
BEGIN
    FOR col IN
        SELECT * FROM (VALUES
            ('approval_request', 'created_at', 'Asia/Jakarta'),
            ('approval_request', 'updated_at', 'Asia/Jakarta'),
            ('change_log', 'logged_at', 'Asia/Jakarta'),
            ('dashboard_user', 'created_at', 'Asia/Jakarta'),
            ('dashboard_user', 'updated_at', 'Asia/Jakarta'),
            ('editorial_event', 'event_date', 'Asia/Jakarta'),
            ('editorial_event', 'created_at', 'Asia/Jakarta'),
            ('editorial_event', 'last_update', 'Asia/Jakarta'),
            ('ig_ext_posts', 'created_at', 'Asia/Jakarta'),
            ('ig_post_comments', 'created_at', 'Asia/Jakarta'),
            ('insta_comment', 'updated_at', 'Asia/Jakarta'),
            ('insta_like', 'updated_at', 'Asia/Jakarta'),
            ('insta_post', 'created_at', 'Asia/Jakarta'),
            ('insta_post_khusus', 'created_at', 'Asia/Jakarta'),
            ('insta_profile', 'updated_at', 'Asia/Jakarta'),
            ('link_report', 'created_at', 'Asia/Jakarta'),
            ('link_report_khusus', 'created_at', 'Asia/Jakarta'),
            ('login_log', 'logged_at', 'Asia/Jakarta'),
            ('penmas_user', 'created_at', 'Asia/Jakarta'),
            ('penmas_user', 'updated_at', 'Asia/Jakarta'),
            ('premium_request', 'created_at', 'Asia/Jakarta'),
            ('premium_request', 'updated_at', 'Asia/Jakarta'),
            ('saved_contact', 'created_at', 'Asia/Jakarta'),
            ('tasks', 'created_at', 'Asia/Jakarta'),
            ('tiktok_comment', 'updated_at', 'Asia/Jakarta'),
            ('tiktok_post', 'created_at', 'UTC'),
            ('visitor_logs', 'visited_at', 'Asia/Jakarta')
        ) AS v(tbl, col, zone)
    LOOP
        IF EXISTS (
            SELECT 1 FROM pg_attribute a
            WHERE a.attrelid = format('public.%I', col.tbl)::regclass
              AND a.attname = col.col AND NOT a.attisdropped
              AND a.atttypid = 'timestamp without time zone'::regtype
        ) THEN
            EXECUTE format(
                'ALTER TABLE public.%I ALTER COLUMN %I TYPE timestamptz USING %I AT TIME ZONE %L',
                col.tbl, col.col, col.col, col.zone);
        END IF;
    END LOOP;
END
$do$;
