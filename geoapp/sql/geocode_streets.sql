-- Streets (and aliases of renamed streets) of a community whose key resembles the
-- query, by trigram similarity; the `%` operator uses the partial GIN index.
SELECT kind, street_key, canonical_key, name, ST_X(geom) AS lon, ST_Y(geom) AS lat,
       similarity(street_key, :q) AS sim
FROM gazetteer_entry
WHERE community_id = :community_id AND kind <> 'address' AND street_key % :q
ORDER BY sim DESC, street_key
LIMIT :n
