"""The community's boundary: public, one feature, filtered by `bbox` only."""

from __future__ import annotations

from dataclasses import asdict
from typing import ClassVar

from geoapp import privacy
from geoapp.layers.query import LayerQuery
from geoapp.layers.source import LayerContext, Source, base_metadata
from geoapp.layers.spec import LayerSpec
from geoapp.services import layer_export, tiles
from geoapp.services.communities import boundary_geojson, summary_by_slug
from geoapp.services.layer_export import LayerData


class Boundaries(Source):
    """`boundaries`: the community's outline with its KATOTTH code and names."""

    accepts: ClassVar[frozenset[str]] = frozenset({"bbox"})
    tiles = tiles.BOUNDARIES

    def data(self, ctx: LayerContext, spec: LayerSpec, q: LayerQuery) -> LayerData:
        """The boundary (none when the community has no geometry yet)."""
        summary = summary_by_slug(ctx.session, ctx.community.slug)
        assert summary is not None
        geometry = boundary_geojson(ctx.session, ctx.community.id) if summary.bbox else None
        rows = [(asdict(summary), geometry)] if geometry else []
        meta = base_metadata(ctx, spec, f"{layer_export.DATA_LICENCE}; {layer_export.OSM_LICENCE}")
        meta.update(period=None, aggregation_unit="community boundary", k=None)
        features = privacy.feature_texts(spec, rows, lambda p: p["katotth"])
        return LayerData(spec, layer_export.filter_bbox(features, q.bbox), meta)
