SELECT ST_AsGeoJSON(
    CASE WHEN CAST(:tolerance AS float8) > 0 THEN
        ST_Transform(
            ST_SimplifyPreserveTopology(ST_Transform(c.geom, c.metric_srid), :tolerance), 4326)
    ELSE c.geom END,
    6)
FROM community c
WHERE c.id = :id
