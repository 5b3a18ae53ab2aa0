"""Recorded criminal offences, and the import batches they came in.

Individual incidents are for analysts only; everything public is counted and
suppressed first.  The source reference is kept only as a keyed hash: enough to
recognise the same record imported twice, useless for finding the case.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from geoapp.models.base import Base


class ImportBatch(Base):
    """One imported file: what it was, what was accepted, what was refused and why."""

    __tablename__ = "import_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    file_name: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    profile: Mapped[str] = mapped_column(String(64))
    accepted: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer)
    errors: Mapped[list[Any]] = mapped_column(JSONB, server_default="[]")
    actor: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Incident(Base):
    """One recorded offence: where, when, which article; no names, no case number.

    The references (batch, its community, category) are checked by statement-level
    triggers (migration 0010), not foreign keys: one join per COPY instead of three lookups
    per row, which was half of a million-row import.  Deleting a batch deletes its
    incidents the same way.  The point index is a BRIN: the importer writes each batch in
    spatial order, and a GiST cost a quarter of the import (bench/RESULTS.md).
    """

    __tablename__ = "incident"
    __table_args__ = (
        UniqueConstraint("community_id", "ref_hash"),
        Index("ix_incident_point_brin", "point", postgresql_using="brin"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(Integer)
    category_id: Mapped[int] = mapped_column(Integer, index=True)
    article: Mapped[str] = mapped_column(String(16))
    occurred_on: Mapped[date] = mapped_column(Date, index=True)
    point: Mapped[WKBElement] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    ref_hash: Mapped[bytes] = mapped_column(LargeBinary)  # HMAC-SHA256, 32 bytes
    batch_id: Mapped[int] = mapped_column(Integer)


class IncidentCell(Base):
    """A count of incidents per hexagonal cell, group and period, rebuilt after each import.

    `i`, `j` are PostGIS `ST_Hexagon` indices in the community's metric CRS (origin 0,0), so
    cells are fixed geographies: the same cell has the same shape in every query, which
    stops differencing of arbitrary areas.  A null `category_id` is all groups together; a
    null `i`/`j` is the whole community.  `suppressed` is set only for the public cell sizes:
    true when the count may not be published (k-rule or a complement), null for sizes that
    are for staff only.
    """

    __tablename__ = "incident_cell"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # No foreign keys: a derived table, rebuilt whole from `incident` (which has them); the
    # per-row checks cost about as much as the rest of a million-row rebuild (bench/).
    community_id: Mapped[int] = mapped_column(Integer)
    size_m: Mapped[int] = mapped_column(Integer)
    period: Mapped[str] = mapped_column(String(7))
    period_start: Mapped[date] = mapped_column(Date)
    category_id: Mapped[int | None] = mapped_column(Integer)
    i: Mapped[int | None] = mapped_column(Integer)
    j: Mapped[int | None] = mapped_column(Integer)
    n: Mapped[int] = mapped_column(Integer)
    suppressed: Mapped[bool | None] = mapped_column(Boolean)

    __table_args__ = (
        Index("ix_incident_cell_lookup", "community_id", "size_m", "period", "period_start",
              "category_id"),
    )  # fmt: skip
