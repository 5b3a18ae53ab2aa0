-- One vector tile of individual incidents (analysts, zoom 13 and closer): where, which
-- group and article, when; nothing else (no reference, no batch). `ids` are the
-- communities the caller is an analyst of; period and group are optional. The BRIN index on incident.point answers `&&`.
WITH bounds AS (
    SELECT ST_TileEnvelope(:z, :x, :y) AS merc,
           ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => 64.0 / 4096), 4326) AS wgs
),
features AS (
    SELECT ST_AsMVTGeom(ST_Transform(i.point, 3857), b.merc, 4096, 64, true) AS geom,
           cat.code AS "group", i.article, CAST(i.occurred_on AS text) AS occurred_on
    FROM incident i
    JOIN category cat ON cat.id = i.category_id
    CROSS JOIN bounds b
    WHERE i.community_id = ANY(CAST(:ids AS integer[]))
      AND i.point && b.wgs
      AND (CAST(:start AS date) IS NULL OR i.occurred_on >= CAST(:start AS date))
      AND (CAST(:stop AS date) IS NULL OR i.occurred_on < CAST(:stop AS date))
      AND (CAST(:category_id AS integer) IS NULL
           OR i.category_id = CAST(:category_id AS integer))
)
SELECT ST_AsMVT(features, :layer, 4096, 'geom') FROM features
