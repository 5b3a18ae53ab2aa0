-- On one street: the exact house, else the nearest known numbers below and above.
(SELECT 'exact' AS hit, house, house_number, ST_X(geom) AS lon, ST_Y(geom) AS lat
 FROM gazetteer_entry
 WHERE community_id = :community_id AND kind = 'address' AND street_key = :street
   AND house = :house
 LIMIT 1)
UNION ALL
(SELECT 'below', house, house_number, ST_X(geom), ST_Y(geom)
 FROM gazetteer_entry
 WHERE community_id = :community_id AND kind = 'address' AND street_key = :street
   AND house_number <= :number AND house_number % 2 = :parity
 ORDER BY house_number DESC LIMIT 1)
UNION ALL
(SELECT 'above', house, house_number, ST_X(geom), ST_Y(geom)
 FROM gazetteer_entry
 WHERE community_id = :community_id AND kind = 'address' AND street_key = :street
   AND house_number > :number AND house_number % 2 = :parity
 ORDER BY house_number ASC LIMIT 1)
UNION ALL
(SELECT 'any', house, house_number, ST_X(geom), ST_Y(geom)
 FROM gazetteer_entry
 WHERE community_id = :community_id AND kind = 'address' AND street_key = :street
   AND house_number IS NOT NULL
 ORDER BY abs(house_number - :number) LIMIT 1)
