"""concern_contact: every field a Fernet token, sealed with keys kept outside the database

Privacy rule 1.  The plaintext columns name, phone, email become name_enc, phone_enc,
email_enc (Fernet tokens; an absent field is a sealed empty string).  Existing contacts
are sealed here with the configured key (GEOAPP_CONTACT_KEY_FILE or GEOAPP_CONTACT_KEYS,
or the local-development key under var/); with contacts stored and no key configured the
migration stops and says so, rather than keep plaintext or destroy what residents gave.
CHECK constraints refuse anything that is not a Fernet token from now on.

The old values may linger in the table's free space, the WAL and backups: run
`VACUUM FULL concern_contact` after this migration and let old backups expire (README).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 09:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIELDS = ("name", "phone", "email")
# Fernet tokens are url-safe base64 of 0x80 and a 64-bit timestamp: "gAAAAA" until 2106.
TOKEN_PREFIX = "gAAAAA"


def _keys():
    from geoapp.config import from_environment
    from geoapp.services.contact_keys import ContactKeyError, from_settings

    try:
        keys = from_settings(from_environment())
    except ContactKeyError as exc:
        raise RuntimeError(f"migration 0016 cannot seal the stored contacts: {exc}") from exc
    if keys is None:
        raise RuntimeError(
            "migration 0016: residents' contacts are stored in plaintext and must be "
            "encrypted, but no contact key is configured. Set GEOAPP_CONTACT_KEY_FILE (a "
            "mode-600 file with a Fernet key; see README) or GEOAPP_CONTACT_KEYS, then run "
            "`geoapp db upgrade` again. Nothing was changed."
        )
    return keys


def upgrade() -> None:
    """Seal the stored contacts and replace the plaintext columns."""
    conn = op.get_bind()
    for field in FIELDS:
        op.add_column("concern_contact", sa.Column(f"{field}_enc", sa.Text(), nullable=True))
    rows = conn.execute(sa.text("SELECT concern_id, name, phone, email FROM concern_contact"))
    rows = rows.all()
    if rows:
        keys = _keys()
        update = sa.text(
            "UPDATE concern_contact SET name_enc = :n, phone_enc = :p, email_enc = :e "
            "WHERE concern_id = :i"
        )
        for row in rows:
            conn.execute(update, {"i": row.concern_id, "n": keys.seal(row.name),
                                  "p": keys.seal(row.phone), "e": keys.seal(row.email)})  # fmt: skip
    for field in FIELDS:
        op.drop_column("concern_contact", field)
        op.alter_column("concern_contact", f"{field}_enc", nullable=False)
        op.create_check_constraint(
            op.f(f"ck_concern_contact_{field}_enc_is_token"),
            "concern_contact",
            f"{field}_enc LIKE '{TOKEN_PREFIX}%'",
        )


def downgrade() -> None:
    """Open the stored contacts back into plaintext columns (needs the same key)."""
    conn = op.get_bind()
    op.add_column("concern_contact", sa.Column("name", sa.String(200), nullable=True))
    op.add_column("concern_contact", sa.Column("phone", sa.String(40), nullable=True))
    op.add_column("concern_contact", sa.Column("email", sa.String(254), nullable=True))
    rows = conn.execute(
        sa.text("SELECT concern_id, name_enc, phone_enc, email_enc FROM concern_contact")
    ).all()
    if rows:
        keys = _keys()
        update = sa.text(
            "UPDATE concern_contact SET name = :n, phone = :p, email = :e WHERE concern_id = :i"
        )
        for row in rows:
            conn.execute(update, {"i": row.concern_id, "n": keys.unseal(row.name_enc),
                                  "p": keys.unseal(row.phone_enc),
                                  "e": keys.unseal(row.email_enc)})  # fmt: skip
    for field in FIELDS:
        op.drop_constraint(
            op.f(f"ck_concern_contact_{field}_enc_is_token"), "concern_contact", type_="check"
        )
        op.drop_column("concern_contact", f"{field}_enc")
