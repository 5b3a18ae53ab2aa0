-- Every (point, community) pair where a staged point lies in a piece of a
-- community of the requested level. Driven from the pieces: each piece is
-- tested against the points its box covers, found through the points' GiST
-- index, so PostGIS prepares each piece once and reuses it for all its points.
-- A point on a shared border appears once per community; the caller keeps one.
-- Run through a plain psycopg cursor (psycopg placeholders), for speed.
SELECT t.idx, p.community_id
FROM community c
JOIN community_part p ON p.community_id = c.id
JOIN assign_points t ON ST_Intersects(p.geom, t.geom)
WHERE c.level = CAST(%(level)s AS community_level)
