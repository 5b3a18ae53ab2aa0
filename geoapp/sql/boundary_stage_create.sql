-- Rows of one file (or of the pilot manifest) before they meet the community table.
CREATE TEMP TABLE boundary_stage (
    katotth     text PRIMARY KEY,
    slug        text NOT NULL,
    name_uk     text NOT NULL,
    name_en     text NOT NULL,
    level       text NOT NULL,
    office      text,
    office_en   text,
    pilot       boolean NOT NULL,
    geom_wkb    bytea,
    metric_srid integer NOT NULL,
    source      text
) ON COMMIT DROP
