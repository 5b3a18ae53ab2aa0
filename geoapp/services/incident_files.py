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
import json
import math
import re
import shutil
import sqlite3
import tempfile
import tomllib
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import lru_cache
from itertools import islice, pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
import shapely.geometry
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from geoapp.config import PROJECT_ROOT
from geoapp.geo import gdal_safety
from geoapp.geo.crs import in_ukraine, to_wgs84
from geoapp.geo.geojson import json_depth

MAX_BYTES = 50 * 1024 * 1024
PROFILE_DIR = PROJECT_ROOT / "data" / "incident_profiles"
HEADER_SCAN_ROWS = 20  # the header is looked for among this many first non-blank rows
MAX_HEADER_ROWS = 3  # a header is one row or up to three stacked rows
MAX_UNPACKED = 20 * MAX_BYTES  # an XLSX unpacking to more than this is refused (zip bomb)
MAX_PACKING = 100  # a worksheet or string table unpacking to more times its packed size is
# refused: real sheets pack 5-20 times (every cell names its place), blank cells written
# without a place pack 400 times, and a 26 KB file of them kept openpyxl busy for 5 s
MAX_ROWS = 2_000_000  # data rows of any format; more is refused before the rows are checked
MAX_COLUMNS = 256  # XLSX columns read; a value further right is refused (a cell at column
# XFD widened every row to 16,384 cells: a 509 KB file took 210 s)
MAX_JSON_DEPTH = 32  # a FeatureCollection of GeometryCollections needs about 10
DELIMITERS = ",;\t|"

TEXT_FIELDS = ("date", "article", "ref")
LOCATIONS = {"lonlat": ("lon", "lat"), "xy": ("easting", "northing"), "address": ("address",)}
ALL_FIELDS = TEXT_FIELDS + tuple(f for fields in LOCATIONS.values() for f in fields)
PROFILE_KEYS = {"description", "sheet", "crs", "columns"}
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_NUMBERING = re.compile(r"^\d{1,3}$")
_JSON_ARRAY = re.compile(rb"\[\s*[\[{\"\]]")


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


@dataclass(frozen=True)
class Table:
    """The data rows of a file as columns (numpy arrays, one entry per row).

    Columns, not `Record` objects, because a police export has a million rows: every
    check the importer makes is then one vectorised step.  `lon`/`lat` are NaN where the
    location is unknown, `error` holds None or the reason a row is unusable, `address` is
    None unless the profile locates rows by address.
    """

    line: np.ndarray
    date: np.ndarray
    article: np.ndarray
    ref: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    address: np.ndarray | None
    error: np.ndarray

    def __len__(self) -> int:
        """The number of data rows."""
        return len(self.line)

    def records(self) -> list[Record]:
        """The rows one by one, for small files and tests."""
        out = []
        for k in range(len(self)):
            lon, lat = float(self.lon[k]), float(self.lat[k])
            known = math.isfinite(lon) and math.isfinite(lat)
            out.append(Record(line=int(self.line[k]), date=self.date[k],
                              article=self.article[k], ref=self.ref[k],
                              lon=lon if known else None, lat=lat if known else None,
                              address=None if self.address is None else self.address[k],
                              error=self.error[k]))  # fmt: skip
        return out


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


def read_table(path: Path, profile: Profile) -> Table:
    """Every data row of an export, whatever its format, as columns in the user's numbering.

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
    if kind == "geojson":
        return _geojson_table(path, profile)
    if kind == "gpkg":
        return _gpkg_table(path, profile)
    if profile.location == "geometry":
        raise FileRejected(f"{path.name}: profile '{profile.name}' takes the location from "
                           "point geometry, which only GeoJSON and GeoPackage have")  # fmt: skip
    if kind == "xlsx":
        return _rows_table(path.name, _xlsx_rows(path, profile), profile)
    return _csv_table(path, profile)


def read_records(path: Path, profile: Profile) -> list[Record]:
    """The rows of `read_table` one by one: for small files and for reading a row in tests."""
    return read_table(path, profile).records()


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
    if text.startswith(b"{") or _JSON_ARRAY.match(text):
        return "geojson"  # or JSON that is not; the GeoJSON reader says so
    if b"\x00" in head or text.startswith((b"%PDF", b"<")):
        raise FileRejected(f"{path.name}: unknown format (not CSV, XLSX, GeoJSON or "
                           "GeoPackage)")  # fmt: skip
    if not text:
        raise FileRejected(f"{path.name}: the file is empty")
    return "csv"


Row = tuple[int, list[Any]]  # (row number as the user sees it, cell values)


def _blank(cells: Sequence[Any]) -> bool:
    return all(_text(c) == "" for c in cells)


def _csv_table(path: Path, profile: Profile) -> Table:
    raw = path.read_bytes()
    body = _decode(path.name, raw)
    if not body.strip():
        raise FileRejected(f"{path.name}: the file is empty")
    if body.count("\n") > MAX_ROWS + HEADER_SCAN_ROWS:
        raise _too_many_rows(path.name)
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
    chosen, score, head, header = order[0], -1, [], None
    for delimiter in order:
        rows = list(islice(_parse_csv(body, delimiter), HEADER_SCAN_ROWS))
        found = _find_header(rows, profile, required)
        if not found.missing:
            chosen, head, header = delimiter, rows, found
            break
        if len(found.columns) > score:
            chosen, score = delimiter, len(found.columns)
    fast = _csv_columns(body, chosen, head, header, profile) if header else None
    if fast is not None:
        return fast
    return _rows_table(path.name, list(_parse_csv(body, chosen)), profile)


def _csv_columns(
    body: str, delimiter: str, head: list[Row], header: _Header, profile: Profile
) -> Table | None:
    """The data rows parsed by pandas' C reader, or None where it could misnumber them.

    An export of a million rows is parsed in a second this way instead of twenty by the
    row-by-row path.  Row numbers are physical lines, so the result is used only when
    every record is exactly one line (no quoted line breaks) and pandas accepts every row.
    """
    first = header.end  # index in `head` of the first data row
    if first < len(head) and _is_numbering(head[first][1]):
        first += 1
    if first >= len(head):
        return None  # no data row in the first lines: the row-by-row path explains
    start_line = head[first][0]
    offset = 0
    for _ in range(start_line - 1):
        offset = body.index("\n", offset) + 1
    data = body[offset:]
    fields = dict(header.columns)
    lines = data.count("\n") + (0 if data.endswith("\n") else 1)
    columns = sorted(set(fields.values()))
    numeric = {fields["lon"], fields["lat"]} if profile.location == "lonlat" else set()
    frame = _read_frame(data, delimiter, columns, numeric) if numeric else None
    if frame is not None and not all(np.isfinite(frame[c].to_numpy()).all() for c in numeric):
        frame = None  # "inf" and the like: the text path says which row
    if frame is None:
        numeric = set()
        frame = _read_frame(data, delimiter, columns, numeric)
    if frame is None or len(frame) != lines:
        return None  # a quoted field spans lines: physical numbering needs the slow path
    texts = {f: _stripped(frame[i].fillna("").to_numpy(dtype=object))
             for f, i in fields.items() if i not in numeric}  # fmt: skip
    keep = np.ones(len(frame), dtype=bool) if numeric else np.zeros(len(frame), dtype=bool)
    for values in texts.values():
        keep |= values != ""
    line = np.arange(start_line, start_line + len(frame), dtype=np.int64)[keep]
    points = None
    if numeric:  # every row has a readable location
        lon, lat = (frame[fields[f]].to_numpy(dtype=float)[keep] for f in ("lon", "lat"))
        points = Located(lon, lat, np.full(len(lon), None, dtype=object))
    return _assemble(line, {f: v[keep] for f, v in texts.items()}, profile, points)


def _read_frame(
    data: str, delimiter: str, columns: list[int], numeric: set[int]
) -> pd.DataFrame | None:
    """The columns as pandas' C reader gives them (text, or floats for `numeric`), or None.

    Reading the coordinates as floats saves making two million strings and parsing them
    again; any cell that is not a plain number fails the whole read, and the caller then
    reads text and explains each row.
    """
    dtype = {c: (float if c in numeric else str) for c in columns}
    try:
        return pd.read_csv(io.StringIO(data), sep=delimiter, header=None, dtype=dtype,
                           keep_default_na=False, na_filter=False, skip_blank_lines=False,
                           usecols=columns, engine="c")  # fmt: skip
    except (pd.errors.ParserError, ValueError):
        return None


_ASCII_SPACE = re.compile(r"[\t\r\x0b\x0c\x1c-\x1f ]")  # what str.strip() removes, in ASCII


def _stripped(values: np.ndarray) -> np.ndarray:
    """The cells without surrounding whitespace.

    Stripping a million cells one by one costs a quarter of a second per column, and
    machine exports (dates, codes, coordinates) rarely hold a space at all: the column is
    joined and searched once (a tenth of that), and only a column with whitespace, or
    with non-ASCII text, is stripped.
    """
    joined = "".join(values)
    if joined.isascii() and not _ASCII_SPACE.search(joined):
        return values
    return pd.Series(values, dtype=object).str.strip().to_numpy(dtype=object)


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
    # Imported here, not at module level, for the web app's memory at rest (~6 MB).
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
        unpacked = sum(info.file_size for info in members)
        if unpacked > MAX_UNPACKED:
            raise FileRejected(f"{path.name}: the workbook unpacks to {unpacked / 2**20:.0f} MB; "
                               f"the limit is {MAX_UNPACKED // 2**20} MB")  # fmt: skip
        for info in members:
            if (info.filename.startswith(("xl/worksheets/", "xl/sharedStrings"))
                    and info.file_size > 2**20
                    and info.file_size > MAX_PACKING * max(info.compress_size, 1)):  # fmt: skip
                raise FileRejected(f"{path.name}: the workbook is packed unusually tightly "
                                   f"({info.file_size // max(info.compress_size, 1)} times; the "
                                   f"limit is {MAX_PACKING}); save it again from a spreadsheet "
                                   "program or as CSV")  # fmt: skip
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
        rows = _sheet_rows(path.name, sheet)
    finally:
        workbook.close()
    if not rows:
        raise FileRejected(f"{path.name}: the sheet '{sheet.title}' is empty")
    return rows


def _sheet_rows(name: str, sheet: Any) -> list[Row]:
    """The non-blank rows of a read-only sheet, at most `MAX_COLUMNS` wide and `MAX_ROWS` long.

    openpyxl's own iteration pads every row to the sheet's last column: one styled empty
    cell at column XFD made each row 16,384 cells (a 509 KB file took 210 s).  Its sheet
    parser (what `ReadOnlyWorksheet` runs, given the same arguments) hands over only the
    cells written; empty ones are dropped here, and a value beyond the column limit
    refuses the file rather than being cut off unseen.  The sheet's declared size is not
    used at all: some exporters write a wrong one.
    """
    from openpyxl.worksheet._reader import WorkSheetParser

    book = sheet.parent
    rows: list[Row] = []
    with sheet._get_source() as source:
        parser = WorkSheetParser(source, sheet._shared_strings, data_only=book.data_only,
                                 epoch=book.epoch, date_formats=book._date_formats,
                                 timedelta_formats=book._timedelta_formats)  # fmt: skip
        for number, cells in parser.parse():
            values = [(c["column"], c["value"]) for c in cells if c["value"] is not None]
            if not values:
                continue
            width = max(column for column, _ in values)
            if width > MAX_COLUMNS:
                if any(_text(v) != "" for column, v in values if column > MAX_COLUMNS):
                    raise FileRejected(f"{name}: row {number} has a value beyond column "
                                       f"{MAX_COLUMNS}; the limit is {MAX_COLUMNS} "
                                       "columns")  # fmt: skip
                width = MAX_COLUMNS
            row: list[Any] = [None] * width
            for column, value in values:
                if column <= width:
                    row[column - 1] = value
            if _blank(row):
                continue
            if len(rows) > MAX_ROWS + HEADER_SCAN_ROWS:
                raise _too_many_rows(name)
            rows.append((number, row))
    return rows


def _too_many_rows(name: str) -> FileRejected:
    return FileRejected(f"{name}: more than {MAX_ROWS:,} rows; the limit is {MAX_ROWS:,} rows "
                        "a file (split the export)")  # fmt: skip


# --- GeoJSON: parsed here, never by GDAL ---------------------------------------------------
#
# GDAL picks a driver by content, and a JSON file is also what its GDALG (a pipeline that
# reads any file or URL), STAC, ESRIJSON and TopoJSON drivers read.  A FeatureCollection is
# simple enough to read in Python (json, then shapely for the geometry), so no uploaded JSON
# reaches GDAL at all, whatever drivers a later GDAL adds.

_CRS_NAME = re.compile(r"^(?:urn:ogc:def:crs:)?(EPSG|OGC):(?:[\d.]*:)?:?(\w+)$", re.I)
_NUMBER = (int, float)
_ISO_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$"
)


def _geojson_table(path: Path, profile: Profile) -> Table:
    """A GeoJSON FeatureCollection's features: properties as columns, points as locations."""
    name = path.name
    raw = path.read_bytes()
    if json_depth(raw) > MAX_JSON_DEPTH:
        raise FileRejected(f"{name}: the JSON is nested more than {MAX_JSON_DEPTH} levels deep; "
                           "it is not a GeoJSON file")  # fmt: skip
    try:
        body = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileRejected(f"{name}: a GeoJSON file must be UTF-8 text") from exc
    del raw  # each copy of a 50 MB file is memory the parsed features need
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise FileRejected(f"{name}: not a readable GeoJSON file (not valid JSON: "
                           f"{str(exc)[:100]})") from exc  # fmt: skip
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list) or data.get("type") != "FeatureCollection":
        raise FileRejected(f"{name}: not a readable GeoJSON file: it must be a FeatureCollection"
                           ' (a JSON object with "type": "FeatureCollection" and a list of '
                           '"features")')  # fmt: skip
    if not features:
        raise FileRejected(f"{name}: the GeoJSON file has no features")
    if len(features) > MAX_ROWS:
        raise _too_many_rows(name)
    source = _geojson_crs(name, data.get("crs"))
    del body
    names: dict[str, None] = {}
    properties: list[dict[str, Any]] = []
    shapes: list[Any] = []  # a point's (x, y), or another geometry's shapely form, or None
    for number, feature in enumerate(features, 1):
        props = feature.get("properties") if isinstance(feature, dict) else None
        if (not isinstance(feature, dict) or feature.get("type") != "Feature"
                or not isinstance(props, dict | None)):  # fmt: skip
            raise FileRejected(f"{name}: feature {number} is not a GeoJSON Feature")
        props = props or {}
        names.update(dict.fromkeys(props))
        properties.append(props)
        shapes.append(_geometry(feature.get("geometry")))
    del data, features  # the parsed geometries: only their shapely points are kept
    geoms = np.empty(len(shapes), dtype=object)
    geoms[:] = [s if not isinstance(s, tuple) else None for s in shapes]
    at = [k for k, s in enumerate(shapes) if isinstance(s, tuple)]
    if at:  # the usual case, all points: made in one vectorised call
        geoms[at] = shapely.points(np.array([shapes[k] for k in at], dtype=float))
    del shapes
    columns = list(names)
    rows = [(i, [_property(props.get(c)) for c in columns]) for i, props in
            enumerate(properties, 1)]  # fmt: skip
    del properties
    return _rows_table(name, [(0, columns), *rows], profile, header_scan=1,
                       points=_points(geoms, source))  # fmt: skip


def _geojson_crs(name: str, crs: Any) -> CRS:
    """The legacy (2008) `crs` member, which RFC 7946 dropped: WGS84 unless an EPSG name."""
    if crs is None:
        return CRS.from_epsg(4326)
    props = crs.get("properties") if isinstance(crs, dict) else None
    label = props.get("name") if isinstance(props, dict) else None
    match = _CRS_NAME.match(label) if isinstance(label, str) else None
    if match is None or crs.get("type") != "name":
        raise FileRejected(f"{name}: the coordinate system must be named by an EPSG code "
                           '(e.g. "crs": {"type": "name", "properties": {"name": '
                           '"EPSG:6382"}}) or left out for WGS84')  # fmt: skip
    try:
        return CRS.from_authority(match[1].upper(), match[2])
    except CRSError as exc:
        raise FileRejected(f"{name}: unknown coordinate system {label}") from exc


def _property(value: Any) -> Any:
    """A property value as a cell: numbers and text as they are, lists and objects as JSON.

    An ISO date-time ("2024-03-01T10:00:00Z") is a datetime, as GDAL's GeoJSON driver made
    it when it read these files, so its wall-clock time reads as the importer expects.
    """
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and _ISO_DATETIME.match(value):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None)
        except ValueError:
            return value
    return value


def _geometry(value: Any) -> tuple[float, float] | shapely.Geometry | None:
    """A GeoJSON point as (x, y), another geometry as shapely's, None when none or unreadable."""
    if value is None:
        return None
    if (
        isinstance(value, dict)
        and value.get("type") == "Point"
        and isinstance(coords := value.get("coordinates"), list)
        and 2 <= len(coords) <= 3
        and all(isinstance(c, _NUMBER) and not isinstance(c, bool) for c in coords)
    ):
        return (coords[0], coords[1])  # the common case: made into points all at once
    try:
        return shapely.geometry.shape(value)
    except Exception:  # shapely raises many kinds for a malformed geometry
        return None


# --- GeoPackage: checked with sqlite3, then read by GDAL's GPKG driver only ---------------

_GPKG_IDS = {0x47504B47, 0x47503130, 0x47503131}  # "GPKG", and 1.0/1.1's "GP10", "GP11"


def _gpkg_layer(path: Path, name: str, wanted: str | None) -> str:
    """The layer to read, after checking in SQLite itself that GDAL may safely read it.

    The file is opened read-only and immutable by Python's sqlite3 (no extension, no
    GDAL function, untrusted schema): it must be a GeoPackage (application_id), the
    layer must be listed in gpkg_contents and be a plain table (a view can be a recursive
    query yielding rows without end, a virtual table can read other files), and its rows
    are counted before anything reads them.
    """
    uri = f"{path.resolve().as_uri()}?mode=ro&immutable=1"
    try:
        conn = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise FileRejected(f"{name}: not a readable GeoPackage file ({exc})") from exc
    try:
        conn.execute("PRAGMA trusted_schema = OFF")
        if conn.execute("PRAGMA application_id").fetchone()[0] not in _GPKG_IDS:
            raise FileRejected(f"{name}: an SQLite database, not a GeoPackage")
        layers = [str(r[0]) for r in conn.execute(
            "SELECT table_name FROM gpkg_contents WHERE data_type IN ('features', 'attributes')"
            " ORDER BY rowid")]  # fmt: skip
        if not layers:
            raise FileRejected(f"{name}: the GeoPackage has no vector layer")
        if wanted is not None and wanted not in layers:
            raise FileRejected(f"{name}: no layer '{wanted}' (layers: {', '.join(layers)})")
        layer = wanted or layers[0]
        kind = conn.execute("SELECT type, sql FROM sqlite_master WHERE name = ? COLLATE NOCASE",
                            (layer,)).fetchone()  # fmt: skip
        if kind is None:
            raise FileRejected(f"{name}: the layer '{layer}' is listed but has no table")
        if kind[0] != "table" or str(kind[1]).lstrip().upper().startswith("CREATE VIRTUAL"):
            what = "a view" if kind[0] == "view" else "not a plain table"
            raise FileRejected(f"{name}: the layer '{layer}' is {what}; export the data itself "
                               "as a table")  # fmt: skip
        quoted = '"' + layer.replace('"', '""') + '"'
        if any(col[6] in (2, 3) for col in conn.execute(f"PRAGMA table_xinfo({quoted})")):
            raise FileRejected(f"{name}: the layer '{layer}' has computed columns; export the "
                               "data itself as a table")  # fmt: skip
        count = conn.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0]
    except sqlite3.Error as exc:
        raise FileRejected(f"{name}: not a readable GeoPackage file ({exc})") from exc
    finally:
        conn.close()
    if count > MAX_ROWS:
        raise _too_many_rows(name)
    if not count:
        raise FileRejected(f"{name}: the GeoPackage file has no features")
    return layer


def _gpkg_table(path: Path, profile: Profile) -> Table:
    """A GeoPackage layer, read by GDAL's GPKG driver and no other, from a copy we name."""
    name = path.name
    layer = _gpkg_layer(path, name, profile.sheet)
    pyogrio = gdal_safety.pyogrio_for_untrusted()
    with tempfile.TemporaryDirectory(prefix="geoapp-gpkg-") as folder:
        copy = Path(folder) / "upload.gpkg"  # our name: no ':' or odd suffix from the upload
        shutil.copyfile(path, copy)
        source = f"GPKG:{copy}"  # the GPKG driver's own prefix: no other driver is tried
        try:
            frame = gdal_safety.read_as("GPKG", source, pyogrio.read_dataframe, layer=layer)
        except Exception as exc:  # GDAL reports every unreadable file its own way
            reason = str(exc).split(";")[0].replace(str(copy), name)
            raise FileRejected(f"{name}: not a readable GeoPackage file ({reason})") from exc
    if not len(frame):
        raise FileRejected(f"{name}: the GeoPackage file has no features")
    geometry = frame.geometry if "geometry" in frame.columns else None
    names = [str(c) for c in frame.columns if c != "geometry"]
    values = frame[names].astype(object).where(frame[names].notna(), None).to_numpy().tolist()
    rows = [(i, cells) for i, cells in enumerate(values, 1)]
    if geometry is None:
        if profile.location == "geometry":
            raise FileRejected(f"{name}: the GeoPackage layer has no geometry and profile "
                               f"'{profile.name}' has no location columns")  # fmt: skip
        return _rows_table(name, [(0, names), *rows], profile, header_scan=1)
    if frame.crs is None:
        raise FileRejected(f"{name}: the layer has no coordinate reference system")
    points = _points(np.asarray(geometry.values), CRS(frame.crs))
    return _rows_table(name, [(0, names), *rows], profile, header_scan=1, points=points)


def _points(geoms: np.ndarray, source: CRS) -> Located:
    """Each feature's point in WGS84 lon/lat, or why it has none."""
    singles = np.array([g.geoms[0] if isinstance(g, shapely.MultiPoint) and len(g.geoms) == 1
                        else g for g in geoms], dtype=object)  # fmt: skip
    projected = to_wgs84(singles, source)
    lon = np.full(len(projected), np.nan)
    lat = np.full(len(projected), np.nan)
    error = np.full(len(projected), None, dtype=object)
    for k, geom in enumerate(projected):
        if geom is None or geom.is_empty or not isinstance(geom, shapely.Point):
            kind = "no geometry" if geom is None or geom.is_empty else geom.geom_type
            error[k] = f"no point geometry ({kind})"
        elif not (math.isfinite(geom.x) and math.isfinite(geom.y)):
            error[k] = "the point cannot be converted to longitude/latitude"
        else:
            lon[k], lat[k] = geom.x, geom.y
    return Located(lon, lat, error)


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


# --- rows to columns --------------------------------------------------------------------


@dataclass(frozen=True)
class Located:
    """Longitudes and latitudes (NaN where unknown) and, per row, why there is no location."""

    lon: np.ndarray
    lat: np.ndarray
    error: np.ndarray


def _rows_table(
    name: str,
    rows: list[Row],
    profile: Profile,
    header_scan: int = HEADER_SCAN_ROWS,
    points: Located | None = None,
) -> Table:
    """Rows of typed cells (XLSX, vector attributes, unusual CSV) as columns."""
    required = _required(profile, geometry=points is not None)
    header = _find_header(rows[:header_scan], profile, required)
    if header.missing:
        raise FileRejected(_missing_message(name, profile, header))
    data = rows[header.end :]
    if data and header_scan > 1 and _is_numbering(data[0][1]):
        data = data[1:]
    if not data:
        raise FileRejected(f"{name}: no data rows below the header")

    if len(data) > MAX_ROWS:
        raise _too_many_rows(name)

    def column(f: str) -> list[Any]:
        index = header.columns[f]
        return [cells[index] if index < len(cells) else None for _, cells in data]

    line = np.array([n for n, _ in data], dtype=np.int64)
    texts = {f: np.array([_text(v) for v in column(f)], dtype=object) for f in header.columns}
    rounded = np.array([_rounded_ref(v) for v in column("ref")], dtype=object)
    if points is not None:
        index = line - 1
        points = Located(points.lon[index], points.lat[index], points.error[index])
    return _assemble(line, texts, profile, points, rounded)


def _assemble(
    line: np.ndarray,
    texts: dict[str, np.ndarray],
    profile: Profile,
    points: Located | None = None,
    rounded: np.ndarray | None = None,
) -> Table:
    """Text columns to a `Table`: locations parsed and projected, per-row errors set."""
    count = len(line)
    if count > MAX_ROWS:
        raise _too_many_rows("the file")
    address = None
    if points is not None:
        located = points
    elif profile.location == "lonlat":
        located = _lonlat(texts["lon"], texts["lat"])
    elif profile.location == "xy":
        located = _project(texts["easting"], texts["northing"], profile)
    else:
        address = texts["address"]
        error = np.where(address == "", "no address", None).astype(object)
        located = Located(np.full(count, np.nan), np.full(count, np.nan), error)
    error = located.error
    if rounded is not None:
        error = np.where(pd.isna(rounded), error, rounded)
    return Table(line=line, date=texts["date"], article=texts["article"], ref=texts["ref"],
                 lon=located.lon, lat=located.lat, address=address, error=error)  # fmt: skip


def _rounded_ref(value: Any) -> str | None:
    """Why a reference kept as a spreadsheet number cannot be trusted, if it cannot.

    A 17-digit ЄРДР number typed into a numeric cell is stored as a double and silently
    rounded (12024140000000002 -> 12024140000000000), so distinct cases would collide.
    """
    if isinstance(value, float) and abs(value) >= 1e15:
        return ("the reference is stored as a number too long for a spreadsheet to keep "
                "exactly; format the column as text and re-enter it")  # fmt: skip
    return None


def _unreadable(what: str, first: np.ndarray, second: np.ndarray, bad: np.ndarray) -> np.ndarray:
    """Per row: None, "no <what>" when both cells are blank, or the unreadable values."""
    error = np.full(len(first), None, dtype=object)
    for k in np.flatnonzero(bad):
        a, b = first[k], second[k]
        error[k] = f"unreadable {what} ('{a}', '{b}')" if a or b else f"no {what}"
    return error


def _lonlat(raw_lon: np.ndarray, raw_lat: np.ndarray) -> Located:
    lon, lat = _numbers(raw_lon), _numbers(raw_lat)
    bad = np.isnan(lon) | np.isnan(lat)
    return Located(np.where(bad, np.nan, lon), np.where(bad, np.nan, lat),
                   _unreadable("lon/lat", raw_lon, raw_lat, bad))  # fmt: skip


@lru_cache(maxsize=16)
def _transformer(epsg: int) -> Transformer:
    # always_xy: UCS-2000 planar systems list northing (X) first; we pass easting first.
    return Transformer.from_crs(CRS.from_epsg(epsg), CRS.from_epsg(4326), always_xy=True)


def _project(raw_e: np.ndarray, raw_n: np.ndarray, profile: Profile) -> Located:
    """Easting/northing to lon/lat in one vectorised call; flags columns given the wrong way."""
    assert profile.crs is not None
    e, n = _numbers(raw_e), _numbers(raw_n)
    transformer = _transformer(profile.crs)
    with np.errstate(invalid="ignore"):
        lon, lat = (np.asarray(v, dtype=float) for v in transformer.transform(e, n))
        swapped_lon, swapped_lat = transformer.transform(n, e)
    unreadable = np.isnan(e) | np.isnan(n)
    error = _unreadable("easting/northing", raw_e, raw_n, unreadable)
    outside = ~unreadable & ~(np.isfinite(lon) & np.isfinite(lat))
    error[outside] = f"easting/northing outside EPSG:{profile.crs}"
    swapped = (~unreadable & ~outside & ~in_ukraine(lon, lat)
               & in_ukraine(np.asarray(swapped_lon), np.asarray(swapped_lat)))  # fmt: skip
    error[swapped] = "easting and northing look swapped (northing is the larger value, ~5 000 000)"
    bad = unreadable | outside | swapped
    return Located(np.where(bad, np.nan, lon), np.where(bad, np.nan, lat), error)


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


def _plain_numbers(values: np.ndarray) -> np.ndarray | None:
    """Every cell as a float when every one is a plain decimal number, else None.

    numpy's conversion (Python's `float` per cell) is twice as fast as `pd.to_numeric`;
    `float` also reads "1_000", which a coordinate must not be, so such columns go the
    careful way.
    """
    if "_" in "".join(values):
        return None
    try:
        return np.asarray(values, dtype=object).astype(float)
    except (TypeError, ValueError):
        return None


def _numbers(values: np.ndarray) -> np.ndarray:
    """Numbers from cell texts, NaN where there is none.

    Decimal commas and spaces between digit groups are accepted ("5 523 385,06"),
    infinities are not.  The plain parse runs on the whole column at once; only what it
    refuses is cleaned up.
    """
    series = pd.Series(values, dtype=object)
    numbers = _plain_numbers(values)
    if numbers is None:
        numbers = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, copy=True)
    retry = np.isnan(numbers) & (series != "").to_numpy()
    if retry.any():
        cleaned = series[retry].str.replace(r"\s+", "", regex=True).str.replace(",", ".")
        numbers[retry] = pd.to_numeric(cleaned, errors="coerce").to_numpy(dtype=float)
    numbers[~np.isfinite(numbers)] = np.nan
    return numbers
