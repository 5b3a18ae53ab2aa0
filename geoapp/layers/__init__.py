"""The map-layer pipeline, and its registry: the only place a source kind is named.

A layer is one TOML file in `layers/` (`spec.py` validates it); its `source` names one of
the kinds registered here, each a class in `sources/` with its parameters and its SQL.
Every output (the GeoJSON/CSV/GeoPackage export, OGC API items, vector tiles, the map
pages, session mode) asks `layer_data`, which parses the parameters once (`query.py`),
refuses a layer the caller may not see exactly as one that does not exist, and lets the
source answer through `privacy`'s whitelist and the release policy.  Errors are
`LayerError`s carrying their HTTP status (`errors.py`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geoapp.layers.errors import LayerError, not_found
from geoapp.layers.query import LayerQuery
from geoapp.layers.source import LayerContext, Source
from geoapp.layers.spec import AUDIENCES, LayerSpec, LayerSpecError, load_specs

if TYPE_CHECKING:
    from geoapp.services.layer_export import LayerData

__all__ = [
    "AUDIENCES", "LayerContext", "LayerError", "LayerQuery", "LayerSpec", "LayerSpecError",
    "Source", "kinds", "layer_data", "load_layers", "source_of",
]  # fmt: skip


@cache
def _registry() -> dict[str, Source]:
    """{kind: source}; built on first use, so `privacy` and the sources may import freely."""
    from geoapp.layers.sources.boundaries import Boundaries
    from geoapp.layers.sources.concerns import Concerns
    from geoapp.layers.sources.hotspots import ConcernGaps, EmergingHotspots, HotspotsLayer
    from geoapp.layers.sources.incident_cells import IncidentCells, Incidents
    from geoapp.layers.sources.measures import Measures

    return {
        "boundaries": Boundaries(),
        "concerns": Concerns(),
        "incident_cells": IncidentCells(),
        "incidents": Incidents(),
        "hotspots": HotspotsLayer(),
        "emerging_hotspots": EmergingHotspots(),
        "concern_gaps": ConcernGaps(),
        "measures": Measures(),
    }


def kinds() -> tuple[str, ...]:
    """The registered source kinds (what a layer file's `source` may say)."""
    return tuple(_registry())


def source_of(spec: LayerSpec) -> Source:
    """The source that answers for `spec`."""
    return _registry()[spec.source]


def load_layers(directory: str | Path) -> dict[str, LayerSpec]:
    """Read and validate every layer file in `directory` against the registered kinds."""
    return load_specs(directory, kinds())


def visible(spec: LayerSpec, audience: str) -> bool:
    """Whether a caller of `audience` may receive the layer at all."""
    from geoapp import privacy

    return privacy.may_see(spec, audience)


def parse(spec: LayerSpec, args: Any, extra: Collection[str] = ()) -> LayerQuery:
    """The layer's parameters from `args`, by the one grammar and the source's own list."""
    return LayerQuery.parse(args, source_of(spec).accepts, spec.id, extra)


def layer_data(
    ctx: LayerContext, spec: LayerSpec, args: Any, extra: Collection[str] = (),
    **page: Any,
) -> LayerData:  # fmt: skip
    """The layer's whitelisted features and metadata for this caller and these parameters.

    `page` (limit, offset, fid) is what OGC paging adds; sources that page in the database
    use it, the others are paged by the caller.  Raises LayerError (400 for a parameter,
    404 for a layer the caller may not see).
    """
    if not visible(spec, ctx.audience):
        raise not_found(f"no layer '{spec.id}' in '{ctx.community.slug}'")
    q = parse(spec, args, extra)
    if page:
        q = replace(q, **page)
    return source_of(spec).data(ctx, spec, q)
