"""Which community is this point in?  One point for the API, millions for imports.

Both go through `community_part` (boundaries cut by ST_Subdivide, GiST-indexed):
a point is tested against a few small polygons, not a 20,000-vertex outline.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from geoapp import sql
from geoapp.models.community import CommunityLevel


@dataclass(frozen=True)
class Located:
    """A community containing a point."""

    katotth: str
    slug: str
    name_uk: str
    name_en: str
    level: str


def locate(session: Session, lon: float, lat: float) -> list[Located]:
    """Every community containing (lon, lat), the smallest first (district before hromada)."""
    rows = session.execute(sql.load("locate_point"), {"lon": lon, "lat": lat}).all()
    return [Located(r.katotth, r.slug, r.name_uk, r.name_en, r.level) for r in rows]


def assign_points(
    session: Session,
    lon: np.ndarray,
    lat: np.ndarray,
    level: CommunityLevel = CommunityLevel.HROMADA,
) -> np.ndarray:
    """Community id of each point at `level` (-1 where none), computed in PostGIS.

    Points travel by COPY into a temporary table (the fastest way in), then one
    indexed join assigns them all.  Runs in the caller's transaction.
    """
    n = len(lon)
    result = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return result
    session.execute(
        text(
            "CREATE TEMP TABLE IF NOT EXISTS assign_points "
            "(idx integer, geom geometry(Point, 4326)) ON COMMIT DROP"
        )
    )
    session.execute(text("TRUNCATE assign_points"))
    buf = io.StringIO()
    for i, (x, y) in enumerate(zip(lon.tolist(), lat.tolist(), strict=True)):
        buf.write(f"{i}\tSRID=4326;POINT({x!r} {y!r})\n")
    raw = session.connection().connection.dbapi_connection
    with raw.cursor() as cur, cur.copy("COPY assign_points (idx, geom) FROM STDIN") as copy:
        copy.write(buf.getvalue())
    session.execute(text("ANALYZE assign_points"))
    for idx, community_id in session.execute(sql.load("assign_points"), {"level": level.value}):
        result[idx] = community_id
    return result
