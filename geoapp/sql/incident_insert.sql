INSERT INTO incident (community_id, category_id, article, occurred_on, point, ref_hash, batch_id)
SELECT :community_id, s.category_id, s.article, s.occurred_on,
       ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326), s.ref_hash, :batch_id
FROM incident_stage s
WHERE NOT (s.line = ANY(CAST(:rejected AS integer[])))
