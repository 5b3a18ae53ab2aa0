"""Joint planning sessions: who sat around the map, what they put first, what they saw.

A session is the meeting of prosecutor, police and council over the community's map.
It keeps the participants by agency, an agenda of at most three priorities (each with
the evidence shown for it, frozen as it was that day, so the minutes do not change when
new data arrives), the decisions (measures whose `session_id` points here) and the exact
map state on the screen (layers, filters, period, extent), so it reopens as it was.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from geoapp.models.base import Base

MAX_PRIORITIES = 3  # the "at most three": a session that agrees on more agrees on none


class PlanningSession(Base):
    """One joint planning session of a community."""

    __tablename__ = "planning_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(200))
    # [{"name": ..., "agency": "prosecutor|police|council|ngo|other"}], in the order added
    participants: Mapped[list[dict[str, str]]] = mapped_column(JSONB, server_default="[]")
    # {"center": [lat, lon], "zoom": z, "overlays": [...], "filters": {...}}; see planning
    map_state: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SessionPriority(Base):
    """One item of a session's agenda, with the evidence shown for it."""

    __tablename__ = "session_priority"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("planning_session.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)  # 1..MAX_PRIORITIES
    title: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    # {"source": "hotspots", "cells": [[i, j]], "size_m": 500, "from": ..., "to": ...,
    #  "incidents": n, "concerns": n, "gi_bin": b} -- frozen when the priority was added
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
