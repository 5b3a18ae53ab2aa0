"""Coordinate rules: Ukraine's extent, lat/lon swaps, reprojection, metric zones.

Stored geometry is EPSG:4326 lon/lat; distances are computed in the UTM zone
of the community (EPSG:32634-32637 cover Ukraine).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import shapely
from pyproj import CRS, Transformer

# Ukraine spans 22.1-40.2 E and 44.3-52.4 N; the margin keeps border units and
# Zmiinyi island inside while leaving the lon and lat ranges disjoint, which is
# what makes a swap detectable.
LON_RANGE = (21.5, 41.0)
LAT_RANGE = (43.2, 53.0)
WGS84 = CRS.from_epsg(4326)


def within_ukraine(bounds: tuple[float, float, float, float]) -> bool:
    """True when a (minx, miny, maxx, maxy) box lies in Ukraine's lon/lat extent."""
    minx, miny, maxx, maxy = bounds
    return (
        LON_RANGE[0] <= minx <= maxx <= LON_RANGE[1]
        and LAT_RANGE[0] <= miny <= maxy <= LAT_RANGE[1]
    )


def looks_swapped(bounds: tuple[float, float, float, float]) -> bool:
    """True when the box fits Ukraine only if x and y are exchanged (lat/lon order)."""
    minx, miny, maxx, maxy = bounds
    return not within_ukraine(bounds) and within_ukraine((miny, minx, maxy, maxx))


def in_ukraine(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """`within_ukraine` for many points at once (NaN is outside)."""
    return (
        (LON_RANGE[0] <= lon)
        & (lon <= LON_RANGE[1])
        & (LAT_RANGE[0] <= lat)
        & (lat <= LAT_RANGE[1])
    )


def swapped_points(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """`looks_swapped` for many points at once: in Ukraine only with lon and lat exchanged."""
    return ~in_ukraine(lon, lat) & in_ukraine(lat, lon)


def swap_xy(geoms: np.ndarray) -> np.ndarray:
    """Exchange x and y of every coordinate."""
    return shapely.transform(geoms, lambda c: c[:, ::-1].copy())


def to_wgs84(geoms: np.ndarray, source: CRS) -> np.ndarray:
    """Reproject to EPSG:4326 in lon/lat order, whatever the source's axis order.

    `always_xy` matters for UCS-2000 (EPSG:5561) and EPSG:4326 itself, whose
    official axis order is latitude first while files store x = longitude.
    """
    if source.equals(WGS84, ignore_axis_order=True):
        return geoms
    transformer = Transformer.from_crs(source, WGS84, always_xy=True)

    def project(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, project)


def utm_srid(lon: float) -> int:
    """The EPSG code of the northern UTM zone containing longitude `lon`."""
    zone = int((lon + 180) // 6) + 1
    return 32600 + zone


@lru_cache(maxsize=32)
def transformer(source: int, target: int) -> Transformer:
    """A lon/lat-ordered transformer between two EPSG codes, built once per pair.

    Building one costs milliseconds (PROJ reads its database); the analyses ask for the
    same few pairs on every request.
    """
    return Transformer.from_crs(source, target, always_xy=True)


def project(geom: shapely.Geometry, source: int, target: int) -> shapely.Geometry:
    """A geometry reprojected vertex by vertex (shapely.transform with PROJ)."""
    move = transformer(source, target)
    return shapely.transform(geom, lambda xy: np.column_stack(move.transform(*xy.T)))
