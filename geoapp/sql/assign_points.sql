-- For each staged point, the community of the requested level that contains it.
-- The correlated lookup is one GiST probe per point. min() rather than
-- ORDER BY ... LIMIT 1: with LIMIT the planner may walk the community_id index
-- instead, which for a point in no community means reading every part.
-- A point on a shared border keeps the lowest community id.
SELECT t.idx, hit.community_id
FROM assign_points t
CROSS JOIN LATERAL (
    SELECT min(p.community_id) AS community_id
    FROM community_part p
    JOIN community c ON c.id = p.community_id
    WHERE ST_Intersects(p.geom, t.geom) AND c.level = CAST(:level AS community_level)
) hit
WHERE hit.community_id IS NOT NULL
