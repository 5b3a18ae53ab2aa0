"""The staff heat map: the incidents of an analysis as a transparent PNG over the map.

The surface is computed in Web Mercator (EPSG:3857), the projection Leaflet draws in, so
a plain image overlay stretched between its south-west and north-east corners sits on
the map exactly, with no reprojection in the browser.  Mercator stretches lengths by
1 / cos(latitude), the same everywhere within a community to well under 1 %, so the
kernel stays round on the ground.  Cells outside the community are transparent.

Privacy: the image carries relative levels only (see `heat_rgba`), and the bandwidth
(chosen by `default_bandwidth`) is neither stored nor sent.  The layer is for staff; the
web layer does not offer it to partners or the public.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
import shapely
from PIL import Image, ImageDraw
from sqlalchemy import text
from sqlalchemy.orm import Session

from geoapp.analysis.heat import heat_rgba, heat_surface
from geoapp.geo.crs import project, transformer
from geoapp.services.hotspots import CACHE_SECONDS, Cache, HotspotQuery, cache_key, chosen_points

MERCATOR = 3857  # Web Mercator, what Leaflet draws in
GROUND_CELL_M = 25.0  # finest cell on the ground; coarser when the community is large
MAX_PIXELS = 1000  # along the longer side of the image


@dataclass(frozen=True)
class HeatImage:
    """A PNG and where it lies: (south, west, north, east) in degrees, and its point count."""

    png: bytes
    bounds: tuple[float, float, float, float]
    points: int

    def to_bytes(self) -> bytes:
        """For the cache: bounds and count, then the PNG (no pickle)."""
        head = np.array([*self.bounds, float(self.points)], dtype="<f8").tobytes()
        return head + self.png

    @classmethod
    def from_bytes(cls, raw: bytes) -> HeatImage:
        """Read back `to_bytes`."""
        head = np.frombuffer(raw[:40], dtype="<f8")
        s, w, n, e = (float(v) for v in head[:4])
        return cls(png=raw[40:], bounds=(s, w, n, e), points=int(head[4]))


def heat_image(
    session: Session, query: HotspotQuery, cache: Cache | None = None
) -> HeatImage | None:
    """The heat map of the query's incidents, cached like the hot spots (per data version).

    None when the community has no boundary or no incident falls in the period and groups.
    Only the period and groups of `query` matter; its cell size does not.
    """
    query = HotspotQuery(query.community_id, query.start, query.end, query.category_ids)
    key = cache_key("heat", session, query)
    if cache is not None:
        raw = cache.get(key)
        if raw is not None:
            return HeatImage.from_bytes(raw) if raw else None
    row = session.execute(text("SELECT ST_AsBinary(geom) FROM community WHERE id = :c"),
                          {"c": query.community_id}).one()  # fmt: skip
    result = None
    if row[0] is not None:
        lon, lat, _day = chosen_points(session, query)
        if len(lon):
            result = render(lon, lat, shapely.from_wkb(bytes(row[0])))
    if cache is not None:
        cache.setex(key, CACHE_SECONDS, b"" if result is None else result.to_bytes())
    return result


def render(lon: np.ndarray, lat: np.ndarray, area: shapely.Geometry) -> HeatImage:
    """Kernel density of the points in Web Mercator, clipped to `area` (lon/lat), as a PNG."""
    x, y = transformer(4326, MERCATOR).transform(lon, lat)
    merc_area = project(area, 4326, MERCATOR)
    xmin, ymin, xmax, ymax = merc_area.bounds
    stretch = 1.0 / math.cos(math.radians(float(np.mean([area.bounds[1], area.bounds[3]]))))
    cell = max(GROUND_CELL_M * stretch, max(xmax - xmin, ymax - ymin) / MAX_PIXELS)
    surface = heat_surface(np.asarray(x), np.asarray(y), cell)
    ny, nx = surface.density.shape
    inside = _raster(merc_area, surface.x0, surface.y0, cell, nx, ny)
    rgba = heat_rgba(surface.density, inside)
    out = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(out, format="PNG")
    back = transformer(MERCATOR, 4326)
    west, south = back.transform(surface.x0, surface.y0)
    east, north = back.transform(surface.x0 + nx * cell, surface.y0 + ny * cell)
    bounds = (round(south, 6), round(west, 6), round(north, 6), round(east, 6))
    return HeatImage(png=out.getvalue(), bounds=bounds, points=len(lon))


def _raster(
    area: shapely.Geometry, x0: float, y0: float, cell: float, nx: int, ny: int
) -> np.ndarray:
    """True for the grid cells (rows south first) whose centre lies in `area`."""
    canvas = Image.new("1", (nx, ny), 0)
    draw = ImageDraw.Draw(canvas)

    def pixels(ring: shapely.LinearRing) -> list[tuple[float, float]]:
        xy = np.asarray(ring.coords)[:, :2]
        cols = (xy[:, 0] - x0) / cell - 0.5
        rows = (ny - 1) - ((xy[:, 1] - y0) / cell - 0.5)  # image rows run north first
        return list(zip(cols.tolist(), rows.tolist(), strict=True))

    for polygon in getattr(area, "geoms", [area]):
        if polygon.geom_type != "Polygon":
            continue
        draw.polygon(pixels(polygon.exterior), fill=1)
        for hole in polygon.interiors:
            draw.polygon(pixels(hole), fill=0)
    return np.asarray(canvas, dtype=bool)[::-1]
