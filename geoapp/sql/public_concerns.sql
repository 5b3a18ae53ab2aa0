-- What the public may see of a community's concerns (privacy rule 2): accepted, in
-- progress or resolved; never a sensitive category; only the generalised point;
-- no text the resident wrote; the latest public answer, if staff gave one.
SELECT c.public_id, cat.code AS category, cat.name_uk AS category_uk,
       cat.name_en AS category_en, c.status::text AS status,
       to_char(c.created_at AT TIME ZONE :tz, 'YYYY-MM-DD') AS reported,
       (SELECT e.public_answer FROM concern_event e
        WHERE e.concern_id = c.id AND e.public_answer IS NOT NULL
        ORDER BY e.id DESC LIMIT 1) AS answer,
       ST_AsGeoJSON(c.public_point, 6) AS geometry
FROM concern c
JOIN category cat ON cat.id = c.category_id
WHERE c.community_id = :community_id
  AND c.status = ANY(CAST(:public_statuses AS concern_status[]))
  AND NOT cat.sensitive
  AND (CAST(:status AS text) IS NULL OR c.status::text = CAST(:status AS text))
ORDER BY c.created_at DESC
