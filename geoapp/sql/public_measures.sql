-- What residents may see of a community's measures: agreed, in progress or done, with
-- what was done; the target as WKB for layers.sources.measures.public_measures to generalise (never
-- sent as drawn).  Done first, then the newest.
SELECT m.public_id, m.title, m.kind::text AS kind, m.status::text AS status, m.agency,
       to_char(m.start_on, 'YYYY-MM-DD') AS start_on,
       to_char(m.done_on, 'YYYY-MM-DD') AS done_on,
       NULLIF(m.result_text, '') AS result,
       ST_AsBinary(m.target) AS target, ST_AsBinary(c.geom) AS boundary,
       c.metric_srid AS srid
FROM measure m
JOIN community c ON c.id = m.community_id
WHERE m.community_id = :community_id
  AND m.status::text = ANY(:statuses)
ORDER BY (m.status = 'done') DESC, m.done_on DESC NULLS LAST, m.id DESC
