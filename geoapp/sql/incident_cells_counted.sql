-- A cell table counted on request (a month, a quarter or one group): the counts come in as
-- arrays, the hexagons are drawn from their indices in the community's metric CRS and sent
-- as WGS 84, in the shape `incident_cells_read` returns (the total first, i/j null).
SELECT NULL::integer AS i, NULL::integer AS j, CAST(:total AS integer) AS n,
       CAST(:withheld AS boolean) AS suppressed, NULL AS geometry
UNION ALL
(SELECT u.i, u.j, u.n, CAST(:withheld AS boolean),
        ST_AsGeoJSON(ST_Transform(
            ST_Hexagon(:size_m, u.i, u.j, ST_SetSRID(ST_MakePoint(0, 0), c.metric_srid)),
            4326), 6)
 FROM unnest(CAST(:i AS integer[]), CAST(:j AS integer[]), CAST(:n AS integer[])) AS u(i, j, n),
      community c
 WHERE c.id = :community_id
 ORDER BY u.i, u.j)
