-- Individual incidents of one community for analysts: where, when, article and group only
-- (never the reference hash or the batch).  Period and group filters are optional.
SELECT cat.code AS "group", cat.name_uk AS group_uk, cat.name_en AS group_en, i.article,
       CAST(i.occurred_on AS text) AS occurred_on,
       ST_AsGeoJSON(i.point, 6) AS geometry
FROM incident i
JOIN category cat ON cat.id = i.category_id
WHERE i.community_id = :community_id
  AND (CAST(:start AS date) IS NULL OR i.occurred_on >= CAST(:start AS date))
  AND (CAST(:stop AS date) IS NULL OR i.occurred_on < CAST(:stop AS date))
  AND (CAST(:category_id AS integer) IS NULL OR i.category_id = CAST(:category_id AS integer))
ORDER BY i.occurred_on, i.id
LIMIT :limit
