-- The day (Kyiv time) of a community's first concern of any category: where its series of
-- quarterly sensitive counts starts (NULL: no concern yet).
SELECT (min(c.created_at) AT TIME ZONE :tz)::date  -- min first: the index gives it at once
FROM concern c
WHERE c.community_id = :community_id
