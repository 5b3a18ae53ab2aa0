CREATE TEMP TABLE gazetteer_stage (
    line integer, kind text, name text, street_key text, latin_key text, house text,
    house_number integer, old_key text, old_latin text, lon float8, lat float8
)
