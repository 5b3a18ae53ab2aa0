"""concerns

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 19:22:43.587142

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_geospatial_table(
        "concern",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("tracking_token", sa.String(length=64), nullable=False),
        sa.Column("short_code", sa.String(length=12), nullable=False),
        sa.Column("client_token", sa.String(length=64), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "point",
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
        sa.Column(
            "public_point",
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
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("located_by", sa.String(length=16), nullable=False),
        sa.Column("geocode_score", sa.Float(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "new",
                "under_review",
                "accepted",
                "in_progress",
                "resolved",
                "rejected",
                name="concern_status",
            ),
            nullable=False,
        ),
        sa.Column("support_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["category_id"], ["category.id"], name=op.f("fk_concern_category_id_category")
        ),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_concern_community_id_community")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_concern")),
        sa.UniqueConstraint("client_token", name=op.f("uq_concern_client_token")),
        sa.UniqueConstraint("public_id", name=op.f("uq_concern_public_id")),
        sa.UniqueConstraint("tracking_token", name=op.f("uq_concern_tracking_token")),
    )
    op.create_geospatial_index(
        "idx_concern_point",
        "concern",
        ["point"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_geospatial_index(
        "idx_concern_public_point",
        "concern",
        ["public_point"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_concern_community_id"), "concern", ["community_id"], unique=False)
    op.create_index(op.f("ix_concern_short_code"), "concern", ["short_code"], unique=False)
    op.create_index(op.f("ix_concern_status"), "concern", ["status"], unique=False)
    op.create_table(
        "concern_contact",
        sa.Column("concern_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("consent", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["concern_id"],
            ["concern.id"],
            name=op.f("fk_concern_contact_concern_id_concern"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("concern_id", name=op.f("pk_concern_contact")),
    )
    op.create_table(
        "concern_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("concern_id", sa.Integer(), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("public_answer", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["concern_id"],
            ["concern.id"],
            name=op.f("fk_concern_event_concern_id_concern"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_concern_event")),
    )
    op.create_index(
        op.f("ix_concern_event_concern_id"), "concern_event", ["concern_id"], unique=False
    )
    op.add_column(
        "category", sa.Column("handling", sa.String(length=8), server_default="pin", nullable=False)
    )
    op.add_column("category", sa.Column("notice_uk", sa.String(length=500), nullable=True))
    op.add_column("category", sa.Column("notice_en", sa.String(length=500), nullable=True))
    op.add_column(
        "category", sa.Column("radius_m", sa.Integer(), server_default="100", nullable=False)
    )
    op.add_column(
        "category", sa.Column("position", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column("category", sa.Column("community_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        op.f("fk_category_community_id_community"),
        "category",
        "community",
        ["community_id"],
        ["id"],
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_constraint(op.f("fk_category_community_id_community"), "category", type_="foreignkey")
    op.drop_column("category", "community_id")
    op.drop_column("category", "position")
    op.drop_column("category", "radius_m")
    op.drop_column("category", "notice_en")
    op.drop_column("category", "notice_uk")
    op.drop_column("category", "handling")
    op.drop_index(op.f("ix_concern_event_concern_id"), table_name="concern_event")
    op.drop_table("concern_event")
    op.drop_table("concern_contact")
    op.drop_index(op.f("ix_concern_status"), table_name="concern")
    op.drop_index(op.f("ix_concern_short_code"), table_name="concern")
    op.drop_index(op.f("ix_concern_community_id"), table_name="concern")
    op.drop_geospatial_index(
        "idx_concern_public_point",
        table_name="concern",
        postgresql_using="gist",
        column_name="public_point",
    )
    op.drop_geospatial_index(
        "idx_concern_point", table_name="concern", postgresql_using="gist", column_name="point"
    )
    op.drop_geospatial_table("concern")
