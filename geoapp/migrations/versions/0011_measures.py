"""measures: preventive measures, their indicators, linked concerns and status history

The unit of joint planning (issue 8): what, who, by when, where (a target area that
the evaluation compares with a buffer and the rest of the community) and how it went.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-21 23:28:55.187146

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

# revision identifiers, used by Alembic.
revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_geospatial_table(
        "measure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "lighting",
                "cctv",
                "patrols",
                "environmental_design",
                "outreach",
                "social_services",
                "enforcement",
                "other",
                name="measure_kind",
            ),
            nullable=False,
        ),
        sa.Column("agency", sa.String(length=200), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("partners", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("proposed", "agreed", "in_progress", "done", "dropped", name="measure_status"),
            nullable=False,
        ),
        sa.Column("start_on", sa.Date(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("done_on", sa.Date(), nullable=True),
        sa.Column(
            "target",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column("target_source", sa.String(length=16), nullable=True),
        sa.Column("result_text", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
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
            ["community_id"], ["community.id"], name=op.f("fk_measure_community_id_community")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["app_user.id"],
            name=op.f("fk_measure_created_by_app_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measure")),
        sa.UniqueConstraint("public_id", name=op.f("uq_measure_public_id")),
    )
    op.create_geospatial_index(
        "idx_measure_target",
        "measure",
        ["target"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_measure_community_id"), "measure", ["community_id"], unique=False)
    op.create_table(
        "measure_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("measure_id", sa.Integer(), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["measure_id"],
            ["measure.id"],
            name=op.f("fk_measure_event_measure_id_measure"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measure_event")),
    )
    op.create_index(
        op.f("ix_measure_event_measure_id"), "measure_event", ["measure_id"], unique=False
    )
    op.create_table(
        "measure_indicator",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("measure_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("baseline", sa.Float(), nullable=False),
        sa.Column("goal", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["measure_id"],
            ["measure.id"],
            name=op.f("fk_measure_indicator_measure_id_measure"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measure_indicator")),
    )
    op.create_index(
        op.f("ix_measure_indicator_measure_id"), "measure_indicator", ["measure_id"], unique=False
    )
    op.create_table(
        "measure_concern",
        sa.Column("measure_id", sa.Integer(), nullable=False),
        sa.Column("concern_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["concern_id"],
            ["concern.id"],
            name=op.f("fk_measure_concern_concern_id_concern"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["measure_id"],
            ["measure.id"],
            name=op.f("fk_measure_concern_measure_id_measure"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("measure_id", "concern_id", name=op.f("pk_measure_concern")),
    )
    op.create_index(
        op.f("ix_measure_concern_concern_id"), "measure_concern", ["concern_id"], unique=False
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f("ix_measure_concern_concern_id"), table_name="measure_concern")
    op.drop_table("measure_concern")
    op.drop_index(op.f("ix_measure_indicator_measure_id"), table_name="measure_indicator")
    op.drop_table("measure_indicator")
    op.drop_index(op.f("ix_measure_event_measure_id"), table_name="measure_event")
    op.drop_table("measure_event")
    op.drop_index(op.f("ix_measure_community_id"), table_name="measure")
    op.drop_geospatial_index(
        "idx_measure_target", table_name="measure", postgresql_using="gist", column_name="target"
    )
    op.drop_geospatial_table("measure")
    sa.Enum(name="measure_status").drop(op.get_bind(), checkfirst=True)
    sa.Enum(name="measure_kind").drop(op.get_bind(), checkfirst=True)
