-- A generic load (a whole OSM folder, say) must not undo what the pilot manifest
-- decided about a pilot community: its slug, names, level and office stay;
-- only the boundary and its source may change.
UPDATE boundary_stage s
SET slug = c.slug, name_uk = c.name_uk, name_en = c.name_en, level = c.level::text,
    office = c.office, office_en = c.office_en, pilot = true
FROM community c
WHERE c.katotth = s.katotth AND c.pilot AND NOT s.pilot
