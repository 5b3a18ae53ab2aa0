"""concern photo

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 19:52:58.124881

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "concern_photo",
        sa.Column("concern_id", sa.Integer(), nullable=False),
        sa.Column("jpeg", sa.LargeBinary(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["concern_id"],
            ["concern.id"],
            name=op.f("fk_concern_photo_concern_id_concern"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("concern_id", name=op.f("pk_concern_photo")),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("concern_photo")
