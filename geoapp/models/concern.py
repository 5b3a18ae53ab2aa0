"""Residents' concerns, their status history and (separately) their contact details.

Contact details live in their own table so that nothing which serialises a
concern can reach them by accident; only coordinators read them, and each
reading is an audit event.
"""

from __future__ import annotations

import enum
from datetime import datetime

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import (
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from geoapp.models.base import Base


class Status(enum.StrEnum):
    """A concern's life: new -> under review -> accepted -> in progress -> resolved, or rejected."""

    NEW = "new"
    UNDER_REVIEW = "under_review"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    REJECTED = "rejected"


PUBLIC_STATUSES = (Status.ACCEPTED, Status.IN_PROGRESS, Status.RESOLVED)
# Closed: the reporter's contact is erased a set time after (GEOAPP_CONTACT_RETENTION_DAYS).
CLOSED_STATUSES = (Status.RESOLVED, Status.REJECTED)


class Concern(Base):
    """What a resident reported, where, and what became of it."""

    __tablename__ = "concern"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)  # a UUID4
    tracking_token: Mapped[str] = mapped_column(String(64), unique=True)  # the private link
    short_code: Mapped[str] = mapped_column(String(12), index=True)  # to read out on the phone
    client_token: Mapped[str] = mapped_column(String(64), unique=True)  # idempotent retries
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"))
    description: Mapped[str] = mapped_column(Text, default="")
    point: Mapped[WKBElement] = mapped_column(Geometry("POINT", srid=4326, spatial_index=True))
    public_point: Mapped[WKBElement] = mapped_column(Geometry("POINT", srid=4326))
    address: Mapped[str | None] = mapped_column(String(300))
    located_by: Mapped[str] = mapped_column(String(16))  # pin | device | geocoded
    geocode_score: Mapped[float | None] = mapped_column(Float)
    status: Mapped[Status] = mapped_column(
        Enum(Status, name="concern_status", values_callable=lambda e: [m.value for m in e]),
        default=Status.NEW, index=True,
    )  # fmt: skip
    support_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class ConcernContact(Base):
    """How to reach the resident, given with consent; coordinators only.

    Every field is a Fernet token (services/contacts.py seals and opens them with keys
    kept outside the database); an absent field is a sealed empty string, so a copy of
    the table tells neither the details nor which of them were given.  The CHECKs
    (migration 0016) refuse anything that is not a token.  The row is deleted a set
    time after the concern is closed (`geoapp contacts purge`).
    """

    __tablename__ = "concern_contact"

    concern_id: Mapped[int] = mapped_column(
        ForeignKey("concern.id", ondelete="CASCADE"), primary_key=True
    )
    name_enc: Mapped[str] = mapped_column(Text)
    phone_enc: Mapped[str] = mapped_column(Text)
    email_enc: Mapped[str] = mapped_column(Text)
    consent: Mapped[bool] = mapped_column(Boolean)


class ConcernPhoto(Base):
    """One photo of a concern, re-encoded (no metadata); staff only."""

    __tablename__ = "concern_photo"

    concern_id: Mapped[int] = mapped_column(
        ForeignKey("concern.id", ondelete="CASCADE"), primary_key=True
    )
    jpeg: Mapped[bytes] = mapped_column(LargeBinary)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)


class ConcernSupport(Base):
    """A resident's "me too" on an existing concern, once per client token."""

    __tablename__ = "concern_support"

    concern_id: Mapped[int] = mapped_column(
        ForeignKey("concern.id", ondelete="CASCADE"), primary_key=True
    )
    client_token: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ConcernEvent(Base):
    """One step in a concern's history: a status change, a note, a public answer."""

    __tablename__ = "concern_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    concern_id: Mapped[int] = mapped_column(
        ForeignKey("concern.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor_id: Mapped[int | None] = mapped_column(Integer)  # a staff user; None for the resident
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)  # staff only
    public_answer: Mapped[str | None] = mapped_column(Text)  # shown to the resident and public
