-- The indexes of `incident`, the primary key's included, and for those that back a
-- constraint, the constraint's name and definition: what a bulk load drops and recreates.
SELECT i.relname AS index_name,
       pg_get_indexdef(i.oid) AS index_def,
       c.conname AS constraint_name,
       pg_get_constraintdef(c.oid) AS constraint_def
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid
WHERE x.indrelid = 'incident'::regclass
ORDER BY i.relname
