"""Partner API tokens: hashed, scoped to communities, read-only, expiring.

Only the SHA-256 of a token is stored (tokens are long random strings, so a
slow hash adds nothing); the token itself is shown once, when created.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, ForeignKey, String, Table, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from geoapp.models.base import Base
from geoapp.models.community import Community

token_community = Table(
    "api_token_community",
    Base.metadata,
    Column("token_id", ForeignKey("api_token.id", ondelete="CASCADE"), primary_key=True),
    Column("community_id", ForeignKey("community.id", ondelete="CASCADE"), primary_key=True),
)


class ApiToken(Base):
    """A partner's read-only access to the partner layers of some communities."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))  # shown in lists to tell tokens apart
    scope: Mapped[str] = mapped_column(String(32), server_default="read")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    communities: Mapped[list[Community]] = relationship(secondary=token_community, lazy="selectin")
