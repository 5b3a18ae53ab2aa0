"""gazetteer

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 18:58:36.879291

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_geospatial_table(
        "gazetteer_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("street_key", sa.String(length=300), nullable=False),
        sa.Column("latin_key", sa.String(length=300), nullable=False),
        sa.Column("house", sa.String(length=32), nullable=True),
        sa.Column("house_number", sa.Integer(), nullable=True),
        sa.Column("canonical_key", sa.String(length=300), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
            name=op.f("fk_gazetteer_entry_community_id_community"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gazetteer_entry")),
    )
    op.create_geospatial_index(
        "idx_gazetteer_entry_geom",
        "gazetteer_entry",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        "ix_gazetteer_latin_trgm",
        "gazetteer_entry",
        ["latin_key"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"latin_key": "gin_trgm_ops"},
        postgresql_where=sa.text("kind <> 'address'"),
    )
    op.create_index(
        "ix_gazetteer_lookup",
        "gazetteer_entry",
        ["community_id", "kind", "street_key", "house"],
        unique=False,
    )
    op.create_index(
        "ix_gazetteer_street_trgm",
        "gazetteer_entry",
        ["street_key"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"street_key": "gin_trgm_ops"},
        postgresql_where=sa.text("kind <> 'address'"),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(
        "ix_gazetteer_street_trgm",
        table_name="gazetteer_entry",
        postgresql_using="gin",
        postgresql_ops={"street_key": "gin_trgm_ops"},
    )
    op.drop_index("ix_gazetteer_lookup", table_name="gazetteer_entry")
    op.drop_index(
        "ix_gazetteer_latin_trgm",
        table_name="gazetteer_entry",
        postgresql_using="gin",
        postgresql_ops={"latin_key": "gin_trgm_ops"},
    )
    op.drop_geospatial_index(
        "idx_gazetteer_entry_geom",
        table_name="gazetteer_entry",
        postgresql_using="gist",
        column_name="geom",
    )
    op.drop_geospatial_table("gazetteer_entry")
