-- Public concerns for exports, OGC items and tiles (privacy rule 2): accepted, in progress
-- or resolved; never a sensitive category; only the generalised point (public_point) is
-- selected, never the true point, the resident's text or any contact. Optional filters:
-- reported date [start, stop), category codes, status, bbox (WGS 84), one feature id, page.
-- The feature id is a salted hash of the public id: stable, but it does not give away the
-- public id (which lets a holder add support to the concern).
SELECT substr(md5(CAST(:id_salt AS text) || c.public_id), 1, 16) AS fid, cat.code AS category, cat.name_uk AS category_uk,
       cat.name_en AS category_en, c.status::text AS status,
       to_char(c.created_at AT TIME ZONE :tz, 'YYYY-MM-DD') AS reported,
       (SELECT e.public_answer FROM concern_event e
        WHERE e.concern_id = c.id AND e.public_answer IS NOT NULL
        ORDER BY e.id DESC LIMIT 1) AS answer,
       c.public_point
FROM concern c
JOIN category cat ON cat.id = c.category_id
WHERE c.community_id = :community_id
  AND c.status = ANY(CAST(:public_statuses AS concern_status[]))
  AND NOT cat.sensitive
  AND c.public_point IS NOT NULL
  AND (CAST(:status AS text) IS NULL OR c.status::text = CAST(:status AS text))
  AND (CAST(:categories AS text[]) IS NULL OR cat.code = ANY(CAST(:categories AS text[])))
  AND (CAST(:start AS date) IS NULL
       OR c.created_at >= CAST(CAST(:start AS date) AS timestamp) AT TIME ZONE :tz)
  AND (CAST(:stop AS date) IS NULL
       OR c.created_at < CAST(CAST(:stop AS date) AS timestamp) AT TIME ZONE :tz)
  AND (CAST(:west AS float8) IS NULL OR c.public_point && ST_MakeEnvelope(
       CAST(:west AS float8), CAST(:south AS float8), CAST(:east AS float8),
       CAST(:north AS float8), 4326))
  AND (CAST(:fid AS text) IS NULL
       OR substr(md5(CAST(:id_salt AS text) || c.public_id), 1, 16) = CAST(:fid AS text))
ORDER BY c.id
LIMIT CAST(:limit AS bigint) OFFSET CAST(:offset AS bigint)
