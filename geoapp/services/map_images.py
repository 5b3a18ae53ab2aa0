"""The session map as a picture for the printed minutes.

The minutes are read on paper and kept in the file, so the map in them is drawn on the
server from what the session decided, not captured from a screen: the community's
boundary, each priority's hot spot cells (numbered as on the agenda), each decision's
target area, and a scale bar.  There is no base map: the tiles come from a tile server
the server side may not reach, and what the participants agreed on is the shapes.  The
view is the saved map extent when the session kept one, else the shapes with a margin.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import numpy as np
import shapely
from PIL import Image, ImageDraw, ImageFont

from geoapp.analysis.hexgrid import hex_rings
from geoapp.geo.crs import project, transformer

MERCATOR = 3857
WIDTH, HEIGHT = 1200, 800
PRIORITY_FILL = (214, 40, 40, 110)
PRIORITY_LINE = (160, 20, 20, 255)
TARGET_FILL = (37, 99, 235, 90)
TARGET_LINE = (29, 78, 216, 255)
BOUNDARY = (31, 95, 168, 255)
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def cells_polygon(cells: Sequence[Sequence[int]], size_m: float, srid: int) -> shapely.Geometry:
    """Hexagonal cells (i, j) of `size_m` in the community's metric CRS, as lon/lat."""
    i = np.array([c[0] for c in cells], dtype=np.int64)
    j = np.array([c[1] for c in cells], dtype=np.int64)
    rings = hex_rings(i, j, float(size_m))
    lon, lat = transformer(srid, 4326).transform(rings[..., 0], rings[..., 1])
    return shapely.union_all(shapely.polygons(np.stack([lon, lat], axis=-1)))


def session_map(
    boundary: shapely.Geometry | None,
    priorities: Sequence[tuple[int, shapely.Geometry]],
    targets: Sequence[tuple[int, shapely.Geometry]],
    view: tuple[float, float, float] | None = None,
) -> bytes:
    """A PNG of the boundary, numbered priority areas and numbered decision targets.

    `view` is (lat, lon, zoom) as the session left its map; the picture then shows about
    what a 1200 x 800 screen showed at that zoom.  All geometries are lon/lat.
    """
    shapes = [g for _n, g in [*priorities, *targets]]
    xmin, ymin, xmax, ymax = _extent(boundary, shapes, view)
    scale = min(WIDTH / (xmax - xmin), HEIGHT / (ymax - ymin))
    ox = (xmin + xmax) / 2 - WIDTH / 2 / scale
    oy = (ymin + ymax) / 2 + HEIGHT / 2 / scale

    def pixels(geom: shapely.Geometry) -> list[list[tuple[float, float]]]:
        merc = project(geom, 4326, MERCATOR)
        rings = []
        for part in shapely.get_parts(merc):
            for ring in (part.exterior, *part.interiors) if part.geom_type == "Polygon" else [part]:
                xy = np.asarray(ring.coords)[:, :2]
                rings.append([((x - ox) * scale, (oy - y) * scale) for x, y in xy])
        return rings

    image = Image.new("RGBA", (WIDTH, HEIGHT), (250, 250, 247, 255))
    layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    font = _font(28)
    if boundary is not None:
        for ring in pixels(shapely.boundary(boundary)):
            draw.line(ring, fill=BOUNDARY, width=4)
    labels = []
    for fill, line, items in ((PRIORITY_FILL, PRIORITY_LINE, priorities),
                              (TARGET_FILL, TARGET_LINE, targets)):  # fmt: skip
        for number, geom in items:
            for ring in pixels(geom):
                draw.polygon(ring, fill=fill, outline=line, width=3)
            merc = project(shapely.point_on_surface(geom), 4326, MERCATOR)
            labels.append((str(number), ((merc.x - ox) * scale, (oy - merc.y) * scale), line))
    image = Image.alpha_composite(image, layer)
    draw = ImageDraw.Draw(image)
    for text, (x, y), colour in labels:
        draw.text((x, y), text, fill=colour, font=font, anchor="mm",
                  stroke_width=3, stroke_fill=(255, 255, 255))  # fmt: skip
    _scale_bar(draw, scale, (ymin + ymax) / 2)
    out = io.BytesIO()
    image.convert("RGB").save(out, format="PNG", optimize=True)
    return out.getvalue()


def _extent(
    boundary: shapely.Geometry | None,
    shapes: Sequence[shapely.Geometry],
    view: tuple[float, float, float] | None,
) -> tuple[float, float, float, float]:
    """The Mercator box to draw: the saved view, else the shapes, else the boundary."""
    if view is not None:
        lat, lon, zoom = view
        centre = project(shapely.Point(lon, lat), 4326, MERCATOR)
        metres_per_px = 2 * math.pi * 6378137 / (256 * 2**zoom)
        half_w, half_h = WIDTH / 2 * metres_per_px, HEIGHT / 2 * metres_per_px
        return centre.x - half_w, centre.y - half_h, centre.x + half_w, centre.y + half_h
    focus = shapely.union_all(list(shapes)) if shapes else boundary
    if focus is None or focus.is_empty:
        centre = project(shapely.Point(31.2, 48.6), 4326, MERCATOR)  # Ukraine
        return centre.x - 6e5, centre.y - 4e5, centre.x + 6e5, centre.y + 4e5
    xmin, ymin, xmax, ymax = project(focus, 4326, MERCATOR).bounds
    pad = max(xmax - xmin, ymax - ymin, 800.0) * 0.15
    return xmin - pad, ymin - pad, xmax + pad, ymax + pad


def _scale_bar(draw: ImageDraw.ImageDraw, scale: float, y_mercator: float) -> None:
    """A scale bar in metres, corrected for Mercator's stretch at the map's latitude."""
    lat = math.degrees(2 * math.atan(math.exp(y_mercator / 6378137)) - math.pi / 2)
    ground_per_px = math.cos(math.radians(lat)) / scale
    target = ground_per_px * WIDTH / 5
    length = max(v for v in (50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000)
                 if v <= max(target, 50))  # fmt: skip
    px = length / ground_per_px
    x0, y0 = 30, HEIGHT - 40
    draw.rectangle((x0 - 8, y0 - 34, x0 + px + 12, y0 + 14), fill=(255, 255, 255))
    draw.line([(x0, y0), (x0 + px, y0)], fill=(20, 20, 20), width=5)
    label = f"{length // 1000} км" if length >= 1000 else f"{length} м"
    draw.text((x0, y0 - 8), label, fill=(20, 20, 20), font=_font(20), anchor="lb")


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype(FONT, size)
    except OSError:  # no DejaVu: Pillow's own font still draws digits
        return ImageFont.load_default(size)
