"""GDAL hardened for files we did not write: few drivers, no network, each kind by its driver.

GDAL guesses a file's driver from its content, and some of its drivers read other files
or URLs named inside the file: a "GDALG" pipeline (`{"type": "gdal_streamed_alg", ...}`)
read as "GeoJSON" made the server read any local file and show it line by line, and a
plain SQLite database can hold VirtualOGR tables and views.  GDAL's security page
(gdal.org/user/security.html) recommends disabling unneeded drivers with GDAL_SKIP and
keeping network access off where it is not needed; both are done here, in one place,
for every reader of untrusted files (incident uploads, boundary files).

GDAL_SKIP only takes effect when GDAL registers its drivers, i.e. when pyogrio is first
imported, so `harden_environment` runs when this module is imported, and `geoapp`
imports it before anything else (child processes inherit it: see
`trusted_tool_environment`).  `pyogrio_for_untrusted` then checks that the skip
really took effect (a process that imported pyogrio before geoapp would not have it)
and refuses to hand GDAL anything otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

T = TypeVar("T")

# The vector drivers our readers and writers need: incident uploads (GeoJSON is parsed in
# Python, GeoPackage through GDAL), boundary files (GeoJSON, Shapefile, GeoPackage), layer
# exports (GeoPackage).  MEM is GDAL's in-memory scratch driver, used internally.
ALLOWED_VECTOR_DRIVERS = frozenset({"GPKG", "GeoJSON", "ESRI Shapefile", "MEM"})

# Every other vector driver pyogrio's GDAL (3.12) registers, and the raster drivers that
# open other datasets or the network (the security page's list).  A driver a later GDAL
# adds is caught by `pyogrio_for_untrusted` (and its test), not silently allowed.
SKIPPED_DRIVERS = (
    # reads other files or URLs named in the file
    "GDALG", "OGR_VRT", "VRT", "GTI", "SQLite", "MBTiles", "PMTiles", "PDF", "PCIDSK",
    "KMLSUPEROVERLAY", "RPFTOC", "RS2", "STACIT", "STACTA", "OGCAPI",
    # network services
    "HTTP", "WFS", "OAPIF", "CSW", "WMS", "WCS", "WMTS", "AmigoCloud", "Carto", "EEDA",
    "EEDAI", "Elasticsearch", "NGW", "PLSCENES", "PLMOSAIC", "DAAS", "AIVector", "ADBC",
    "GPSBabel",
    # other vector formats no upload or boundary file is
    "AVCBin", "AVCE00", "CSV", "DGN", "DXF", "EDIGEO", "ESRIJSON", "FlatGeobuf", "GML",
    "GPX", "GTFS", "GeoJSONSeq", "GeoRSS", "Idrisi", "JML", "JSONFG", "KML", "LIBKML",
    "LVBAG", "MVT", "MapInfo File", "MapML", "MiraMonVector", "ODS", "OGR_GMT", "OGR_PDS",
    "OSM", "OpenFileGDB", "PDS4", "PGDUMP", "S57", "SXF", "Selafin", "TopoJSON", "VDV",
    "VFK", "VICAR", "WAsP", "XLSX",
)  # fmt: skip

# A closed port on loopback: any HTTP request GDAL would make goes nowhere.
_NOWHERE = "127.0.0.1:9"
SETTINGS = {
    "GDAL_HTTP_PROXY": _NOWHERE,
    "GDAL_HTTPS_PROXY": _NOWHERE,
    "GDAL_HTTP_MAX_RETRY": "0",
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_CONNECTTIMEOUT": "1",
    # /vsicurl/ (and /vsis3/ etc.) open only this one name, which is no URL at all
    "CPL_VSIL_CURL_ALLOWED_FILENAME": "/vsicurl/network-access-is-off-in-geoapp",
    "GDAL_ALLOW_REMOTE_RESOURCE_TO_ACCESS_LOCAL_FILE": "NO",
    "GDAL_HTTP_NETRC": "NO",
    "GDAL_VRT_ENABLE_PYTHON": "NO",
    "GDAL_VRT_ENABLE_RAWRASTERBAND": "NO",
    "OGR_SQLITE_ALLOW_EXTERNAL_ACCESS": "NO",
    "OGR_SQLITE_STATIC_VIRTUAL_OGR": "NO",
    "OGR_SQLITE_LIST_VIRTUAL_OGR": "NO",
    "OGR_SQLITE_LOAD_EXTENSIONS": "",
    "PROJ_NETWORK": "OFF",
}


class UnsafeGdalError(RuntimeError):
    """GDAL was loaded without the hardening (pyogrio imported before geoapp)."""


def harden_environment() -> None:
    """Put the skip list and the network settings into the environment GDAL reads.

    Environment variables are GDAL configuration options; an operator's own GDAL_SKIP is
    kept and extended, never replaced, and no setting of ours can be weakened by one.
    """
    skipped = os.environ.get("GDAL_SKIP", "").replace(",", " ").split()
    names = [*skipped, *(n for n in SKIPPED_DRIVERS if n not in skipped)]
    # GDAL_SKIP is split on spaces and commas; names with a space are given with commas.
    os.environ["GDAL_SKIP"] = ",".join(names)
    os.environ.update(SETTINGS)


harden_environment()


def trusted_tool_environment() -> dict[str, str]:
    """The environment without this module's settings, for a GDAL tool reading our own data.

    Child processes inherit the hardening, which is right for anything that reads an
    upload; a test or benchmark running Debian's ogrinfo/ogr2ogr on our own exports or API
    (the OAPIF driver, over the network) passes this instead.
    """
    ours = {"GDAL_SKIP", *SETTINGS}
    return {k: v for k, v in os.environ.items() if k not in ours}


def pyogrio_for_untrusted() -> ModuleType:
    """pyogrio, after checking that GDAL offers no driver beyond `ALLOWED_VECTOR_DRIVERS`.

    Imported here, not at module level: GDAL adds ~50 MB to a process and the web app
    at rest needs none of it.
    """
    import pyogrio

    extra = sorted(set(pyogrio.list_drivers()) - ALLOWED_VECTOR_DRIVERS)
    if extra:
        raise UnsafeGdalError(
            "GDAL offers drivers that untrusted files must not reach: " + ", ".join(extra)
            + " (import geoapp before pyogrio, or add them to gdal_safety.SKIPPED_DRIVERS)"
        )  # fmt: skip
    return pyogrio


def local_path(path: str | Path) -> str:
    """A path GDAL may open: an existing local file, no /vsi prefix or URL of anyone's.

    Our readers build the GDAL path themselves (a /vsizip/ prefix for a zip, a driver
    prefix); what comes in must be a plain file on this machine.
    """
    text = str(path)
    if text.startswith("/vsi") or "://" in text or not Path(text).is_file():
        raise ValueError(f"{Path(text).name}: not a local file")
    return str(Path(text).resolve())


def opened_by(info: dict, expected: str) -> None:
    """Raise ValueError unless GDAL opened the dataset with the `expected` driver."""
    if info.get("driver") != expected:
        raise ValueError(f"opened as {info.get('driver')!r}, not as {expected}")


# GDAL's own connection prefixes: a path that carries one is tried by that driver only.
# The Shapefile driver has none; its callers check the file's own code first
# (`reader._dataset_path`), and `opened_by` refuses any other driver before a row is read.
DRIVER_PREFIXES = {"GPKG": "GPKG:", "GeoJSON": "GeoJSON:"}


def read_as(driver: str, source: str, read: Callable[..., T], **kwargs: Any) -> T:
    """Run a pyogrio reader on `source` only once GDAL has shown it opens it with `driver`.

    pyogrio cannot be told which driver to use, so every untrusted read goes through
    here: the caller names the driver (and has put its prefix, `GPKG:` or `GeoJSON:`, on
    the path where the driver has one), the dataset is opened for its metadata, and the
    reader runs only if GDAL reports that very driver.
    """
    prefix = DRIVER_PREFIXES.get(driver)
    if prefix is not None and not source.startswith(prefix):
        raise ValueError(f"{driver} is named by its prefix {prefix!r}: GDAL would guess")
    pyogrio = pyogrio_for_untrusted()
    opened_by(pyogrio.read_info(source, layer=kwargs.get("layer")), driver)
    return read(source, **kwargs)
