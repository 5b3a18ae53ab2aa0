"""Reading communities for pages and the API: lists, one by slug, its boundary.

Flask-free, so that the CLI, the pages and the API read the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from geoapp import sql
from geoapp.models.community import Community


@dataclass(frozen=True)
class CommunitySummary:
    """What a list of communities shows: identity, extent and whether a boundary exists."""

    id: int
    slug: str
    katotth: str
    name_uk: str
    name_en: str
    level: str
    office_uk: str | None
    office_en: str | None
    pilot: bool
    bbox: tuple[float, float, float, float] | None
    area_km2: float | None


def list_communities(
    session: Session,
    pilot_only: bool = False,
    slug: str | None = None,
    ids: list[int] | None = None,
) -> list[CommunitySummary]:
    """Communities with bbox and area, pilot communities first, then by name."""
    params = {"pilot_only": pilot_only, "slug": slug, "ids": ids}
    return [
        CommunitySummary(
            r.id, r.slug, r.katotth, r.name_uk, r.name_en, r.level, r.office, r.office_en, r.pilot,
            (r.xmin, r.ymin, r.xmax, r.ymax) if r.xmin is not None else None, r.area_km2,
        )
        for r in session.execute(sql.load("community_list"), params)
    ]  # fmt: skip


def get_by_slug(session: Session, slug: str) -> Community | None:
    """The community with this slug, or None."""
    return session.scalars(select(Community).where(Community.slug == slug)).one_or_none()


def summary_by_slug(session: Session, slug: str) -> CommunitySummary | None:
    """One community's summary (bbox, area), or None."""
    found = list_communities(session, slug=slug)
    return found[0] if found else None


def boundary_geojson(session: Session, community_id: int, tolerance_m: float = 0.0) -> str | None:
    """The boundary as GeoJSON text (6 decimals), simplified by `tolerance_m` metres if > 0.

    Simplification happens in the community's metric CRS so the tolerance
    means the same in Lviv and in Crimea; topology is preserved.
    """
    return session.scalar(
        sql.load("community_boundary"), {"id": community_id, "tolerance": tolerance_m}
    )


def covers(session: Session, community_id: int, lon: float, lat: float) -> bool:
    """True when the community's boundary contains (lon, lat); False without a boundary."""
    return bool(
        session.scalar(
            text("SELECT ST_Covers(geom, ST_SetSRID(ST_MakePoint(:x, :y), 4326)) "
                 "FROM community WHERE id = :c"), {"x": lon, "y": lat, "c": community_id},
        )
    )  # fmt: skip
