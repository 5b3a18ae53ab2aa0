-- Every incident of one community (of one period and group, when given) packed into one
-- bytea, 24 bytes each: lon, lat (float8), category (int4), days since 2000-01-01 (int4),
-- in PostgreSQL's big-endian send format.  One value instead of a million rows: numpy
-- reads it as a structured array.
SELECT string_agg(float8send(ST_X(point)) || float8send(ST_Y(point))
                  || int4send(category_id) || int4send(occurred_on - DATE '2000-01-01'),
                  ''::bytea)
FROM incident
WHERE community_id = :c
  AND (CAST(:start AS date) IS NULL OR occurred_on >= CAST(:start AS date))
  AND (CAST(:stop AS date) IS NULL OR occurred_on < CAST(:stop AS date))
  AND (CAST(:category_id AS integer) IS NULL OR category_id = CAST(:category_id AS integer))
