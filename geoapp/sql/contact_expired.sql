-- The contacts whose erasure is due: their concern is closed (a status in :closed) and was
-- closed before :cutoff.  The closing time is the concern's last status step in its history
-- (an edit that keeps the status is no step); a concern without history falls back to its
-- last update.  A concern reopened (rejected -> under review) is no longer closed.
SELECT cc.concern_id
FROM concern_contact cc
JOIN concern c ON c.id = cc.concern_id
WHERE c.status::text = ANY(:closed)
  AND COALESCE(
        (SELECT e.at FROM concern_event e
          WHERE e.concern_id = c.id AND e.from_status IS DISTINCT FROM e.to_status
          ORDER BY e.id DESC LIMIT 1),
        c.updated_at
      ) < :cutoff;
