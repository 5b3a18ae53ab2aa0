"""planning sessions: participants, agenda with evidence, saved map state; measures' session

Joint planning (issue 8): a session reopens with the map as it was shown, and the
measures decided in it point back to it (and to the priority they answer).
Numbered 0013 so that 0012 stays free for the export work done in parallel.

Revision ID: 0013
Revises: 0011
Create Date: 2026-11-21 23:54:29.029387

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "0013"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "planning_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column(
            "participants",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column(
            "map_state",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
            name=op.f("fk_planning_session_community_id_community"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["app_user.id"],
            name=op.f("fk_planning_session_created_by_app_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planning_session")),
    )
    op.create_index(
        op.f("ix_planning_session_community_id"), "planning_session", ["community_id"], unique=False
    )
    op.create_table(
        "session_priority",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column(
            "evidence", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["planning_session.id"],
            name=op.f("fk_session_priority_session_id_planning_session"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_priority")),
    )
    op.create_index(
        op.f("ix_session_priority_session_id"), "session_priority", ["session_id"], unique=False
    )
    op.add_column("measure", sa.Column("session_id", sa.Integer(), nullable=True))
    op.add_column("measure", sa.Column("priority_id", sa.Integer(), nullable=True))
    op.create_index(op.f("ix_measure_session_id"), "measure", ["session_id"], unique=False)
    op.create_foreign_key(
        op.f("fk_measure_session_id_planning_session"),
        "measure",
        "planning_session",
        ["session_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_foreign_key(
        op.f("fk_measure_priority_id_session_priority"),
        "measure",
        "session_priority",
        ["priority_id"],
        ["id"],
        ondelete="SET NULL",
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_constraint(
        op.f("fk_measure_priority_id_session_priority"), "measure", type_="foreignkey"
    )
    op.drop_constraint(
        op.f("fk_measure_session_id_planning_session"), "measure", type_="foreignkey"
    )
    op.drop_index(op.f("ix_measure_session_id"), table_name="measure")
    op.drop_column("measure", "priority_id")
    op.drop_column("measure", "session_id")
    op.drop_index(op.f("ix_session_priority_session_id"), table_name="session_priority")
    op.drop_table("session_priority")
    op.drop_index(op.f("ix_planning_session_community_id"), table_name="planning_session")
    op.drop_table("planning_session")
