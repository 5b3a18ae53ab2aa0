"""Alembic environment: runs migrations on the URL geoapp passes in.

GeoAlchemy2's helpers keep spatial indexes and geometry columns out of the
way of autogenerate's false diffs.
"""

from alembic import context
from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine

from geoapp.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Apply migrations over one connection inside one transaction."""
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            include_object=alembic_helpers.include_object,
            process_revision_directives=alembic_helpers.writer,
            render_item=alembic_helpers.render_item,
            include_name=lambda name, type_, _p: (
                not (type_ == "table" and name in {"spatial_ref_sys"})
            ),
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
