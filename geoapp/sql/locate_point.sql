-- Every community whose boundary contains the point, smallest unit first.
SELECT DISTINCT c.id, c.katotth, c.slug, c.name_uk, c.name_en, c.level::text AS level,
       ST_Area(c.geom::geography) AS area
FROM community_part p
JOIN community c ON c.id = p.community_id
WHERE ST_Intersects(p.geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
ORDER BY area
