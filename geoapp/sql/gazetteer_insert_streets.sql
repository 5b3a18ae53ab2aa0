-- One row per street of this source (from its address points and, in OSM extracts, its
-- named highways): the point nearest the centroid of the street's points (a centroid
-- of a curved street can fall off the street).
INSERT INTO gazetteer_entry (community_id, source, kind, name, street_key, latin_key, geom)
SELECT :community_id, :source, 'street', mode() WITHIN GROUP (ORDER BY name), street_key,
       min(latin_key),
       ST_ClosestPoint(ST_Collect(ST_SetSRID(ST_MakePoint(lon, lat), 4326)),
                       ST_Centroid(ST_Collect(ST_SetSRID(ST_MakePoint(lon, lat), 4326))))
FROM gazetteer_stage
WHERE kind IN ('address', 'street')
GROUP BY street_key
