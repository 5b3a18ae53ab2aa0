-- Insert new communities, update changed ones, leave identical ones untouched
-- (so loading the same file twice changes nothing, not even updated_at).
-- `source` is not part of "changed": the same unit may stand, identical, in two
-- files (Kyiv's districts do), and reading it from the other file changes nothing.
INSERT INTO community AS c
    (katotth, slug, name_uk, name_en, level, office, office_en, pilot, geom, metric_srid, source)
SELECT s.katotth, s.slug, s.name_uk, s.name_en, s.level::community_level, s.office, s.office_en,
       s.pilot, ST_Multi(ST_GeomFromWKB(s.geom_wkb, 4326)), s.metric_srid, s.source
FROM boundary_stage s
ON CONFLICT (katotth) DO UPDATE
SET slug = EXCLUDED.slug, name_uk = EXCLUDED.name_uk, name_en = EXCLUDED.name_en,
    level = EXCLUDED.level, office = EXCLUDED.office, office_en = EXCLUDED.office_en,
    pilot = EXCLUDED.pilot, geom = EXCLUDED.geom, metric_srid = EXCLUDED.metric_srid,
    source = EXCLUDED.source, updated_at = now()
WHERE (c.slug, c.name_uk, c.name_en, c.level, c.office, c.office_en, c.pilot, c.metric_srid,
       ST_AsEWKB(c.geom))
   IS DISTINCT FROM
      (EXCLUDED.slug, EXCLUDED.name_uk, EXCLUDED.name_en, EXCLUDED.level, EXCLUDED.office,
       EXCLUDED.office_en, EXCLUDED.pilot, EXCLUDED.metric_srid, ST_AsEWKB(EXCLUDED.geom))
RETURNING c.id, (xmax = 0) AS inserted
