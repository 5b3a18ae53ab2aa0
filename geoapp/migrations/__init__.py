"""Alembic migrations; `geoapp db upgrade` applies them (see geoapp.migrate)."""
