-- The quarters of a community whose sensitive counts are already released (frozen).
SELECT r.quarter_start
FROM sensitive_release r
WHERE r.community_id = :community_id
ORDER BY r.quarter_start
