"""Residents' accepted concerns at their public point, streamed from the database.

Filters: `period` (or OGC `datetime`), `group` (concern category codes), `status`, `bbox`.
The whitelist is applied in the SQL itself (`privacy.concern_texts`) and only the
generalised point leaves; sensitive categories only as counts (`privacy.sensitive_counts`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import ClassVar

from sqlalchemy.orm import Session

from geoapp import privacy
from geoapp.layers.errors import bad
from geoapp.layers.query import LayerQuery
from geoapp.layers.source import LayerContext, Source, base_metadata
from geoapp.layers.spec import LayerSpec
from geoapp.services import layer_export, tiles
from geoapp.services.categories import for_community
from geoapp.services.layer_export import LayerData


class Concerns(Source):
    """`concerns`: what residents reported and staff accepted, never the true point."""

    accepts: ClassVar[frozenset[str]] = frozenset({"period", "group", "status", "bbox"})
    tiles = tiles.CONCERNS
    streams = True
    time_axis = True

    def filter(self, ctx: LayerContext, q: LayerQuery) -> privacy.ConcernFilter:
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
        return privacy.ConcernFilter(ctx.community.id, start=start, stop=stop,
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
                    sensitive_counts=privacy.sensitive_counts(
                        ctx.session, ctx.community.id, ctx.k,
                        int(ctx.config["GEOAPP_SENSITIVE_RELEASE_LAG_DAYS"])))  # fmt: skip
        assert ctx.opener is not None
        return LayerData(spec, _streamed(ctx.opener, spec, query), meta)

    def matched(self, ctx: LayerContext, spec: LayerSpec, q: LayerQuery) -> int | None:
        """How many public concerns match, without paging."""
        whole = LayerQuery(period=q.period, groups=q.groups, status=q.status, bbox=q.bbox,
                           window=q.window)  # fmt: skip
        return privacy.concern_count(ctx.session, self.filter(ctx, whole))


def _streamed(
    opener: Callable[[], Session], spec: LayerSpec, query: privacy.ConcernFilter
) -> Iterator[privacy.FeatureText]:
    """Concerns read in a session of their own, opened when the first byte is wanted.

    The response is streamed after the request (and its session) has ended, so the
    server-side cursor needs a connection that lives exactly as long as the stream.
    """
    with opener() as sess:
        yield from privacy.concern_texts(sess, spec, query)
