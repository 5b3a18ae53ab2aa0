-- Settlements (OSM place=* nodes), named officially where the codifier knows them.
INSERT INTO gazetteer_entry (community_id, source, kind, name, street_key, latin_key, geom)
SELECT DISTINCT ON (street_key) :community_id, :source, 'settlement', name, street_key,
       latin_key, ST_SetSRID(ST_MakePoint(lon, lat), 4326)
FROM gazetteer_stage
WHERE kind = 'settlement'
ORDER BY street_key, line
