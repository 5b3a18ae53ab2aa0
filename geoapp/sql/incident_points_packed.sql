-- Every incident of one community packed into one bytea, 24 bytes each: lon, lat (float8),
-- category (int4), days since 2000-01-01 (int4), in PostgreSQL's big-endian send format.
-- One value instead of a million rows: numpy reads it as a structured array.
SELECT string_agg(float8send(ST_X(point)) || float8send(ST_Y(point))
                  || int4send(category_id) || int4send(occurred_on - DATE '2000-01-01'),
                  ''::bytea)
FROM incident
WHERE community_id = :c
