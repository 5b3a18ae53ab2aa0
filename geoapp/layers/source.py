"""What every layer source is: the parameters it accepts and the features it gives a caller.

A source is handed a `LayerContext` (who asks, for which community, with which settings)
and a parsed `LayerQuery`, and answers `LayerData`: features already whitelisted by
`privacy` and the metadata every export carries (period, aggregation unit, k, licence,
generated-at).  It decides what the audience may ask (a published year, the release's
cell size) and raises `LayerError` otherwise.  Sources are Flask-free: the web layer builds
the context from the request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy.orm import Session

from geoapp.layers.query import LayerQuery
from geoapp.layers.spec import LayerSpec

if TYPE_CHECKING:
    from geoapp.models.community import Community
    from geoapp.services.layer_export import LayerData
    from geoapp.services.tiles import TileSource


@dataclass(frozen=True)
class LayerContext:
    """Who is asking, about which community, under which settings."""

    session: Session
    community: Community
    audience: str  # public, partner, staff (viewers) or analyst
    config: Mapping[str, Any]
    opener: Callable[[], Session] | None = None  # a session of its own, for streamed answers
    cache: Any = None  # the app cache (Redis or memory) for derived layers

    @property
    def exact(self) -> bool:
        """Whether the caller sees exact counts (analysts of the community only)."""
        return self.audience == "analyst"

    @property
    def k(self) -> int:
        """The suppression threshold: a count 0 < n < k never leaves to the public."""
        return int(self.config["GEOAPP_SUPPRESSION_K"])


class Source:
    """One source kind: subclasses set `accepts` (and `tiles`) and implement `data`."""

    accepts: ClassVar[frozenset[str]] = frozenset()
    tiles: ClassVar[TileSource | None] = None
    streams: ClassVar[bool] = False  # True: `data` pages in the database (limit/offset/fid)
    time_axis: ClassVar[bool] = False  # True: OGC `datetime` filters it

    def data(self, ctx: LayerContext, spec: LayerSpec, q: LayerQuery) -> LayerData:
        """The layer's whitelisted features for this caller and query, with metadata."""
        raise NotImplementedError

    def matched(self, ctx: LayerContext, spec: LayerSpec, q: LayerQuery) -> int | None:
        """How many features match without paging (OGC numberMatched), None: count them."""
        return None


def base_metadata(ctx: LayerContext, spec: LayerSpec, licence: str) -> dict[str, Any]:
    """What every layer's metadata begins with (privacy rule 7)."""
    return {"layer": spec.id, "title": spec.title_en, "title_uk": spec.title_uk,
            "community": ctx.community.slug, "crs": "OGC:CRS84 (WGS 84, longitude first)",
            "licence": licence,
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds")}  # fmt: skip
