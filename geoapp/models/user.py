"""Staff accounts, their per-community roles, and their signed-in sessions.

A role is held per community (a Bucha analyst is a stranger in Bolhrad).  Each
sign-in creates a `LoginSession` row whose random id is all the browser's
cookie carries, so signing out, or disabling the account, ends the session on
the server, not just in the browser.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import INET
from sqlalchemy.orm import Mapped, mapped_column, relationship

from geoapp.models.base import Base


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(cls, name=name, values_callable=lambda e: [m.value for m in e])


class Role(enum.StrEnum):
    """Roles in ascending power; each includes what the ones before it may do."""

    VIEWER = "viewer"
    ANALYST = "analyst"
    COORDINATOR = "coordinator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """Position in the order viewer < analyst < coordinator < admin."""
        return list(Role).index(self)


class Agency(enum.StrEnum):
    """The kind of organisation a staff member works for."""

    PROSECUTOR = "prosecutor"
    POLICE = "police"
    COUNCIL = "council"
    NGO = "ngo"


class User(Base):
    """A staff member: prosecutor, police officer, council or NGO employee."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    agency: Mapped[Agency] = mapped_column(_enum(Agency, "agency"))
    password_hash: Mapped[str] = mapped_column(String(200))
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    # A secret being enrolled: kept here, not in the client's cookie, until a code confirms it.
    totp_pending: Mapped[str | None] = mapped_column(String(64))
    # The last TOTP time step accepted: a code is good once, not for its whole 90 s window.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_sign_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )


class Membership(Base):
    """A user's role in one community."""

    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("user_id", "community_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("community.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    user: Mapped[User] = relationship(back_populates="memberships")


class LoginSession(Base):
    """One signed-in browser session; the cookie holds only `id`."""

    __tablename__ = "login_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Touched (at most once a minute) by requests; a session quiet longer than the idle
    # lifetime ends, as does one older than the absolute lifetime.
    last_seen_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    user: Mapped[User] = relationship(lazy="joined")


class SignInFailureTally(Base):
    """Identical failed sign-ins (same email, reason, address) counted per time window.

    The first failure of a window is an audit event; the repeats only raise `count`
    here, so a password spray cannot flood the append-only audit trail.
    """

    __tablename__ = "sign_in_failure_tally"

    id: Mapped[int] = mapped_column(primary_key=True)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    email: Mapped[str] = mapped_column(String(254))
    reason: Mapped[str] = mapped_column(String(32))
    client_addr: Mapped[str | None] = mapped_column(INET)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    audit_event_id: Mapped[int | None] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer, server_default="1")
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
