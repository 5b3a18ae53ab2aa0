"""A community: the unit of access control, of export and of distribution.

Every administrative unit geoapp knows is a row here: the pilot communities and,
when an admin loads a whole boundary folder, every hromada, raion and city
district of Ukraine, so that a point can be placed in its community anywhere.
"""

from __future__ import annotations

import enum
from datetime import datetime

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import Boolean, DateTime, Enum, ForeignKey, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from geoapp.models.base import Base


class CommunityLevel(enum.StrEnum):
    """Administrative level, after the KATOTTH codifier's categories."""

    OBLAST = "oblast"
    ARC = "arc"  # Autonomous Republic of Crimea
    SPECIAL_CITY = "special_city"  # Kyiv, Sevastopol
    RAION = "raion"
    HROMADA = "hromada"
    CITY_DISTRICT = "city_district"
    SETTLEMENT = "settlement"


class Community(Base):
    """One administrative unit with its boundary (which may be unknown)."""

    __tablename__ = "community"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    katotth: Mapped[str] = mapped_column(String(19), unique=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name_uk: Mapped[str] = mapped_column(String(255))
    name_en: Mapped[str] = mapped_column(String(255))
    level: Mapped[CommunityLevel] = mapped_column(
        Enum(CommunityLevel, name="community_level", values_callable=lambda e: [m.value for m in e])
    )
    office: Mapped[str | None] = mapped_column(String(255))
    office_en: Mapped[str | None] = mapped_column(String(255))
    pilot: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    geom: Mapped[WKBElement | None] = mapped_column(
        Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=True
    )
    metric_srid: Mapped[int] = mapped_column(Integer)
    source: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class CommunityPart(Base):
    """A community's boundary cut into small pieces (ST_Subdivide) for fast lookups.

    A point-in-polygon test against a 10,000-vertex hromada is slow; against
    pieces of at most a few hundred vertices, found through a GiST index, it
    is cheap.  The loader keeps this table in step with `community.geom`.
    """

    __tablename__ = "community_part"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("community.id", ondelete="CASCADE"), index=True
    )
    geom: Mapped[WKBElement] = mapped_column(
        Geometry("POLYGON", srid=4326, spatial_index=True), nullable=False
    )
