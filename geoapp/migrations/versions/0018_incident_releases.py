"""incident releases: a closed year's public table, frozen once published

Two releases of one period differ by exactly what was added between them, so a table that
is recomputed after every import lets anyone locate a single new offence (issue 18, attack
2).  The public and partners now read a *release*: one closed calendar year of one
community at one cell size, copied from `incident_cell` when staff publish it, holding only
what may be published (a withheld count is stored as NULL, never as its value), and never
changed again: a trigger refuses every UPDATE.  Deleting a community deletes its releases.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 14:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FROZEN = """
CREATE OR REPLACE FUNCTION incident_release_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is a published release and is never revised', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$;
"""


def upgrade() -> None:
    """Create the release tables and their no-revision triggers."""
    op.create_table(
        "incident_release",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("community_id", sa.Integer,
                  sa.ForeignKey("community.id", ondelete="CASCADE"), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("size_m", sa.Integer, nullable=False),
        sa.Column("k", sa.Integer, nullable=False),
        sa.Column("total", sa.Integer, nullable=True),
        sa.Column("incidents_at_release", sa.Integer, nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.text("now()")),
        sa.Column("released_by", sa.Text, nullable=False),
        sa.UniqueConstraint("community_id", "year", name="incident_release_once"),
    )  # fmt: skip
    op.create_table(
        "incident_release_cell",
        sa.Column("release_id", sa.Integer,
                  sa.ForeignKey("incident_release.id", ondelete="CASCADE"), nullable=False),
        sa.Column("i", sa.Integer, nullable=False),
        sa.Column("j", sa.Integer, nullable=False),
        sa.Column("n", sa.Integer, nullable=True),
        sa.PrimaryKeyConstraint("release_id", "i", "j"),
        sa.CheckConstraint("n IS NULL OR n >= 0", name="release_cell_count"),
    )  # fmt: skip
    op.execute(FROZEN)
    for table in ("incident_release", "incident_release_cell"):
        op.execute(f"CREATE TRIGGER {table}_frozen BEFORE UPDATE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION incident_release_frozen()")  # fmt: skip


def downgrade() -> None:
    """Drop the release tables."""
    op.drop_table("incident_release_cell")
    op.drop_table("incident_release")
    op.execute("DROP FUNCTION IF EXISTS incident_release_frozen()")
