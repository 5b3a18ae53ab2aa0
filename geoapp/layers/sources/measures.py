"""Agreed measures for residents: the public statuses only, the area generalised (privacy.py)."""

from __future__ import annotations

from typing import Any, ClassVar

import shapely
from sqlalchemy.orm import Session

from geoapp import privacy, sql
from geoapp.analysis.hexgrid import covering_cells, hex_rings
from geoapp.geo.crs import project
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
        rows = [(p, g) for p, g in public_measures(ctx.session, ctx.community.id)
                if g is not None]  # fmt: skip
        meta = base_metadata(ctx, spec, layer_export.DATA_LICENCE)
        meta.update(period=None, k=None, statuses=list(privacy.PUBLIC_MEASURE_STATUSES),
                    aggregation_unit="target area generalised to the "
                    f"{privacy.PUBLIC_MEASURE_CELL_M:g} m hexagons it touches")  # fmt: skip
        features = privacy.feature_texts(spec, rows, lambda p: p["public_id"])
        return LayerData(spec, layer_export.filter_bbox(features, q.bbox), meta)


def public_measures(session: Session, community_id: int) -> list[tuple[dict[str, Any], str]]:
    """(properties, GeoJSON geometry) of the measures residents may see.

    Agreed, in progress and done only.  The target area is replaced by the union of the
    250 m hexagons it touches, clipped to the community: an area drawn 150 m around a
    resident's concern would otherwise give the concern's true point away.  Measures
    without an area are listed with a null geometry (the results page shows them).
    """
    params = {"community_id": community_id, "statuses": list(privacy.PUBLIC_MEASURE_STATUSES)}
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
    i, j = covering_cells(area, privacy.PUBLIC_MEASURE_CELL_M)
    if len(i) == 0:
        return None
    cells = shapely.union_all(shapely.polygons(hex_rings(i, j, privacy.PUBLIC_MEASURE_CELL_M)))
    shape = shapely.intersection(project(cells, srid, 4326), shapely.from_wkb(boundary_wkb))
    if shape.is_empty:
        return None
    return shapely.to_geojson(shapely.set_precision(shape, 1e-6))
