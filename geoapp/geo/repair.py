"""Turn whatever geometry a boundary file holds into a valid 2-D MultiPolygon.

Pure functions on shapely geometries, no database: each repair is named so the
loader's report can count it, and a feature whose repair leaves no area is
rejected with the reason instead of being stored broken.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

POLYGONAL = ("Polygon", "MultiPolygon")
UNCLOSED = "unclosed ring closed"
Z_DROPPED = "Z coordinate dropped"
PARTS_DROPPED = "non-polygonal parts dropped"
REWOUND = "ring orientation fixed"


@dataclass
class Repaired:
    """The outcome for one feature: a geometry, or why there is none."""

    geometry: MultiPolygon | None = None
    repairs: list[str] = field(default_factory=list)
    skip: str | None = None  # not a polygon feature: not an error
    reject: str | None = None  # should have been a polygon but cannot be used


def parse_wkb(wkb: bytes | None) -> tuple[BaseGeometry | None, list[str]]:
    """Parse WKB to 2-D, closing unclosed rings (GEOS refuses them), saying what it did.

    Z goes first, before any reprojection, which would otherwise drop it unseen.
    """
    if wkb is None:
        return None, []
    repairs: list[str] = []
    try:
        geom = shapely.from_wkb(wkb)
    except shapely.errors.GEOSException:
        geom = shapely.from_wkb(wkb, on_invalid="fix")
        repairs.append(UNCLOSED)
    if geom is not None and shapely.has_z(geom):
        geom = shapely.force_2d(geom)
        repairs.append(Z_DROPPED)
    return geom, repairs


def _polygonal_part(geom: BaseGeometry) -> MultiPolygon | None:
    """Keep only the polygons of a geometry (collections included) as one MultiPolygon."""
    polys: list[Polygon] = []
    for part in shapely.get_parts(geom):
        if part.geom_type == "Polygon" and not part.is_empty:
            polys.append(part)
        elif part.geom_type == "MultiPolygon":
            polys.extend(p for p in part.geoms if not p.is_empty)
        elif part.geom_type == "GeometryCollection":
            sub = _polygonal_part(part)
            if sub is not None:
                polys.extend(sub.geoms)
    return MultiPolygon(polys) if polys else None


def _reason_kind(reason: str) -> str:
    """Shorten GEOS's validity reason ("Self-intersection[30.1 50.2]") to its kind."""
    return reason.split("[", 1)[0].strip().lower() or "invalid"


def repair(geom: BaseGeometry | None, repairs: list[str] | None = None) -> Repaired:
    """Make `geom` a valid, 2-D, counter-clockwise MultiPolygon, listing each repair.

    Points and lines are skipped (OSM files carry admin-centre points); an
    empty or null geometry is rejected; an invalid polygon is rebuilt with
    GEOS's "structure" method, which keeps the area a ring encloses.
    """
    done = list(repairs or [])
    if geom is None or geom.is_empty:
        return Repaired(reject="no geometry", repairs=done)
    if geom.geom_type not in (*POLYGONAL, "GeometryCollection"):
        return Repaired(skip=f"{geom.geom_type} feature", repairs=done)
    if shapely.has_z(geom):
        geom = shapely.force_2d(geom)
        done.append(Z_DROPPED)
    if geom.geom_type == "GeometryCollection":
        poly = _polygonal_part(geom)
        if poly is None:
            return Repaired(skip="no polygon in the collection", repairs=done)
        done.append(PARTS_DROPPED)
        geom = poly
    if not geom.is_valid:
        kind = _reason_kind(shapely.is_valid_reason(geom))
        fixed = shapely.make_valid(geom, method="structure", keep_collapsed=False)
        poly = _polygonal_part(fixed)
        if poly is None or poly.area == 0:
            return Repaired(reject=f"repair of '{kind}' left no area", repairs=done)
        done.append(f"invalid polygon repaired ({kind})")
        geom = poly
    multi = geom if geom.geom_type == "MultiPolygon" else MultiPolygon([geom])
    oriented = shapely.orient_polygons(multi, exterior_cw=False)
    if not shapely.equals_exact(oriented, multi, tolerance=0):
        done.append(REWOUND)
    return Repaired(geometry=oriented, repairs=done)
