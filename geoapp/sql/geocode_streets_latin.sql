-- As geocode_streets, for a query typed in Latin letters: compares the
-- transliterated keys (official 2010 table), through their own GIN index.
SELECT kind, street_key, canonical_key, name, ST_X(geom) AS lon, ST_Y(geom) AS lat,
       similarity(latin_key, :q) AS sim
FROM gazetteer_entry
WHERE community_id = :community_id AND kind <> 'address' AND latin_key % :q
ORDER BY sim DESC, street_key
LIMIT :n
