"""concern support

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 19:42:11.521992

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "concern_support",
        sa.Column("concern_id", sa.Integer(), nullable=False),
        sa.Column("client_token", sa.String(length=64), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["concern_id"],
            ["concern.id"],
            name=op.f("fk_concern_support_concern_id_concern"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("concern_id", "client_token", name=op.f("pk_concern_support")),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("concern_support")
