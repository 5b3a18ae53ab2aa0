-- A release's cells, copied from the year's protected table at the release's size: a
-- withheld count is stored as NULL, so the release holds nothing that may not be published.
INSERT INTO incident_release_cell (release_id, i, j, n)
SELECT :release_id, ic.i, ic.j, CASE WHEN ic.suppressed THEN NULL ELSE ic.n END
FROM incident_cell ic
WHERE ic.community_id = :community_id
  AND ic.size_m = :size_m
  AND ic.period = 'year' AND ic.period_start = :start
  AND ic.category_id IS NULL
  AND ic.i IS NOT NULL
