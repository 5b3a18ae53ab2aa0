-- Sensitive categories leave only as counts per community (privacy rule 2).
SELECT cat.code, cat.name_uk, cat.name_en, count(*) AS n
FROM concern c
JOIN category cat ON cat.id = c.category_id
WHERE c.community_id = :community_id AND cat.sensitive
  AND c.status IN ('accepted', 'in_progress', 'resolved')
GROUP BY cat.code, cat.name_uk, cat.name_en
ORDER BY cat.code
