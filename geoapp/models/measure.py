"""Preventive measures agreed in joint sessions: what, who, by when, where, and how it went.

A measure is the unit the prosecutor, the police and the council come back to: it has an
owner and a date (so an overdue one stands out), a target area (so its effect can be
evaluated against a buffer and the rest of the community), indicators with a baseline,
and links to the residents' concerns it answers (so a resident's tracking page can say
what was done).  Its status history is kept like a concern's.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import Date, DateTime, Enum, Float, ForeignKey, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from geoapp.models.base import Base


class MeasureKind(enum.StrEnum):
    """The kinds of measure the pilot offices plan (the issue's list)."""

    LIGHTING = "lighting"
    CCTV = "cctv"
    PATROLS = "patrols"
    ENVIRONMENTAL_DESIGN = "environmental_design"
    OUTREACH = "outreach"
    SOCIAL_SERVICES = "social_services"
    ENFORCEMENT = "enforcement"
    OTHER = "other"


class MeasureStatus(enum.StrEnum):
    """proposed -> agreed -> in progress -> done, or dropped on the way."""

    PROPOSED = "proposed"
    AGREED = "agreed"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    DROPPED = "dropped"


def _enum(kind: type[enum.StrEnum], name: str) -> Enum:
    return Enum(kind, name=name, values_callable=lambda e: [m.value for m in e])


class Measure(Base):
    """One preventive measure of a community."""

    __tablename__ = "measure"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)  # a UUID4, for URLs
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[MeasureKind] = mapped_column(_enum(MeasureKind, "measure_kind"))
    agency: Mapped[str] = mapped_column(String(200))  # responsible agency
    owner: Mapped[str] = mapped_column(String(200))  # the person answerable for it
    partners: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[MeasureStatus] = mapped_column(
        _enum(MeasureStatus, "measure_status"), default=MeasureStatus.PROPOSED
    )
    start_on: Mapped[date | None] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date)
    done_on: Mapped[date | None] = mapped_column(Date)
    # Staff see the drawn area; the public map gets it generalised (`public_area`).
    target: Mapped[WKBElement | None] = mapped_column(
        Geometry("MULTIPOLYGON", srid=4326, spatial_index=True)
    )
    target_source: Mapped[str | None] = mapped_column(String(16))  # drawn | hotspots | concerns
    result_text: Mapped[str] = mapped_column(Text, default="")  # what was done, for residents
    # Decided in a planning session (and for which of its priorities), when it was.
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("planning_session.id", ondelete="SET NULL"), index=True
    )
    priority_id: Mapped[int | None] = mapped_column(
        ForeignKey("session_priority.id", ondelete="SET NULL")
    )
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class MeasureIndicator(Base):
    """What will show whether the measure worked, with its value before it started."""

    __tablename__ = "measure_indicator"

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(
        ForeignKey("measure.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    baseline: Mapped[float] = mapped_column(Float)
    goal: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(40), default="")


class MeasureConcern(Base):
    """A resident's concern that the measure answers."""

    __tablename__ = "measure_concern"

    measure_id: Mapped[int] = mapped_column(
        ForeignKey("measure.id", ondelete="CASCADE"), primary_key=True
    )
    concern_id: Mapped[int] = mapped_column(
        ForeignKey("concern.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class MeasureEvent(Base):
    """One step in a measure's history: who moved it from what to what, and when."""

    __tablename__ = "measure_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(
        ForeignKey("measure.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor_id: Mapped[int | None] = mapped_column(Integer)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
