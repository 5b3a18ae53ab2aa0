"""incident: the reference hash as 32 bytes; cell tables finer than a year counted on request

A million-row import wrote 64 hexadecimal characters per reference and 1.3 million cell
rows; the hash is now stored as its 32 bytes (half the unique index, and the binary COPY
sends it as it is), and `incident_cell` keeps only each cell's year and the community's
totals (finer tables are counted when an analyst asks).  The finer rows are deleted here;
a downgrade gets them back at the community's next import.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-22 02:10:00

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.execute(
        "ALTER TABLE incident ALTER COLUMN ref_hash TYPE bytea USING decode(ref_hash, 'hex')"
    )
    op.execute(
        "DELETE FROM incident_cell WHERE i IS NOT NULL "
        "AND (period <> 'year' OR category_id IS NOT NULL)"
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.execute(
        "ALTER TABLE incident ALTER COLUMN ref_hash TYPE varchar(64) USING encode(ref_hash, 'hex')"
    )
