INSERT INTO boundary_stage
    (katotth, slug, name_uk, name_en, level, office, office_en, pilot, geom_wkb, metric_srid, source)
VALUES
    (:katotth, :slug, :name_uk, :name_en, :level, :office, :office_en, :pilot, :geom_wkb,
     :metric_srid, :source)
