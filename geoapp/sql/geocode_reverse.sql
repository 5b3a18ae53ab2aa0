-- The nearest address point (within :radius metres) and the distance to it.
SELECT e.name, e.house, e.street_key, ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat,
       ST_Distance(e.geom::geography, p.pt::geography) AS metres, c.slug
FROM (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS pt) p
CROSS JOIN LATERAL (
    SELECT * FROM gazetteer_entry g WHERE g.kind = 'address'
    ORDER BY g.geom <-> p.pt LIMIT 1
) e
JOIN community c ON c.id = e.community_id
WHERE ST_DWithin(e.geom::geography, p.pt::geography, :radius)
