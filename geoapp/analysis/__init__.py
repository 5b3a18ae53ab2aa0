"""Pure analysis functions: arrays in, arrays out; no database, no Flask."""
