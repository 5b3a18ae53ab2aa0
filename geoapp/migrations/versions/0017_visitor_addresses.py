"""visitors leave no address: public exports counted, staff and partner addresses expire

Anonymous exports and OGC pages used to write the caller's address, to the microsecond,
into the append-only audit trail: a resident who opened the Crimea map and reported a
minute later could be linked to the report by whoever reads a backup.  They are now one
counter per day, community, layer and format (`public_export_tally`), with no address.
Staff and partner events keep their address for a retention period, after which it is
erased: the append-only trigger lets exactly one change through, `client_addr` from an
address to NULL with everything else equal.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 10:20:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY_BUT_FORGET_ADDRESSES = """
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.client_addr IS NOT NULL AND NEW.client_addr IS NULL
       AND (to_jsonb(NEW) - 'client_addr') = (to_jsonb(OLD) - 'client_addr') THEN
        RETURN NEW;  -- forgetting an address after its retention is the one change allowed
    END IF;
    RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
"""

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
"""


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "public_export_tally",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("layer", sa.String(length=64), nullable=False),
        sa.Column("fmt", sa.String(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("features", sa.BigInteger(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("day", "community_id", "layer", "fmt"),
    )
    # Past anonymous exports: their addresses go now (the events themselves stay).
    op.execute(APPEND_ONLY_BUT_FORGET_ADDRESSES)
    op.execute(
        "UPDATE audit_event SET client_addr = NULL WHERE action = 'layer.export' "
        "AND actor = 'public' AND client_addr IS NOT NULL"
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.execute(APPEND_ONLY)
    op.drop_table("public_export_tally")
