"""Build the folium map of a community, with every asset served by the app itself.

folium points its Leaflet at public CDNs; here each asset list is replaced by
the copies `make setup` put in static/vendor, so the page works offline and
under a strict Content-Security-Policy.  The map is rendered in three parts
(head, body, script) that the page template places.
"""

from __future__ import annotations

from dataclasses import dataclass

import folium
from branca.element import MacroElement
from flask import current_app, url_for
from folium.plugins import Fullscreen
from jinja2 import Template
from markupsafe import Markup

from geoapp.layers import LayerSpec
from geoapp.services.communities import CommunitySummary
from geoapp.web.security import add_nonce

# Where the map opens when a community has no boundary (Sevastopol).
FALLBACK_CENTRES = {"sevastopol": (44.6166, 33.5254)}
UKRAINE_CENTRE = (48.6, 31.2)


class MetricScale(MacroElement):
    """A scale bar in metres and kilometres only (folium's default adds miles)."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "L.control.scale({imperial: false, maxWidth: 150}).addTo({{ this._parent.get_name() }});"
        "{% endmacro %}"
    )


@dataclass(frozen=True)
class RenderedMap:
    """The three pieces of a rendered map, safe to place in a template."""

    head: Markup
    body: Markup
    script: Markup


def _vendor(path: str) -> str:
    return url_for("static", filename=f"vendor/{path}")


def _serve_locally(m: folium.Map, fullscreen: Fullscreen) -> None:
    m.default_js = [("leaflet", _vendor("leaflet/leaflet.js"))]
    m.default_css = [
        ("leaflet_css", _vendor("leaflet/leaflet.css")),
        ("geoapp_map_css", url_for("static", filename="css/map.css")),
    ]
    fullscreen.default_js = [("fullscreen_js", _vendor("leaflet.fullscreen/Control.FullScreen.js"))]
    fullscreen.default_css = [
        ("fullscreen_css", _vendor("leaflet.fullscreen/Control.FullScreen.css"))
    ]


def community_map(
    community: CommunitySummary,
    feature: dict | None,
    spec: LayerSpec,
    language: str,
    labels: dict[str, str],
) -> RenderedMap:
    """The public map of one community: base map, boundary, layer control, scale, full screen."""
    cfg = current_app.config
    m = folium.Map(
        location=FALLBACK_CENTRES.get(community.slug, UKRAINE_CENTRE),
        zoom_start=10,
        tiles=None,
        control_scale=False,
        prefer_canvas=False,
    )
    folium.TileLayer(
        tiles=cfg["GEOAPP_TILE_URL"],
        attr=cfg["GEOAPP_TILE_ATTRIBUTION"],
        name=labels["basemap"],
        max_zoom=19,
    ).add_to(m)
    if feature is not None:
        style = spec.style
        name_field = "name_en" if language == "en" else "name_uk"
        folium.GeoJson(
            feature,
            name=spec.title(language),
            style_function=lambda _f: {
                "color": style.get("color", "#1f5fa8"),
                "weight": style.get("weight", 3),
                "fillColor": style.get("fill_color", "#1f5fa8"),
                "fillOpacity": style.get("fill_opacity", 0.08),
            },
            tooltip=folium.GeoJsonTooltip(
                fields=[name_field] if name_field in spec.popup else [], labels=False
            ),
            show=spec.default_visible,
        ).add_to(m)
    if community.bbox:
        xmin, ymin, xmax, ymax = community.bbox
        m.fit_bounds([[ymin, xmin], [ymax, xmax]])
    MetricScale().add_to(m)
    fullscreen = Fullscreen(title=labels["fullscreen"], title_cancel=labels["fullscreen_exit"])
    fullscreen.add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    _serve_locally(m, fullscreen)
    root = m.get_root()
    root.render()
    return RenderedMap(
        head=Markup(add_nonce(root.header.render())),
        body=Markup(add_nonce(root.html.render())),
        script=Markup(root.script.render()),
    )
