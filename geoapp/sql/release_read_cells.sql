-- A published release's cells with their hexagons, drawn from the indices in the community's
-- metric CRS and sent as WGS 84 (n is NULL where the count is withheld).
SELECT rc.i, rc.j, rc.n,
       ST_AsGeoJSON(ST_Transform(
           ST_Hexagon(r.size_m, rc.i, rc.j, ST_SetSRID(ST_MakePoint(0, 0), c.metric_srid)),
           4326), 6) AS geometry
FROM incident_release r
JOIN incident_release_cell rc ON rc.release_id = r.id
JOIN community c ON c.id = r.community_id
WHERE r.id = :release_id
ORDER BY rc.i, rc.j
