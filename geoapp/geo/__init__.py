"""Geography: reading boundary files, CRS rules, geometry repair, KATOTTH, transliteration."""
