-- One vector tile of community boundaries (© OpenStreetMap contributors, ODbL).
WITH bounds AS (
    SELECT ST_TileEnvelope(:z, :x, :y) AS merc,
           ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => 64.0 / 4096), 4326) AS wgs
),
features AS (
    SELECT ST_AsMVTGeom(ST_Transform(c.geom, 3857), b.merc, 4096, 64, true) AS geom,
           c.katotth, c.name_uk, c.name_en, c.level::text AS level
    FROM community c
    CROSS JOIN bounds b
    WHERE c.id = ANY(CAST(:ids AS integer[])) AND c.geom && b.wgs
)
SELECT ST_AsMVT(features, :layer, 4096, 'geom') FROM features
