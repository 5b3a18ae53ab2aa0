"""The analysis page for a community's analysts: hot spots, their trend, concern gaps.

The map asks the layer API (with the analyst's cookie) for `hotspots`; a click on a
cell asks `series.json` for that cell's monthly counts, drawn as a small chart;
`heat.json` is the heat map, an overlay in the layer control.  The paragraph under the
map and the list of concern gaps come from `hotspot_summary`.
"""

from __future__ import annotations

import base64

from flask import Blueprint, Response, current_app, g, jsonify, render_template, request, url_for
from flask_babel import gettext as _

from geoapp import db
from geoapp.i18n import current_language, localized
from geoapp.layers import LayerError
from geoapp.layers.sources.hotspots import SIZES
from geoapp.models.user import Role
from geoapp.services import heat_maps, incident_cells
from geoapp.services.communities import summary_by_slug
from geoapp.web import layer_requests
from geoapp.web.access import community_role
from geoapp.web.hotspot_summary import gap_rows, summary, trend_names
from geoapp.web.maps import community_map
from geoapp.web.problems import problem
from geoapp.web.public import map_basics

bp = Blueprint("analysis", __name__, url_prefix="/staff/c/<slug>/analysis")


@bp.get("/")
@community_role(Role.ANALYST)
def page(slug: str) -> tuple[str, int]:
    """Parameters, the hot spot map with its legend, the summary and the trend chart."""
    try:
        params, result = layer_requests.hotspot_analysis(g.community)
        error = None
    except LayerError as exc:
        params, result, error = None, None, exc.detail
    sess = db.session()
    found = summary_by_slug(sess, slug)
    assert found is not None
    spec, feature, labels = map_basics(found)
    rendered = community_map(found, feature, spec, current_language(), labels)
    groups = incident_cells.groups_present(sess, g.community.id)
    chosen = params.groups if params else ()
    names = {code: localized(uk, en) for code, uk, en in groups}
    group_label = ", ".join(names.get(c, c) for c in chosen) or _("all groups")
    layers = current_app.extensions["geoapp.layers"]
    status = 400 if error else 200
    return render_template(
        "staff/analysis.html", community=g.community, map=rendered, params=params,
        groups=groups, chosen=chosen, error=error, sizes=SIZES,
        lines=summary(result, params.query, group_label) if params else [],
        gaps=gap_rows(result, g.community.id) if result is not None else [],
        spec=layers["hotspots"], trends=trend_names(),
        layer_url=url_for("api.layer_geojson", slug=slug, layer="hotspots"),
        series_url=url_for("analysis.series", slug=slug),
        heat_url=url_for("analysis.heat", slug=slug),
        args=request.args,
    ), status  # fmt: skip


@bp.get("/series.json")
@community_role(Role.ANALYST)
def series(slug: str) -> Response | tuple[Response, int]:
    """One cell's monthly counts for the chart: `i`, `j` and the page's parameters."""
    i, j = request.args.get("i", type=int), request.args.get("j", type=int)
    if i is None or j is None:
        return problem(400, "Bad Request", "i and j (the cell) are required integers")
    try:
        _params, result = layer_requests.hotspot_analysis(g.community)
    except LayerError as exc:
        return problem(400, "Bad Request", exc.detail)
    if result is None:
        return problem(404, "Not Found", "no analysis for this community")
    hit = [k for k in range(len(result.i)) if result.i[k] == i and result.j[k] == j]
    if not hit:
        return problem(404, "Not Found", f"no cell ({i}, {j}) in this analysis")
    k = hit[0]
    label = str(result.trend[k])
    response = jsonify({
        "months": [str(m) for m in result.months],
        "counts": [int(c) for c in result.by_step[k]],
        "gi_bin": int(result.gi_bin[k]), "gi_z": round(float(result.gi_z[k]), 3),
        "trend": label or None, "trend_name": trend_names().get(label),
    })  # fmt: skip
    response.headers["Cache-Control"] = "private, no-store"  # a cell's counts: analysts only
    return response


@bp.get("/heat.json")
@community_role(Role.ANALYST)
def heat(slug: str) -> Response | tuple[Response, int]:
    """The heat map of the page's period and groups: a PNG (as a data URL) and its corners.

    Image and bounds are null when no offence falls in the period and groups.  Staff
    only, never cached by the browser or a proxy; the bandwidth is not in it.
    """
    try:
        params = layer_requests.hotspot_params(g.community)
    except LayerError as exc:
        return problem(400, "Bad Request", exc.detail)
    cache = current_app.extensions["geoapp.cache"]
    image = heat_maps.heat_image(db.session(), params.query, cache)
    if image is None:  # no offences in the period and groups: nothing to draw
        response = jsonify({"bounds": None, "image": None, "points": 0})
    else:
        s, w, n, e = image.bounds
        response = jsonify({
            "bounds": [[s, w], [n, e]], "points": image.points,
            "image": "data:image/png;base64," + base64.b64encode(image.png).decode("ascii"),
        })  # fmt: skip
    response.headers["Cache-Control"] = "private, no-store"
    return response
