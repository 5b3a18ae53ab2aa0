INSERT INTO gazetteer_entry
    (community_id, source, kind, name, street_key, latin_key, house, house_number, geom)
SELECT :community_id, :source, 'address', name, street_key, latin_key, house, house_number,
       ST_SetSRID(ST_MakePoint(lon, lat), 4326)
FROM gazetteer_stage
WHERE kind = 'address'
