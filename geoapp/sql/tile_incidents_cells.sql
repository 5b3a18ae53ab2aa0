-- One vector tile of incidents counted per square cell (zoom 12 and out): the tile is cut
-- into `cells` x `cells` squares in Web Mercator and each non-empty square is one point at
-- its centre with a `count`, so a tile stays small however many incidents it covers.
-- Analysts only (exact counts); the public sees the suppressed hexagon cells instead.
WITH bounds AS (
    SELECT ST_TileEnvelope(:z, :x, :y) AS merc,
           ST_Transform(ST_TileEnvelope(:z, :x, :y), 4326) AS wgs
),
snapped AS (
    SELECT floor((ST_X(p) - ST_XMin(b.merc)) / ((ST_XMax(b.merc) - ST_XMin(b.merc)) / :cells))
               AS ci,
           floor((ST_Y(p) - ST_YMin(b.merc)) / ((ST_YMax(b.merc) - ST_YMin(b.merc)) / :cells))
               AS cj
    FROM (SELECT ST_Transform(i.point, 3857) AS p FROM incident i, bounds b
          WHERE i.community_id = ANY(CAST(:ids AS integer[])) AND i.point && b.wgs
            AND (CAST(:start AS date) IS NULL OR i.occurred_on >= CAST(:start AS date))
            AND (CAST(:stop AS date) IS NULL OR i.occurred_on < CAST(:stop AS date))
            AND (CAST(:category_id AS integer) IS NULL
                 OR i.category_id = CAST(:category_id AS integer))) pts,
         bounds b
),
counted AS (
    SELECT ci, cj, count(*) AS count FROM snapped
    WHERE ci BETWEEN 0 AND :cells - 1 AND cj BETWEEN 0 AND :cells - 1
    GROUP BY ci, cj
),
features AS (
    SELECT ST_AsMVTGeom(ST_MakePoint(
               ST_XMin(b.merc) + (ci + 0.5) * (ST_XMax(b.merc) - ST_XMin(b.merc)) / :cells,
               ST_YMin(b.merc) + (cj + 0.5) * (ST_YMax(b.merc) - ST_YMin(b.merc)) / :cells),
               b.merc, 4096, 0, true) AS geom,
           CAST(count AS integer) AS count
    FROM counted, bounds b
)
SELECT ST_AsMVT(features, :layer, 4096, 'geom') FROM features
