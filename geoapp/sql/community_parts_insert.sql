-- Cut each boundary into pieces of at most 256 vertices: point lookups then
-- test a handful of small polygons found through the GiST index.
INSERT INTO community_part (community_id, geom)
SELECT id, part
FROM (
    SELECT c.id, (ST_Dump(ST_Subdivide(c.geom, 256))).geom AS part
    FROM community c
    WHERE c.id = ANY(:ids) AND c.geom IS NOT NULL
) pieces
WHERE GeometryType(part) = 'POLYGON'
