"""Residents' accepted concerns at their public point, streamed from the database.

Filters: `period` (or OGC `datetime`), `group` (concern category codes), `status`, `bbox`.
The whitelist is applied in the SQL itself (`concern_texts`) and only the
generalised point leaves; sensitive categories only as counts (`sensitive_counts`).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

from sqlalchemy import text
from sqlalchemy.orm import Session

from geoapp import privacy, sql
from geoapp.layers.errors import bad
from geoapp.layers.query import LayerQuery
from geoapp.layers.source import LayerContext, Source, base_metadata
from geoapp.layers.spec import LayerSpec
from geoapp.services import layer_export, tiles
from geoapp.services.categories import for_community
from geoapp.services.layer_export import LayerData
from geoapp.services.sensitive_counts import releases as sensitive_releases


class Concerns(Source):
    """`concerns`: what residents reported and staff accepted, never the true point."""

    accepts: ClassVar[frozenset[str]] = frozenset({"period", "group", "status", "bbox"})
    tiles = tiles.CONCERNS
    streams = True
    time_axis = True

    def filter(self, ctx: LayerContext, q: LayerQuery) -> ConcernFilter:
        """The concern filter of this query (period or `datetime`, codes, status, page)."""
        start, stop = q.window or (None, None)
        if q.period is not None:
            start, stop = q.period.start, q.period.stop
        known = {c.code for c in for_community(ctx.session, ctx.community.id)}
        unknown = [c for c in q.groups if c not in known]
        if unknown:
            raise bad(f"no concern category {', '.join(map(repr, unknown))} here")
        secret = str(ctx.config["SECRET_KEY"]).encode()
        salt = hashlib.sha256(b"feature-id:" + secret).hexdigest()[:16]
        return ConcernFilter(ctx.community.id, start=start, stop=stop,
                                     categories=q.groups, status=q.status, bbox=q.bbox,
                                     fid=q.fid, limit=q.limit, offset=q.offset,
                                     id_salt=salt)  # fmt: skip

    def data(self, ctx: LayerContext, spec: LayerSpec, q: LayerQuery) -> LayerData:
        """The public concerns, streamed in a session of their own."""
        query = self.filter(ctx, q)
        grid = ctx.config["GEOAPP_PUBLIC_GRID_M"]
        meta = base_metadata(ctx, spec, layer_export.DATA_LICENCE)
        meta.update(period=q.period.label if q.period else "all",
                    group=",".join(query.categories) or "all", status=query.status or "all",
                    aggregation_unit=f"point, generalised to a {grid} m grid (never the true "
                    "point); sensitive categories only as counts per closed quarter (k-suppressed)",
                    k=None, generalised_to_m=grid,
                    sensitive_counts=sensitive_counts(
                        ctx.session, ctx.community.id, ctx.k,
                        int(ctx.config["GEOAPP_SENSITIVE_RELEASE_LAG_DAYS"])))  # fmt: skip
        assert ctx.opener is not None
        return LayerData(spec, _streamed(ctx.opener, spec, query), meta)

    def matched(self, ctx: LayerContext, spec: LayerSpec, q: LayerQuery) -> int | None:
        """How many public concerns match, without paging."""
        whole = LayerQuery(period=q.period, groups=q.groups, status=q.status, bbox=q.bbox,
                           window=q.window)  # fmt: skip
        return concern_count(ctx.session, self.filter(ctx, whole))


def _streamed(
    opener: Callable[[], Session], spec: LayerSpec, query: ConcernFilter
) -> Iterator[privacy.FeatureText]:
    """Concerns read in a session of their own, opened when the first byte is wanted.

    The response is streamed after the request (and its session) has ended, so the
    server-side cursor needs a connection that lives exactly as long as the stream.
    """
    with opener() as sess:
        yield from concern_texts(sess, spec, query)


def public_concerns(
    session: Session, community_id: int, status: str | None = None
) -> list[tuple[dict[str, Any], str]]:
    """(properties, GeoJSON geometry) of the concerns the public may see (the map pages)."""
    params = {"community_id": community_id, "status": status, **privacy.policy_params()}
    rows = session.execute(sql.load("public_concerns"), params).mappings()
    return [({k: v for k, v in row.items() if k != "geometry"}, row["geometry"]) for row in rows]


def sensitive_counts(
    session: Session, community_id: int, k: int = 10, lag_days: int = 30
) -> list[dict[str, Any]]:
    """Sensitive categories' counts, never located: frozen per closed quarter, k-suppressed."""
    return [r.as_dict() for r in sensitive_releases(session, community_id, k, lag_days)]


_PARAM = re.compile(r"(?<![:\w]):([a-z_]+)\b")  # :name, not a ::cast
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
            "id_salt": query.id_salt, **privacy.policy_params()}  # fmt: skip


def concern_texts(
    session: Session, spec: LayerSpec, query: ConcernFilter, batch: int = 5000
) -> Iterator[privacy.FeatureText]:
    """Public concerns as feature texts, streamed from a server-side cursor.

    The whitelist is applied in the SQL itself (`privacy.properties_sql`) and only the
    public point leaves, so memory stays flat for any number of concerns and nothing
    outside the whitelist is ever fetched into the process.
    """
    statement = _PARAM.sub(r"%(\1)s", (
        "SELECT src.fid, " + privacy.properties_sql(spec, CONCERN_COLUMNS) + ", "
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
