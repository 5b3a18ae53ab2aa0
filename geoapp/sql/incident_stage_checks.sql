-- Staged rows that cannot be imported: outside the community, or already imported
-- (the same keyed reference hash in this community).
SELECT s.line,
       CASE WHEN c.geom IS NULL OR NOT ST_Covers(c.geom, ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326))
            THEN 'outside the community' ELSE 'already imported' END AS reason
FROM incident_stage s
JOIN community c ON c.id = :community_id
WHERE c.geom IS NULL
   OR NOT ST_Covers(c.geom, ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326))
   OR EXISTS (SELECT 1 FROM incident i
              WHERE i.community_id = :community_id AND i.ref_hash = s.ref_hash)
ORDER BY s.line
