-- One vector tile of public concerns (privacy rule 2): accepted, in progress or resolved,
-- never a sensitive category, at the generalised public point only; category and status.
WITH bounds AS (
    SELECT ST_TileEnvelope(:z, :x, :y) AS merc,
           ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => 64.0 / 4096), 4326) AS wgs
),
features AS (
    SELECT ST_AsMVTGeom(ST_Transform(c.public_point, 3857), b.merc, 4096, 64, true) AS geom,
           cat.code AS category, c.status::text AS status
    FROM concern c
    JOIN category cat ON cat.id = c.category_id
    CROSS JOIN bounds b
    WHERE c.community_id = ANY(CAST(:ids AS integer[]))
      AND c.status = ANY(CAST(:public_statuses AS concern_status[]))
      AND NOT cat.sensitive
      AND c.public_point && b.wgs
)
SELECT ST_AsMVT(features, :layer, 4096, 'geom') FROM features
