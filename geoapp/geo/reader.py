"""Read a boundary file (GeoJSON, Shapefile plain or zipped, GeoPackage) into features.

Everything that can be decided without a database happens here, so that a file
with a file-level problem is refused before the loader opens a transaction.
Reading goes through pyogrio's raw interface, which hands over WKB untouched:
geopandas would fail on the unclosed rings real OSM exports contain.
"""

from __future__ import annotations

import warnings
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from geoapp.geo import crs as crsmod
from geoapp.geo import gdal_safety
from geoapp.geo.geojson import json_depth
from geoapp.geo.repair import parse_wkb, repair
from geoapp.geo.translit import transliterate

READABLE_SUFFIXES = (".geojson", ".json", ".shp", ".zip", ".gpkg")
_ALIASES = {
    "katotth": ("katotth", "katottg", "katotth_code", "code_katotth"),
    "name_uk": ("name:uk", "name_uk", "name", "nazva"),
    "name_en": ("name:en", "name_en"),
    "admin_level": ("admin_level", "admin_leve", "adm_level"),
}


class BoundaryFileError(ValueError):
    """The whole file cannot be loaded; the message is meant for the person loading it."""


class NoPolygonsError(BoundaryFileError):
    """The file is readable but holds no polygon (OSM folders have a few such files)."""


@dataclass
class Feature:
    """One usable polygon feature, in EPSG:4326."""

    number: int  # 1-based position in the file, for messages
    katotth: str | None
    name_uk: str | None
    name_en: str | None
    admin_level: Any
    geometry: shapely.MultiPolygon
    repairs: list[str]


@dataclass
class ParsedFile:
    """What a file holds after reading: features, and what happened to the rest."""

    path: str
    features: list[Feature] = field(default_factory=list)
    repairs: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    rejected: list[tuple[int, str | None, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# Each kind of file is opened by its own GDAL driver and no other: GeoJSON and GeoPackage
# through their drivers' prefixes, a Shapefile checked after opening; `gdal_safety` has
# unloaded every other driver (GDALG pipelines, VRT, plain SQLite, network ones).
_DRIVERS = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG",
            ".shp": "ESRI Shapefile", ".zip": "ESRI Shapefile"}  # fmt: skip
SHAPEFILE_CODE = (9994).to_bytes(4, "big")  # the first four bytes of every .shp
MAX_JSON_DEPTH = 32  # a FeatureCollection of MultiPolygons nests 7 levels
MAX_UNZIPPED = 2 * 1024**3  # a zipped Shapefile unpacking to more is refused (zip bomb)


def _dataset_path(path: Path) -> str:
    """The GDAL name of a boundary file, after the checks its kind needs before GDAL reads it."""
    suffix = path.suffix.lower()
    driver = _DRIVERS.get(suffix)
    if driver is None:
        raise BoundaryFileError(f"{path.name}: not a GeoJSON, Shapefile, zipped Shapefile or "
                                "GeoPackage file (by its name)")  # fmt: skip
    try:
        local = gdal_safety.local_path(path)
    except ValueError as exc:
        raise BoundaryFileError(str(exc)) from exc
    if driver == "GeoJSON":
        with open(local, "rb") as fh:
            raw = fh.read()
        if json_depth(raw) > MAX_JSON_DEPTH:
            raise BoundaryFileError(f"{path.name}: the JSON is nested more than "
                                    f"{MAX_JSON_DEPTH} levels deep")  # fmt: skip
        return f"GeoJSON:{local}"
    if driver == "GPKG":
        with open(local, "rb") as fh:
            if fh.read(16) != b"SQLite format 3\x00":
                raise BoundaryFileError(f"{path.name}: not a GeoPackage file")
        return f"GPKG:{local}"
    if suffix == ".zip":
        try:
            with zipfile.ZipFile(local) as archive:
                members = archive.infolist()
        except zipfile.BadZipFile as exc:
            raise BoundaryFileError(f"{path.name}: a damaged ZIP file") from exc
        if not any(m.filename.lower().endswith(".shp") for m in members):
            raise BoundaryFileError(f"{path.name}: the ZIP archive holds no .shp file")
        if sum(m.file_size for m in members) > MAX_UNZIPPED:
            raise BoundaryFileError(f"{path.name}: the ZIP archive unpacks to more than "
                                    f"{MAX_UNZIPPED // 1024**3} GB")  # fmt: skip
        return f"/vsizip/{local}"
    with open(local, "rb") as fh:  # a .shp begins with the file code 9994, big-endian
        if fh.read(4) != SHAPEFILE_CODE:
            raise BoundaryFileError(f"{path.name}: not a geodata file that can be read "
                                    "(its header is not a Shapefile's)")  # fmt: skip
    return local


def _layers(path: Path) -> list[str | None]:
    if path.suffix.lower() == ".gpkg":
        pyogrio = gdal_safety.pyogrio_for_untrusted()  # GDAL stays out of the app at rest
        try:
            listed = gdal_safety.read_as("GPKG", _dataset_path(path), pyogrio.list_layers)
            return [str(name) for name, _ in listed]
        except (pyogrio.errors.DataSourceError, ValueError) as exc:
            raise BoundaryFileError(f"{path.name}: not a readable GeoPackage file: {exc}") from exc
    return [None]


def _field_index(fields: np.ndarray) -> dict[str, int]:
    lowered = {str(name).lower(): i for i, name in enumerate(fields)}
    found: dict[str, int] = {}
    for key, names in _ALIASES.items():
        for name in names:
            if name in lowered:
                found[key] = lowered[name]
                break
    return found


def _looks_like_cp1251_as_latin1(values: list[str]) -> bool:
    """Cyrillic cp1251 bytes read as Latin-1 come out as À-ÿ letters and no Cyrillic."""
    text = "".join(values)
    letters = [c for c in text if c.isalpha()]
    if not letters or any("\u0400" <= c <= "\u04ff" for c in letters):
        return False
    high = sum(1 for c in letters if "\u00c0" <= c <= "\u00ff")
    return high / len(letters) > 0.5


def _read_layer(path: Path, layer: str | None, encoding: str | None) -> tuple[dict, list, list]:
    # pyogrio (GDAL, and geopandas with it) is imported here, not at module level: the web
    # app imports this module at start-up, and they would add ~50 MB to its memory at rest.
    pyogrio = gdal_safety.pyogrio_for_untrusted()
    source = _dataset_path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # unclosed rings: we count them
            meta, _fids, geoms, fields = gdal_safety.read_as(
                _DRIVERS[path.suffix.lower()], source, pyogrio.raw.read,
                layer=layer, encoding=encoding,
            )  # fmt: skip
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError) as exc:
        raise BoundaryFileError(
            f"{path.name}: not a geodata file that can be read "
            f"(GeoJSON, Shapefile, zipped Shapefile or GeoPackage expected): {exc}"
        ) from exc
    return meta, list(geoms), list(fields)


def _source_crs(path: Path, meta: dict, geoms: np.ndarray) -> CRS:
    if meta.get("crs"):
        try:
            return CRS.from_user_input(meta["crs"])
        except CRSError as exc:
            raise BoundaryFileError(
                f"{path.name}: unknown coordinate system {meta['crs']}"
            ) from exc
    bounds = shapely.total_bounds(geoms)
    if np.all(np.abs(bounds) <= 180):
        return crsmod.WGS84
    raise BoundaryFileError(
        f"{path.name}: the file names no coordinate system and its coordinates are not degrees; "
        "add the .prj file (or a GeoPackage/GeoJSON with its CRS)"
    )


def read_boundaries(path: str | Path, encoding: str | None = None, swap: str = "fix") -> ParsedFile:
    """Read every polygon feature of a file, repaired and in EPSG:4326.

    `swap` decides what happens to a file whose coordinates fit Ukraine only
    as lat/lon: "fix" exchanges them and records a warning, "reject" refuses
    the file.  Raises BoundaryFileError for file-level problems: unreadable,
    empty, no polygons, outside Ukraine, or one KATOTTH code used twice.
    """
    path = Path(path)
    if not path.exists():
        raise BoundaryFileError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise BoundaryFileError(f"{path.name}: the file is empty")
    parsed = ParsedFile(path=str(path))
    number = 0
    for layer in _layers(path):
        meta, wkbs, fields = _read_layer(path, layer, encoding)
        idx = _field_index(meta["fields"])
        text_cols = [fields[i] for k, i in idx.items() if k.startswith("name")]
        no_cpg = not path.with_suffix(".cpg").exists()
        if encoding is None and path.suffix.lower() == ".shp" and no_cpg:
            sample = [str(v) for col in text_cols for v in col[:200] if v]
            if _looks_like_cp1251_as_latin1(sample):
                meta, wkbs, fields = _read_layer(path, layer, "cp1251")
                parsed.warnings.append(
                    f"{path.name}: no .cpg file and the text looks like cp1251; read as cp1251 "
                    "(pass --encoding to choose another)"
                )

        raw: list[tuple[int, shapely.Geometry | None, list[str]]] = []
        for wkb in wkbs:
            number += 1
            geom, repairs = parse_wkb(wkb)
            raw.append((number, geom, repairs))
        _place_in_wgs84(path, meta, raw, parsed, swap)

        attr = _Attributes(fields, idx)
        for row, (num, geom, repairs) in enumerate(raw):
            code = attr("katotth", row)
            outcome = repair(geom, repairs)
            if outcome.skip:
                parsed.skipped[outcome.skip] += 1
                continue
            if outcome.reject:
                parsed.rejected.append((num, code, outcome.reject))
                continue
            assert outcome.geometry is not None
            if not crsmod.within_ukraine(outcome.geometry.bounds):
                parsed.rejected.append((num, code, "lies outside Ukraine"))
                continue
            name_uk = attr("name_uk", row)
            name_en = attr("name_en", row) or (transliterate(name_uk) if name_uk else None)
            parsed.features.append(
                Feature(num, code, name_uk, name_en, attr("admin_level", row),
                        outcome.geometry, outcome.repairs)
            )  # fmt: skip
            parsed.repairs.update(outcome.repairs)
    if number == 0:
        raise BoundaryFileError(f"{path.name}: the file holds no features")
    if not parsed.features and not parsed.rejected:
        raise NoPolygonsError(
            f"{path.name}: no polygon features (found: "
            + ", ".join(f"{n} × {k}" for k, n in parsed.skipped.items())
            + "); boundaries must be Polygon or MultiPolygon"
        )
    _refuse_duplicate_codes(path, parsed)
    return parsed


class _Attributes:
    """Look up a feature's attribute by its canonical key (katotth, name_uk, ...)."""

    def __init__(self, fields: list, index: dict[str, int]) -> None:
        self.fields, self.index = fields, index

    def __call__(self, key: str, row: int) -> str | None:
        if key not in self.index:
            return None
        value = self.fields[self.index[key]][row]
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return None
        return str(value).strip() or None


def _place_in_wgs84(
    path: Path, meta: dict, raw: list[tuple[int, Any, list[str]]], parsed: ParsedFile, swap: str
) -> None:
    """Reproject the file's geometries to EPSG:4326 and undo a lat/lon swap, in place."""
    present = [i for i, (_, g, _) in enumerate(raw) if g is not None and not g.is_empty]
    if not present:
        return
    geoms = np.array([raw[i][1] for i in present], dtype=object)
    geoms = crsmod.to_wgs84(geoms, _source_crs(path, meta, geoms))
    polygonal = [g for g in geoms if g.geom_type in ("Polygon", "MultiPolygon")] or list(geoms)
    bounds = tuple(shapely.total_bounds(np.array(polygonal, dtype=object)))
    if crsmod.looks_swapped(bounds):
        if swap == "reject":
            raise BoundaryFileError(
                f"{path.name}: coordinates are in lat/lon order (x holds latitude); "
                "GeoJSON and Shapefile expect lon/lat"
            )
        geoms = crsmod.swap_xy(geoms)
        parsed.warnings.append(
            f"{path.name}: coordinates were in lat/lon order; swapped to lon/lat"
        )
    elif not crsmod.within_ukraine(bounds) and not any(
        crsmod.within_ukraine(g.bounds) for g in polygonal
    ):
        raise BoundaryFileError(
            f"{path.name}: no geometry lies in Ukraine "
            f"(extent {', '.join(f'{b:.4g}' for b in bounds)}); is the coordinate system right?"
        )
    for i, geom in zip(present, geoms, strict=True):
        num, _, repairs = raw[i]
        raw[i] = (num, geom, repairs)


def _refuse_duplicate_codes(path: Path, parsed: ParsedFile) -> None:
    seen: dict[str, list[int]] = {}
    for feat in parsed.features:
        if feat.katotth:
            seen.setdefault(feat.katotth, []).append(feat.number)
    dupes = {code: nums for code, nums in seen.items() if len(nums) > 1}
    if dupes:
        listed = "; ".join(f"{c} in features {', '.join(map(str, n))}" for c, n in dupes.items())
        raise BoundaryFileError(
            f"{path.name}: the same KATOTTH code appears more than once ({listed}); "
            "it is unclear which boundary is right, so nothing was loaded from this file"
        )
