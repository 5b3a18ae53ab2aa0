-- The incident groups a community has counts for, in the order of the groups file.
SELECT cat.code, cat.name_uk, cat.name_en
FROM category cat
WHERE cat.domain = 'incident'
  AND EXISTS (SELECT 1 FROM incident_cell ic
              WHERE ic.community_id = :community_id AND ic.category_id = cat.id)
ORDER BY cat.position
