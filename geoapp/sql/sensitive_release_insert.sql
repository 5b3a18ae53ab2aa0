-- Release one closed quarter of a community: its header, then the count per sensitive
-- concern category the community offers (zeros included), of concerns reported in the
-- quarter (Kyiv time) that are accepted, in progress or resolved now.  Written once.
WITH header AS (
    INSERT INTO sensitive_release (community_id, quarter_start, k)
    VALUES (:community_id, :start, :k)
    ON CONFLICT (community_id, quarter_start) DO NOTHING
    RETURNING community_id, quarter_start
)
INSERT INTO sensitive_release_count (community_id, quarter_start, category_id, n)
SELECT h.community_id, h.quarter_start, cat.id,
       (SELECT count(*) FROM concern c
        WHERE c.community_id = h.community_id AND c.category_id = cat.id
          AND c.status = ANY(CAST(:public_statuses AS concern_status[]))
          AND c.created_at >= (CAST(:start AS date)::timestamp AT TIME ZONE :tz)
          AND c.created_at < (CAST(:stop AS date)::timestamp AT TIME ZONE :tz))
FROM header h
JOIN category cat ON cat.domain = 'concern' AND cat.sensitive
     AND (cat.community_id IS NULL OR cat.community_id = h.community_id)
