-- The one rule for a job's unique key when the job changes state: the key stays while the new
-- state is one of the kind's unique states (or the kind is unique in every state, NULL), and
-- is released (NULL) otherwise, so a new job with the same key can be enqueued. Used by the
-- completer, the rescue of lost jobs, the shutdown release, and (bulk) cancel.
CREATE OR REPLACE FUNCTION cicero.unique_key_after(
    unique_key text, unique_states text[], new_state text
) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN unique_states IS NULL OR new_state = ANY(unique_states) THEN unique_key END
$$;
