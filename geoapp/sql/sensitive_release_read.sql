-- A community's released quarters with their frozen counts and the k each was released
-- under, oldest first (a quarter with no sensitive category has one row of NULLs).
SELECT r.quarter_start, r.k, cat.code, cat.name_uk, cat.name_en, n.n
FROM sensitive_release r
LEFT JOIN sensitive_release_count n
       ON n.community_id = r.community_id AND n.quarter_start = r.quarter_start
LEFT JOIN category cat ON cat.id = n.category_id
WHERE r.community_id = :community_id
ORDER BY r.quarter_start, cat.position, cat.id
