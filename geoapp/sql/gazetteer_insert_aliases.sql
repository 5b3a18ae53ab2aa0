-- A former street name (old_name) is an alias row pointing at the current key.
INSERT INTO gazetteer_entry
    (community_id, source, kind, name, street_key, latin_key, canonical_key, geom)
SELECT :community_id, :source, 'street', min(name), old_key, min(old_latin), street_key,
       ST_ClosestPoint(ST_Collect(ST_SetSRID(ST_MakePoint(lon, lat), 4326)),
                       ST_Centroid(ST_Collect(ST_SetSRID(ST_MakePoint(lon, lat), 4326))))
FROM gazetteer_stage
WHERE kind IN ('address', 'street') AND old_key IS NOT NULL AND old_key <> street_key
GROUP BY old_key, street_key
