"""sensitive category counts: frozen releases per closed calendar quarter

Counts of concerns in sensitive categories used to be published live per community with
no threshold: `n: 1` was published, and each change dated one acceptance (issue 18,
attack 3).  Now a closed quarter is released once, GEOAPP_SENSITIVE_RELEASE_LAG_DAYS after
it ends, the first time anyone asks for it (services.sensitive_counts): `sensitive_release`
records that it was released (even with nothing to count) and `sensitive_release_count` its
count per sensitive category, with the k it was released under, so a later change of k or
of a concern's status changes nothing already published.  No release time is kept: it
would be the time of the first visit after the lag, and nothing is stored per visitor.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 09:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0020"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "sensitive_release",
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("quarter_start", sa.Date(), nullable=False),
        sa.Column("k", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["community_id"], ["community.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("community_id", "quarter_start"),
        sa.CheckConstraint("k >= 1", name="ck_sensitive_release_k"),
        sa.CheckConstraint(
            "extract(day FROM quarter_start) = 1 AND "
            "extract(month FROM quarter_start) IN (1, 4, 7, 10)",
            name="ck_sensitive_release_quarter",
        ),
    )
    op.create_table(
        "sensitive_release_count",
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("quarter_start", sa.Date(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id", "quarter_start"],
            ["sensitive_release.community_id", "sensitive_release.quarter_start"],
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["category_id"], ["category.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("community_id", "quarter_start", "category_id"),
        sa.CheckConstraint("n >= 0", name="ck_sensitive_release_count_n"),
    )
    # Frozen: once written, a release is never changed (a revision would date a change).
    op.execute("""
CREATE FUNCTION sensitive_release_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is frozen: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER sensitive_release_frozen BEFORE UPDATE ON sensitive_release
    FOR EACH ROW EXECUTE FUNCTION sensitive_release_frozen();
CREATE TRIGGER sensitive_release_count_frozen BEFORE UPDATE ON sensitive_release_count
    FOR EACH ROW EXECUTE FUNCTION sensitive_release_frozen();
""")


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("sensitive_release_count")
    op.drop_table("sensitive_release")
    op.execute("DROP FUNCTION sensitive_release_frozen()")
