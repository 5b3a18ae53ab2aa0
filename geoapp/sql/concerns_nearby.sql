-- Accepted (or in-progress) concerns of one category near a point, as the public may
-- see them: public point, no text. The distance is measured from the public point and
-- rounded, so it cannot be used to triangulate the true point.
SELECT c.public_id, c.status::text AS status, c.support_count,
       to_char(c.created_at AT TIME ZONE :tz, 'YYYY-MM-DD') AS reported,
       round(ST_Distance(c.public_point::geography, pt.g::geography) / 50) * 50 AS metres,
       ST_X(c.public_point) AS lon, ST_Y(c.public_point) AS lat
FROM concern c
JOIN category cat ON cat.id = c.category_id,
     (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS g) pt
WHERE c.community_id = :community_id AND cat.code = :category AND NOT cat.sensitive
  AND c.status = ANY(CAST(:open_statuses AS concern_status[]))
  AND ST_DWithin(c.public_point::geography, pt.g::geography, :radius)
ORDER BY metres, c.created_at
LIMIT 5
