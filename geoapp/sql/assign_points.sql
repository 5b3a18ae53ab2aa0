-- For each staged point, the community of the requested level that contains it.
-- The correlated lookup pins the plan to one GiST probe per point (no big
-- sort); a point on a shared border keeps the lowest community id.
SELECT t.idx, hit.community_id
FROM assign_points t
CROSS JOIN LATERAL (
    SELECT p.community_id
    FROM community_part p
    JOIN community c ON c.id = p.community_id
    WHERE ST_Intersects(p.geom, t.geom) AND c.level = CAST(:level AS community_level)
    ORDER BY p.community_id
    LIMIT 1
) hit
