"""concerns indexed by community and time: the sensitive quarters and period filters

The quarterly release of sensitive counts asks, per sensitive category and quarter, how
many concerns of a community were reported in it, and where the community's series
starts (its first concern).  Without an index each was a scan of every concern: 12 s for
the first export of a community with a million concerns, 0.5 s for every later one
(bench/RESULTS.md, issue 18).  With these two the counts are index range scans.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 14:45:00

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Index concerns by (community, time) and (community, category, time)."""
    op.create_index("ix_concern_community_created", "concern", ["community_id", "created_at"])
    op.create_index("ix_concern_community_category_created", "concern",
                    ["community_id", "category_id", "created_at"])  # fmt: skip


def downgrade() -> None:
    """Drop the two indexes."""
    op.drop_index("ix_concern_community_category_created", table_name="concern")
    op.drop_index("ix_concern_community_created", table_name="concern")
