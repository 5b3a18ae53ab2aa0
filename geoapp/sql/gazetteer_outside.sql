-- Line numbers of staged points that are not inside the community's boundary.
SELECT s.line
FROM gazetteer_stage s, community c
WHERE c.id = :community_id
  AND (c.geom IS NULL OR NOT ST_Covers(c.geom, ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326)))
ORDER BY s.line
