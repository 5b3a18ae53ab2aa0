"""Partner tokens: create (shown once), verify a bearer token, revoke.

A token is 32 random bytes, URL-safe; the database keeps its SHA-256 and an
8-character prefix to tell tokens apart in lists and in the audit trail.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from geoapp.models.community import Community
from geoapp.models.token import ApiToken
from geoapp.services import audit

PREFIX = "gp_"


def digest(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def create(
    session: Session, partner: str, communities: list[Community], days: int, actor: str
) -> tuple[str, ApiToken]:
    """Create a read-only token for `partner`, valid `days` days; return (token, row)."""
    if not partner.strip():
        raise ValueError("the partner needs a name")
    if len(partner.strip()) > 200:  # api_token.partner
        raise ValueError("the partner's name may have at most 200 characters")
    if days < 1 or days > 730:
        raise ValueError("a token lives between 1 and 730 days")
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        partner=partner.strip(), token_hash=digest(token), prefix=token[: len(PREFIX) + 6],
        expires_at=datetime.now(UTC) + timedelta(days=days), communities=communities,
    )  # fmt: skip
    session.add(row)
    session.flush()
    for community in communities:
        audit.record(session, "token.create", actor, community_id=community.id,
                     object_type="api_token", object_id=row.id,
                     details={"partner": row.partner, "prefix": row.prefix,
                              "expires": row.expires_at.date().isoformat()})  # fmt: skip
    session.commit()
    return token, row


def verify(session: Session, token: str) -> ApiToken | None:
    """The live token row for a bearer token, or None (unknown, revoked or expired)."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(token)))
    if row is None or row.revoked_at is not None or row.expires_at <= datetime.now(UTC):
        return None
    return row


def revoke(session: Session, token_id: int, actor: str) -> bool:
    """Revoke a token by id; False when there is no such live token."""
    row = session.get(ApiToken, token_id)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = datetime.now(UTC)
    for community in row.communities:
        audit.record(session, "token.revoke", actor, community_id=community.id,
                     object_type="api_token", object_id=row.id,
                     details={"partner": row.partner, "prefix": row.prefix})  # fmt: skip
    session.commit()
    return True
