"""Build the folium map of a community, with every asset served by the app itself.

folium points its Leaflet at public CDNs; here each asset list is replaced by
the copies `make setup` put in static/vendor, so the page works offline and
under a strict Content-Security-Policy.  The map is rendered in three parts
(head, body, script) that the page template places.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

import folium
from branca.element import MacroElement
from flask import current_app, url_for
from flask_babel import format_date
from folium.plugins import Draw, Fullscreen, MarkerCluster
from jinja2 import Template
from markupsafe import Markup, escape

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


class TextPopup(MacroElement):
    """A popup from escaped text (folium's Popup needs jQuery, which no page here loads).

    The content is built by the caller from `markupsafe.escape`d parts and passed to
    Leaflet as a JSON string, so nothing a person typed can become markup or script.
    """

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "{{ this._parent.get_name() }}.bindPopup({{ this.html|tojson }}, {maxWidth: 260});"
        "{% endmacro %}"
    )

    def __init__(self, html: str) -> None:
        super().__init__()
        self._name = "TextPopup"
        self.html = html


@dataclass(frozen=True)
class RenderedMap:
    """The three pieces of a rendered map, safe to place in a template."""

    head: Markup
    body: Markup
    script: Markup


def _vendor(path: str) -> str:
    return url_for("static", filename=f"vendor/{path}")


def _cluster_locally(cluster: MarkerCluster) -> None:
    cluster.default_js = [
        ("markercluster_js", _vendor("leaflet.markercluster/leaflet.markercluster.js"))
    ]
    cluster.default_css = [
        ("markercluster_css", _vendor("leaflet.markercluster/MarkerCluster.css")),
        ("markercluster_default_css", _vendor("leaflet.markercluster/MarkerCluster.Default.css")),
    ]


class ExposeMap(MacroElement):
    """Hand the map, its layer control and any drawing layer to the page's own scripts.

    folium names its JavaScript variables at random; the incident filter needs the map
    and the control, the measure form the layer that holds what was drawn.
    """

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "window.geoappMap = {map: {{ this._parent.get_name() }},"
        " layers: {{ this.control.get_name() }}"
        "{% if this.draw %}, drawn: drawnItems_{{ this.draw.get_name() }}{% endif %}};"
        "document.dispatchEvent(new Event('geoapp:map'));"
        "{% endmacro %}"
    )

    def __init__(self, control: folium.LayerControl, draw: Draw | None = None) -> None:
        super().__init__()
        self._name = "ExposeMap"
        self.control = control
        self.draw = draw


def _area_draw(m: folium.Map) -> Draw:
    """Leaflet.draw (folium's Draw plugin) for a target area: polygons and rectangles only.

    The page's script turns what is drawn into the form's GeoJSON field.
    """
    none = False
    draw = Draw(
        position="topleft", show_geometry_on_click=False,
        draw_options={"polyline": none, "circle": none, "marker": none, "circlemarker": none,
                      "polygon": {"allowIntersection": False, "showArea": False},
                      "rectangle": {"showArea": False}},
    )  # fmt: skip
    draw.default_js = [("leaflet_draw_js", _vendor("leaflet-draw/leaflet.draw.js"))]
    draw.default_css = [("leaflet_draw_css", _vendor("leaflet-draw/leaflet.draw.css"))]
    draw.add_to(m)
    return draw


def _areas_layer(m: folium.Map, name: str, rows: list[tuple[str, dict]], colour: str) -> None:
    """Polygons with escaped-text popups (measures): one group in the layer control."""
    group = folium.FeatureGroup(name=name, show=True)
    for html, geometry in rows:
        shape = folium.GeoJson(geometry, style_function=lambda _f: {
            "color": colour, "weight": 2, "fillColor": colour, "fillOpacity": 0.25})  # fmt: skip
        TextPopup(html).add_to(shape)
        shape.add_to(group)
    group.add_to(m)


def _concerns_layer(
    m: folium.Map,
    spec: LayerSpec,
    rows: list[tuple[dict, str]],
    language: str,
    status_names: dict[str, str],
) -> None:
    """Accepted concerns, coloured by status, clustered when zoomed out.

    Popups are built from escaped text only: nothing a person typed becomes markup.
    """
    cluster = MarkerCluster(name=spec.title(language), show=spec.default_visible)
    _cluster_locally(cluster)
    for props, geometry in rows:
        lon, lat = json.loads(geometry)["coordinates"]
        category = props["category_en"] if language == "en" else props["category_uk"]
        reported = format_date(date.fromisoformat(props["reported"]), "long")
        lines = [f"<strong>{escape(category)}</strong>",
                 escape(status_names.get(props["status"], props["status"])),
                 escape(reported)]  # fmt: skip
        if props.get("answer"):
            lines.append(f"<em>{escape(props['answer'])}</em>")
        colour = spec.style.get(props["status"], "#555")
        marker = folium.CircleMarker(
            location=(lat, lon), radius=8, color=colour, fill=True, fill_color=colour,
            fill_opacity=0.8, weight=2,
        )  # fmt: skip
        TextPopup("<br>".join(lines)).add_to(marker)
        marker.add_to(cluster)
    cluster.add_to(m)


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
    concerns: tuple[LayerSpec, list[tuple[dict, str]], dict[str, str]] | None = None,
    areas: tuple[str, list[tuple[str, dict]], str] | None = None,
    draw: bool = False,
    focus: tuple[float, float, float, float] | None = None,
) -> RenderedMap:
    """The map of one community: base map, boundary, layer control, scale, full screen.

    `concerns` adds the public concerns, `areas` (title, [(popup html, geometry)],
    colour) a group of polygons such as measures, `draw` the drawing tools of a form.
    """
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
    if focus or community.bbox:
        xmin, ymin, xmax, ymax = focus or community.bbox
        m.fit_bounds([[ymin, xmin], [ymax, xmax]])
    if concerns is not None:
        _concerns_layer(m, concerns[0], concerns[1], language, concerns[2])
    if areas is not None:
        _areas_layer(m, *areas)
    drawing = _area_draw(m) if draw else None
    MetricScale().add_to(m)
    fullscreen = Fullscreen(title=labels["fullscreen"], title_cancel=labels["fullscreen_exit"])
    fullscreen.add_to(m)
    control = folium.LayerControl(collapsed=True)
    control.add_to(m)
    ExposeMap(control, drawing).add_to(m)
    _serve_locally(m, fullscreen)
    root = m.get_root()
    root.render()
    return RenderedMap(
        head=Markup(add_nonce(root.header.render())),
        body=Markup(add_nonce(root.html.render())),
        script=Markup(root.script.render()),
    )
