"""Agreed measures for residents: the public statuses only, the area generalised (privacy.py)."""

from __future__ import annotations

from typing import ClassVar

from geoapp import privacy
from geoapp.layers.query import LayerQuery
from geoapp.layers.source import LayerContext, Source, base_metadata
from geoapp.layers.spec import LayerSpec
from geoapp.services import layer_export
from geoapp.services.layer_export import LayerData


class Measures(Source):
    """`measures`: agreed, in progress and done, at the 250 m hexagons their area touches."""

    accepts: ClassVar[frozenset[str]] = frozenset({"bbox"})

    def data(self, ctx: LayerContext, spec: LayerSpec, q: LayerQuery) -> LayerData:
        """The public measures that have an area."""
        rows = [(p, g) for p, g in privacy.public_measures(ctx.session, ctx.community.id)
                if g is not None]  # fmt: skip
        meta = base_metadata(ctx, spec, layer_export.DATA_LICENCE)
        meta.update(period=None, k=None, statuses=list(privacy.PUBLIC_MEASURE_STATUSES),
                    aggregation_unit="target area generalised to the "
                    f"{privacy.PUBLIC_MEASURE_CELL_M:g} m hexagons it touches")  # fmt: skip
        features = privacy.feature_texts(spec, rows, lambda p: p["public_id"])
        return LayerData(spec, layer_export.filter_bbox(features, q.bbox), meta)
