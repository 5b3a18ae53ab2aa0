-- Incidents of one community counted per hexagonal cell, group and month, for every cell
-- size at once.  The point is projected once into the community's metric CRS; the cell is
-- found by arithmetic (axial coordinates, cube rounding), not by a spatial join, and the
-- (i, j) it yields are the indices ST_Hexagon(size, i, j, origin 0 0) takes: flat-topped
-- hexagons with edge `size`, odd columns shifted up by half a cell height.
-- MATERIALIZED: projected once per incident; inlined, the planner repeated ST_Transform in
-- every expression that uses x or y (52 calls per incident, measured in bench/).
WITH projected AS MATERIALIZED (
    SELECT i.category_id,
           CAST(date_trunc('month', i.occurred_on) AS date) AS month,
           ST_X(p.geom) AS x, ST_Y(p.geom) AS y
    FROM incident i
    JOIN community c ON c.id = i.community_id
    CROSS JOIN LATERAL (SELECT ST_Transform(i.point, c.metric_srid) AS geom) p
    WHERE i.community_id = :community_id
), axial AS (
    SELECT s.size, p.category_id, p.month,
           (2.0 / 3.0 * p.x) / s.size AS q,
           (-1.0 / 3.0 * p.x + sqrt(3.0) / 3.0 * p.y) / s.size AS r
    FROM projected p
    CROSS JOIN unnest(CAST(:sizes AS integer[])) AS s(size)
), rounded AS (
    SELECT a.size, a.category_id, a.month, a.q, a.r,
           round(a.q) AS rq, round(a.r) AS rr, round(-a.q - a.r) AS rs
    FROM axial a
), cube AS (
    SELECT size, category_id, month,
           CAST(CASE WHEN abs(rq - q) > abs(rr - r) AND abs(rq - q) > abs(rs + q + r)
                     THEN -rr - rs ELSE rq END AS bigint) AS hq,
           CAST(CASE WHEN abs(rq - q) > abs(rr - r) AND abs(rq - q) > abs(rs + q + r) THEN rr
                     WHEN abs(rr - r) > abs(rs + q + r) THEN -rq - rs
                     ELSE rr END AS bigint) AS hr
    FROM rounded
)
SELECT size, CAST(hq AS integer) AS i, CAST(hr + (hq - (hq & 1)) / 2 AS integer) AS j,
       category_id, CAST(extract(year FROM month) AS integer) AS year,
       CAST(extract(month FROM month) AS integer) AS month, count(*) AS n
FROM cube
GROUP BY size, hq, hr, category_id, month
