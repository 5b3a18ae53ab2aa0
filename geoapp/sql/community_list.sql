-- Communities with extent and area. Filters (each NULL/false = no filter):
-- :slug one community, :ids these communities, :pilot_only the pilots.
SELECT c.id, c.slug, c.katotth, c.name_uk, c.name_en, c.level::text AS level, c.office,
       c.office_en, c.pilot, ST_XMin(c.geom) AS xmin, ST_YMin(c.geom) AS ymin,
       ST_XMax(c.geom) AS xmax, ST_YMax(c.geom) AS ymax,
       ST_Area(c.geom::geography) / 1e6 AS area_km2
FROM community c
WHERE (c.pilot OR NOT CAST(:pilot_only AS boolean))
  AND (CAST(:slug AS text) IS NULL OR c.slug = CAST(:slug AS text))
  AND (CAST(:ids AS integer[]) IS NULL OR c.id = ANY(CAST(:ids AS integer[])))
ORDER BY c.pilot DESC, c.name_uk
