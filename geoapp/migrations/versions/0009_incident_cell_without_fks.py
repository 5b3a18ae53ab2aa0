"""incident_cell without foreign keys (a derived table; the checks slowed rebuilds)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-21 21:58:00

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.drop_constraint("fk_incident_cell_category_id_category", "incident_cell", type_="foreignkey")
    op.drop_constraint(
        "fk_incident_cell_community_id_community", "incident_cell", type_="foreignkey"
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.create_foreign_key(
        "fk_incident_cell_category_id_category",
        "incident_cell",
        "category",
        ["category_id"],
        ["id"],
    )
    op.create_foreign_key(
        "fk_incident_cell_community_id_community",
        "incident_cell",
        "community",
        ["community_id"],
        ["id"],
        ondelete="CASCADE",
    )
