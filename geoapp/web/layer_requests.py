"""From a request to the layer pipeline: who asks, and the context the sources need.

Views call `data(spec, community, audience)` and get `LayerData`, or a `LayerError` that
the handler in `geoapp.web` renders; this module only gathers the request's parts.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from flask import current_app, request
from werkzeug.datastructures import MultiDict

from geoapp import db, layers
from geoapp.layers import LayerContext, LayerSpec
from geoapp.layers.sources.hotspots import Analysis, analyse, analysis_query
from geoapp.models.community import Community
from geoapp.services.hotspots import Hotspots
from geoapp.services.layer_export import LayerData


def context(community: Community, audience: str) -> LayerContext:
    """The pipeline's context for this request's caller in `community`."""
    return LayerContext(session=db.session(), community=community, audience=audience,
                        config=current_app.config,
                        opener=current_app.extensions["geoapp.sessionmaker"],
                        cache=current_app.extensions["geoapp.cache"])  # fmt: skip


def data(
    spec: LayerSpec, community: Community, audience: str, extra: Collection[str] = (),
    args: Any = None, **page: Any,
) -> LayerData:  # fmt: skip
    """The layer for this request's parameters (or `args`), through the one gate."""
    return layers.layer_data(context(community, audience), spec,
                             request.args if args is None else args, extra, **page)  # fmt: skip


def _hotspot_query(spec: LayerSpec, args: Any) -> layers.LayerQuery:
    """The hot spot parameters among a page's or form's fields (the others are the page's)."""
    accepts = layers.source_of(spec).accepts
    chosen = MultiDict([(k, v) for k, v in args.items(multi=True) if k in accepts and v])
    return layers.parse(spec, chosen)


def hotspot_params(community: Community, args: Any = None) -> Analysis:
    """An analyst's hot spot parameters from the query string or a posted form."""
    spec = current_app.extensions["geoapp.layers"]["hotspots"]
    q = _hotspot_query(spec, request.args if args is None else args)
    return analysis_query(context(community, "analyst"), q)


def hotspot_analysis(community: Community, args: Any = None) -> tuple[Analysis, Hotspots | None]:
    """An analyst's hot spot parameters and their (cached) result, for the staff pages."""
    spec = current_app.extensions["geoapp.layers"]["hotspots"]
    q = _hotspot_query(spec, request.args if args is None else args)
    return analyse(context(community, "analyst"), q)
