-- Per public cell size: the share of one year's incidents (all groups) in cells whose count
-- may be published.  Sizes that are staff-only have a null `suppressed` and drop out.
SELECT size_m,
       COALESCE(sum(n) FILTER (WHERE NOT suppressed), 0)::float8 / NULLIF(sum(n), 0) AS share
FROM incident_cell
WHERE community_id = :community_id
  AND period = 'year' AND period_start = :start
  AND category_id IS NULL AND i IS NOT NULL
  AND suppressed IS NOT NULL
GROUP BY size_m
ORDER BY size_m
