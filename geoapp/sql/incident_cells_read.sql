-- One published table of cell counts (a size, a period, a group or all groups), with its
-- hexagons drawn from their indices in the community's metric CRS and sent as WGS 84.
-- The row with null i/j is the community total.
SELECT ic.i, ic.j, ic.n, ic.suppressed,
       CASE WHEN ic.i IS NOT NULL THEN
           ST_AsGeoJSON(ST_Transform(
               ST_Hexagon(ic.size_m, ic.i, ic.j, ST_SetSRID(ST_MakePoint(0, 0), c.metric_srid)),
               4326), 6)
       END AS geometry
FROM incident_cell ic
JOIN community c ON c.id = ic.community_id
WHERE ic.community_id = :community_id
  AND ic.size_m = :size_m
  AND ic.period = :period
  AND ic.period_start = :period_start
  AND ic.category_id IS NOT DISTINCT FROM CAST(:category_id AS integer)
ORDER BY ic.i NULLS FIRST, ic.j
