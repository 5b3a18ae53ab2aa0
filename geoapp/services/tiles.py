"""Vector tiles (Mapbox Vector Tile) from PostGIS, cached per data version.

Why tiles: an analyst's community holds up to millions of incidents, more than a browser
can take as GeoJSON (the GeoJSON layer stops at `privacy.MAX_POINTS`).  `ST_AsMVT` cuts
and encodes a tile in the database; at zoom `CELL_ZOOM_MAX` and out, incidents are
counted per square cell (`CELLS` x `CELLS` per tile) so a tile stays small whatever it
covers, and from the next zoom in they are single points.

Which columns a tile carries is fixed by its SQL; `render` refuses to run one whose
columns are not all on the layer's whitelist (privacy.py's rule, applied to tiles).
Tiles are cached under a key that holds the data version of the communities they show
(the import batches for incidents, the latest change for concerns), so an import or a
moderation step makes new keys and an old tile is never served after one.  Flask-free.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geoapp import privacy, sql
from geoapp.layers.spec import LayerSpec

CELL_ZOOM_MAX = 12
CELLS = 64
MAX_ZOOM = 22
CACHE_SECONDS = 24 * 3600


class TileError(ValueError):
    """A tile address is impossible (zoom out of range, x or y outside the zoom's grid)."""


@dataclass(frozen=True)
class TileSource:
    """How one layer source is tiled: its SQL (points and cells) and the columns it sends."""

    points_sql: str
    columns: tuple[str, ...]
    cells_sql: str | None = None
    cell_columns: tuple[str, ...] = ()
    filters: frozenset[str] = frozenset()  # the layer parameters its tiles take
    version_sql: str = (
        "SELECT coalesce(max(id), 0) || '.' || count(*) FROM import_batch "
        "WHERE community_id = ANY(CAST(:ids AS integer[]))"
    )


# One per tiled source kind; the layer sources (`geoapp.layers.sources`) hold them.
INCIDENTS = TileSource(
    "tile_incidents_points",
    ("group", "article", "occurred_on"),
    "tile_incidents_cells",
    ("count",),
    filters=frozenset({"period", "group"}),
)
CONCERNS = TileSource(
    "tile_concerns",
    ("category", "status"),
    version_sql="SELECT coalesce(max(updated_at)::text, '-') || '.' || count(*) "
    "FROM concern WHERE community_id = ANY(CAST(:ids AS integer[]))",
)
BOUNDARIES = TileSource(
    "tile_boundaries",
    ("katotth", "name_uk", "name_en", "level"),
    version_sql="SELECT coalesce(max(updated_at)::text, '-') FROM community "
    "WHERE id = ANY(CAST(:ids AS integer[]))",
)


def check_address(z: int, x: int, y: int) -> None:
    """Refuse a tile that does not exist in the Web Mercator grid."""
    if not 0 <= z <= MAX_ZOOM:
        raise TileError(f"zoom must be 0 to {MAX_ZOOM}")
    if not (0 <= x < 2**z and 0 <= y < 2**z):
        raise TileError(f"x and y must be 0 to {2**z - 1} at zoom {z}")


def _statement(spec: LayerSpec, source: TileSource, z: int) -> tuple[str, int | None]:
    """The SQL file for this zoom, having checked its columns against the whitelist."""
    cells = source.cells_sql is not None and z <= CELL_ZOOM_MAX
    name, columns = (
        (source.cells_sql, source.cell_columns) if cells else (source.points_sql, source.columns)
    )
    allowed = spec.aggregate_properties if cells else spec.properties
    stray = [c for c in columns if c not in allowed]
    if stray:
        raise PermissionError(f"{spec.path}: tile columns {stray} are not whitelisted")
    return str(name), CELLS if cells else None


@dataclass(frozen=True)
class TileFilter:
    """Optional narrowing of incident tiles: days [start, stop) and one group."""

    start: date | None = None
    stop: date | None = None
    category_id: int | None = None


def render(
    session: Session, spec: LayerSpec, source: TileSource, z: int, x: int, y: int,
    ids: list[int], only: TileFilter = TileFilter(),
) -> bytes:  # fmt: skip
    """One tile of `spec` over the communities `ids` (empty bytes when nothing is there)."""
    check_address(z, x, y)
    name, cells = _statement(spec, source, z)
    params: dict[str, Any] = {"z": z, "x": x, "y": y, "ids": ids, "layer": spec.id,
                              **asdict(only), **privacy.policy_params()}  # fmt: skip
    if cells is not None:
        params["cells"] = cells
    tile = session.execute(sql.load(name), params).scalar()
    return bytes(tile or b"")


def data_version(session: Session, source: TileSource, ids: list[int]) -> str:
    """What changes when the data under the layer's tiles changes (part of the cache key)."""
    version = session.execute(text(source.version_sql), {"ids": ids}).scalar()
    return str(version)


def cache_key(
    spec: LayerSpec, z: int, x: int, y: int, ids: list[int], version: str,
    only: TileFilter = TileFilter(),
) -> str:  # fmt: skip
    """The Redis key of one tile for one set of communities, filter and data version."""
    digest = hashlib.sha256(f"{sorted(ids)}|{version}|{only}".encode()).hexdigest()[:24]
    return f"tile:{spec.id}:{z}:{x}:{y}:{digest}"


def etag(tile: bytes) -> str:
    """A strong ETag: the tile's own hash, so equal tiles validate across workers."""
    return hashlib.sha256(tile).hexdigest()[:32]
