"""Read incident exports of several formats into uniform records, guided by named profiles.

Police and prosecutor exports arrive as CSV, XLSX, GeoJSON or GeoPackage, with English or
Ukrainian column names, title rows and two-level headers.  A profile
(`data/incident_profiles/<name>.toml`) says which header names mean which field, so a new
export shape is a new TOML file, not new code.  This module knows no database and judges
no dates or articles: it returns every data row as a `Record` with its row number as the
user sees it (spreadsheet row, CSV physical line, 1-based feature number) and leaves the
checks to `geoapp.services.incidents`.  A file that cannot be read as a table at all raises
`FileRejected`; a row whose location cannot be read carries the reason in `Record.error`.
In GeoJSON and GeoPackage files the point geometry is the location whatever the profile's
location columns (a layer without geometry is read like a table).

Profile format (every key but `columns` is optional)::

    description = "what export this is"
    sheet = "Аркуш1"        # XLSX sheet or GeoPackage layer; default the first
    crs = 6382              # EPSG code of easting/northing; required with them
    [columns]               # field = accepted header names (case and spacing ignored)
    date = ["date", "Дата реєстрації"]
    article = ["article"]
    ref = ["ref"]
    lon = ["lon"]           # the location: lon + lat (WGS84 degrees), or easting +
    lat = ["lat"]           # northing + crs, or address, or none of them: point geometry

A name with " / " matches the combined path of a multi-row header ("Місце події /
довгота"); a name without it matches the lowest heading of a column.
"""

from __future__ import annotations

import csv
import io
import math
import re
import tomllib
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from functools import lru_cache
from itertools import islice, pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyogrio
import shapely
from openpyxl import load_workbook
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from geoapp.config import PROJECT_ROOT
from geoapp.geo.crs import to_wgs84, within_ukraine

MAX_BYTES = 50 * 1024 * 1024
PROFILE_DIR = PROJECT_ROOT / "data" / "incident_profiles"
HEADER_SCAN_ROWS = 20  # the header is looked for among this many first non-blank rows
MAX_HEADER_ROWS = 3  # a header is one row or up to three stacked rows
MAX_UNPACKED = 20 * MAX_BYTES  # an XLSX unpacking to more than this is refused (zip bomb)
DELIMITERS = ",;\t|"

TEXT_FIELDS = ("date", "article", "ref")
LOCATIONS = {"lonlat": ("lon", "lat"), "xy": ("easting", "northing"), "address": ("address",)}
ALL_FIELDS = TEXT_FIELDS + tuple(f for fields in LOCATIONS.values() for f in fields)
PROFILE_KEYS = {"description", "sheet", "crs", "columns"}
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_NUMBERING = re.compile(r"^\d{1,3}$")


class FileRejected(ValueError):  # noqa: N818 - a verdict, read as `except FileRejected`
    """The file cannot be read as incident records at all; the message names the file."""


class ProfileError(ValueError):
    """A profile file is invalid; the message names the file and the key at fault."""


@dataclass(frozen=True)
class Profile:
    """Which header names mean which field, and how rows are located.

    `columns` maps each field to its accepted names as written; `location` is
    "lonlat", "xy", "address" or "geometry" (the file's point geometry).
    """

    name: str
    description: str
    columns: dict[str, tuple[str, ...]] = field(hash=False)
    location: str
    crs: int | None = None
    sheet: str | None = None


@dataclass(frozen=True)
class Record:
    """One data row: text fields as written, location in WGS84, or why the row is unusable.

    `line` is the row number the user sees in their program; `error` is set when the
    location cannot be read or the reference was rounded by a spreadsheet (the importer
    judges date, article and ref values itself).
    """

    line: int
    date: str
    article: str
    ref: str
    lon: float | None
    lat: float | None
    address: str | None
    error: str | None = None


# --- profiles ----------------------------------------------------------------------------


def _normalise(name: str) -> str:
    """A header name as compared: case-folded, slashes spaced, runs of spaces as one."""
    return " ".join(name.replace("/", " / ").casefold().split())


def profile_names(directory: Path | None = None) -> list[str]:
    """The profiles an analyst can choose from, for the import form and the CLI help."""
    folder = directory or PROFILE_DIR
    return sorted(p.stem for p in folder.glob("*.toml") if _NAME.match(p.stem))


def load_profile(name: str, directory: Path | None = None) -> Profile:
    """The named profile, validated, so a typo in a TOML file fails loudly before any import.

    An unknown name is the user's mistake (FileRejected listing the known ones); a broken
    profile file is the deployment's (ProfileError naming the file and key).
    """
    folder = directory or PROFILE_DIR
    known = profile_names(folder)
    if name not in known:
        raise FileRejected(f"no import profile '{name}' (known: {', '.join(known) or 'none'})")
    path = folder / f"{name}.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{path.name}: not valid TOML: {exc}") from exc
    return _validate(path.name, name, data)


def _validate(file_name: str, name: str, data: dict[str, Any]) -> Profile:
    def fail(key: str, problem: str) -> ProfileError:
        return ProfileError(f"{file_name}: {key}: {problem}")

    for key in data:
        if key not in PROFILE_KEYS:
            raise fail(key, f"unknown key (allowed: {', '.join(sorted(PROFILE_KEYS))})")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise fail("description", "must be a string")
    sheet = data.get("sheet")
    if sheet is not None and (not isinstance(sheet, str) or not sheet.strip()):
        raise fail("sheet", "must be a non-empty string")
    raw_columns = data.get("columns")
    if not isinstance(raw_columns, dict):
        raise fail("columns", "missing (a table of field = [header names])")
    columns: dict[str, tuple[str, ...]] = {}
    seen: dict[str, str] = {}
    for key, names in raw_columns.items():
        where = f"columns.{key}"
        if key not in ALL_FIELDS:
            raise fail(where, f"unknown field (allowed: {', '.join(ALL_FIELDS)})")
        if isinstance(names, str):
            names = [names]
        if (not isinstance(names, list) or not names
                or not all(isinstance(n, str) and n.strip() for n in names)):  # fmt: skip
            raise fail(where, "must be a header name or a non-empty list of them")
        for n in names:
            if seen.get(_normalise(n), key) != key:
                raise fail(where, f"'{n}' is also accepted for {seen[_normalise(n)]}")
            seen[_normalise(n)] = key
        columns[key] = tuple(dict.fromkeys(n.strip() for n in names))
    for key in TEXT_FIELDS:
        if key not in columns:
            raise fail(f"columns.{key}", "missing (every profile names date, article and ref)")
    kinds = [k for k, fields in LOCATIONS.items() if any(f in columns for f in fields)]
    if len(kinds) > 1:
        raise fail("columns", f"more than one kind of location ({', '.join(kinds)}); use one")
    location = kinds[0] if kinds else "geometry"
    for f in LOCATIONS.get(location, ()):
        if f not in columns:
            partner = next(g for g in LOCATIONS[location] if g in columns)
            raise fail(f"columns.{f}", f"missing ({partner} needs it)")
    crs = data.get("crs")
    if location == "xy":
        if crs is None:
            raise fail("crs", "missing (easting/northing need the EPSG code of their CRS)")
        if not isinstance(crs, int) or isinstance(crs, bool):
            raise fail("crs", "must be an EPSG code (an integer, e.g. 6382)")
        try:
            definition = CRS.from_epsg(crs)
        except CRSError as exc:
            raise fail("crs", f"EPSG:{crs} is unknown to PROJ") from exc
        if not definition.is_projected:
            raise fail("crs", f"EPSG:{crs} ({definition.name}) is not a projected CRS")
    elif crs is not None:
        raise fail("crs", "only applies to easting/northing columns")
    return Profile(name=name, description=description, columns=columns, location=location,
                   crs=crs, sheet=sheet)  # fmt: skip


# --- reading -----------------------------------------------------------------------------


def read_records(path: Path, profile: Profile) -> list[Record]:
    """Every data row of an export, whatever its format, as records in the user's numbering.

    The size is checked before anything is read, so an oversized upload costs nothing;
    the format is decided by content (magic bytes), the extension only naming the error.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise FileRejected(f"{path.name}: cannot be opened ({exc.strerror})") from exc
    if size > MAX_BYTES:
        raise FileRejected(f"{path.name}: the file is larger than the {MAX_BYTES // 2**20} MB "
                           f"limit ({size:,} bytes)")  # fmt: skip
    if size == 0:
        raise FileRejected(f"{path.name}: the file is empty")
    with path.open("rb") as fh:
        head = fh.read(8192)
    kind = _detect_format(path, head)
    if kind in ("geojson", "gpkg"):
        return _vector_records(path, kind, profile)
    if profile.location == "geometry":
        raise FileRejected(f"{path.name}: profile '{profile.name}' takes the location from "
                           "point geometry, which only GeoJSON and GeoPackage have")  # fmt: skip
    rows = _xlsx_rows(path, profile) if kind == "xlsx" else _csv_rows(path, profile)
    return _table_records(path.name, rows, profile)


def _detect_format(path: Path, head: bytes) -> str:
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
        except zipfile.BadZipFile as exc:
            raise FileRejected(f"{path.name}: a damaged ZIP/XLSX file") from exc
        if "xl/workbook.xml" in names:
            return "xlsx"
        raise FileRejected(f"{path.name}: a ZIP archive but not an XLSX workbook (save the "
                           "table as .xlsx or CSV)")  # fmt: skip
    if head.startswith(b"SQLite format 3\x00"):
        return "gpkg"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRejected(f"{path.name}: an old Excel (.xls) workbook; save it as .xlsx or CSV")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "csv"  # UTF-16 text, as Excel's "Unicode text" export writes
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"{"):
        return "geojson"
    if b"\x00" in head or text.startswith((b"%PDF", b"<")):
        raise FileRejected(f"{path.name}: unknown format (not CSV, XLSX, GeoJSON or "
                           "GeoPackage)")  # fmt: skip
    if not text:
        raise FileRejected(f"{path.name}: the file is empty")
    return "csv"


Row = tuple[int, list[Any]]  # (row number as the user sees it, cell values)


def _blank(cells: Sequence[Any]) -> bool:
    return all(_text(c) == "" for c in cells)


def _csv_rows(path: Path, profile: Profile) -> list[Row]:
    raw = path.read_bytes()
    body = _decode(path.name, raw)
    if not body.strip():
        raise FileRejected(f"{path.name}: the file is empty")
    # The delimiter is the one under which the profile's header appears (the sniffer's guess
    # first): a sniffer alone is fooled by decimal commas in a ';' file and by title rows.
    order = list(DELIMITERS)
    try:
        sniffed = csv.Sniffer().sniff(body[:8192], delimiters=DELIMITERS).delimiter
        order.remove(sniffed)
        order.insert(0, sniffed)
    except csv.Error:
        pass
    required = _required(profile, geometry=False)
    chosen, score = order[0], -1
    for delimiter in order:
        head = list(islice(_parse_csv(body, delimiter), HEADER_SCAN_ROWS))
        found = _find_header(head, profile, required)
        if not found.missing:
            chosen = delimiter
            break
        if len(found.columns) > score:
            chosen, score = delimiter, len(found.columns)
    return list(_parse_csv(body, chosen))


def _decode(name: str, raw: bytes) -> str:
    utf16 = raw.startswith((b"\xff\xfe", b"\xfe\xff"))
    encodings = ("utf-16",) if utf16 else ("utf-8-sig", "cp1251")
    for encoding in encodings:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FileRejected(f"{name}: the file is neither UTF-8 nor cp1251 text")


def _parse_csv(body: str, delimiter: str) -> Iterator[Row]:
    """Non-blank records with the physical line each starts on (quoted fields may span lines)."""
    reader = csv.reader(io.StringIO(body, newline=""), delimiter=delimiter)
    previous = 0
    for cells in reader:
        start, previous = previous + 1, reader.line_num
        if not _blank(cells):
            yield start, cells


def _xlsx_rows(path: Path, profile: Profile) -> list[Row]:
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > MAX_UNPACKED:
            raise FileRejected(f"{path.name}: the workbook unpacks to {unpacked / 2**20:.0f} MB; "
                               f"the limit is {MAX_UNPACKED // 2**20} MB")  # fmt: skip
        workbook = load_workbook(path, read_only=True, data_only=True)
    except FileRejected:
        raise
    except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
        raise FileRejected(f"{path.name}: not a readable XLSX workbook ({exc})") from exc
    try:
        sheets = workbook.worksheets
        if profile.sheet is not None:
            chosen = [s for s in sheets if s.title.strip() == profile.sheet.strip()]
            if not chosen:
                raise FileRejected(f"{path.name}: no sheet '{profile.sheet}' (sheets: "
                                   f"{', '.join(s.title for s in sheets)})")  # fmt: skip
            sheet = chosen[0]
        elif sheets:
            sheet = sheets[0]
        else:
            raise FileRejected(f"{path.name}: the workbook has no worksheet")
        sheet.reset_dimensions()  # some exporters write a wrong size, which would cut rows off
        rows = [(n, list(cells)) for n, cells in enumerate(sheet.iter_rows(values_only=True), 1)
                if not _blank(cells)]  # fmt: skip
    finally:
        workbook.close()
    if not rows:
        raise FileRejected(f"{path.name}: the sheet '{sheet.title}' is empty")
    return rows


def _vector_records(path: Path, kind: str, profile: Profile) -> list[Record]:
    label = "GeoJSON" if kind == "geojson" else "GeoPackage"
    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(path)]
        layer = profile.sheet if kind == "gpkg" and profile.sheet else None
        if layer is not None and layer not in layers:
            raise FileRejected(f"{path.name}: no layer '{layer}' (layers: {', '.join(layers)})")
        frame = pyogrio.read_dataframe(path, layer=layer or (layers[0] if layers else None))
    except FileRejected:
        raise
    except Exception as exc:  # GDAL reports every unreadable file its own way
        reason = str(exc).split(";")[0].replace(str(path), path.name)
        raise FileRejected(f"{path.name}: not a readable {label} file ({reason})") from exc
    geometry = frame.geometry if "geometry" in frame.columns else None
    names = [str(c) for c in frame.columns if c != "geometry"]
    if not len(frame):
        raise FileRejected(f"{path.name}: the {label} file has no features")
    values = frame[names].astype(object).where(frame[names].notna(), None).to_numpy().tolist()
    rows = [(i, cells) for i, cells in enumerate(values, 1)]
    if geometry is None:
        if profile.location == "geometry":
            raise FileRejected(f"{path.name}: the {label} layer has no geometry and profile "
                               f"'{profile.name}' has no location columns")  # fmt: skip
        return _table_records(path.name, [(0, names), *rows], profile, header_scan=1)
    if frame.crs is None and kind == "gpkg":
        raise FileRejected(f"{path.name}: the layer has no coordinate reference system")
    points = _points(np.asarray(geometry.values), CRS(frame.crs or "EPSG:4326"))
    return _table_records(path.name, [(0, names), *rows], profile, header_scan=1, points=points)


def _points(geoms: np.ndarray, source: CRS) -> list[tuple[float | None, float | None, str | None]]:
    """Each feature's point in WGS84 lon/lat, or why it has none."""
    singles = np.array([g.geoms[0] if isinstance(g, shapely.MultiPoint) and len(g.geoms) == 1
                        else g for g in geoms], dtype=object)  # fmt: skip
    projected = to_wgs84(singles, source)
    out: list[tuple[float | None, float | None, str | None]] = []
    for geom in projected:
        if geom is None or geom.is_empty or not isinstance(geom, shapely.Point):
            kind = "no geometry" if geom is None or geom.is_empty else geom.geom_type
            out.append((None, None, f"no point geometry ({kind})"))
        elif not (math.isfinite(geom.x) and math.isfinite(geom.y)):
            out.append((None, None, "the point cannot be converted to longitude/latitude"))
        else:
            out.append((geom.x, geom.y, None))
    return out


# --- headers -----------------------------------------------------------------------------


@dataclass
class _Header:
    """Where a header was found (or the best partial match) and which column is which field."""

    end: int = 0  # index of the first row below the header
    columns: dict[str, int] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    found: list[str] = field(default_factory=list)


def _required(profile: Profile, geometry: bool) -> list[str]:
    if geometry:
        return list(TEXT_FIELDS)
    return list(TEXT_FIELDS) + list(LOCATIONS.get(profile.location, ()))


def _column_names(rows: Sequence[Sequence[Any]]) -> list[tuple[str, str]]:
    """(path, leaf) per column of a header of one to three rows.

    A merged cell keeps its text in its first cell only, so an empty cell in an upper row
    continues the heading on its left when both columns have sub-headings below (a group
    such as "Місце події" over "довгота", "широта"); a heading merged downwards is the
    lowest non-empty one of its column.
    """
    width = max(len(r) for r in rows)
    grid = [[_text(c) for c in r] + [""] * (width - len(r)) for r in rows]
    below = [[any(grid[k][c] for k in range(r + 1, len(grid))) for c in range(width)]
             for r in range(len(grid))]  # fmt: skip
    for r in range(len(grid) - 1):
        for c in range(1, width):
            if not grid[r][c] and below[r][c] and below[r][c - 1]:
                grid[r][c] = grid[r][c - 1]
    names = []
    for c in range(width):
        parts: list[str] = []
        for r in range(len(grid)):
            if grid[r][c] and (not parts or parts[-1] != grid[r][c]):
                parts.append(grid[r][c])
        names.append((" / ".join(parts), parts[-1] if parts else ""))
    return names


def _match(rows: Sequence[Sequence[Any]], profile: Profile, required: list[str]) -> _Header:
    names = _column_names(rows)
    keys = [(_normalise(path), _normalise(leaf)) for path, leaf in names]
    header = _Header(found=[path for path, _ in names if path])
    for f in required:
        for accepted in map(_normalise, profile.columns[f]):
            hit = next((c for c, (path, leaf) in enumerate(keys) if accepted in (path, leaf)),
                       None)  # fmt: skip
            if hit is not None:
                header.columns[f] = hit
                break
        else:
            header.missing.append(f)
    return header


def _find_header(head: Sequence[Row], profile: Profile, required: list[str]) -> _Header:
    """The topmost, then shallowest, run of 1-3 rows naming every required field.

    Rows above it (titles, form numbers) are skipped.  Without a full match the best
    partial one is returned, so the error can say what is missing and what was found.
    """
    best: _Header | None = None
    for end in range(1, len(head) + 1):
        for height in range(1, min(MAX_HEADER_ROWS, end) + 1):
            candidate = _match([cells for _, cells in head[end - height : end]], profile,
                               required)  # fmt: skip
            candidate.end = end
            if not candidate.missing:
                return candidate
            if best is None or len(candidate.columns) > len(best.columns):
                best = candidate
    return best or _Header(missing=list(required))


def _missing_message(name: str, profile: Profile, header: _Header) -> str:
    wanted = "; ".join(f"{f}: {' or '.join(repr(n) for n in profile.columns[f])}"
                       for f in header.missing)  # fmt: skip
    found = ", ".join(header.found) or "none"
    return (f"{name}: missing column(s) {', '.join(header.missing)} for profile "
            f"'{profile.name}' (expected {wanted}; found {found})")  # fmt: skip


def _is_numbering(cells: Sequence[Any]) -> bool:
    """A row of column numbers (1, 2, 3, ...) as statistical forms print under the header."""
    texts = [t for t in (_text(c) for c in cells) if t]
    if len(texts) < 2 or not all(_NUMBERING.match(t) for t in texts):
        return False
    numbers = [int(t) for t in texts]
    return all(b == a + 1 for a, b in pairwise(numbers))


# --- rows to records ---------------------------------------------------------------------


def _table_records(
    name: str,
    rows: list[Row],
    profile: Profile,
    header_scan: int = HEADER_SCAN_ROWS,
    points: list[tuple[float | None, float | None, str | None]] | None = None,
) -> list[Record]:
    required = _required(profile, geometry=points is not None)
    header = _find_header(rows[:header_scan], profile, required)
    if header.missing:
        raise FileRejected(_missing_message(name, profile, header))
    data = rows[header.end :]
    if data and header_scan > 1 and _is_numbering(data[0][1]):
        data = data[1:]
    if not data:
        raise FileRejected(f"{name}: no data rows below the header")
    cols = header.columns

    def cell(cells: list[Any], f: str) -> Any:
        index = cols.get(f)
        return cells[index] if index is not None and index < len(cells) else None

    records = []
    for line, cells in data:
        lon = lat = None
        address = error = None
        if points is not None:
            lon, lat, error = points[line - 1]
        elif profile.location == "lonlat":
            lon, lat, error = _lonlat(cell(cells, "lon"), cell(cells, "lat"))
        elif profile.location == "address":
            address = _text(cell(cells, "address"))
            error = None if address else "no address"
        error = _rounded_ref(cell(cells, "ref")) or error
        records.append(Record(line=line, date=_text(cell(cells, "date")),
                              article=_text(cell(cells, "article")), ref=_text(cell(cells, "ref")),
                              lon=lon, lat=lat, address=address, error=error))  # fmt: skip
    if profile.location == "xy" and points is None:
        records = _project(records, [(cell(c, "easting"), cell(c, "northing")) for _, c in data],
                           profile)  # fmt: skip
    return records


def _rounded_ref(value: Any) -> str | None:
    """Why a reference kept as a spreadsheet number cannot be trusted, if it cannot.

    A 17-digit ЄРДР number typed into a numeric cell is stored as a double and silently
    rounded (12024140000000002 -> 12024140000000000), so distinct cases would collide.
    """
    if isinstance(value, float) and abs(value) >= 1e15:
        return ("the reference is stored as a number too long for a spreadsheet to keep "
                "exactly; format the column as text and re-enter it")  # fmt: skip
    return None


def _lonlat(raw_lon: Any, raw_lat: Any) -> tuple[float | None, float | None, str | None]:
    lon, lat = _coordinate(raw_lon), _coordinate(raw_lat)
    if lon is not None and lat is not None:
        return lon, lat, None
    if _text(raw_lon) == "" and _text(raw_lat) == "":
        return None, None, "no lon/lat"
    return None, None, f"unreadable lon/lat ('{_text(raw_lon)}', '{_text(raw_lat)}')"


@lru_cache(maxsize=16)
def _transformer(epsg: int) -> Transformer:
    # always_xy: UCS-2000 planar systems list northing (X) first; we pass easting first.
    return Transformer.from_crs(CRS.from_epsg(epsg), CRS.from_epsg(4326), always_xy=True)


def _project(records: list[Record], raw: list[tuple[Any, Any]], profile: Profile) -> list[Record]:
    """Easting/northing to lon/lat in one vectorised call; flags columns given the wrong way."""
    assert profile.crs is not None
    e = np.array([_coordinate(x) for x, _ in raw], dtype=float)  # None becomes NaN
    n = np.array([_coordinate(y) for _, y in raw], dtype=float)
    transformer = _transformer(profile.crs)
    lon, lat = transformer.transform(e, n)
    swapped_lon, swapped_lat = transformer.transform(n, e)
    out = []
    for i, record in enumerate(records):
        error = None
        x, y = float(lon[i]), float(lat[i])
        if math.isnan(e[i]) or math.isnan(n[i]):
            easting, northing = (_text(v) for v in raw[i])
            error = (f"unreadable easting/northing ('{easting}', '{northing}')"
                     if easting or northing else "no easting/northing")  # fmt: skip
        elif not (math.isfinite(x) and math.isfinite(y)):
            error = f"easting/northing outside EPSG:{profile.crs}"
        elif not within_ukraine((x, y, x, y)) and within_ukraine(
            (float(swapped_lon[i]), float(swapped_lat[i])) * 2
        ):
            error = "easting and northing look swapped (northing is the larger value, ~5 000 000)"
        if error:
            out.append(replace(record, error=error))
        else:
            out.append(replace(record, lon=x, lat=y))
    return out


# --- values ------------------------------------------------------------------------------


def _text(value: Any) -> str:
    """A cell as the text the importer parses: dates ISO, whole numbers without '.0'."""
    if value is None or value is pd.NaT:
        return ""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.strftime("%Y-%m-%dT%H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).strip()


def _coordinate(value: Any) -> float | None:
    """A number from a cell; decimal commas and spaces between digit groups are accepted."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = "".join(str(value).split()).replace(",", ".")
        try:
            number = float(text)
        except ValueError:
            return None
    return number if math.isfinite(number) else None
