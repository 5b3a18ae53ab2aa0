"""What leaves the building: the one place that shapes features for output.

Every layer, export and API response builds its GeoJSON features here, so a
property that is not on the layer's whitelist cannot reach a browser or a
partner by accident.  Concerns leave only through `public_concerns`: accepted
ones, at their generalised point, never sensitive, never the resident's text or
contact (sensitive categories only as counts).  Incidents leave as counts per fixed
cell and period, with the k-suppression decision applied for everyone but analysts;
individual incidents only to analysts of their community.  Measures leave once agreed,
with their area generalised to the fixed 250 m hexagons it touches (`public_measures`).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from geoapp import sql
from geoapp.analysis.hexgrid import covering_cells, hex_rings
from geoapp.geo.crs import project
from geoapp.layers.spec import LayerSpec
from geoapp.services import incident_cells
from geoapp.services.incident_cells import CellQuery, Period
from geoapp.services.sensitive_counts import releases as sensitive_releases

AUDIENCE_RANK = {"public": 0, "partner": 1, "staff": 2, "analyst": 3}


def may_see(spec: LayerSpec, audience: str) -> bool:
    """True when a caller of `audience` may receive this layer."""
    return AUDIENCE_RANK[audience] >= AUDIENCE_RANK[spec.audience]


def feature(spec: LayerSpec, properties: Mapping[str, Any], geometry_json: str | None) -> dict:
    """One GeoJSON feature carrying only the layer's whitelisted properties."""
    return {
        "type": "Feature",
        "properties": {k: properties.get(k) for k in spec.properties},
        "geometry": json.loads(geometry_json) if geometry_json else None,
    }


def public_concerns(
    session: Session, community_id: int, status: str | None = None
) -> list[tuple[dict[str, Any], str]]:
    """(properties, GeoJSON geometry) of the concerns the public may see."""
    rows = session.execute(
        sql.load("public_concerns"), {"community_id": community_id, "status": status}
    ).mappings()
    return [({k: v for k, v in row.items() if k != "geometry"}, row["geometry"]) for row in rows]


def sensitive_counts(
    session: Session, community_id: int, k: int = 10, lag_days: int = 30
) -> list[dict[str, Any]]:
    """Sensitive categories' counts, never located: frozen per closed quarter, k-suppressed.

    The release policy is in `services.sensitive_counts`; this stays the one gate's name.
    """
    return [r.as_dict() for r in sensitive_releases(session, community_id, k, lag_days)]


def incident_cell_rows(
    session: Session, query: CellQuery, audience: str
) -> tuple[list[tuple[dict[str, Any], str]], dict[str, Any]]:
    """Cell counts for `audience`: exact for analysts, suppressed for everyone else."""
    return incident_cells.cells(session, query, exact=audience == "analyst")


# An analyst's map shows at most this many individual points; beyond it the cells tell more.
MAX_POINTS = 20_000


def incident_points(
    session: Session, community_id: int, period: Period | None, category_id: int | None,
    audience: str,
) -> list[tuple[dict[str, Any], str]]:  # fmt: skip
    """Individual incidents, for analysts only (anyone else gets a PermissionError)."""
    if audience != "analyst":
        raise PermissionError("individual incidents are for analysts only")
    start = stop = None
    if period is not None:
        start, stop = period.start, period.stop
    rows = session.execute(sql.load("incident_points"), {
        "community_id": community_id, "start": start, "stop": stop,
        "category_id": category_id, "limit": MAX_POINTS})  # fmt: skip
    return [
        ({k: v for k, v in r.items() if k != "geometry"}, r["geometry"]) for r in rows.mappings()
    ]


PUBLIC_MEASURE_CELL_M = 250.0  # a measure's public area: the hexagons of this size it touches
PUBLIC_MEASURE_STATUSES = ("agreed", "in_progress", "done")


def public_measures(session: Session, community_id: int) -> list[tuple[dict[str, Any], str]]:
    """(properties, GeoJSON geometry) of the measures residents may see.

    Agreed, in progress and done only.  The target area is replaced by the union of the
    250 m hexagons it touches, clipped to the community: an area drawn 150 m around a
    resident's concern would otherwise give the concern's true point away.  Measures
    without an area are listed with a null geometry (the results page shows them).
    """
    params = {"community_id": community_id, "statuses": list(PUBLIC_MEASURE_STATUSES)}
    rows = session.execute(sql.load("public_measures"), params).mappings()
    out = []
    for row in rows:
        props = {k: v for k, v in row.items() if k not in ("target", "boundary", "srid")}
        geometry = None
        if row["target"] is not None and row["boundary"] is not None:
            geometry = _generalised(bytes(row["target"]), bytes(row["boundary"]), row["srid"])
        out.append((props, geometry))
    return out


def _generalised(target_wkb: bytes, boundary_wkb: bytes, srid: int) -> str | None:
    """The fixed hexagons an area touches, within the community, as GeoJSON (6 decimals)."""
    area = project(shapely.from_wkb(target_wkb), 4326, srid)
    i, j = covering_cells(area, PUBLIC_MEASURE_CELL_M)
    if len(i) == 0:
        return None
    cells = shapely.union_all(shapely.polygons(hex_rings(i, j, PUBLIC_MEASURE_CELL_M)))
    shape = shapely.intersection(project(cells, srid, 4326), shapely.from_wkb(boundary_wkb))
    if shape.is_empty:
        return None
    return shapely.to_geojson(shapely.set_precision(shape, 1e-6))


# --- Exports, OGC items and tiles: features as text, whitelisted here ------------------------

# One exported feature: its id, its whitelisted properties as JSON text, its geometry as
# GeoJSON text (WGS 84, 6 decimals).  Text, not dicts, so a million features cross from
# PostgreSQL to the client without being parsed and re-serialised on the way.
FeatureText = tuple[str | None, str, str | None]
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_PARAM = re.compile(r"(?<![:\w]):([a-z_]+)\b")  # :name, not a ::cast


def whitelisted_json(spec: LayerSpec, properties: Mapping[str, Any]) -> str:
    """The layer's whitelisted properties of one feature as compact JSON text."""
    return json.dumps({k: properties.get(k) for k in spec.properties}, ensure_ascii=False,
                      separators=(",", ":"), default=str)  # fmt: skip


def feature_texts(
    spec: LayerSpec,
    rows: Iterable[tuple[Mapping[str, Any], str | None]],
    fid: Callable[[Mapping[str, Any]], str | None],
) -> Iterator[FeatureText]:
    """Rows computed in Python (cells, hot spots, boundaries) as whitelisted feature texts."""
    for props, geometry in rows:
        yield fid(props), whitelisted_json(spec, props), geometry


def _properties_sql(spec: LayerSpec, columns: Iterable[str]) -> str:
    """`json_build_object(...)` over the whitelist; a property the source lacks is null."""
    have = set(columns)
    pairs = []
    for name in spec.properties:
        if not _NAME.match(name):
            raise ValueError(f"{spec.path}: property '{name}' is not a plain name")
        pairs.append(f"'{name}', " + (f'src."{name}"' if name in have else "NULL"))
    return f"json_build_object({', '.join(pairs)})::text"


# The columns `export_concerns.sql` offers; the layer spec picks among them.
CONCERN_COLUMNS = ("category", "category_uk", "category_en", "status", "reported", "answer")


@dataclass(frozen=True)
class ConcernFilter:
    """What a caller may narrow public concerns by: period, categories, status, bbox, page."""

    community_id: int
    start: date | None = None
    stop: date | None = None
    categories: tuple[str, ...] = ()
    status: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    fid: str | None = None
    limit: int | None = None
    offset: int = 0
    id_salt: str = ""


def _concern_params(query: ConcernFilter) -> dict[str, Any]:
    west, south, east, north = query.bbox or (None, None, None, None)
    return {"community_id": query.community_id, "start": query.start, "stop": query.stop,
            "categories": list(query.categories) or None, "status": query.status,
            "west": west, "south": south, "east": east, "north": north, "fid": query.fid,
            "limit": query.limit, "offset": query.offset,
            "id_salt": query.id_salt}  # fmt: skip


def concern_texts(
    session: Session, spec: LayerSpec, query: ConcernFilter, batch: int = 5000
) -> Iterator[FeatureText]:
    """Public concerns as feature texts, streamed from a server-side cursor.

    The whitelist is applied in the SQL itself (`json_build_object` over the spec's
    properties) and only the public point leaves, so memory stays flat for any number of
    concerns and nothing outside the whitelist is ever fetched into the process.
    """
    statement = _PARAM.sub(r"%(\1)s", (
        "SELECT src.fid, " + _properties_sql(spec, CONCERN_COLUMNS) + ", "
        "ST_AsGeoJSON(src.public_point, 6) FROM (" + sql.raw_text("export_concerns") + ") src"
    ))  # fmt: skip
    dbapi = session.connection().connection.dbapi_connection
    assert dbapi is not None
    # A named (server-side) cursor: PostgreSQL keeps the result and hands it over `batch`
    # rows at a time, so the process never holds more than one batch.
    with dbapi.cursor(name=f"export_{uuid.uuid4().hex}") as cur:
        cur.itersize = batch
        cur.execute(statement, _concern_params(query))
        while rows := cur.fetchmany(batch):
            yield from rows


def concern_count(session: Session, query: ConcernFilter) -> int:
    """How many public concerns match (OGC's numberMatched), without paging."""
    statement = text("SELECT count(*) FROM (" + sql.raw_text("export_concerns") + ") src")
    params = {**_concern_params(query), "limit": None, "offset": 0}
    return int(session.execute(statement, params).scalar_one())


# --- Counts of offences on staff pages (measures, sessions, minutes) -------------------------


def withhold_small(n: int | None, k: int, exact: bool) -> int | None:
    """`n` as a page may show it: None ("fewer than k") when 0 < n < k, unless `exact`.

    The measure and session pages count offences in an area someone drew or a cell someone
    chose, over a window someone chose; below analyst (and in the minutes, which leave the
    room) a count of 1 to k - 1 there can point to single offences.  Zeros stay, as in the
    releases: "nothing was recorded" is not hidden.
    """
    if n is None or exact or n == 0 or n >= k:
        return n
    return None


SECONDARY = "withheld"  # a count withheld only so that a small one cannot be worked back


def withhold_parts(parts: Sequence[int], k: int, exact: bool) -> list[int | str | None]:
    """Parts of a whole the reader may know (`withhold_small` each), with a second withheld.

    A measure's target, ring and rest of the community add up to the community's offences
    in the window, which a release of that year can give away.  So when a part is
    withheld (None: "fewer than k"), the largest part still shown is withheld too
    (`SECONDARY`: it is not small, only hidden): the whole minus what is shown is then a
    sum that includes a large unknown, never one small count.
    """
    shown: list[int | str | None] = [withhold_small(n, k, exact) for n in parts]
    if None in shown:
        rest = [p for p, s in enumerate(shown) if s]  # shown and not 0
        if rest:
            shown[max(rest, key=lambda p: parts[p])] = SECONDARY
    return shown
