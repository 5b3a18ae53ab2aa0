"""sign-in safety: idle sessions, the pending second factor on the server, one use per code

`login_session.last_seen_at` lets a session end after a quiet spell as well as after its
absolute lifetime; `app_user.totp_pending` keeps a secret being enrolled on the server
(it used to travel in the client's cookie); `app_user.totp_last_step` is the last TOTP
time step accepted, so a code cannot be used twice.  `sign_in_failure_tally` counts
repeated identical failed sign-ins, so that a spray writes one audit event per window
and a number, not thousands of rows.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 09:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import INET

# revision identifiers, used by Alembic.
revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column(
        "login_session",
        sa.Column(
            "last_seen_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.add_column("app_user", sa.Column("totp_pending", sa.String(length=64), nullable=True))
    op.add_column("app_user", sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
    op.create_table(
        "sign_in_failure_tally",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("client_addr", INET(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("audit_event_id", sa.Integer(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False, server_default="1"),
        sa.Column(
            "last_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.execute(
        "CREATE UNIQUE INDEX sign_in_failure_tally_key ON sign_in_failure_tally "
        "(window_start, email, reason, coalesce(client_addr, '0.0.0.0'::inet))"
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("sign_in_failure_tally")
    op.drop_column("app_user", "totp_last_step")
    op.drop_column("app_user", "totp_pending")
    op.drop_column("login_session", "last_seen_at")
