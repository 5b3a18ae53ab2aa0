"""Which community is this point in?  One point for the API, millions for imports.

Both go through `community_part` (boundaries cut by ST_Subdivide, GiST-indexed):
a point is tested against a few small polygons, not a 20,000-vertex outline.
"""

from __future__ import annotations

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

    The points travel by binary COPY into a temporary table and get a GiST
    index; one join then tests every boundary piece against the points it
    covers.  A point on a shared border goes to the lowest community id.
    Runs in the caller's transaction and leaves nothing behind.
    """
    n = len(lon)
    result = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return result
    for statement in _STAGE:
        session.execute(text(statement))
    raw = session.connection().connection.dbapi_connection
    with (
        raw.cursor() as cur,
        cur.copy("COPY assign_input (idx, lon, lat) FROM STDIN (FORMAT BINARY)") as copy,
    ):
        copy.set_types(["int4", "float8", "float8"])
        for row in zip(range(n), np.asarray(lon, float).tolist(), np.asarray(lat, float).tolist(),
                       strict=True):  # fmt: skip
            copy.write_row(row)
    for statement in _INDEX:
        session.execute(text(statement))
    with raw.cursor() as cur:  # plain tuples: SQLAlchemy rows cost more than the query
        cur.execute(sql.raw("assign_points"), {"level": level.value})
        pairs = np.array(cur.fetchall(), dtype=np.int64).reshape(-1, 2)
    session.execute(text("DROP TABLE assign_points"))
    if len(pairs):
        pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]
        first = np.ones(len(pairs), dtype=bool)
        first[1:] = pairs[1:, 0] != pairs[:-1, 0]
        result[pairs[first, 0]] = pairs[first, 1]
    return result


_STAGE = (
    "SET LOCAL jit = off",  # compiling this one query costs more than it saves
    "DROP TABLE IF EXISTS assign_input, assign_points",
    "CREATE TEMP TABLE assign_input (idx integer, lon float8, lat float8)",
)
_INDEX = (
    "CREATE TEMP TABLE assign_points AS "
    "SELECT idx, ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS geom FROM assign_input",
    "DROP TABLE assign_input",
    "CREATE INDEX ON assign_points USING gist (geom)",
    "ANALYZE assign_points",
)
